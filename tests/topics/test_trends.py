"""Tests for feedback_nlp.topics.trends: periods, volume, shares and the emerging-topic test."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.stats import fisher_exact

from feedback_nlp.errors import InputError
from feedback_nlp.topics.trends import (
    emerging_topics,
    period_label,
    period_starts,
    topic_share_by,
    topic_volume,
)

MONDAY = pd.Timestamp("2024-01-01", tz="UTC")  # ISO week 2024-W01 starts on this Monday
LABELS = {-1: "unassigned", 0: "delivery delay", 1: "staff friendliness", 2: "billing error", 9: "parking"}


def record(i: int, when: pd.Timestamp, topic: int, **fields: Any) -> dict[str, Any]:
    """One assignments row with defaults for what a test does not care about."""
    row = {
        "id": f"r{i}",
        "created_at": when,
        "text": f"text {i}",
        "topic": topic,
        "topic_label": LABELS.get(topic, f"topic {topic}"),
        "topic_confidence": 0.8,
        "sentiment_label": "neutral",
        "sentiment_score": 0.0,
        "journey_stage": "usage",
        "touchpoints": [],
        "source": None,
    }
    row.update(fields)
    return row


def frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    df = pd.DataFrame(list(rows))
    df["created_at"] = pd.to_datetime(df["created_at"], utc=True)
    return df


def weekly(counts: Mapping[int, Sequence[int]]) -> pd.DataFrame:
    """Assignments with ``counts[topic][week]`` records of each topic in each week from MONDAY."""
    rows = []
    for topic, per_week in counts.items():
        for week, n in enumerate(per_week):
            for k in range(n):
                # Spread over the week (every 97 minutes), never past Sunday night.
                when = MONDAY + pd.Timedelta(weeks=week) + pd.Timedelta(minutes=(97 * k) % (7 * 24 * 60))
                rows.append(record(len(rows), when, topic))
    return frame(rows)


def background(weeks: int, per_week: int = 25) -> dict[int, list[int]]:
    """Four steady topics (one of them unassigned) of ``per_week`` records a week each."""
    return {topic: [per_week] * weeks for topic in (-1, 1, 2, 3)}


# ---------------------------------------------------------------------------- periods


@pytest.mark.parametrize(
    ("moment", "period", "start"),
    [
        ("2024-01-07T23:30:00Z", "week", "2024-01-01"),  # Sunday night is still the Monday's week
        ("2024-01-08T00:00:00Z", "week", "2024-01-08"),
        ("2024-01-08T01:00:00+02:00", "week", "2024-01-01"),  # 23:00 UTC on Sunday
        ("2024-02-29T18:00:00Z", "month", "2024-02-01"),
        ("2024-02-29T18:00:00-08:00", "day", "2024-03-01"),  # 02:00 UTC the next day
    ],
)
def test_period_starts_are_calendar_periods_in_utc(moment: str, period: str, start: str) -> None:
    stamps = pd.Series([pd.Timestamp(moment)]).dt.tz_convert("UTC")
    assert period_starts(stamps, period).iloc[0] == pd.Timestamp(start, tz="UTC")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("start", "period", "label"),
    [("2024-12-30", "week", "2025-W01"), ("2024-06-03", "week", "2024-W23"),
     ("2024-06-01", "month", "2024-06"), ("2024-06-05", "day", "2024-06-05")],
)  # fmt: skip
def test_period_label_uses_iso_week_years(start: str, period: str, label: str) -> None:
    assert period_label(pd.Timestamp(start, tz="UTC"), period) == label  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- volume


def test_topic_volume_counts_share_and_net_sentiment() -> None:
    week2 = MONDAY + pd.Timedelta(weeks=1)
    df = frame([
        record(1, MONDAY, 0, sentiment_label="positive"),
        record(2, MONDAY, 0, sentiment_label="positive"),
        record(3, MONDAY, 0, sentiment_label="negative"),
        record(4, MONDAY, 1, sentiment_label="neutral"),
        record(5, week2, 1, sentiment_label="negative"),
        record(6, week2, 1, sentiment_label="negative"),
    ])  # fmt: skip

    table = topic_volume(df, "week").set_index(["period", "topic"])

    first = table.loc[(MONDAY, 0)]
    assert (first.volume, first.period_total, first.positive, first.negative) == (3, 4, 2, 1)
    assert first.share == pytest.approx(0.75)
    assert first.net_sentiment == pytest.approx(100 / 3)
    assert table.loc[(MONDAY, 1)].net_sentiment == 0.0
    assert table.loc[(week2, 1)].share == 1.0
    assert table.loc[(week2, 1)].net_sentiment == -100.0
    absent = table.loc[(week2, 0)]
    assert absent.volume == 0 and absent.share == 0.0 and np.isnan(absent.net_sentiment)
    assert table.loc[(MONDAY, 0)].topic_label == "delivery delay"


def test_topic_volume_keeps_empty_periods_in_the_series() -> None:
    df = weekly({0: [2, 0, 3]})

    table = topic_volume(df, "week")

    assert list(table["period"]) == [MONDAY + pd.Timedelta(weeks=w) for w in range(3)]
    assert list(table["volume"]) == [2, 0, 3]
    assert table["period_total"].iloc[1] == 0 and np.isnan(table["share"].iloc[1])


@pytest.mark.parametrize(("period", "periods"), [("day", 15), ("week", 3), ("month", 1)])
def test_topic_volume_counts_every_record_once_whatever_the_period(period: str, periods: int) -> None:
    df = weekly({0: [4, 1, 2], -1: [1, 1, 1]}).iloc[:-1]  # 9 records from Mon 1 to Mon 15 Jan

    table = topic_volume(df, period)  # type: ignore[arg-type]

    assert table["volume"].sum() == len(df)
    assert table["period"].nunique() == periods
    assert table.groupby("period")["share"].sum(min_count=1).dropna().round(9).eq(1.0).all()


def test_topic_volume_rejects_naive_times_and_says_how_to_fix() -> None:
    df = weekly({0: [1]})
    df["created_at"] = df["created_at"].dt.tz_localize(None)

    with pytest.raises(InputError, match=r"timezone-aware.*tz_localize\('UTC'\)"):
        topic_volume(df, "week")


def test_topic_volume_names_a_missing_column_and_the_columns_found() -> None:
    df = weekly({0: [1]}).drop(columns=["sentiment_label"])

    with pytest.raises(InputError, match=r"lacks column\(s\) \['sentiment_label'\].*columns found"):
        topic_volume(df, "week")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sentiment_label": "angry"}, r"sentiment_label must be one of .*'angry'"),
        ({"topic": "delivery delay"}, r"topic must be whole numbers"),
        ({"created_at": pd.NaT}, r"created_at is empty in 1 row.*'r0'"),
    ],
)
def test_topic_volume_rejects_malformed_rows(change: dict[str, Any], message: str) -> None:
    df = weekly({0: [3]})
    for column, value in change.items():
        df[column] = df[column].astype(object)
        df.loc[0, column] = value
    if "created_at" in change:
        df["created_at"] = pd.to_datetime(df["created_at"], utc=True)

    with pytest.raises(InputError, match=message):
        topic_volume(df, "week")


def test_topic_volume_rejects_an_unknown_period() -> None:
    with pytest.raises(InputError, match=r"period must be one of \['day', 'week', 'month'\], got 'quarter'"):
        topic_volume(weekly({0: [1]}), "quarter")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- share by


def test_topic_share_by_touchpoints_counts_a_text_under_each_of_its_touchpoints() -> None:
    df = frame([
        record(1, MONDAY, 0, touchpoints=["delivery", "phone"]),
        record(2, MONDAY, 0, touchpoints=("delivery",)),
        record(3, MONDAY, 1, touchpoints=np.array(["delivery"])),  # as read back from Parquet
        record(4, MONDAY, 1, touchpoints=[]),
        record(5, MONDAY, 1, touchpoints=None),
    ])  # fmt: skip

    table = topic_share_by(df, "touchpoints").set_index(["touchpoints", "topic"])

    assert table.loc[("delivery", 0), "count"] == 2
    assert table.loc[("delivery", 0), "share"] == pytest.approx(2 / 3)
    assert table.loc[("delivery", 1), "share"] == pytest.approx(1 / 3)
    assert table.loc[("phone", 0), "share"] == 1.0
    assert set(table["value_total"]) == {3, 1}  # records 4 and 5 name no touchpoint


def test_topic_share_by_journey_stage_shares_add_up_to_one_per_stage() -> None:
    df = weekly({-1: [3], 0: [4], 1: [5]})
    df["journey_stage"] = ["onboarding", "support"] * 6

    table = topic_share_by(df, "journey_stage")

    assert table.groupby("journey_stage")["share"].sum().round(9).eq(1.0).all()
    assert table["count"].sum() == len(df)
    assert -1 in set(table["topic"])


def test_topic_share_by_rejects_a_touchpoint_that_is_not_a_list() -> None:
    df = frame([record(1, MONDAY, 0, touchpoints="delivery")])

    with pytest.raises(InputError, match=r"touchpoints must be a list.*'r1'.*wrap a single touchpoint"):
        topic_share_by(df, "touchpoints")


def test_topic_share_by_rejects_other_fields() -> None:
    with pytest.raises(InputError, match=r"field must be one of \['touchpoints', 'journey_stage'\]"):
        topic_share_by(weekly({0: [1]}), "source")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- emerging


def trend_of(table: pd.DataFrame, topic: int) -> pd.Series:
    return table.set_index("topic").loc[topic]


def test_emerging_topics_flags_a_real_surge() -> None:
    df = weekly({**background(5), 0: [5, 5, 5, 5, 30]})

    table = emerging_topics(df, "week")

    surge = trend_of(table, 0)
    assert surge.trend == "emerging"
    assert (surge["count"], surge.baseline_count, surge.period_total, surge.baseline_total) == (30, 20, 130, 420)
    assert surge.p_value < 1e-6 and surge.p_adjusted < 0.05
    assert surge.statistic > 1 and surge.ratio == pytest.approx((30 / 130) / (20 / 420))
    assert table["topic"].iloc[0] == 0  # emerging topics come first
    assert set(table.loc[table["topic"] != 0, "trend"]) == {"stable"}


@pytest.mark.parametrize("min_count", [5, 0])
def test_emerging_topics_does_not_flag_a_small_topic_doubling(min_count: int) -> None:
    # 2 mentions a week out of ~100, then 4: twice as many, but well within chance.
    df = weekly({**background(5, per_week=24), 9: [2, 2, 2, 2, 4]})

    small = trend_of(emerging_topics(df, "week", min_count=min_count), 9)

    assert small.ratio > 1.9
    assert small.trend == "stable"
    assert small.p_value > 0.2


def test_emerging_topics_accounts_for_total_volume() -> None:
    # Every topic doubles in the last week: more feedback, not a change in what it is about.
    counts = {topic: [*weeks[:-1], 2 * weeks[-1]] for topic, weeks in {**background(5), 0: [10] * 5}.items()}

    table = emerging_topics(weekly(counts), "week")

    assert trend_of(table, 0)["count"] == 20
    assert set(table["trend"]) == {"stable"}
    assert table["p_value"].min() > 0.5


def test_emerging_topics_flags_a_decline() -> None:
    df = weekly({**background(5), 0: [30, 30, 30, 30, 3]})

    drop = trend_of(emerging_topics(df, "week"), 0)

    assert drop.trend == "declining"
    assert drop.ratio < 0.2 and drop.p_adjusted < 0.05


def test_emerging_topics_p_value_is_fishers_exact_test_on_the_two_by_two_table() -> None:
    df = weekly({**background(5), 0: [6, 4, 5, 7, 11]})

    row = trend_of(emerging_topics(df, "week"), 0)

    expected = fisher_exact([[11, 100], [22, 400]])
    assert (row.period_total, row.baseline_total) == (111, 422)
    assert row.p_value == pytest.approx(expected.pvalue)
    assert row.statistic == pytest.approx(expected.statistic)
    assert row.expected == pytest.approx(22 / 422 * 111)


def test_emerging_topics_min_count_holds_back_a_flag_on_few_mentions() -> None:
    df = weekly({**background(5), 0: [0, 0, 0, 0, 4]})

    held = trend_of(emerging_topics(df, "week", min_count=5), 0)
    flagged = trend_of(emerging_topics(df, "week", min_count=1), 0)

    assert held.trend == "stable" and np.isnan(held.p_adjusted)
    assert flagged.trend == "emerging"
    assert np.isinf(flagged.ratio)  # a topic absent from the baseline
    assert held.p_value == flagged.p_value < 0.05


def test_emerging_topics_baseline_is_the_periods_just_before_the_current_one() -> None:
    df = weekly({**background(6), 0: [500, 5, 5, 5, 5, 5]})  # week 0 lies outside a 2-week baseline

    row = trend_of(emerging_topics(df, "week", current="2024-01-24", baseline_periods=2), 0)

    assert row.period == MONDAY + pd.Timedelta(weeks=3)  # the week holding Wednesday 24 January
    assert (row.baseline_count, row.baseline_total, row.baseline_periods) == (10, 210, 2)
    assert row.trend == "stable"


def test_emerging_topics_leaves_out_unassigned_texts() -> None:
    df = weekly({-1: [10, 10, 60], 0: [10, 10, 10]})

    table = emerging_topics(df, "week")

    assert list(table["topic"]) == [0]
    assert trend_of(table, 0).period_total == 70  # but they count in the totals


def test_emerging_topics_needs_a_baseline() -> None:
    with pytest.raises(InputError, match=r"no feedback in the periods before 2024-W01.*no baseline"):
        emerging_topics(weekly({0: [5]}), "week")


def test_emerging_topics_needs_feedback_in_the_current_period() -> None:
    with pytest.raises(InputError, match=r"no feedback in the period 2024-W10"):
        emerging_topics(weekly({0: [5, 5]}), "week", current="2024-03-06")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"baseline_periods": 0}, r"baseline_periods must be a whole number of at least 1, got 0"),
        ({"min_count": -1}, r"min_count must be a whole number of at least 0, got -1"),
        ({"alpha": 1.5}, r"alpha must be in \(0, 1\), got 1.5"),
    ],
)
def test_emerging_topics_rejects_bad_arguments(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        emerging_topics(weekly({0: [5, 5]}), "week", **arguments)
