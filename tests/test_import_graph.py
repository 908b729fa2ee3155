"""The import contracts in pyproject.toml ([tool.importlinter]) hold: no cycle between the loader,
the pipeline, lanes and the encoder contract, the library never imports the ``feedback_nlp_api`` package, and
nothing but ``python -m feedback_nlp`` imports the command line (``feedback_nlp.cli``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())",
            "--no-cache",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_cli_contract_lists_every_library_module() -> None:
    """A new top-level module of feedback_nlp joins the contract that keeps feedback_nlp.cli a leaf."""
    import tomllib

    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"][
        "contracts"
    ]
    [contract] = [c for c in contracts if c.get("forbidden_modules") == ["feedback_nlp.cli"]]
    package = ROOT / "feedback_nlp"
    modules = {p.stem for p in package.glob("*.py")} | {p.parent.name for p in package.glob("*/__init__.py")}
    expected = {f"feedback_nlp.{name}" for name in modules - {"__init__", "__main__", "cli"}}
    assert expected <= set(contract["source_modules"]), sorted(expected - set(contract["source_modules"]))
