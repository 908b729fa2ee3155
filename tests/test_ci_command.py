"""CI runs exactly the README's test command, and that command lints, checks formatting and types
before the tests (ruff and mypy, configured in pyproject.toml)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_command() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"Install and run the tests.*?```bash\n(.+?)\n```", readme, re.S)
    assert match, "README.md lost its 'Install and run the tests' command block"
    return match.group(1).strip()


def _ci_command() -> str:
    lines = [line for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines() if line.strip()]
    return lines[-1].strip()


def test_ci_runs_the_readme_command() -> None:
    assert _ci_command() == _readme_command()


def test_the_command_lints_and_type_checks_before_pytest() -> None:
    steps = [step.strip() for step in _readme_command().split(" && ")]
    lint = ".venv/bin/ruff check feedback_nlp feedback_nlp_api tests"
    fmt = ".venv/bin/ruff format --check feedback_nlp feedback_nlp_api"
    types = ".venv/bin/mypy"
    tests = ".venv/bin/python -m pytest"
    for step in (lint, fmt, types, tests):
        assert step in steps, f"the test command lacks {step!r}: {steps}"
    assert steps.index(lint) < steps.index(fmt) < steps.index(types) < steps.index(tests)


def test_mypy_checks_the_library_and_the_service() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["tool"]["mypy"]["files"] == ["feedback_nlp", "feedback_nlp_api"]
    # The dev extra installs the tools the command runs.
    dev = pyproject["project"]["optional-dependencies"]["dev"]
    assert any(d.startswith("ruff==") for d in dev) and any(d.startswith("mypy==") for d in dev)


def test_every_setting_is_documented_in_the_readme() -> None:
    from feedback_nlp.settings import Settings

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    settings_section = readme.split("### Settings", 1)[1].split("\n## ", 1)[0]
    missing = [name for name in Settings.model_fields if f"`{name.upper()}`" not in settings_section]
    assert not missing, f"README 'Settings' does not name: {missing}"
