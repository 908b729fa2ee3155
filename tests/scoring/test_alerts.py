"""Alerts: EWMA score drops per touchpoint and Poisson volume spikes per topic."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from scoring_example import example_records, row

from feedback_nlp.errors import InputError
from feedback_nlp.scoring.aggregate import COUNT_COLUMNS
from feedback_nlp.scoring.alerts import ALERT_COLUMNS, alerts, alerts_from_counts, ewma_drop, poisson_spike
from feedback_nlp.scoring.frame import records_from_rows

MONDAYS = [date(2024, 1, 1) + timedelta(weeks=k) for k in range(9)]  # 8 baseline weeks, then 26 Feb


def _week(week: int, positive: int, negative: int, neutral: int, touchpoint: str = "phone") -> list[dict]:
    day = MONDAYS[week] + timedelta(days=1)
    labels = ["positive"] * positive + ["negative"] * negative + ["neutral"] * neutral
    return [
        row(f"{touchpoint}-{week}-{i}", day.day, label, 0.0, (touchpoint,), month=day.month)
        for i, label in enumerate(labels)
    ]


def _poisson_tail(count: int, mean: float) -> float:
    """P(X >= count) for X ~ Poisson(mean), summed by hand."""
    return 1.0 - sum(math.exp(-mean) * mean**k / math.factorial(k) for k in range(count))


def _topic_counts(series: dict[str, list[int]]) -> pd.DataFrame:
    rows = []
    for topic, counts in series.items():
        for monday, n in zip(MONDAYS, counts, strict=True):
            if n:
                rows.append({"topic_label": topic, "period": monday, **dict.fromkeys(COUNT_COLUMNS, 0), "n": n})
    return pd.DataFrame(rows)


def _no_touchpoints() -> pd.DataFrame:
    return pd.DataFrame(columns=["touchpoint", "period", *COUNT_COLUMNS])


# ---------------------------------------------------------------------------- score drops


def test_score_drop_hand_computed() -> None:
    # Eight weeks at NSS 40 (30 positive, 10 negative, 10 neutral of 50), then NSS -60 (5 / 35 / 10).
    rows = [r for week in range(8) for r in _week(week, 30, 10, 10)] + _week(8, 5, 35, 10)
    table = alerts(records_from_rows(rows), "week")
    assert list(table.columns) == list(ALERT_COLUMNS)
    assert len(table) == 1
    alert = table.iloc[0]
    assert (alert["kind"], alert["touchpoint"], alert["topic"], alert["period"]) == (
        "score_drop", "phone", None, date(2024, 2, 26),
    )  # fmt: skip
    p_plus, p_minus = 241 / 403, 81 / 403  # pooled baseline shares, one pseudo-count per label
    v0 = 100**2 * (p_plus + p_minus - (p_plus - p_minus) ** 2)
    sd = math.sqrt(sum((0.3 * 0.7**k) ** 2 for k in range(9)) * v0 / 50)  # 4.754
    assert alert["observed"] == -60.0 and alert["expected"] == 40.0 and alert["volume"] == 50
    assert alert["statistic"] == pytest.approx(0.3 * -60 + 0.7 * 40)  # EWMA 10: the baseline keeps it at 40
    assert alert["limit"] == pytest.approx(40 - 3 * sd)  # 25.74
    assert alert["z"] == pytest.approx(-30 / sd)  # -6.31
    assert alert["severity"] == "high" and alert["p_value"] < 1e-6
    assert "NSS of phone fell to -60.0" in alert["message"]


def test_no_score_drop_when_steady_or_baseline_too_small() -> None:
    steady = [r for week in range(9) for r in _week(week, 30, 10, 10)]
    assert alerts(records_from_rows(steady), "week").empty
    # 24 baseline mentions, all positive, then 30 negative: a clear drop, but under min_baseline_volume=30.
    thin = [r for week in range(8) for r in _week(week, 3, 0, 0)] + _week(8, 0, 30, 0)
    assert alerts(records_from_rows(thin), "week").empty
    assert len(alerts(records_from_rows(thin), "week", min_baseline_volume=20)) == 1


def test_ewma_drop_weights_each_period_by_its_volume() -> None:
    ewma, mu, sd, observed = ewma_drop(np.array([6, 6, 1]), np.array([2, 2, 7]), np.array([10, 10, 10]), 2)
    assert (ewma, mu, observed) == (pytest.approx(10.0), 40.0, -60.0)
    _, _, sd_big, _ = ewma_drop(np.array([6, 6, 10]), np.array([2, 2, 70]), np.array([10, 10, 100]), 2)
    assert sd_big < sd  # a bigger current period is known more precisely


# ---------------------------------------------------------------------------- volume spikes


def test_volume_spike_two_to_four_is_not_an_alert() -> None:
    counts = _topic_counts({"hold": [2] * 8 + [4]})
    assert alerts_from_counts(_no_touchpoints(), counts, "week").empty
    expected, limit, p_value = poisson_spike(4, np.array([2] * 8))
    assert (expected, limit) == (2.0, 10)
    assert p_value == pytest.approx(_poisson_tail(4, 2.0))  # 0.143


def test_volume_spike_hand_computed() -> None:
    counts = _topic_counts({"outage": [2] * 8 + [15], "hold": [2] * 8 + [4]})
    table = alerts_from_counts(_no_touchpoints(), counts, "week")
    assert table["topic"].tolist() == ["outage"]
    alert = table.iloc[0]
    assert (alert["kind"], alert["period"], alert["volume"], alert["expected"]) == (
        "volume_spike", date(2024, 2, 26), 15, 2.0,
    )  # fmt: skip
    assert alert["p_value"] == pytest.approx(_poisson_tail(15, 2.0), rel=1e-9)
    assert alert["z"] == pytest.approx((15 - 2) / math.sqrt(2))
    assert alert["limit"] == 10.0 and alert["severity"] == "high"


def test_volume_spike_limit_is_the_smallest_significant_count() -> None:
    # Poisson(2): P(X >= 8) = 0.0011 > 0.001 >= P(X >= 9) = 0.00024.
    assert _poisson_tail(8, 2.0) > 0.001 >= _poisson_tail(9, 2.0)
    assert poisson_spike(9, np.array([2] * 8), min_count=1)[1] == 9
    fired = alerts_from_counts(_no_touchpoints(), _topic_counts({"x": [2] * 8 + [9]}), "week", min_count=1)
    quiet = alerts_from_counts(_no_touchpoints(), _topic_counts({"x": [2] * 8 + [8]}), "week", min_count=1)
    assert len(fired) == 1 and quiet.empty


def test_new_topic_spikes_against_the_floored_mean() -> None:
    counts = _topic_counts({"new": [0] * 8 + [12], "old": [1] * 9})
    alert = alerts_from_counts(_no_touchpoints(), counts, "week").iloc[0]
    assert (alert["topic"], alert["expected"]) == ("new", 0.0)
    assert alert["p_value"] == pytest.approx(_poisson_tail(12, 0.5), rel=1e-9)


def test_current_period_can_be_chosen_and_baseline_starts_with_the_data() -> None:
    counts = _topic_counts({"outage": [2] * 8 + [15]})
    assert alerts_from_counts(_no_touchpoints(), counts, "week", current=MONDAYS[7]).empty
    # Only 2 weeks of data before the spike: those alone form the baseline (mean 2).
    short = _topic_counts({"outage": [0] * 6 + [2, 2, 15]})
    short = short[short["period"] >= MONDAYS[6]]
    assert alerts_from_counts(_no_touchpoints(), short, "week").iloc[0]["expected"] == 2.0


def test_alerts_parameters_and_empty_input() -> None:
    empty = alerts(example_records().iloc[:0], "week")
    assert empty.empty and list(empty.columns) == list(ALERT_COLUMNS)
    assert alerts(example_records(), "week").empty  # too little data to alert
    with pytest.raises(InputError, match="lam"):
        alerts(example_records(), "week", lam=0)
    with pytest.raises(InputError, match="baseline_periods"):
        alerts(example_records(), "week", baseline_periods=1)
