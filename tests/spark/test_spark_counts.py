"""The Spark engine gives exactly the pandas and DuckDB engines' count tables and scores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
from spark_helpers import awkward_rows, requires_spark, spark  # noqa: F401 - spark is a fixture

from feedback_nlp.errors import InputError
from feedback_nlp.scoring.aggregate import COUNT_COLUMNS, group_counts
from feedback_nlp.scoring.duck import duck_counts, to_arrow
from feedback_nlp.scoring.frame import mentions, records_from_rows, with_fields
from feedback_nlp.scoring.job import run_score_job
from feedback_nlp.scoring.scores import dated
from feedback_nlp.spark.score import mentions_frame, score_dataset, spark_counts

pytestmark = requires_spark

# (by, level, period): every kind of key, both levels, the three periods.
CASES: list[tuple[list[str], str, str | None]] = [
    ([], "record", None),
    (["journey_stage"], "record", None),
    (["period"], "record", "day"),
    (["topic_label", "period"], "record", "week"),
    (["region", "period"], "record", "month"),
    (["tier", "vip", "source"], "record", None),
    (["plan", "kind"], "record", None),
    (["touchpoint"], "touchpoint", None),
    (["touchpoint", "period"], "touchpoint", "week"),
    (["journey_stage", "touchpoint"], "touchpoint", None),
    (["touchpoint", "topic_label"], "touchpoint", None),
    (["touchpoint", "region", "period"], "touchpoint", "day"),
    ([], "touchpoint", "month"),
]


@pytest.fixture(scope="module")
def records() -> pd.DataFrame:
    return records_from_rows(awkward_rows())


@pytest.fixture(scope="module")
def parquet_path(records: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("spark_counts") / "records.parquet"
    pq.write_table(to_arrow(records), path)
    return path


@pytest.fixture(scope="module")
def frame(spark: Any, parquet_path: Path) -> Any:  # noqa: F811
    return spark.read.parquet(str(parquet_path)).repartition(3)  # several partitions, rows out of order


def pandas_counts(records: pd.DataFrame, by: list[str], level: str, period: str | None) -> pd.DataFrame:
    """The pandas engine's count table for the same breakdown."""
    frame = dated(records, period)  # type: ignore[arg-type]
    metadata_keys = [k for k in by if k not in frame.columns and k != "touchpoint"]
    if level == "touchpoint":
        return group_counts(mentions(frame, metadata_keys=metadata_keys), by)
    return group_counts(with_fields(frame, metadata_keys), by)


@pytest.mark.parametrize(("by", "level", "period"), CASES, ids=lambda v: str(v))
def test_spark_counts_equal_pandas_and_duckdb(
    records: pd.DataFrame, parquet_path: Path, frame: Any, by: list[str], level: str, period: str | None
) -> None:
    got = spark_counts(frame, by, level=level, period=period)  # type: ignore[arg-type]
    expected = pandas_counts(records, by, level, period)
    duck = duck_counts(parquet_path, by, level=level, period=period)  # type: ignore[arg-type]
    assert len(got) > 0
    pd.testing.assert_frame_equal(got, expected)
    pd.testing.assert_frame_equal(got, duck)


def test_mentions_frame_follows_the_mention_rule(records: pd.DataFrame, frame: Any) -> None:
    """Row by row: the same mentions, labels (ties to the latest segment) and bit-identical mean scores."""
    columns = ["id", "touchpoint", "sentiment_label", "sentiment_score", "sentiment_from"]
    got = pd.DataFrame([r.asDict() for r in mentions_frame(frame).select(*columns).collect()], columns=columns)
    expected = mentions(records)[columns]
    order = ["id", "touchpoint"]
    got = got.sort_values(order).reset_index(drop=True)
    expected = expected.sort_values(order).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, check_exact=True)
    assert (expected["sentiment_from"] == "segments").sum() > 50  # the sample exercises the segment rule


def test_spark_counts_of_an_empty_input_are_empty(frame: Any) -> None:
    for by, level in (([], "record"), (["touchpoint"], "touchpoint")):
        got = spark_counts(frame.limit(0), by, level=level)  # type: ignore[arg-type]
        assert got.empty and list(got.columns) == [*by, *COUNT_COLUMNS]


@pytest.mark.parametrize(
    ("by", "level", "period", "message"),
    [
        (["period"], "record", None, "needs period="),
        (["touchpoint"], "record", None, "level='touchpoint'"),
        ([], "record", "fortnight", "period must be one of"),
    ],
)
def test_spark_counts_refuses_inconsistent_arguments(
    frame: Any, by: list[str], level: str, period: str | None, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        spark_counts(frame, by, level=level, period=period)  # type: ignore[arg-type]


def test_spark_counts_names_missing_columns(frame: Any) -> None:
    with pytest.raises(InputError, match=r"'sentiment_label'.*missing"):
        spark_counts(frame.drop("sentiment_label"), ["kind"])


def test_score_dataset_writes_the_pandas_job_tables(records: pd.DataFrame, parquet_path: Path, spark: Any,  # noqa: F811
                                                    tmp_path: Path) -> None:  # fmt: skip
    rows = records.drop(columns="topic_label").to_dict("records")
    for row in rows:  # the pandas job reads rows as they come from a database or JSONL
        row["created_at"] = None if pd.isna(row["created_at"]) else row["created_at"].to_pydatetime()
    expected = run_score_job(rows, tmp_path / "pandas", period="week", by=["region", "source"], min_volume=5).tables
    got = score_dataset(spark, str(parquet_path), tmp_path / "spark", period="week", by=["region", "source"],
                        min_volume=5)  # fmt: skip
    assert set(got) == set(expected) >= {
        "touchpoint_scores", "journey_matrix", "trends", "drivers", "alerts", "overall_scores",
        "segment_scores_region", "segment_scores_source",
    }  # fmt: skip
    assert not expected["trends"].empty and not expected["drivers"].empty
    for name, table in expected.items():
        pd.testing.assert_frame_equal(got[name], table, check_exact=False, rtol=1e-9, atol=1e-9, obj=name)
        written = pd.read_parquet(tmp_path / "spark" / f"{name}.parquet")
        assert len(written) == len(table) and (tmp_path / "spark" / f"{name}.csv").is_file()


def test_spark_score_command_writes_the_same_tables(parquet_path: Path, spark: Any, tmp_path: Path) -> None:  # noqa: F811
    """`feedback-nlp spark score INPUT OUTPUT` writes what score_dataset writes."""
    from typer.testing import CliRunner

    from feedback_nlp.cli import app

    expected = score_dataset(spark, str(parquet_path), tmp_path / "api", period="month", by=["region"], min_volume=5)
    result = CliRunner().invoke(app, ["spark", "score", str(parquet_path), str(tmp_path / "cli"), "--period", "month",
                                      "--by", "region", "--min-volume", "5", "--master", "local[2]"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"({len(expected)} tables;" in result.stderr
    for name in expected:
        pd.testing.assert_frame_equal(
            pd.read_parquet(tmp_path / "cli" / f"{name}.parquet"),
            pd.read_parquet(tmp_path / "api" / f"{name}.parquet"),
            obj=name,
        )
