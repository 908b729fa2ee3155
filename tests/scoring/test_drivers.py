"""Key drivers (topic impact on touchpoint NSS) and Johnson's relative weights for NPS."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scoring_example import example_records, row

from feedback_nlp.errors import DataError
from feedback_nlp.scoring.drivers import (
    DRIVER_COLUMNS,
    IMPORTANCE_COLUMNS,
    key_drivers,
    nps_importance,
    relative_weights,
)
from feedback_nlp.scoring.frame import records_from_rows


def _r_squared(X: np.ndarray, y: np.ndarray) -> float:
    design = np.column_stack([np.ones(len(y)), X])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    residual = y - design @ coef
    return float(1 - residual @ residual / ((y - y.mean()) @ (y - y.mean())))


def test_key_drivers_hand_computed() -> None:
    table = key_drivers(example_records())
    assert list(table.columns) == list(DRIVER_COLUMNS)
    delivery = table[table["touchpoint"] == "delivery"]
    # delivery: 4 mentions, 1 positive, 3 negative (NSS -50); "delivery delay" holds the 3 negative ones.
    assert delivery["topic"].tolist() == ["delivery delay", "communication and updates"]  # most negative first
    assert delivery[["volume", "share", "topic_nss", "nss_without", "impact"]].values.tolist() == [
        [3, 0.75, -100.0, 100.0, -150.0],
        [1, 0.25, 100.0, -100.0, 50.0],
    ]
    phone = table[table["touchpoint"] == "phone"]
    assert phone["topic"].tolist() == ["long wait or hold time", "app or website problem", "staff friendliness"]
    assert phone["impact"].tolist() == pytest.approx([-200 / 3, 100 / 3, 100 / 3])


def test_key_drivers_impact_is_share_times_gap() -> None:
    table = key_drivers(example_records())
    assert np.allclose(table["impact"], table["share"] * (table["topic_nss"] - table["nss_without"]))


def test_key_drivers_topic_holding_every_mention_has_no_impact() -> None:
    records = records_from_rows([row("a", 1, "negative", -0.5, ("phone",), topic="hold"),
                                 row("b", 2, "positive", 0.5, ("phone",), topic="hold")])  # fmt: skip
    only = key_drivers(records).iloc[0]
    assert only["share"] == 1.0 and np.isnan(only["nss_without"]) and np.isnan(only["impact"])


# ---------------------------------------------------------------------------- relative weights


def test_relative_weights_uncorrelated_predictors_get_squared_correlations() -> None:
    # Columns are uncorrelated, so each weight is r²: r1 = 3/√14, r2 = 2/√14.
    X = np.array([[1, 1], [1, 0], [0, 1], [0, 0]], dtype=float)
    y = np.array([10.0, 8.0, 6.0, 0.0])
    weights, r2 = relative_weights(X, y)
    assert weights.tolist() == pytest.approx([9 / 14, 4 / 14])
    assert r2 == pytest.approx(13 / 14) and r2 == pytest.approx(_r_squared(X, y))


def test_relative_weights_correlated_sum_to_r_squared() -> None:
    rng = np.random.default_rng(11)
    base = rng.normal(size=200)
    X = np.column_stack([base + rng.normal(scale=0.5, size=200), base, rng.normal(size=200), rng.integers(0, 2, 200)])
    y = 2 * X[:, 0] - X[:, 2] + 0.5 * X[:, 3] + rng.normal(size=200)
    weights, r2 = relative_weights(X, y)
    assert (weights >= 0).all()
    assert weights.sum() == pytest.approx(r2, abs=1e-12)
    assert r2 == pytest.approx(_r_squared(X, y), abs=1e-10)


def test_relative_weights_split_duplicated_predictor_evenly() -> None:
    x = np.array([0, 1, 0, 1, 1, 0], dtype=float)
    y = np.array([3.0, 9.0, 4.0, 8.0, 10.0, 2.0])
    weights, r2 = relative_weights(np.column_stack([x, x]), y)
    single, r2_single = relative_weights(x[:, None], y)
    assert weights.tolist() == pytest.approx([single[0] / 2, single[0] / 2])
    assert r2 == pytest.approx(r2_single)


def test_relative_weights_refuse_constant_columns() -> None:
    with pytest.raises(DataError, match="drop constant columns"):
        relative_weights(np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 0.0]]), np.array([1.0, 2.0, 3.0]))


def test_nps_importance_on_the_example() -> None:
    # Answers 10 (r1), 9 (r4), 2 (r5), 8 (r7), 7 (r8); with min_count=2 only "easy process",
    # mobile_app (r1, r7, r8) and phone (r4, r5, r8) stay.
    table = nps_importance(example_records(), min_count=2)
    assert list(table.columns) == list(IMPORTANCE_COLUMNS)
    assert sorted(zip(table["predictor_type"], table["predictor"], table["n"], strict=True)) == [
        ("topic", "easy process", 2), ("touchpoint", "mobile_app", 3), ("touchpoint", "phone", 3),
    ]  # fmt: skip
    phone = table[table["predictor"] == "phone"].iloc[0]
    assert (phone["mean_nps_with"], phone["mean_nps_without"]) == (6.0, 9.0)
    assert table["raw_weight"].sum() == pytest.approx(table["r_squared"].iloc[0])
    assert table["share_of_r2"].sum() == pytest.approx(100.0)
    X = np.array([[1, 1, 0], [0, 0, 1], [0, 0, 1], [1, 1, 0], [0, 1, 1]], dtype=float)
    assert table["r_squared"].iloc[0] == pytest.approx(_r_squared(X, np.array([10.0, 9, 2, 8, 7])))
    assert table["raw_weight"].is_monotonic_decreasing


def test_nps_importance_needs_answers_and_predictors() -> None:
    records = example_records()
    with pytest.raises(DataError, match="at least 3 NPS answers"):
        nps_importance(records.assign(nps=np.nan))
    with pytest.raises(DataError, match="min_count=50"):
        nps_importance(records, min_count=50)
    assert isinstance(nps_importance(records, min_count=1), pd.DataFrame)
