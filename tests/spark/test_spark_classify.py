"""classify_dataset on Spark: one prediction per valid row, bad rows reported, the pipeline loaded once per worker."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from spark_helpers import LOAD_LOG, POISON, requires_spark, shipped, spark  # noqa: F401 - fixtures

from feedback_nlp.cli.errors import EXIT_ROWS_FAILED
from feedback_nlp.errors import ConfigError, InputError
from feedback_nlp.scoring.duck import duck_counts
from feedback_nlp.scoring.frame import records_from_frame
from feedback_nlp.settings import PROJECT_ROOT
from feedback_nlp.spark.classify import ERROR_COLUMNS, ERRORS_DIR, PREDICTION_SCHEMA, classify_dataset
from feedback_nlp.spark.score import spark_counts
from feedback_nlp.taxonomy.records import FeedbackRecord

pytestmark = requires_spark

LOADER = "spark_helpers:load_fake_pipeline"
PARTITIONS = 6
TEXTS = [
    "I love the app, it is great",
    "The delivery was late, terrible courier",
    "Love the app, but the delivery was late and the courier was rude",
    "How do I change my delivery address?",
    "Awful, I was charged twice on my bill, terrible",
    "Great live chat, the agent solved my problem. The website login is broken though.",
    "Thanks for the quick refund, great and lovely",
    "I called three times and was on hold for an hour, terrible",
]

# (id, text, kind, nps, why it is rejected)
BAD_ROWS = [
    ("empty", "", "review", None, "text: missing or empty"),
    ("blank", "   \n ", "review", None, "text: missing or empty"),
    ("null-text", None, "survey", None, "text: missing or empty"),
    ("tweet", "Great app", "tweet", None, "kind: expected one of"),
    ("nps-11", "Great app", "survey", 11, "nps: expected at most 10"),
    ("poison", f"The app is great {POISON}", "review", None, "prediction failed: ValueError"),
]


def _input_rows() -> list[dict[str, Any]]:
    rows = []
    for i in range(40):
        rows.append({
            "id": f"ok-{i:02d}" if i % 10 else None,  # some rows without an id
            "text": TEXTS[i % len(TEXTS)] + ("" if i < len(TEXTS) else f" (visit {i})"),
            "kind": None if i % 7 == 0 else ["review", "survey", "social"][i % 3],  # None: default_kind
            "created_at": datetime(2024, 3, 1 + i % 28, 12, tzinfo=UTC),
            "nps": None if i % 4 == 3 else i % 11,
            "rating": None if i % 3 == 1 else 1.0 + i % 5,
            "source": "app-store" if i % 2 else None,
            "region": ["north", "south"][i % 2],  # not a record field: goes to metadata
        })  # fmt: skip
    for record_id, text, kind, nps, _ in BAD_ROWS:
        rows.append({"id": record_id, "text": text, "kind": kind, "created_at": None, "nps": nps, "rating": None,
                     "source": None, "region": None})  # fmt: skip
    return rows


@pytest.fixture(scope="module")
def run(shipped: Any, tiny_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:  # noqa: F811
    """One classify_dataset run spread over six tasks; what it returned and wrote."""
    root = tmp_path_factory.mktemp("spark_classify")
    model = shutil.copytree(tiny_bundle, root / "model")  # the load log goes beside it
    source = root / "input.parquet"
    pq.write_table(pa.Table.from_pylist(_input_rows()), source)
    result = classify_dataset(shipped, str(source), str(root / "predictions"), model_dir=str(model), batch_size=4,
                              default_kind="review", loader=LOADER, partitions=PARTITIONS)  # fmt: skip
    return {"result": result, "root": root, "model": model, "output": root / "predictions"}


def test_classify_dataset_writes_one_prediction_per_valid_row(run: dict[str, Any]) -> None:
    predictions = pq.read_table(run["output"])  # the _errors folder is skipped, as Spark skips it
    good = [r for r in _input_rows() if r["id"] is None or not any(r["id"] == b[0] for b in BAD_ROWS)]
    assert run["result"].predictions == predictions.num_rows == len(good) == 40
    ids = predictions.column("id").to_pylist()
    assert len(set(ids)) == len(ids)
    assert {i for i in ids if i.startswith("row-")} and all(i.startswith(("ok-", "row-")) for i in ids)


def test_classify_dataset_writes_the_records_layout(run: dict[str, Any]) -> None:
    table = pq.read_table(run["output"])
    assert table.schema.names == PREDICTION_SCHEMA.names
    for field in PREDICTION_SCHEMA:
        assert table.schema.field(field.name).type == field.type, field.name
    frame = records_from_frame(table.to_pandas())  # the scoring package reads it back
    row = frame.set_index("id").loc["ok-05"]
    assert (row["kind"], row["nps"], row["rating"], row["source"]) == ("social", 5.0, 1.0, "app-store")
    assert row["metadata"] == {"region": "south"}  # a column that is no record field
    assert row["created_at"] == pd.Timestamp("2024-03-06T12:00:00Z")
    kinds = frame.set_index("id")["kind"]
    assert kinds["ok-07"] == "review"  # no kind: the default


def test_classify_dataset_matches_the_pipeline_in_process(run: dict[str, Any], fake_pipeline: Any) -> None:
    table = pq.read_table(run["output"]).to_pandas().set_index("id")
    sample = table.loc[[f"ok-{i:02d}" for i in (1, 2, 3, 5)]]
    texts = [TEXTS[1], TEXTS[2], TEXTS[3], TEXTS[5]]
    records = [FeedbackRecord(id=i, kind=row["kind"], text=text) for i, row, text in
               zip(sample.index, sample.to_dict("records"), texts, strict=True)]  # fmt: skip
    for record, prediction in zip(records, fake_pipeline.predict(records), strict=True):
        got = table.loc[record.id]
        assert got["sentiment_label"] == prediction.sentiment.label
        assert got["sentiment_score"] == prediction.sentiment.score
        assert got["journey_stage"] == prediction.journey_stage.label
        assert [t["label"] for t in got["touchpoints"]] == [t.label for t in prediction.touchpoints]
        assert len(got["segments"]) == len(prediction.segments)
        assert got["model_version"] == prediction.model_version


def test_classify_dataset_reports_bad_rows_with_reasons(run: dict[str, Any]) -> None:
    errors = pq.read_table(run["output"] / ERRORS_DIR)
    assert errors.schema.names == list(ERROR_COLUMNS)
    assert run["result"].errors == errors.num_rows == len(BAD_ROWS)
    by_id = {row["id"]: row for row in errors.to_pylist()}
    for record_id, text, kind, _, reason in BAD_ROWS:
        assert reason in by_id[record_id]["error"], by_id[record_id]
        assert (by_id[record_id]["kind"], by_id[record_id]["text"]) == (kind, text)


def test_classify_dataset_loads_the_pipeline_once_per_worker(run: dict[str, Any]) -> None:
    pids = (run["root"] / LOAD_LOG).read_text(encoding="utf-8").split()
    assert pids, "the loader never ran"
    assert len(pids) == len(set(pids)), f"a worker loaded the pipeline twice: {pids}"
    assert len(pids) < PARTITIONS, f"{len(pids)} loads for {PARTITIONS} tasks: workers were not reused"


def test_classify_dataset_output_feeds_both_engines(run: dict[str, Any], shipped: Any) -> None:  # noqa: F811
    by = ["touchpoint", "region", "period"]
    got = spark_counts(shipped.read.parquet(str(run["output"])), by, level="touchpoint", period="week")
    assert not got.empty
    pd.testing.assert_frame_equal(got, duck_counts(f"{run['output']}/*.parquet", by, level="touchpoint", period="week"))


@pytest.mark.parametrize(("columns", "message"), [
    ({"body": ["hello"], "kind": ["review"]}, r"no text column 'text'.*'body'"),
    ({"text": ["hello"]}, r"no kind column 'kind'.*default_kind="),
])  # fmt: skip
def test_classify_dataset_refuses_missing_columns(
    shipped: Any,  # noqa: F811
    tmp_path: Path,
    columns: dict[str, list[str]],
    message: str,
) -> None:
    pq.write_table(pa.table(columns), tmp_path / "in.parquet")
    with pytest.raises(InputError, match=message):
        classify_dataset(shipped, str(tmp_path / "in.parquet"), str(tmp_path / "out"), loader=LOADER)


@pytest.mark.parametrize(("options", "error"), [
    ({"batch_size": 0}, ConfigError),
    ({"partitions": 0}, ConfigError),
    ({"loader": "spark_helpers.load_fake_pipeline"}, ConfigError),
    ({"default_kind": "tweet"}, InputError),
])  # fmt: skip
def test_classify_dataset_checks_options_before_running(
    shipped: Any,  # noqa: F811
    tmp_path: Path,
    options: dict[str, Any],
    error: type[Exception],
) -> None:
    with pytest.raises(error):
        classify_dataset(shipped, str(tmp_path / "missing.parquet"), str(tmp_path / "out"), **options)


@pytest.mark.slow
@pytest.mark.skipif(not (PROJECT_ROOT / "models" / "default" / "manifest.json").is_file(), reason="no models/default")
def test_classify_dataset_with_the_shipped_bundle(shipped: Any, tmp_path: Path) -> None:  # noqa: F811
    """The real pipeline on the executors gives what it gives in process (same labels, scores to 1e-4)."""
    from feedback_nlp.storage.loading import load_pipeline

    texts = TEXTS[:4]
    pq.write_table(pa.table({"id": [str(i) for i in range(4)], "text": texts}), tmp_path / "in.parquet")
    result = classify_dataset(shipped, str(tmp_path / "in.parquet"), str(tmp_path / "out"),
                              model_dir=str(PROJECT_ROOT / "models" / "default"), default_kind="review")  # fmt: skip
    assert (result.predictions, result.errors) == (4, 0)
    table = pq.read_table(tmp_path / "out").to_pandas().set_index("id")
    expected = load_pipeline(PROJECT_ROOT / "models" / "default").predict_texts(texts, "review")
    for i, prediction in enumerate(expected):
        assert table.loc[str(i), "sentiment_label"] == prediction.sentiment.label
        assert table.loc[str(i), "sentiment_score"] == pytest.approx(prediction.sentiment.score, abs=1e-4)
        assert json.loads(table.loc[str(i), "metadata"]) == {}


def test_spark_classify_command(shipped: Any, tiny_bundle: Path, tmp_path: Path) -> None:  # noqa: F811
    """`feedback-nlp spark classify` runs classify_dataset and says what it wrote and rejected."""
    from typer.testing import CliRunner

    from feedback_nlp.cli import app

    model = shutil.copytree(tiny_bundle, tmp_path / "model")
    pq.write_table(pa.Table.from_pylist(_input_rows()), tmp_path / "in.parquet")
    result = CliRunner().invoke(app, [
        "spark", "classify", str(tmp_path / "in.parquet"), str(tmp_path / "out"), "--model-dir", str(model),
        "--kind", "review", "--loader", LOADER, "--batch-size", "4", "--partitions", "2", "--master", "local[2]",
    ])  # fmt: skip
    assert result.exit_code == EXIT_ROWS_FAILED, result.output  # written, but some rows were rejected
    written = pq.read_table(tmp_path / "out").num_rows
    rejected = pq.read_table(tmp_path / "out" / "_errors").num_rows
    assert written > 0 and rejected == len(BAD_ROWS)
    assert f"{written} prediction(s) written" in result.stderr
    assert f"{rejected} row(s) rejected" in result.stderr
    assert f"{rejected} row(s) failed, {written} classified." in result.stderr  # as `feedback-nlp classify` says


def test_spark_classify_command_names_a_missing_text_column(shipped: Any, tmp_path: Path) -> None:  # noqa: F811
    from typer.testing import CliRunner

    from feedback_nlp.cli import app

    pq.write_table(pa.table({"id": ["1"], "body": ["hello"]}), tmp_path / "in.parquet")
    result = CliRunner().invoke(app, ["spark", "classify", str(tmp_path / "in.parquet"), str(tmp_path / "out"),
                                      "--kind", "review", "--master", "local[2]"])  # fmt: skip
    assert result.exit_code == 1
    assert "text" in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()
