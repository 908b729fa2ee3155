"""The worked example of docs/scores.md, section 8: every number the page derives by hand."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest
from scoring_example import example_records

from feedback_nlp.scoring.aggregate import group_counts
from feedback_nlp.scoring.drivers import key_drivers, nps_importance
from feedback_nlp.scoring.duck import duck_counts
from feedback_nlp.scoring.frame import mentions
from feedback_nlp.scoring.scores import scores_from_counts, segment_scores, stage_scores, touchpoint_scores, trends


def _rounded(values: list[float], digits: int = 2) -> list[float]:
    return [v if isinstance(v, float) and math.isnan(v) else round(float(v), digits) for v in values]


def test_example_mentions() -> None:
    table = mentions(example_records())
    assert table[["id", "touchpoint", "sentiment_label", "sentiment_score", "sentiment_from"]].values.tolist() == [
        ["r1", "mobile_app", "positive", 0.8, "text"],
        ["r2", "delivery", "negative", -0.6, "text"],
        ["r3", "delivery", "negative", -0.8, "segments"],
        ["r3", "mobile_app", "positive", 0.9, "segments"],
        ["r4", "phone", "positive", 0.6, "text"],
        ["r5", "phone", "negative", -0.9, "text"],
        ["r6", "delivery", "negative", -0.7, "text"],
        ["r7", "mobile_app", "positive", 0.7, "text"],
        ["r8", "mobile_app", "negative", pytest.approx(0.1), "segments"],
        ["r8", "phone", "positive", 0.5, "segments"],
        ["r9", "delivery", "positive", 0.5, "text"],
    ]


def test_example_touchpoint_scores() -> None:
    table = touchpoint_scores(example_records()).set_index("touchpoint")
    assert table["volume"].tolist() == [4, 4, 3]
    assert table[["n_positive", "n_neutral", "n_negative"]].values.tolist() == [[1, 0, 3], [3, 0, 1], [2, 0, 1]]
    assert _rounded(table["nss"]) == [-50.0, 50.0, 33.33]
    assert _rounded(table["nss_se"]) == [43.30, 43.30, 54.43]
    assert _rounded(table["nss_low"]) == [-100.0, -34.87, -73.35]
    assert _rounded(table["nss_high"]) == [34.87, 100.0, 100.0]
    assert _rounded(table["mean_score"], 4) == [-0.4, 0.625, 0.0667]
    nps = table["nps"].tolist()
    assert math.isnan(nps[0]) and _rounded(nps[1:]) == [33.33, 0.0]
    assert round(table.loc["mobile_app", "nps_se"], 2) == 27.22
    assert _rounded(table.loc["delivery", ["csat", "csat_low", "csat_high"]]) == [25.0, 4.56, 69.94]
    assert _rounded(table.loc["mobile_app", ["csat", "csat_low", "csat_high"]]) == [0.0, 0.0, 79.35]
    assert math.isnan(table.loc["phone", "csat"])


def test_example_overall_stage_and_region() -> None:
    records = example_records()
    overall = scores_from_counts(group_counts(records, [])).iloc[0]
    assert (overall["volume"], overall["n_positive"], overall["n_neutral"], overall["n_negative"]) == (10, 4, 1, 5)
    assert _rounded([overall[c] for c in ("nss", "nss_se", "nss_low", "nss_high")]) == [-10.0, 29.83, -68.47, 48.47]
    assert round(overall["mean_score"], 4) == -0.02
    assert _rounded([overall[c] for c in ("nps", "nps_se", "nps_low", "nps_high")]) == [20.0, 33.47, -45.59, 85.59]
    assert overall["csat"] == 25.0
    stages = stage_scores(records)
    assert dict(zip(stages["journey_stage"], _rounded(stages["nss"]), strict=True)) == {
        "onboarding": -50.0, "purchase": 100.0, "support": -33.33, "usage": 0.0,
    }  # fmt: skip
    regions = segment_scores(records, "region")
    assert regions[["region", "volume", "nss"]].values.tolist() == [
        ["north", 5, 40.0], ["south", 4, -50.0], [None, 1, -100.0],
    ]  # fmt: skip
    assert regions["nps"].iloc[0] == pytest.approx(20.0)


def test_example_weekly_trends() -> None:
    table = trends(example_records(), "week")
    week1, week2 = date(2024, 3, 4), date(2024, 3, 11)
    assert table[["touchpoint", "period", "volume"]].values.tolist() == [
        ["delivery", week1, 2], ["delivery", week2, 2],
        ["mobile_app", week1, 2], ["mobile_app", week2, 2],
        ["phone", week1, 2], ["phone", week2, 1],
    ]  # fmt: skip
    second = table[table["period"] == week2]
    assert _rounded(second["previous_nss"]) == [-100.0, 100.0, 0.0]
    assert _rounded(second["nss"]) == [0.0, 0.0, 100.0]
    assert _rounded(second["nss_change"]) == [100.0, -100.0, 100.0]
    assert _rounded(second["z"], 3) == [1.414, -1.414, 1.414]
    assert _rounded(second["p_value"], 3) == [0.157, 0.157, 0.157]
    assert not table["significant"].any()


def test_example_key_drivers() -> None:
    table = key_drivers(example_records())
    assert table[["touchpoint", "topic", "volume"]].values.tolist() == [
        ["delivery", "delivery delay", 3],
        ["delivery", "communication and updates", 1],
        ["mobile_app", "app or website problem", 1],
        ["mobile_app", "delivery delay", 1],
        ["mobile_app", "easy process", 2],
        ["phone", "long wait or hold time", 1],
        ["phone", "app or website problem", 1],
        ["phone", "staff friendliness", 1],
    ]
    assert _rounded(table["share"]) == [0.75, 0.25, 0.25, 0.25, 0.5, 0.33, 0.33, 0.33]
    assert _rounded(table["topic_nss"]) == [-100.0, 100.0, -100.0, 100.0, 100.0, -100.0, 100.0, 100.0]
    assert _rounded(table["nss_without"]) == [100.0, -100.0, 100.0, 33.33, 0.0, 100.0, 0.0, 0.0]
    assert _rounded(table["impact"]) == [-150.0, 50.0, -50.0, 16.67, 50.0, -66.67, 33.33, 33.33]


def test_example_nps_importance_r_squared() -> None:
    table = nps_importance(example_records(), min_count=2)
    assert len(table) == 3 and round(table["r_squared"].iloc[0], 3) == 0.317
    assert np.isclose(table["raw_weight"].sum(), table["r_squared"].iloc[0])


def test_example_is_the_same_with_duckdb() -> None:
    records = example_records()
    counts = duck_counts(records, ["touchpoint"], level="touchpoint")
    assert scores_from_counts(counts).equals(touchpoint_scores(records))
