"""fit_task_heads: the one place heads are fitted, calibrated and thresholded (training and retraining)."""

from __future__ import annotations

import numpy as np
import pytest

from feedback_nlp.errors import DataError
from feedback_nlp.taxonomy.labels import SENTIMENT_LABELS
from feedback_nlp.train.heads_fit import HeadOptions, HeadTargets, _sqrt_balanced, fit_task_heads

STAGES = ["awareness", "purchase", "support"]
TOUCHPOINTS = ["website", "delivery", "staff"]


def _data(n: int = 180, seed: int = 0) -> tuple[np.ndarray, HeadTargets, np.ndarray, np.ndarray]:
    """Separable-ish embeddings: column i drives sentiment i, column 3 + j stage j, column 6 + k touchpoint k."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 10)).astype(np.float32)
    sentiment = [SENTIMENT_LABELS[int(np.argmax(X[i, :3] + rng.normal(0, 0.8, 3)))] for i in range(n)]
    stage = [STAGES[int(np.argmax(X[i, 3:6] + rng.normal(0, 0.8, 3)))] for i in range(n)]
    Y = (X[:, 6:9] + rng.normal(0, 0.5, (n, 3)) > 0.5).astype(np.float32)
    held = np.arange(n) % 4 == 0
    targets = HeadTargets(STAGES, TOUCHPOINTS, sentiment=sentiment, journey_stage=stage, touchpoints=Y)
    return X, targets, ~held, held


def test_fits_every_head_with_labels_and_reports_on_the_held_out_rows() -> None:
    X, targets, train, held = _data()
    fitted = fit_task_heads(X, X, targets, train, held)
    assert list(fitted.sentiment.classes_) == sorted(SENTIMENT_LABELS)
    assert list(fitted.stage.classes_) == sorted(STAGES)
    assert list(fitted.touchpoints.classes_) == TOUCHPOINTS
    assert set(fitted.held_out) == {"sentiment", "journey_stage"}
    assert fitted.held_out["sentiment"]["n"] == held.sum()
    assert fitted.held_out["sentiment"]["accuracy"] > 0.5  # learnable data, learnt
    assert fitted.sentiment.temperature_ != 1.0  # calibrated
    assert (fitted.touchpoints.thresholds_ != 0.5).any()  # thresholds tuned


def test_calibration_and_report_use_only_held_out_rows_whose_label_is_known() -> None:
    X, targets, train, held = _data()
    unknown_held = list(targets.sentiment)
    for i in np.flatnonzero(held):
        unknown_held[i] = None
    fitted = fit_task_heads(X, X, HeadTargets(STAGES, TOUCHPOINTS, sentiment=unknown_held), train, held)
    assert fitted.sentiment.temperature_ == 1.0  # nothing to calibrate on
    assert "sentiment" not in fitted.held_out
    assert fitted.stage is None and fitted.touchpoints is None


def test_unknown_labels_are_left_out_of_the_fit() -> None:
    X, targets, train, held = _data()
    with_unknowns = list(targets.sentiment)
    dropped = np.flatnonzero(train)[::3]
    for i in dropped:
        with_unknowns[i] = None
    keep = np.ones(len(X), dtype=bool)
    keep[dropped] = False
    fitted = fit_task_heads(X, X, HeadTargets(STAGES, TOUCHPOINTS, sentiment=with_unknowns), train, held)
    alone = fit_task_heads(X, X, HeadTargets(STAGES, TOUCHPOINTS, sentiment=targets.sentiment), train & keep, held)
    np.testing.assert_array_equal(fitted.sentiment.coef_, alone.sentiment.coef_)


def test_row_weights_and_options_reach_the_fit() -> None:
    X, targets, train, held = _data()
    plain = fit_task_heads(X, X, targets, train, held)
    ones = fit_task_heads(X, X, targets, train, held, sample_weight=np.ones(len(X)))
    np.testing.assert_allclose(ones.sentiment.coef_, plain.sentiment.coef_, atol=1e-6)
    weights = np.where(np.arange(len(X)) % 2 == 0, 3.0, 0.5)
    weighted = fit_task_heads(X, X, targets, train, held, sample_weight=weights)
    assert not np.allclose(weighted.sentiment.coef_, plain.sentiment.coef_)
    assert not np.allclose(weighted.touchpoints.coef_, plain.touchpoints.coef_)
    strong = fit_task_heads(X, X, targets, train, held, options=HeadOptions(C_stage=0.01))
    assert np.abs(strong.stage.coef_).sum() < np.abs(plain.stage.coef_).sum()
    np.testing.assert_array_equal(strong.sentiment.coef_, plain.sentiment.coef_)
    priors = fit_task_heads(X, X, targets, train, held, options=HeadOptions(stage_class_weight=None))
    assert not np.allclose(priors.stage.coef_, plain.stage.coef_)


def test_sqrt_balanced_weighs_rare_stages_up_and_leaves_none_alone() -> None:
    y = np.array(["usage"] * 6 + ["purchase"] * 2 + ["none"] * 2, dtype=object)
    weights = _sqrt_balanced(y, np.full(len(y), 2.0))
    # balanced weights n / (k * n_label): usage 10 / 18, purchase 10 / 6; none stays 1 (times the row weight)
    np.testing.assert_allclose(weights[:6], 2.0 * (10 / 18) ** 0.5)
    np.testing.assert_allclose(weights[6:8], 2.0 * (10 / 6) ** 0.5)
    np.testing.assert_allclose(weights[8:], 2.0)
    X, targets, train, held = _data()
    sqrt = fit_task_heads(X, X, targets, train, held, options=HeadOptions(stage_class_weight="sqrt-balanced"))
    for other in (None, "balanced"):
        fitted = fit_task_heads(X, X, targets, train, held, options=HeadOptions(stage_class_weight=other))
        assert not np.allclose(sqrt.stage.coef_, fitted.stage.coef_)


def test_the_stage_head_reads_its_own_input() -> None:
    X, targets, train, held = _data()
    cues = np.eye(len(X), 4, dtype=np.float32)
    fitted = fit_task_heads(X, X, targets, train, held, X_stage=np.hstack([X, cues]))
    assert fitted.stage.coef_.shape[1] == X.shape[1] + 4
    assert fitted.sentiment.coef_.shape[1] == X.shape[1]
    heads = fitted.task_heads(keyword_features=False, stage_cue_features=True)
    assert heads.stage_cue_features
    # A kept stage head keeps its own setting, whatever the refit heads were given.
    only_sentiment = fit_task_heads(X, X, HeadTargets(STAGES, TOUCHPOINTS, sentiment=targets.sentiment), train, held)
    assert only_sentiment.task_heads(False, keep=heads).stage_cue_features
    assert only_sentiment.task_heads(False, keep=heads, stage_cue_features=False).stage is not None


def test_a_single_label_head_needs_two_labels_to_learn() -> None:
    X, _, train, held = _data()
    targets = HeadTargets(STAGES, TOUCHPOINTS, journey_stage=["support"] * len(X))
    with pytest.raises(DataError, match="journey_stage.*at least two"):
        fit_task_heads(X, X, targets, train, held)


def test_task_heads_keeps_the_given_heads_where_none_was_fitted() -> None:
    X, targets, train, held = _data()
    full = fit_task_heads(X, X, targets, train, held).task_heads(keyword_features=False)
    only_sentiment = fit_task_heads(X, X, HeadTargets(STAGES, TOUCHPOINTS, sentiment=targets.sentiment), train, held)
    heads = only_sentiment.task_heads(keyword_features=True, keep=full)
    assert heads.sentiment is only_sentiment.sentiment
    assert heads.stage is full.stage and heads.touchpoints is full.touchpoints and heads.keyword_features
    with pytest.raises(ValueError, match="stage head was not fitted"):
        only_sentiment.task_heads(keyword_features=True)


def test_segment_heads_are_kept_only_beside_a_kept_text_head() -> None:
    X, targets, train, held = _data()
    full = fit_task_heads(X, X, targets, train, held).task_heads(keyword_features=False)
    segment = fit_task_heads(X, X, targets, train, held, options=HeadOptions(C_sentiment=0.1, C_touchpoints=0.1))
    full.segment_sentiment, full.segment_touchpoints = segment.sentiment, segment.touchpoints
    only_sentiment = fit_task_heads(X, X, HeadTargets(STAGES, TOUCHPOINTS, sentiment=targets.sentiment), train, held)
    heads = only_sentiment.task_heads(keyword_features=False, keep=full)
    # Segments follow the refitted sentiment head; the kept touchpoint head keeps its segment head.
    assert heads.segment_sentiment is None
    assert heads.for_segments == (only_sentiment.sentiment, segment.touchpoints)
