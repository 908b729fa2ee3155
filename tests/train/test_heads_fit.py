"""fit_task_heads: the one place heads are fitted, calibrated and thresholded (training and retraining)."""

from __future__ import annotations

import numpy as np
import pytest

from feedback_nlp.errors import DataError
from feedback_nlp.taxonomy.labels import SENTIMENT_LABELS
from feedback_nlp.train.heads_fit import HeadOptions, HeadTargets, ThresholdFolds, _sqrt_balanced, fit_task_heads

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


def test_threshold_folds_keep_a_row_and_its_copies_in_one_fold() -> None:
    groups = np.array([0, 1, 2, 3, 0, 1, -7, -8])  # rows 4 and 5 copy rows 0 and 1; 6 and 7 stand alone
    scored = np.array([True, True, True, True, False, False, False, False])
    fold = ThresholdFolds(scored, groups, folds=2, seed=0).assignments()
    assert fold[0] == fold[4] and fold[1] == fold[5]
    assert sorted(fold[:4].tolist()) == [0, 0, 1, 1]  # the scored groups spread over the folds
    assert fold[6] == fold[7] == -1  # no scored row in their group: in every fold's fit


@pytest.mark.parametrize("folds", [0, 1])
def test_threshold_folds_need_two_folds(folds: int) -> None:
    with pytest.raises(ValueError, match="at least 2"):
        ThresholdFolds(np.ones(4, bool), np.arange(4), folds=folds)


def test_out_of_fold_rows_tune_a_threshold_the_held_out_rows_cannot() -> None:
    """A label with no held-out positive keeps the default threshold; the training rows scored
    out of fold give it one, and every row the folds score was left out of the head scoring it."""
    X, targets, train, held = _data(n=400)
    Y = targets.touchpoints.copy()
    Y[held, 0] = 0.0  # no held-out positive for "website"
    targets = HeadTargets(STAGES, TOUCHPOINTS, touchpoints=Y)
    alone = fit_task_heads(X, X, targets, train, held)
    assert alone.touchpoints.thresholds_[0] == 0.5
    folds = ThresholdFolds(train.copy(), np.arange(len(X)), folds=4, seed=1)
    crossed = fit_task_heads(X, X, targets, train, held, threshold_folds=folds)
    assert crossed.touchpoints.thresholds_[0] != 0.5
    np.testing.assert_array_equal(crossed.touchpoints.coef_, alone.touchpoints.coef_)  # the head itself is the same


def test_tuning_from_probabilities_checks_their_shape() -> None:
    X, targets, train, held = _data()
    head = fit_task_heads(X, X, HeadTargets(STAGES, TOUCHPOINTS, touchpoints=targets.touchpoints), train, held)
    with pytest.raises(ValueError, match="must match"):
        head.touchpoints.tune_thresholds_on(np.zeros((3, 3)), np.zeros((4, 3)))


def test_no_head_scores_a_row_whose_group_it_was_fitted_on(monkeypatch: pytest.MonkeyPatch) -> None:
    import feedback_nlp.train.heads_fit as heads_fit

    X, targets, train, held = _data(n=200)
    ids = np.arange(len(X), dtype=np.float32)[:, None]
    X = np.hstack([X, ids])  # the last column names the row
    groups = np.arange(len(X)) % 60  # rows 0, 60, 120, 180 are one text and its copies
    scored = train & (np.arange(len(X)) < 60)
    fits: list[tuple[set[int], set[int]]] = []

    class Recording(heads_fit.MultiLabelHead):
        def fit(self, X_fit, Y, labels, sample_weight=None):  # type: ignore[no-untyped-def]
            self.fitted_on = {int(i) for i in X_fit[:, -1]}
            return super().fit(X_fit, Y, labels, sample_weight)

        def predict_proba(self, X_in):  # type: ignore[no-untyped-def]
            fits.append((self.fitted_on, {int(i) for i in X_in[:, -1]}))
            return super().predict_proba(X_in)

    monkeypatch.setattr(heads_fit, "MultiLabelHead", Recording)
    heads_fit.fit_task_heads(
        X,
        X,
        HeadTargets(STAGES, TOUCHPOINTS, touchpoints=targets.touchpoints),
        train,
        held,
        threshold_folds=ThresholdFolds(scored, groups, folds=3),
    )
    out_of_fold = [(fitted, rows) for fitted, rows in fits if rows <= set(np.flatnonzero(scored).tolist())]
    assert len(out_of_fold) == 3
    assert set().union(*(rows for _, rows in out_of_fold)) == set(np.flatnonzero(scored).tolist())
    for fitted, rows in out_of_fold:
        assert not {int(g) for g in groups[list(fitted)]} & {int(g) for g in groups[list(rows)]}
