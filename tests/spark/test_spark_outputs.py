"""The Spark jobs never delete what they were not asked to replace, and fail with one error line.

A local output folder is replaced only when it is absent, empty or an earlier output of the same
command (``_errors/`` for `spark classify`, ``_state/`` for `spark score`), never when it is or
holds the input, and only once the job succeeded: a failed rerun leaves the earlier output whole.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from spark_helpers import awkward_rows, requires_spark, shipped, spark  # noqa: F401 - fixtures
from typer.testing import CliRunner

from feedback_nlp.errors import BundleError, InputError
from feedback_nlp.scoring.duck import to_arrow
from feedback_nlp.scoring.frame import records_from_rows
from feedback_nlp.spark.classify import ERRORS_DIR, classify_dataset
from feedback_nlp.spark.score import score_dataset

pytestmark = requires_spark

LOADER = "spark_helpers:load_fake_pipeline"


def _app() -> Any:
    from feedback_nlp.cli import app

    return app


def _feedback(path: Path) -> Path:
    pq.write_table(pa.table({"id": ["a", "b"], "text": ["I love the app", "The delivery was late"]}), path)
    return path


def _earlier_predictions(folder: Path) -> dict[str, bytes]:
    """A folder as an earlier `spark classify` left it; its files and their bytes."""
    (folder / ERRORS_DIR).mkdir(parents=True)
    pq.write_table(pa.table({"id": ["old"]}), folder / "part-00000-old.parquet")
    pq.write_table(pa.table({"id": pa.array([], pa.string())}), folder / ERRORS_DIR / "part-00000-old.parquet")
    (folder / "_SUCCESS").write_bytes(b"")
    return _snapshot(folder)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _error_line(result: Any) -> str:
    """The one `error:` line the command printed (after any stage lines); no traceback."""
    assert "Traceback" not in result.output, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    return errors[0]


# ---------------------------------------------------------------------------- spark classify


def test_classify_refuses_a_folder_holding_other_files(shipped: Any, tmp_path: Path) -> None:  # noqa: F811
    source = _feedback(tmp_path / "in.parquet")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.txt").write_text("keep me")
    with pytest.raises(InputError, match=r"docs already holds other files \(notes\.txt\).*spark classify predictions"):
        classify_dataset(shipped, str(source), str(tmp_path / "docs"), default_kind="review", loader=LOADER)
    assert (tmp_path / "docs" / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in (tmp_path / "docs").iterdir()) == ["notes.txt"]


def test_classify_refuses_an_output_folder_holding_the_input(shipped: Any, tmp_path: Path) -> None:  # noqa: F811
    data = tmp_path / "data"
    data.mkdir()
    source = _feedback(data / "in.parquet")
    (data / "readme.txt").write_text("about the data")
    before = _snapshot(data)
    for output in (data, data / ".." / "data"):
        with pytest.raises(
            InputError, match=r"holds the input .*in\.parquet: writing the predictions there would delete"
        ):
            classify_dataset(shipped, str(source), str(output), default_kind="review", loader=LOADER)
    earlier = tmp_path / "predictions"
    _earlier_predictions(earlier)
    with pytest.raises(InputError, match="holds the input"):  # predictions in, the same predictions out
        classify_dataset(shipped, str(earlier), str(earlier), default_kind="review", loader=LOADER)
    assert _snapshot(data) == before


def test_classify_with_errorifexists_refuses_an_earlier_output(shipped: Any, tmp_path: Path) -> None:  # noqa: F811
    before = _earlier_predictions(tmp_path / "out")
    with pytest.raises(InputError, match=r"already exists \(mode='errorifexists'\)"):
        classify_dataset(shipped, str(_feedback(tmp_path / "in.parquet")), str(tmp_path / "out"),
                         default_kind="review", loader=LOADER, mode="errorifexists")  # fmt: skip
    assert _snapshot(tmp_path / "out") == before


def test_classify_rerun_with_a_missing_bundle_keeps_the_earlier_predictions(
    shipped: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    before = _earlier_predictions(tmp_path / "out")
    result = CliRunner().invoke(_app(), [
        "spark", "classify", str(_feedback(tmp_path / "in.parquet")), str(tmp_path / "out"),
        "--model-dir", str(tmp_path / "nonexistent" / "model"), "--kind", "review", "--master", "local[2]",
    ])  # fmt: skip
    assert result.exit_code == 1, result.output
    line = _error_line(result)
    assert "--model-dir" in line and "nonexistent/model" in line and "found none" in line, line
    assert _snapshot(tmp_path / "out") == before


def test_classify_rerun_failing_on_the_executors_keeps_the_earlier_predictions(
    shipped: Any,  # noqa: F811
    tiny_bundle: Path,
    tmp_path: Path,
) -> None:
    """The bundle's manifest reads on the driver, but its heads were changed: the executors refuse it."""
    model = Path(shutil.copytree(tiny_bundle, tmp_path / "model"))
    listed = model / sorted(json.loads((model / "manifest.json").read_text())["files"])[0]
    listed.write_bytes(listed.read_bytes()[:-1])
    before = _earlier_predictions(tmp_path / "out")
    with pytest.raises(BundleError, match=r"^on an executor: .*changed or truncated"):
        classify_dataset(shipped, str(_feedback(tmp_path / "in.parquet")), str(tmp_path / "out"),
                         model_dir=str(model), default_kind="review")  # fmt: skip
    assert _snapshot(tmp_path / "out") == before
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left


def test_classify_replaces_an_earlier_output_whole(shipped: Any, tiny_bundle: Path, tmp_path: Path) -> None:  # noqa: F811
    model = shutil.copytree(tiny_bundle, tmp_path / "model")
    _earlier_predictions(tmp_path / "out")
    result = classify_dataset(shipped, str(_feedback(tmp_path / "in.parquet")), str(tmp_path / "out"),
                              model_dir=str(model), default_kind="review", loader=LOADER)  # fmt: skip
    assert (result.predictions, result.errors) == (2, 0)
    assert not (tmp_path / "out" / "part-00000-old.parquet").exists()
    assert sorted(pq.read_table(tmp_path / "out").column("id").to_pylist()) == ["a", "b"]
    assert pq.read_table(tmp_path / "out" / ERRORS_DIR).num_rows == 0  # the marker of the next run
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # the staging folder was swapped in


@pytest.mark.parametrize(("name", "content", "message"), [
    ("in.csv", "id,text\n1,late again\n",
     "in.csv is a CSV file: spark classify reads Parquet; convert CSV/JSONL first (`feedback-nlp classify`"),
    ("in.jsonl", '{"id": "1", "text": "late again"}\n', "in.jsonl is a JSONL file: spark classify reads Parquet"),
])  # fmt: skip
def test_classify_command_refuses_csv_and_jsonl_in_one_line(
    shipped: Any,  # noqa: F811
    tmp_path: Path,
    name: str,
    content: str,
    message: str,
) -> None:
    (tmp_path / name).write_text(content)
    result = CliRunner().invoke(_app(), ["spark", "classify", str(tmp_path / name), str(tmp_path / "out"),
                                         "--kind", "review", "--master", "local[2]"])  # fmt: skip
    assert result.exit_code == 1
    assert message in _error_line(result)
    assert not (tmp_path / "out").exists()


def test_classify_command_names_a_missing_input(shipped: Any, tmp_path: Path) -> None:  # noqa: F811
    result = CliRunner().invoke(_app(), ["spark", "classify", str(tmp_path / "nope"), str(tmp_path / "out"),
                                         "--kind", "review", "--master", "local[2]"])  # fmt: skip
    assert result.exit_code == 1
    assert f"input path not found: {tmp_path / 'nope'}" in _error_line(result)


# ---------------------------------------------------------------------------- spark score


@pytest.fixture(scope="module")
def predictions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("spark_outputs") / "predictions"
    folder.mkdir()
    pq.write_table(to_arrow(records_from_rows(awkward_rows(60))), folder / "part-00000.parquet")
    (folder / ERRORS_DIR).mkdir()
    return folder


def test_score_command_refuses_a_folder_holding_other_files(
    spark: Any,  # noqa: F811
    predictions: Path,
    tmp_path: Path,
) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.txt").write_text("keep me")
    result = CliRunner().invoke(_app(), ["spark", "score", str(predictions), str(tmp_path / "docs"),
                                         "--master", "local[2]"])  # fmt: skip
    assert result.exit_code == 1
    assert "docs already holds other files (notes.txt) and the score tables would replace them" in _error_line(result)
    assert [p.name for p in (tmp_path / "docs").iterdir()] == ["notes.txt"]


def test_score_refuses_to_write_over_its_input(spark: Any, predictions: Path) -> None:  # noqa: F811
    before = _snapshot(predictions)
    with pytest.raises(InputError, match="holds the input .*would delete the input"):
        score_dataset(spark, str(predictions), predictions, period="week")
    assert _snapshot(predictions) == before


def test_score_writes_state_and_replaces_its_own_output(spark: Any, predictions: Path, tmp_path: Path) -> None:  # noqa: F811
    """Like `feedback-nlp score`, the output holds _state/; a second run replaces the first."""
    score_dataset(spark, str(predictions), tmp_path / "scores", period="week", by=["source"])
    state = json.loads((tmp_path / "scores" / "_state" / "state.json").read_text())
    assert (state["period"], state["by"], state["total_records"], state["incremental"]) == (
        "week",
        ["source"],
        60,
        False,
    )
    assert (tmp_path / "scores" / "_state" / "counts_touchpoint.parquet").is_file()
    score_dataset(spark, str(predictions), tmp_path / "scores", period="month")
    assert not (tmp_path / "scores" / "segment_scores_source.csv").exists()  # replaced whole
    assert (tmp_path / "scores" / "touchpoint_scores.csv").is_file()


@pytest.mark.parametrize(("make", "message"), [
    (lambda tmp: tmp / "nope", "input path not found: "),
    (lambda tmp: (tmp / "in.jsonl").write_text("{}\n") and tmp / "in.jsonl",
     "in.jsonl is a JSONL file: spark score reads the Parquet predictions"),
])  # fmt: skip
def test_score_command_refuses_bad_inputs_in_one_line(spark: Any, tmp_path: Path, make: Any, message: str) -> None:  # noqa: F811
    result = CliRunner().invoke(_app(), ["spark", "score", str(make(tmp_path)), str(tmp_path / "out"),
                                         "--master", "local[2]"])  # fmt: skip
    assert result.exit_code == 1
    assert message in _error_line(result)
    assert not (tmp_path / "out").exists()
