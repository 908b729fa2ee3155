"""The built wheel works outside the checkout (issue 15): it carries the default bundle as package
data, so ``pip install dist/*.whl`` and then ``feedback-nlp classify`` needs no ``models/`` folder.

The wheel is built from this checkout and installed, without dependencies, into a temporary venv
that borrows this environment's installed packages (a path entry, so this checkout's editable
install is not seen); the command then runs from a folder outside the checkout with the real model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from feedback_nlp.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess[str]:  # noqa: ANN003
    return subprocess.run(args, capture_output=True, text=True, timeout=600, check=False, **kwargs)


def test_installed_wheel_classifies_a_line_outside_the_checkout(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    built = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(PROJECT_ROOT),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dist),
        ]
    )
    assert built.returncode == 0, built.stderr[-2000:]
    [wheel] = dist.glob("feedback_nlp-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    templates = {"feedback_nlp/train/templates/model_card.md.j2", "feedback_nlp/reports/templates/topic_report.html"}
    assert templates <= names, f"the wheel lacks {sorted(templates - names)}: check [tool.setuptools.package-data]"

    venv = tmp_path / "venv"
    assert _run([sys.executable, "-m", "venv", "--without-pip", str(venv)]).returncode == 0
    target = Path(
        _run(
            [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
        ).stdout.strip()
    )
    (target / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    installed = _run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)]
    )
    assert installed.returncode == 0, installed.stderr[-2000:]

    work = tmp_path / "elsewhere"
    work.mkdir()
    (work / "in.jsonl").write_text(
        json.dumps({"id": "w1", "kind": "review", "text": "The courier lost my parcel"}) + "\n", encoding="utf-8"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDBACK_NLP_") and k != "PYTHONPATH"}
    where = _run(
        [str(venv / "bin" / "python"), "-c", "import feedback_nlp.settings as s; print(s.default_model_dir())"],
        cwd=work,
        env=env,
    )
    assert where.stdout.strip() == str(target / "feedback_nlp" / "bundled" / "default"), where.stderr[-2000:]
    result = _run(
        [str(venv / "bin" / "feedback-nlp"), "classify", "in.jsonl", "-o", "out.jsonl", "--no-progress"],
        cwd=work,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    [prediction] = [json.loads(line) for line in (work / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert prediction["id"] == "w1" and prediction["model_version"].startswith("default:")
