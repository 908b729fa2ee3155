"""Periods and count tables (the pandas engine)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from scoring_example import row

from feedback_nlp.errors import InputError
from feedback_nlp.scoring.aggregate import (
    COUNT_COLUMNS,
    add_period,
    combine_counts,
    group_counts,
    period_start,
    score_units,
    shift_period,
)
from feedback_nlp.scoring.frame import records_from_rows


def _times(*stamps: str) -> pd.DataFrame:
    return pd.DataFrame({"created_at": pd.to_datetime(list(stamps), utc=True, format="ISO8601")})


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        ("day", [date(2024, 3, 10), date(2024, 3, 11), date(2024, 3, 11), date(2023, 12, 31)]),
        ("week", [date(2024, 3, 4), date(2024, 3, 11), date(2024, 3, 11), date(2023, 12, 25)]),
        ("month", [date(2024, 3, 1), date(2024, 3, 1), date(2024, 3, 1), date(2023, 12, 1)]),
    ],
)
def test_add_period_utc_calendar_starts(period: str, expected: list[date]) -> None:
    # Sunday 23:59 UTC; Monday 00:00 UTC; Sunday 23:30 at -02:00 is Monday 01:30 UTC; New Year's Eve.
    frame = _times("2024-03-10T23:59:59Z", "2024-03-11T00:00:00Z", "2024-03-10T23:30:00-02:00", "2023-12-31T12:00Z")
    assert add_period(frame, period)["period"].tolist() == expected


def test_add_period_leaves_unknown_times_empty_and_checks_input() -> None:
    frame = pd.DataFrame({"created_at": pd.Series([pd.Timestamp("2024-01-01", tz="UTC"), pd.NaT])})
    assert add_period(frame, "day")["period"].tolist() == [date(2024, 1, 1), None]
    with pytest.raises(InputError, match="period must be one of"):
        add_period(frame, "quarter")
    with pytest.raises(InputError, match="timezone-aware"):
        add_period(pd.DataFrame({"created_at": pd.to_datetime(["2024-01-01"])}), "day")


def test_shift_and_start_of_periods() -> None:
    assert shift_period(date(2024, 1, 1), "month", -1) == date(2023, 12, 1)
    assert shift_period(date(2024, 12, 1), "month", 2) == date(2025, 2, 1)
    assert shift_period(date(2024, 3, 6), "week", -1) == date(2024, 2, 26)  # from the week's Monday
    assert shift_period(date(2024, 3, 1), "day", -1) == date(2024, 2, 29)
    assert period_start("2024-03-10T23:30:00-02:00", "week") == date(2024, 3, 11)


def test_score_units_round_half_up_to_five_decimals() -> None:
    assert score_units(pd.Series([0.8, -0.8, 0.000005, -0.000005, 1.0, -1.0])).tolist() == [
        80000, -80000, 1, 0, 100000, -100000,
    ]  # fmt: skip


def _small() -> pd.DataFrame:
    return records_from_rows(
        [
            row("a", 4, "positive", 0.5, source="web", nps=10, rating=5),
            row("b", 4, "negative", -0.25, source="web", nps=6, rating=4),
            row("c", 5, "neutral", 0.0, source="web", nps=8),
            row("d", 5, "negative", -1.0, source=None, rating=1),
            row("e", 6, "positive", 0.75, source="app", nps=0),
        ]
    )


def test_group_counts_hand_computed() -> None:
    table = group_counts(_small(), ["source"])
    assert list(table.columns) == ["source", *COUNT_COLUMNS]
    assert table["source"].tolist() == ["app", "web", None]  # sorted, missing last
    web = table.iloc[1]
    assert web[list(COUNT_COLUMNS)].tolist() == [
        3, 1, 1, 1,                                # n, negative, neutral, positive
        25000, 50000**2 + 25000**2,                # 0.5 - 0.25 + 0 in 1e-5 units; squares
        3, 1, 1,                                   # answers 10, 6, 8: one promoter, one detractor
        2, 2,                                      # ratings 5 and 4, both satisfied
    ]  # fmt: skip
    app, missing = table.iloc[0], table.iloc[2]
    assert (app["n_nps"], app["n_detractors"], app["n_csat"]) == (1, 1, 0)  # nps 0 is a detractor
    assert (missing["n"], missing["n_nps"], missing["n_csat"], missing["n_satisfied"]) == (1, 0, 1, 0)
    assert (table[list(COUNT_COLUMNS)].dtypes == "int64").all()


def test_group_counts_overall_and_empty() -> None:
    overall = group_counts(_small(), [])
    assert overall[["n", "n_positive", "n_promoters", "n_detractors", "sum_score_e5"]].iloc[0].tolist() == [
        5, 2, 1, 2, 0,
    ]  # fmt: skip
    empty = group_counts(_small().iloc[:0], ["source"])
    assert empty.empty and list(empty.columns) == ["source", *COUNT_COLUMNS]
    with pytest.raises(InputError, match="needs column"):
        group_counts(_small(), ["region"])


def test_combine_counts_of_parts_equals_counts_of_whole() -> None:
    records = add_period(_small(), "day")
    parts = pd.concat([group_counts(records.iloc[:2], ["source", "period"]),
                       group_counts(records.iloc[2:], ["source", "period"])])  # fmt: skip
    pd.testing.assert_frame_equal(combine_counts(parts, ["source"]), group_counts(records, ["source"]))
    pd.testing.assert_frame_equal(combine_counts(parts, []), group_counts(records, []))
    assert combine_counts(parts, ["period"])["n"].tolist() == [2, 2, 1]


def test_group_counts_is_identical_when_run_twice() -> None:
    rng = np.random.default_rng(7)
    records = _small().sample(frac=1.0, random_state=3)
    records["sentiment_score"] = rng.uniform(-1, 1, len(records))
    pd.testing.assert_frame_equal(group_counts(records, ["source"]), group_counts(records.iloc[::-1], ["source"]))
