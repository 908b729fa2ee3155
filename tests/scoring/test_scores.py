"""Score formulas from count tables, the convenience tables, and trends."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest
from scoring_example import example_records, row

from feedback_nlp.errors import InputError
from feedback_nlp.scoring.aggregate import COUNT_COLUMNS
from feedback_nlp.scoring.frame import records_from_rows
from feedback_nlp.scoring.scores import (
    SCORE_COLUMNS,
    TREND_COLUMNS,
    journey_matrix,
    scores_from_counts,
    segment_scores,
    stage_scores,
    touchpoint_scores,
    trends,
    z_value,
)

Z95 = 1.959963984540054


def _counts(**values: int) -> pd.DataFrame:
    base = dict.fromkeys(COUNT_COLUMNS, 0)
    return pd.DataFrame([{"group": "g", **base, **values}])


def test_z_value() -> None:
    assert z_value(0.95) == pytest.approx(Z95, abs=1e-12)
    with pytest.raises(InputError, match="confidence must be in"):
        z_value(1.0)


def test_scores_from_counts_net_sentiment_hand_computed() -> None:
    # 10 texts: 6 positive, 2 negative, 2 neutral.
    out = scores_from_counts(_counts(n=10, n_positive=6, n_negative=2, n_neutral=2)).iloc[0]
    assert list(out.index) == ["group", *SCORE_COLUMNS]
    assert (out["share_positive"], out["share_negative"], out["share_neutral"]) == (0.6, 0.2, 0.2)
    assert out["nss"] == pytest.approx(40.0)
    se = math.sqrt((0.6 + 0.2 - 0.4**2) / 10)  # 0.252982
    assert out["nss_se"] == pytest.approx(100 * se)
    assert out["nss_low"] == pytest.approx(40.0 - 100 * Z95 * se)  # -9.58
    assert out["nss_high"] == pytest.approx(40.0 + 100 * Z95 * se)  # 89.58
    assert bool(out["low_volume"]) is True  # 10 < 30


def test_scores_from_counts_clips_interval_and_gives_nan_without_answers() -> None:
    out = scores_from_counts(_counts(n=4, n_positive=1, n_negative=3), min_volume=4).iloc[0]
    assert out["nss"] == -50.0
    assert out["nss_low"] == -100.0  # -50 - 84.9, clipped
    assert out["nss_high"] == pytest.approx(-50 + 100 * Z95 * math.sqrt(0.1875))
    assert math.isnan(out["nps"]) and math.isnan(out["nps_low"]) and math.isnan(out["csat"])
    assert out["n_nps"] == 0 and bool(out["low_volume"]) is False


def test_scores_from_counts_nps_and_csat_hand_computed() -> None:
    # NPS: 5 answers, 2 promoters, 1 detractor. CSAT: 3 of 4 ratings are 4-5.
    out = scores_from_counts(_counts(n=5, n_nps=5, n_promoters=2, n_detractors=1, n_csat=4, n_satisfied=3)).iloc[0]
    assert out["nps"] == pytest.approx(20.0)
    assert out["nps_se"] == pytest.approx(100 * math.sqrt((0.4 + 0.2 - 0.2**2) / 5))  # 33.466
    assert out["csat"] == 75.0
    z2n = Z95**2 / 4
    centre = (0.75 + z2n / 2) / (1 + z2n)
    half = Z95 / (1 + z2n) * math.sqrt(0.75 * 0.25 / 4 + z2n / 16)
    assert out["csat_low"] == pytest.approx(100 * (centre - half))
    assert out["csat_high"] == pytest.approx(100 * (centre + half))
    assert out["csat_low"] == pytest.approx(30.06, abs=0.01) and out["csat_high"] == pytest.approx(95.44, abs=0.01)


def test_scores_from_counts_mean_score_student_t_interval() -> None:
    # Scores 0.2, 0.4, 0.6, 0.8, 1.0: mean 0.6, sample variance 0.1, t(0.975, 4) = 2.776445.
    units = [20000, 40000, 60000, 80000, 100000]
    out = scores_from_counts(
        _counts(n=5, n_positive=5, sum_score_e5=sum(units), sum_score_sq_e10=sum(u * u for u in units))
    ).iloc[0]
    assert out["mean_score"] == pytest.approx(0.6)
    half = 2.7764451051977987 * math.sqrt(0.1 / 5)
    assert out["mean_score_low"] == pytest.approx(0.6 - half) and out["mean_score_high"] == pytest.approx(0.6 + half)
    single = scores_from_counts(_counts(n=1, n_positive=1, sum_score_e5=50000, sum_score_sq_e10=50000**2)).iloc[0]
    assert single["mean_score"] == 0.5 and math.isnan(single["mean_score_low"])


def test_scores_from_counts_refuses_non_count_tables() -> None:
    with pytest.raises(InputError, match="needs a count table"):
        scores_from_counts(pd.DataFrame({"group": ["g"], "n": [1]}))


# ---------------------------------------------------------------------------- conveniences


def test_touchpoint_scores_by_metadata_and_period() -> None:
    table = touchpoint_scores(example_records(), "week", ["region"], min_volume=2)
    assert list(table.columns[:3]) == ["touchpoint", "region", "period"]
    delivery = table[table["touchpoint"] == "delivery"]
    assert delivery[["region", "period", "volume", "nss"]].values.tolist() == [
        ["south", date(2024, 3, 4), 2, -100.0],
        ["south", date(2024, 3, 11), 2, 0.0],
    ]


def test_stage_and_segment_scores_count_records_once() -> None:
    stages = stage_scores(example_records())
    assert stages[["journey_stage", "volume"]].values.tolist() == [
        ["onboarding", 4], ["purchase", 2], ["support", 3], ["usage", 1],
    ]  # fmt: skip
    regions = segment_scores(example_records(), "region")
    assert regions["region"].tolist() == ["north", "south", None]
    assert regions["nss"].tolist() == pytest.approx([40.0, -50.0, -100.0])
    kinds = segment_scores(example_records(), ["kind"])
    assert kinds[["kind", "volume"]].values.tolist() == [["review", 4], ["social", 1], ["survey", 5]]
    with pytest.raises(InputError, match="cannot group by"):
        segment_scores(example_records(), "country")


def test_journey_matrix_long_format() -> None:
    table = journey_matrix(example_records())
    assert list(table.columns) == ["journey_stage", "touchpoint", "volume", "nss", "nss_low", "nss_high", "low_volume"]
    assert table[["journey_stage", "touchpoint", "volume", "nss"]].values.tolist() == [
        ["onboarding", "delivery", 4, -50.0],
        ["onboarding", "mobile_app", 1, 100.0],
        ["purchase", "mobile_app", 2, 100.0],
        ["support", "phone", 2, 0.0],
        ["usage", "mobile_app", 1, -100.0],
        ["usage", "phone", 1, 100.0],
    ]


def test_tables_are_identical_when_run_twice() -> None:
    records = example_records()
    for build in (lambda r: touchpoint_scores(r, "week"), lambda r: trends(r, "week"), journey_matrix):
        pd.testing.assert_frame_equal(build(records), build(records.iloc[::-1].reset_index(drop=True)))


# ---------------------------------------------------------------------------- trends


def _week_rows(prefix: str, day: int, positive: int, negative: int, neutral: int = 0) -> list[dict]:
    labels = ["positive"] * positive + ["negative"] * negative + ["neutral"] * neutral
    return [row(f"{prefix}{i}", day, lab, 0.0, ("phone",)) for i, lab in enumerate(labels)]


def test_trends_flags_a_significant_drop() -> None:
    # Week of 4 March: NSS 40 (60 positive, 20 negative of 100); week of 11 March: NSS -40.
    records = records_from_rows(_week_rows("a", 5, 60, 20, 20) + _week_rows("b", 12, 20, 60, 20))
    table = trends(records, "week")
    assert list(table.columns) == ["touchpoint", "period", *SCORE_COLUMNS, *TREND_COLUMNS]
    first, second = table.iloc[0], table.iloc[1]
    assert math.isnan(first["previous_nss"]) and bool(first["significant"]) is False
    se = 100 * math.sqrt((0.8 - 0.16) / 100)  # 8 points in both weeks
    assert second["nss_change"] == pytest.approx(-80.0)
    assert second["z"] == pytest.approx(-80.0 / math.sqrt(2 * se * se))  # -7.07
    assert second["p_value"] < 1e-11 and bool(second["significant"]) is True
    assert second["previous_volume"] == 100


def test_trends_small_change_not_significant_and_gaps_have_no_previous() -> None:
    records = example_records()
    table = trends(records, "week")
    delivery = table[table["touchpoint"] == "delivery"].iloc[1]
    assert delivery["nss_change"] == 100.0
    assert delivery["z"] == pytest.approx(100 / (100 * math.sqrt(0.5)))  # 1.414
    assert delivery["p_value"] == pytest.approx(0.1573, abs=1e-4) and bool(delivery["significant"]) is False
    gap = trends(records_from_rows(_week_rows("a", 4, 2, 1) + _week_rows("b", 18, 1, 2)), "week")
    assert gap["period"].tolist() == [date(2024, 3, 4), date(2024, 3, 18)]
    assert np.isnan(gap["previous_nss"]).all()


@pytest.mark.parametrize(
    ("level", "key"), [("topic", "topic_label"), ("journey_stage", "journey_stage"), ("region", "region")]
)
def test_trends_other_levels(level: str, key: str) -> None:
    table = trends(example_records(), "month", level)
    assert table.columns[0] == key and table.columns[1] == "period"
    assert table["volume"].sum() == 10  # records, not mentions


def test_trends_overall_is_one_series() -> None:
    table = trends(example_records(), "week", "overall")
    assert table["period"].tolist() == [date(2024, 3, 4), date(2024, 3, 11)]
    assert table["nss"].tolist() == pytest.approx([-20.0, 0.0])  # 2-3 of 5, then 2-2 of 5


@pytest.mark.parametrize(
    "build",
    [
        lambda r: touchpoint_scores(r, "week"),
        lambda r: stage_scores(r),
        lambda r: journey_matrix(r),
        lambda r: trends(r, "week"),
        lambda r: trends(r, "month", "overall"),
    ],
)
def test_empty_records_give_empty_tables_with_their_columns(build) -> None:  # noqa: ANN001
    records = example_records()
    empty = build(records.iloc[:0])
    assert empty.empty and list(empty.columns) == list(build(records).columns)


def test_a_change_between_few_mentions_is_never_significant() -> None:
    # 2 mentions (one positive, one neutral), then 1 negative: the single mention's standard error
    # is 0, so z = -4.24 and p = 2e-5; with fewer than min_volume mentions it is no finding.
    records = records_from_rows(_week_rows("a", 5, 1, 0, 1) + _week_rows("b", 12, 0, 1))
    second = trends(records, "week").iloc[1]
    assert second["z"] == pytest.approx(-150 / (100 * math.sqrt(0.25 / 2)))
    assert second["p_value"] < 1e-4 and bool(second["significant"]) is False
    assert bool(trends(records, "week", min_volume=1).iloc[1]["significant"]) is True
