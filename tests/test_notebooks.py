"""The notebooks in ``notebooks/``: committed without outputs, and each one runs top to bottom
on a clean kernel with the small parameters in ``notebooks/ci/<name>.yaml`` (papermill).

A notebook that reads ``../shared/data`` is skipped, with the reason, where that folder is absent.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml

from feedback_nlp.settings import get_settings

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
CI_PARAMETERS = NOTEBOOKS / "ci"
KERNEL = "python3"
#: Notebooks that read the shared datasets (the gold set, the public corpora).
NEEDS_DATA = {"02_retrain", "03_error_analysis", "05_topics"}
#: Per-test parameters that point outputs into the test's temporary folder.
TEMPORARY_OUTPUTS = {"02_retrain": {"output_bundle": "retrained"}}

NAMES = sorted(path.stem for path in NOTEBOOKS.glob("*.ipynb"))


def _ci_parameters(name: str) -> dict[str, Any]:
    return yaml.safe_load((CI_PARAMETERS / f"{name}.yaml").read_text(encoding="utf-8")) or {}


def test_every_notebook_has_ci_parameters() -> None:
    assert NAMES, f"no notebooks found in {NOTEBOOKS}"
    assert sorted(path.stem for path in CI_PARAMETERS.glob("*.yaml")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_committed_clean(name: str) -> None:
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata["kernelspec"]["name"] == KERNEL
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    dirty = [i for i, cell in enumerate(code) if cell.outputs or cell.execution_count is not None]
    assert not dirty, f"{name}: code cells {dirty} carry outputs; clear them before committing"
    tagged = [cell for cell in code if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{name}: expected one cell tagged 'parameters', found {len(tagged)}"
    unknown = set(_ci_parameters(name)) - set(_assigned_names(tagged[0].source))
    assert not unknown, f"notebooks/ci/{name}.yaml sets {sorted(unknown)}, which the parameters cell does not define"


def test_kernel_runs_this_interpreter() -> None:
    from jupyter_client.manager import KernelManager

    command = KernelManager(kernel_name=KERNEL).format_kernel_cmd()
    assert Path(command[0]).resolve() == Path(sys.executable).resolve(), (
        f"the '{KERNEL}' kernel starts {command[0]}, not this environment's {sys.executable}; "
        f"run `{sys.executable} -m ipykernel install --sys-prefix` (ipykernel is in the dev extra)"
    )


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import papermill

    data_dir = Path(get_settings().data_dir)
    if name in NEEDS_DATA and not data_dir.is_dir():
        pytest.skip(f"{name} reads the shared datasets: {data_dir} not found (set FEEDBACK_NLP_DATA_DIR)")
    # The kernel inherits the environment: keep caches and outputs inside the test's folder.
    monkeypatch.setenv("FEEDBACK_NLP_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MPLBACKEND", "agg")
    parameters = _ci_parameters(name)
    parameters["work_dir"] = str(tmp_path / "work")
    parameters.update({key: str(tmp_path / value) for key, value in TEMPORARY_OUTPUTS.get(name, {}).items()})
    executed = tmp_path / f"{name}.ipynb"
    papermill.execute_notebook(
        NOTEBOOKS / f"{name}.ipynb",
        executed,
        parameters={k: v for k, v in parameters.items() if k in _defined(name)},
        kernel_name=KERNEL,
        cwd=str(NOTEBOOKS),
        progress_bar=False,
        execution_timeout=600,
    )
    notebook = nbformat.read(executed, as_version=4)
    ran = [
        cell
        for cell in notebook.cells
        if cell.cell_type == "code" and "parameters" not in cell.metadata.get("tags", [])
    ]
    assert all(cell.execution_count is not None for cell in ran), f"{name}: some cells did not run"
    errors = [out for cell in ran for out in cell.outputs if out.output_type == "error"]
    assert not errors, f"{name}: {errors[0].ename}: {errors[0].evalue}" if errors else ""


def _defined(name: str) -> set[str]:
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    cells = [c for c in notebook.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])]
    return set(_assigned_names(cells[0].source)) if cells else set()


def _assigned_names(source: str) -> list[str]:
    import ast

    return [
        target.id
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    ]
