"""The DuckDB engine (the one local engine) gives exactly the counts of the plain-Python rule in reference.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import reference
from scoring_example import example_records

from feedback_nlp.errors import InputError
from feedback_nlp.scoring.aggregate import group_counts
from feedback_nlp.scoring.duck import RECORDS_SCHEMA, duck_counts, group_counts_sql, to_arrow
from feedback_nlp.scoring.frame import mentions, records_from_rows
from feedback_nlp.scoring.scores import dated, record_counts, scores_from_counts, touchpoint_counts

LABELS = ["negative", "neutral", "positive"]
TOUCHPOINTS = ["billing", "delivery", "mobile_app", "phone"]


def _random_records(n: int, seed: int) -> pd.DataFrame:
    """Records with every awkward case: ties, segment-only touchpoints, gaps, odd times and metadata."""
    rng = np.random.default_rng(seed)
    start = datetime(2023, 12, 24, tzinfo=UTC)

    def touchpoints(k: int) -> list[dict]:
        # confidences differ (the highest segment one counts) and are sometimes not given
        return [
            {"label": str(t), "confidence": None if rng.random() < 0.2 else round(float(rng.random()), 3)}
            for t in rng.choice(TOUCHPOINTS, size=k)
        ]

    rows = []
    for i in range(n):
        segments = [
            {"sentiment": {"label": str(rng.choice(LABELS)), "score": float(rng.uniform(-1, 1))},
             "touchpoints": touchpoints(int(rng.integers(0, 3)))}
            for _ in range(int(rng.integers(0, 5)))
        ]  # fmt: skip
        metadata = [{}, {"region": "north"}, {"region": "south", "tier": 2}, {"vip": True, "tier": 2.5}][i % 4]
        rows.append(
            {
                "id": f"r{i}",
                "source": [None, "web", "store"][i % 3],
                "kind": ["survey", "review"][i % 2],
                "created_at": None if i % 17 == 0 else start + timedelta(minutes=int(rng.integers(0, 60 * 24 * 80))),
                "rating": None if i % 3 else float(rng.choice([1, 2, 3, 3.5, 4, 5])),
                "nps": None if i % 2 else int(rng.integers(0, 11)),
                "metadata": metadata,
                "sentiment_label": str(rng.choice(LABELS)),
                "sentiment_score": round(float(rng.uniform(-1, 1)), 4) if i % 5 else float(rng.uniform(-1, 1)),
                "journey_stage": str(rng.choice(["usage", "support", "none"])),
                "touchpoints": touchpoints(int(rng.integers(0, 3))),
                "segments": segments,
                "topic": None if i % 4 == 1 else {"id": i % 3, "label": f"topic {i % 3}", "confidence": 0.6},
            }
        )
    return records_from_rows(rows)


@pytest.fixture(scope="module")
def records() -> pd.DataFrame:
    return _random_records(600, seed=5)


@pytest.mark.parametrize("period", ["day", "week", "month"])
@pytest.mark.parametrize("by", [["touchpoint"], ["touchpoint", "region"], ["touchpoint", "journey_stage", "vip"]])
def test_touchpoint_counts_equal_the_reference(records: pd.DataFrame, by: list[str], period: str) -> None:
    frame = dated(records, period)  # type: ignore[arg-type]
    meta = [k for k in by if k not in frame.columns and k != "touchpoint"]
    expected = reference.counts(reference.mentions(frame, meta), [*by, "period"])
    got = duck_counts(records, [*by, "period"], level="touchpoint", period=period)
    pd.testing.assert_frame_equal(got, expected)
    pd.testing.assert_frame_equal(touchpoint_counts(records, period, by[1:]), expected)  # the pandas entry point
    assert got["n"].sum() > len(records)  # several touchpoints per text


def test_mention_rows_equal_the_reference(records: pd.DataFrame) -> None:
    """Row by row: the same mentions, labels (ties to the latest segment), confidences, bit-identical means."""
    got = mentions(records, metadata_keys=["region"])
    expected = reference.mentions(records, ["region"])[list(got.columns)]
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, check_exact=True)
    assert (got["sentiment_from"] == "segments").sum() > 100 and got["touchpoint_confidence"].isna().any()


@pytest.mark.parametrize("by", [[], ["source"], ["kind", "topic_label"], ["tier"], ["journey_stage", "region"]])
def test_record_counts_equal_the_reference(records: pd.DataFrame, by: list[str]) -> None:
    from feedback_nlp.scoring.frame import with_fields

    expected = reference.counts(with_fields(records, by), by)
    pd.testing.assert_frame_equal(duck_counts(records, by), expected)
    pd.testing.assert_frame_equal(record_counts(records, by) if by else group_counts(records, []), expected)


def test_counts_from_parquet_equal_the_reference_and_give_equal_scores(records: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "feedback.parquet"
    pq.write_table(to_arrow(records), path)
    got = duck_counts(path, ["touchpoint", "period"], level="touchpoint", period="week")
    expected = reference.counts(reference.mentions(dated(records, "week")), ["touchpoint", "period"])
    pd.testing.assert_frame_equal(got, expected)
    pd.testing.assert_frame_equal(scores_from_counts(got), scores_from_counts(expected))
    assert pq.read_schema(path).equals(RECORDS_SCHEMA)


def test_example_counts_equal_the_reference_on_a_given_connection() -> None:
    records = example_records()
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'America/Los_Angeles'")  # periods stay UTC whatever the session says
        got = duck_counts(records, ["touchpoint", "period"], level="touchpoint", period="week", connection=con)
    expected = reference.counts(reference.mentions(dated(records, "week")), ["touchpoint", "period"])
    pd.testing.assert_frame_equal(got, expected)
    assert got["sum_score_e5"].tolist() == [-140000, -20000, 170000, 80000, -30000, 50000]


def test_group_counts_sql_over_a_flat_frame() -> None:
    flat = pd.DataFrame(
        {
            "team": ["a", "a", "b", None],
            "sentiment_label": ["positive", "negative", "neutral", "positive"],
            "sentiment_score": [0.5, -0.123456, 0.0, 1.0],
            "nps": [9.0, np.nan, 6.0, 10.0],
            "rating": [np.nan, 4.0, 2.0, 5.0],
        }
    )
    with duckdb.connect() as con:
        con.register("flat", flat)
        got = con.execute(group_counts_sql("SELECT * FROM flat", ["team"])).df()
    from feedback_nlp.scoring.aggregate import canonical_counts

    pd.testing.assert_frame_equal(canonical_counts(got, ["team"]), reference.counts(flat, ["team"]))
    pd.testing.assert_frame_equal(group_counts(flat, ["team"]), reference.counts(flat, ["team"]))


def test_duck_counts_checks_its_keys(records: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="needs period="):
        duck_counts(records, ["period"])
    with pytest.raises(InputError, match="level='touchpoint'"):
        duck_counts(records, ["touchpoint"])


def test_group_counts_refuses_a_key_of_mixed_types() -> None:
    flat = pd.DataFrame({"team": [1, "1", None], "sentiment_label": ["positive"] * 3, "sentiment_score": [0.5] * 3,
                         "nps": [np.nan] * 3, "rating": [np.nan] * 3})  # fmt: skip
    with pytest.raises(InputError, match="cannot count by column 'team'.*one type"):
        group_counts(flat, ["team"])
    flat["team"] = flat["team"].map(lambda v: None if v is None else str(v))
    assert group_counts(flat, ["team"])["n"].tolist() == [2, 1]  # "1" twice, then None


@pytest.mark.parametrize(
    ("created_at", "expected"),
    [
        # A float quotient of microseconds rounded this up to day 10000-01-01, which DuckDB cannot hold.
        (datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), {"day": "9999-12-31", "week": "9999-12-27",
                                                                   "month": "9999-12-01"}),
        (datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC), {"day": "1969-12-31", "week": "1969-12-29",
                                                          "month": "1969-12-01"}),
        (datetime(1, 1, 1, tzinfo=UTC), {"day": "0001-01-01", "week": "0001-01-01", "month": "0001-01-01"}),
    ],
)  # fmt: skip
def test_periods_hold_at_the_ends_of_the_calendar(created_at: datetime, expected: dict[str, str]) -> None:
    records = example_records().head(1).assign(created_at=pd.Series([created_at], dtype="datetime64[us, UTC]"))
    for period, day in expected.items():
        got = duck_counts(records, ["period"], period=period)  # type: ignore[arg-type]
        assert [str(p)[:10] for p in got["period"]] == [day]


@pytest.mark.parametrize("level", ["record", "touchpoint"])
def test_a_metadata_key_named_like_a_column_but_for_case_is_the_metadata_key(level: str) -> None:
    """DuckDB's names ignore case: the key "Source" must not be read as the source column."""
    rows = [
        {
            "id": str(i),
            "source": "web",
            "kind": "review",
            "created_at": datetime(2024, 3, 4, tzinfo=UTC),
            "metadata": {"Source": store},
            "sentiment_label": "negative",
            "sentiment_score": -0.5,
            "journey_stage": "usage",
            "touchpoints": [{"label": "delivery", "confidence": 0.9}],
            "segments": [],
            "topic": None,
            "rating": None,
            "nps": None,
        }
        for i, store in enumerate(["A", "B", "B"])
    ]
    records = records_from_rows(rows)
    by = ["Source", "touchpoint"] if level == "touchpoint" else ["Source"]
    counts = duck_counts(records, by, level=level, period="week")
    assert dict(zip(counts["Source"], counts["n"], strict=True)) == {"A": 1, "B": 2}
    assert list(duck_counts(records, ["source"], level="record")["source"]) == ["web"]
