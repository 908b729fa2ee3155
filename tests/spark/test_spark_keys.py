"""Names Spark would misread, --by fields, undated records and the input options of `spark classify`.

Spark reads a dot in a column name as a field access and compares names case-insensitively; the
jobs must still read ``store.id`` columns and group by metadata keys such as ``store.id`` or
``Source`` (next to the column ``source``) as the local engine does.
"""

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
from spark_helpers import awkward_rows, requires_spark, shipped, spark  # noqa: F401 - fixtures
from typer.testing import CliRunner

from feedback_nlp.dates import DateTally
from feedback_nlp.errors import InputError
from feedback_nlp.scoring.duck import to_arrow
from feedback_nlp.scoring.frame import records_from_rows
from feedback_nlp.scoring.job import run_score_job
from feedback_nlp.spark.classify import _ROW_NUMBER, _job, _record, _with_input, _with_turn_speaker
from feedback_nlp.spark.score import SEGMENT_FIELDS, records_frame, score_dataset, spark_counts

pytestmark = requires_spark

LOADER = "spark_helpers:load_fake_pipeline"
TRICKY_KEYS = ["Source", "store.id"]


def _app() -> Any:
    from feedback_nlp.cli import app

    return app


@pytest.fixture(scope="module")
def records() -> pd.DataFrame:
    """Awkward records whose metadata holds a key with a dot and one named like a column but for case."""
    rows = awkward_rows(120)
    for i, row in enumerate(rows):
        row["metadata"] = {**row["metadata"], "Source": ["email", "chat"][i % 2], "store.id": f"s{i % 3}"}
    return records_from_rows(rows)


@pytest.fixture(scope="module")
def parquet_path(records: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("spark_keys") / "records.parquet"
    pq.write_table(to_arrow(records), path)
    return path


def test_score_groups_by_tricky_metadata_keys_as_the_local_job(
    records: pd.DataFrame,
    parquet_path: Path,
    spark: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    rows = records.drop(columns="topic_label").to_dict("records")
    for row in rows:
        row["created_at"] = None if pd.isna(row["created_at"]) else row["created_at"].to_pydatetime()
    expected = run_score_job(rows, tmp_path / "local", period="week", by=[*TRICKY_KEYS, "source"], min_volume=5).tables
    dates = DateTally()
    got = score_dataset(spark, str(parquet_path), tmp_path / "spark", period="week", by=[*TRICKY_KEYS, "source"],
                        min_volume=5, dates=dates)  # fmt: skip
    assert set(got) == set(expected)
    for name in ("segment_scores_Source", "segment_scores_store.id", "segment_scores_source"):
        assert not got[name].empty
        pd.testing.assert_frame_equal(got[name], expected[name], check_exact=False, rtol=1e-9, obj=name)
    assert set(got["segment_scores_Source"]["Source"]) == {"email", "chat"}  # the key, not the source column
    assert set(got["segment_scores_store.id"]["store.id"]) == {"s0", "s1", "s2"}
    undated = int(records["created_at"].isna().sum())
    assert (dates.total, dates.missing, dates.undated) == (len(records), undated, undated) and undated > 0
    assert len(dates.missing_examples) == 3 and all(e.startswith("id r") for e in dates.missing_examples)


def test_spark_counts_take_tricky_keys_at_both_levels(parquet_path: Path, spark: Any) -> None:  # noqa: F811
    frame = spark.read.parquet(str(parquet_path))
    by_key = spark_counts(frame, ["touchpoint", "Source"], level="touchpoint")
    assert set(by_key["Source"]) == {"email", "chat"}
    by_column = spark_counts(frame, ["touchpoint", "source"], level="touchpoint")
    assert set(by_column["source"]) - {None} == {"web", "store", "app"}  # the column, not the key


@pytest.mark.parametrize(
    "field", ["period", "sentiment_from", "touchpoint", "id", "created_at", "sentiment_score", "n"]
)
def test_score_refuses_table_columns_that_are_no_segment_field(
    spark: Any,  # noqa: F811
    parquet_path: Path,
    tmp_path: Path,
    field: str,
) -> None:
    with pytest.raises(InputError, match=rf"cannot segment by '{field}'.*--by takes {', '.join(SEGMENT_FIELDS)}"):
        score_dataset(spark, str(parquet_path), tmp_path / "out", period="week", by=["region", field])
    assert not (tmp_path / "out").exists()


def test_score_command_refuses_by_period_in_one_line(spark: Any, parquet_path: Path, tmp_path: Path) -> None:  # noqa: F811
    result = CliRunner().invoke(_app(), ["spark", "score", str(parquet_path), str(tmp_path / "out"),
                                         "--by", "period", "--master", "local[2]"])  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot segment by 'period'") and "Traceback" not in result.output


def test_spark_counts_refuse_sentiment_from_at_record_level(parquet_path: Path, spark: Any) -> None:  # noqa: F811
    with pytest.raises(InputError, match="'sentiment_from' counts mentions: pass level='touchpoint'"):
        spark_counts(spark.read.parquet(str(parquet_path)), ["sentiment_from"])


def test_records_frame_refuses_a_key_spark_would_take_for_a_column(parquet_path: Path, spark: Any) -> None:  # noqa: F811
    with pytest.raises(
        InputError, match=r"\['Source'\] are also column names \(Spark compares names case-insensitively"
    ):
        records_frame(spark.read.parquet(str(parquet_path)), metadata_keys=["Source"])


def test_score_command_notes_the_records_left_out_of_the_tables_by_period(
    spark: Any,  # noqa: F811
    records: pd.DataFrame,
    parquet_path: Path,
    tmp_path: Path,
) -> None:
    result = CliRunner().invoke(_app(), ["spark", "score", str(parquet_path), str(tmp_path / "out"),
                                         "--period", "month", "--master", "local[2]"])  # fmt: skip
    assert result.exit_code == 0, result.output
    undated = int(records["created_at"].isna().sum())
    assert f"created_at: of {len(records)} record(s), {undated} had no created_at (e.g. id r" in result.stderr
    assert "but not in the tables by month" in result.stderr
    assert f"read {len(records)} record(s)" in result.stderr and "counted touchpoint:" in result.stderr  # stages


# ---------------------------------------------------------------------------- spark classify


def test_classify_command_reads_dotted_and_named_columns(
    shipped: Any,  # noqa: F811
    tiny_bundle: Path,
    tmp_path: Path,
) -> None:
    """Columns with dots and clashing case reach the records; --created-at-column and --rating-column are read."""
    pq.write_table(pa.table({
        "ref": ["a", "b", "c"],
        "text": ["I love the app", "The delivery was late", "Charged twice on my bill"],
        "store.id": ["s1", "s2", "s1"],
        "`odd`": ["x", "y", "z"],
        "Region": ["north", "south", "north"],
        "when": [datetime(2024, 3, 1, 12, tzinfo=UTC), None, datetime(2024, 3, 9, tzinfo=UTC)],
        "stars": [5.0, 1.0, 2.0],
    }), tmp_path / "in.parquet")  # fmt: skip
    model = shutil.copytree(tiny_bundle, tmp_path / "model")  # the load log goes beside it
    result = CliRunner().invoke(_app(), [
        "spark", "classify", str(tmp_path / "in.parquet"), str(tmp_path / "out"), "--model-dir", str(model),
        "--loader", LOADER, "--kind", "review", "--id-column", "ref", "--created-at-column", "when",
        "--rating-column", "stars", "--master", "local[2]",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "read 3 row(s)" in result.stderr and "3 prediction(s) written" in result.stderr
    table = pq.read_table(tmp_path / "out").to_pandas().set_index("id").sort_index()
    assert [json.loads(m) for m in table["metadata"]] == [
        {"store.id": "s1", "`odd`": "x", "Region": "north"},
        {"store.id": "s2", "`odd`": "y", "Region": "south"},
        {"store.id": "s1", "`odd`": "z", "Region": "north"},
    ]
    assert list(table["rating"]) == [5.0, 1.0, 2.0]
    assert table.loc["a", "created_at"] == pd.Timestamp("2024-03-01T12:00:00Z") and pd.isna(
        table.loc["b", "created_at"]
    )
    scored = CliRunner().invoke(_app(), ["spark", "score", str(tmp_path / "out"), str(tmp_path / "scores"),
                                         "--by", "store.id,Region", "--master", "local[2]"])  # fmt: skip
    assert scored.exit_code == 0, scored.output
    segments = pd.read_csv(tmp_path / "scores" / "segment_scores_store.id.csv")
    assert sorted(segments["store.id"]) == ["s1", "s1"]  # one week each; the undated record is left out
    assert "of 3 record(s), 1 had no created_at" in scored.stderr


def test_classify_refuses_a_column_given_for_a_field_that_is_missing(shipped: Any, tmp_path: Path) -> None:  # noqa: F811
    from feedback_nlp.spark.classify import classify_dataset

    pq.write_table(pa.table({"text": ["hi"]}), tmp_path / "in.parquet")
    with pytest.raises(InputError, match=r"no column 'tweet_created' \(given for created_at\); columns found: 'text'"):
        classify_dataset(shipped, str(tmp_path / "in.parquet"), str(tmp_path / "out"), default_kind="review",
                         loader=LOADER, columns={"created_at": "tweet_created"})  # fmt: skip


def test_transcripts_with_a_turns_column_need_no_text_column(shipped: Any, tmp_path: Path) -> None:  # noqa: F811
    turns = [{"speaker": "customer", "text": "my parcel never came"}, {"speaker": "agent", "text": "sorry"}]
    pq.write_table(pa.Table.from_pylist([{"id": "t1", "turns": turns}]), tmp_path / "chats.parquet")
    job = _job(LOADER, None, 8, "text", "kind", "id", "transcript")
    job = _with_input(job, shipped.read.parquet(str(tmp_path / "chats.parquet")))
    assert job.turns and job.input_columns == ("id", "turns")
    record, problem = _record({"id": "t1", "turns": turns, _ROW_NUMBER: 0}, job)
    assert problem is None and record is not None
    assert [t.text for t in record.turns or []] == ["my parcel never came", "sorry"]
    pq.write_table(pa.table({"id": ["t1"], "turns": ["3 turns"]}), tmp_path / "counts.parquet")  # not a list
    with pytest.raises(InputError, match="no text column 'text' \\(nor a list column of transcript turns\\)"):
        _with_input(job, shipped.read.parquet(str(tmp_path / "counts.parquet")))


def test_turns_naming_no_speaker_take_the_turn_speaker(shipped: Any, tmp_path: Path) -> None:  # noqa: F811
    turns = [{"text": "my parcel never came"}, {"text": "still nothing"}]
    pq.write_table(pa.Table.from_pylist([{"id": "t1", "turns": turns}]), tmp_path / "customer.parquet")
    job = _with_input(
        _job(LOADER, None, 8, "text", "kind", "id", "transcript"),
        shipped.read.parquet(str(tmp_path / "customer.parquet")),
    )
    record, problem = _record({"id": "t1", "turns": turns, _ROW_NUMBER: 0}, job)
    assert record is None and problem is not None and "speaker" in problem  # refused without the option
    record, problem = _record({"id": "t1", "turns": turns, _ROW_NUMBER: 0}, _with_turn_speaker(job, "customer"))
    assert problem is None and record is not None
    assert [t.speaker.value for t in record.turns or []] == ["customer", "customer"]
    with pytest.raises(InputError, match="--turn-speaker"):
        _with_turn_speaker(job, "narrator")
