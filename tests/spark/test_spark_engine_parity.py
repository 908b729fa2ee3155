"""The count contract: the local engine (DuckDB, the one SQL mention rule) and the Spark job agree.

The same small data, written here, is counted by ``scoring.duck`` (from Parquet and from a
SQLite store, as the service counts) and by Spark (``spark_counts`` and the ``score_dataset``
job); every count table and every score table must be equal. A few counts are also checked by
hand, so the test fails if both engines drift the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
from spark_helpers import requires_spark, spark  # noqa: F401 - spark is a fixture

from feedback_nlp.scoring import job
from feedback_nlp.scoring.duck import duck_counts, store_counts, to_arrow
from feedback_nlp.scoring.frame import records_from_rows
from feedback_nlp.spark.score import score_dataset, spark_counts

pytestmark = requires_spark

MONDAY = datetime(2026, 3, 2, 9, tzinfo=UTC)


def _seg(label: str, score: float, *touchpoints: str) -> dict[str, Any]:
    return {
        "sentiment": {"label": label, "score": score},
        "touchpoints": [{"label": t, "confidence": 0.7} for t in touchpoints],
    }


def _rows() -> list[dict[str, Any]]:
    """Eight records: text-only and segment-only touchpoints, a tie, a majority, no touchpoint, no date."""

    def row(
        i: int, day: int | None, label: str, score: float, tps: list[str], segs: list[dict[str, Any]], **extra: Any
    ) -> dict[str, Any]:
        return {"id": f"s{i}", "source": ("web", "app")[i % 2], "kind": "review", "sentiment_label": label,
                "sentiment_score": score, "journey_stage": ("usage", "support")[i % 2],
                "created_at": None if day is None else MONDAY.replace(day=day),
                "touchpoints": [{"label": t, "confidence": 0.9} for t in tps], "segments": segs,
                "metadata": {"region": ("north", "south")[i % 2]},
                "topic": {"id": i % 2, "label": ("late parcel", "app crash")[i % 2], "confidence": 0.8},
                **extra}  # fmt: skip

    return [
        row(0, 2, "negative", -0.6, ["delivery"], [], nps=2.0),
        row(1, 3, "positive", 0.8, ["mobile_app"], [], nps=10.0, rating=5.0),
        # a tie between two segments about delivery: the later one (positive) wins, mean 0.125
        row(2, 4, "neutral", 0.0, [], [_seg("negative", -0.25, "delivery"), _seg("positive", 0.5, "delivery")]),
        # delivery from the text, phone only from a segment
        row(3, 9, "negative", -0.4, ["delivery"], [_seg("negative", -0.9, "phone")], rating=2.0),
        # majority: two negatives beat a later positive
        row(
            4,
            10,
            "positive",
            0.3,
            ["phone"],
            [_seg("negative", -0.5, "phone"), _seg("negative", -0.3, "phone"), _seg("positive", 0.9, "phone")],
        ),
        row(5, 11, "neutral", 0.05, [], [], nps=8.0),  # no touchpoint: no mention
        row(6, None, "negative", -0.7, ["delivery"], []),  # no date: left out of the period tables
        row(7, 17, "positive", 0.6, ["delivery", "mobile_app"], [], nps=9.0, rating=4.0),
    ]


@pytest.fixture(scope="module")
def parquet_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("parity") / "records.parquet"
    pq.write_table(to_arrow(records_from_rows(_rows())), path)
    return path


def test_duckdb_and_spark_count_tables_are_equal(spark: Any, parquet_path: Path) -> None:  # noqa: F811
    frame = spark.read.parquet(str(parquet_path)).repartition(2)
    for name, spec in job.count_specs(["region"]).items():
        period = "week" if "period" in spec.keys else None
        local = duck_counts(parquet_path, spec.keys, level=spec.level, period=period)  # type: ignore[arg-type]
        remote = spark_counts(frame, spec.keys, level=spec.level, period=period)  # type: ignore[arg-type]
        assert len(local) > 0, name
        pd.testing.assert_frame_equal(remote, local, obj=name)


def test_the_counts_are_the_rule_counted_by_hand(parquet_path: Path) -> None:
    counts = duck_counts(parquet_path, ["touchpoint"], level="touchpoint").set_index("touchpoint")
    # delivery: s0 negative, s2 positive (tie -> later), s3 negative, s6 negative, s7 positive
    assert counts.loc["delivery", ["n", "n_negative", "n_positive"]].tolist() == [5, 3, 2]
    # delivery's score sum: -0.6 + 0.125 - 0.4 - 0.7 + 0.6 = -0.975
    assert counts.loc["delivery", "sum_score_e5"] == -97_500
    # phone: s3 from its segment (negative), s4 majority negative, mean (-0.5 - 0.3 + 0.9) / 3
    assert counts.loc["phone", ["n", "n_negative"]].tolist() == [2, 2]
    assert counts.loc["phone", "sum_score_e5"] == -90_000 + 3_333
    assert counts.loc["mobile_app", ["n", "n_promoters", "n_csat", "n_satisfied"]].tolist() == [2, 2, 2, 2]


def test_duckdb_from_a_store_and_the_spark_job_give_equal_score_tables(spark: Any, parquet_path: Path,  # noqa: F811
                                                                      tmp_path: Path) -> None:  # fmt: skip
    from sqlalchemy import insert

    from feedback_nlp.storage.db import init_db
    from feedback_nlp.storage.models import Feedback

    received = MONDAY.replace(day=20)  # the store dates a record without created_at by received_at
    rows = [{**row, "created_at": row["created_at"] or received} for row in _rows()]
    dated_path = tmp_path / "dated.parquet"
    pq.write_table(to_arrow(records_from_rows(rows)), dated_path)
    engine = init_db(f"sqlite:///{tmp_path / 'store.db'}")
    stored = [{**row, "external_id": row["id"], "external_id_generated": False, "text": "redacted",
               "text_sha256": "0" * 64, "received_at": received, "channel": None, "rating": row.get("rating"),
               "nps": row.get("nps"), "sentiment_probabilities": None, "journey_stage_confidence": 0.9,
               "model_version": "test", "created_at": None if row["id"] == "s6" else row["created_at"]}
              for row in rows]  # fmt: skip
    with engine.begin() as connection:
        connection.execute(insert(Feedback.__table__), stored)
    local = store_counts(engine, job.count_specs(["region"]), "week")
    engine.dispose()
    expected = job.tables_from_counts(local.counts, "week", ["region"], min_volume=2)
    got = score_dataset(spark, str(dated_path), tmp_path / "spark", period="week", by=["region"], min_volume=2)
    assert local.records == 8 and set(got) == set(expected)
    for name, table in expected.items():
        pd.testing.assert_frame_equal(got[name], table, check_exact=False, rtol=1e-12, atol=1e-12, obj=name)
    assert not expected["journey_matrix"].empty and not expected["drivers"].empty
    assert expected["overall_scores"]["volume"].sum() == 8
