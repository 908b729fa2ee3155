"""The linear heads' contract: fitting, probabilities, calibration, thresholds, serialisation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from factories import FakeEncoder, fit_tiny_heads

from feedback_nlp.errors import BundleError
from feedback_nlp.heads.heads import META_FILE, WEIGHTS_FILE, TaskHeads
from feedback_nlp.heads.linear import MultiLabelHead, SoftmaxHead
from feedback_nlp.taxonomy.labels import Taxonomy

POSITIVE = ["love it", "great service", "love the great app", "great, love", "lovely and great"]
NEGATIVE = ["terrible", "late again", "terrible and late", "awful late delivery", "terrible awful"]
NEUTRAL = ["what time", "where is the store", "how do i", "is it open on monday", "which plan"]


def _sentiment_data(encoder: FakeEncoder) -> tuple[np.ndarray, list[str]]:
    texts = POSITIVE + NEGATIVE + NEUTRAL
    labels = ["positive"] * 5 + ["negative"] * 5 + ["neutral"] * 5
    return encoder.encode(texts), labels


@pytest.fixture
def softmax(fake_encoder: FakeEncoder) -> SoftmaxHead:
    X, y = _sentiment_data(fake_encoder)
    return SoftmaxHead(C=10.0).fit(X, y)


# ------------------------------------------------------------------------- SoftmaxHead


def test_softmax_head_fit_returns_self(fake_encoder: FakeEncoder) -> None:
    X, y = _sentiment_data(fake_encoder)
    head = SoftmaxHead()
    assert head.fit(X, y) is head


def test_softmax_head_classes_are_sorted_labels(softmax: SoftmaxHead) -> None:
    assert list(softmax.classes_) == ["negative", "neutral", "positive"]
    assert softmax.coef_.shape == (3, 64)
    assert softmax.coef_.dtype == np.float32


@pytest.mark.parametrize("n_rows", [1, 7])
def test_softmax_head_probabilities_shape_and_sum(softmax: SoftmaxHead, fake_encoder: FakeEncoder, n_rows: int) -> None:
    X = fake_encoder.encode([f"great word{i} terrible" for i in range(n_rows)])
    proba = softmax.predict_proba(X)
    assert proba.shape == (n_rows, 3)
    assert np.all(proba >= 0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)


@pytest.mark.parametrize(
    ("text", "label"),
    [("love this, great", "positive"), ("terrible, late", "negative"), ("where is it", "neutral")],
)
def test_softmax_head_separates_bag_of_words(
    softmax: SoftmaxHead, fake_encoder: FakeEncoder, text: str, label: str
) -> None:
    X = fake_encoder.encode([text])
    assert softmax.predict(X)[0] == label
    # predict and the argmax of predict_proba follow the same column order (classes_).
    assert softmax.classes_[softmax.predict_proba(X).argmax()] == label


def test_softmax_head_columns_follow_classes_order(fake_encoder: FakeEncoder) -> None:
    # Labels given in a non-sorted order still come out in classes_ (sorted) order.
    X = fake_encoder.encode(["zeta one", "zeta two", "alpha one", "alpha two", "mid one", "mid two"])
    head = SoftmaxHead(C=10.0).fit(X, ["z", "z", "a", "a", "m", "m"])
    assert list(head.classes_) == ["a", "m", "z"]
    proba = head.predict_proba(fake_encoder.encode(["alpha", "zeta"]))
    assert proba[0].argmax() == 0
    assert proba[1].argmax() == 2


def test_softmax_head_two_classes_gives_two_columns(fake_encoder: FakeEncoder) -> None:
    X = fake_encoder.encode(["zeta one", "zeta two", "alpha one", "alpha two"])
    head = SoftmaxHead(C=10.0).fit(X, ["z", "z", "a", "a"])
    proba = head.predict_proba(fake_encoder.encode(["alpha", "zeta"]))
    assert proba.shape == (2, 2)
    assert list(head.predict(fake_encoder.encode(["alpha", "zeta"]))) == ["a", "z"]


@pytest.mark.parametrize(
    ("C", "expect"),
    # An overconfident head (weak regularisation, noisy labels) is cooled down; an
    # underconfident one (strong regularisation, clean labels) is sharpened.
    [(1000.0, "above"), (0.05, "below")],
)
def test_softmax_head_calibrate_moves_temperature(fake_encoder: FakeEncoder, C: float, expect: str) -> None:
    X, y = _sentiment_data(fake_encoder)
    head = SoftmaxHead(C=C).fit(X, y)
    assert head.temperature_ == 1.0
    if expect == "above":
        # Held-out labels disagree with the fit half the time: confidence should drop.
        held_X = np.vstack([X, X])
        held_y = y + list(np.roll(np.array(y), 5))
    else:
        held_X, held_y = X, y
    before = _log_loss(head, held_X, held_y)
    assert head.calibrate(held_X, held_y) is head
    after = _log_loss(head, held_X, held_y)
    assert 0.25 <= head.temperature_ <= 8.0
    assert (head.temperature_ > 1.0) if expect == "above" else (head.temperature_ < 1.0)
    assert after <= before


def test_softmax_head_calibrate_keeps_predictions(softmax: SoftmaxHead, fake_encoder: FakeEncoder) -> None:
    X, y = _sentiment_data(fake_encoder)
    before = softmax.predict(X)
    softmax.calibrate(X, y)
    np.testing.assert_array_equal(softmax.predict(X), before)


def _log_loss(head: SoftmaxHead, X: np.ndarray, y: list[str]) -> float:
    index = {label: i for i, label in enumerate(head.classes_)}
    proba = head.predict_proba(X)
    return float(-np.log(proba[np.arange(len(y)), [index[v] for v in y]] + 1e-12).mean())


# ---------------------------------------------------------------------- MultiLabelHead

LABELS = ["delivery", "phone", "never_seen"]


def _multilabel_data(encoder: FakeEncoder) -> tuple[np.ndarray, np.ndarray]:
    texts = [
        "the delivery was late",
        "delivery courier parcel",
        "i called on the phone",
        "phone call on hold",
        "delivery and a phone call",
        "great food",
        "nice room",
        "the staff were kind",
    ]
    Y = np.array(
        [
            [1, 0, 0],
            [1, 0, 0],
            [0, 1, 0],
            [0, 1, 0],
            [1, 1, 0],
            [0, 0, 0],
            [0, 0, 0],
            [0, 0, 0],
        ],
        dtype=np.float32,
    )
    return encoder.encode(texts), Y


def test_multilabel_head_fit_returns_self(fake_encoder: FakeEncoder) -> None:
    X, Y = _multilabel_data(fake_encoder)
    head = MultiLabelHead()
    assert head.fit(X, Y, LABELS) is head
    assert list(head.classes_) == LABELS
    assert head.coef_.shape == (3, 64)
    np.testing.assert_array_equal(head.thresholds_, [0.5, 0.5, 0.5])


def test_multilabel_head_probabilities_per_label(fake_encoder: FakeEncoder) -> None:
    X, Y = _multilabel_data(fake_encoder)
    head = MultiLabelHead(C=10.0).fit(X, Y, LABELS)
    proba = head.predict_proba(fake_encoder.encode(["delivery parcel", "phone call"]))
    assert proba.shape == (2, 3)
    assert np.all((proba >= 0) & (proba <= 1))
    assert proba[0, 0] > 0.5 > proba[0, 1]
    assert proba[1, 1] > 0.5 > proba[1, 0]
    np.testing.assert_array_equal(head.predict(fake_encoder.encode(["delivery parcel"]))[0], [1, 0, 0])


@pytest.mark.parametrize("column", [None, np.nan, 0.0])
def test_multilabel_head_stays_silent_on_never_seen_label(fake_encoder: FakeEncoder, column: float | None) -> None:
    X, Y = _multilabel_data(fake_encoder)
    if column is not None:
        Y[:, 2] = column  # all unknown, or never positive
    head = MultiLabelHead(C=10.0).fit(X, Y, LABELS)
    assert not head.coef_[2].any()
    assert head.predict_proba(X)[:, 2].max() < 1e-3
    assert not head.predict(X)[:, 2].any()


def test_multilabel_head_ignores_nan_rows(fake_encoder: FakeEncoder) -> None:
    X, Y = _multilabel_data(fake_encoder)
    clean = MultiLabelHead(C=10.0).fit(X, Y, LABELS)
    # Extra rows whose labels are unknown must not change the fit, whatever their text.
    noise = fake_encoder.encode(["delivery delivery delivery", "phone phone"])
    X_more = np.vstack([X, noise])
    Y_more = np.vstack([Y, np.full((2, 3), np.nan, dtype=np.float32)])
    with_nan = MultiLabelHead(C=10.0).fit(X_more, Y_more, LABELS)
    np.testing.assert_allclose(with_nan.coef_, clean.coef_, atol=1e-6)
    np.testing.assert_allclose(with_nan.intercept_, clean.intercept_, atol=1e-6)


def test_multilabel_head_nan_only_in_one_column(fake_encoder: FakeEncoder) -> None:
    X, Y = _multilabel_data(fake_encoder)
    Y_partial = Y.copy()
    Y_partial[0, 1] = np.nan  # unknown for phone only: still used for delivery
    head = MultiLabelHead(C=10.0).fit(X, Y_partial, LABELS)
    reference = MultiLabelHead(C=10.0).fit(X, Y, LABELS)
    np.testing.assert_allclose(head.coef_[0], reference.coef_[0], atol=1e-6)
    assert not np.allclose(head.coef_[1], reference.coef_[1], atol=1e-6)


@pytest.mark.parametrize("grid", [None, [0.3, 0.55, 0.8], [0.05, 0.95]])
def test_multilabel_head_tune_thresholds_picks_from_grid(fake_encoder: FakeEncoder, grid: list[float] | None) -> None:
    X, Y = _multilabel_data(fake_encoder)
    head = MultiLabelHead(C=10.0).fit(X, Y, LABELS)
    assert head.tune_thresholds(X, Y, grid=grid) is head
    allowed = np.asarray(grid if grid is not None else np.linspace(0.2, 0.9, 15), dtype=np.float32)
    for j in (0, 1):
        assert np.isclose(allowed, head.thresholds_[j]).any(), head.thresholds_
    # A label with no positive held-out row keeps its default threshold.
    assert head.thresholds_[2] == pytest.approx(0.5)


def _head_reading_probabilities(probabilities: list[float]) -> tuple[MultiLabelHead, np.ndarray]:
    """A one-label head and inputs on which it gives exactly ``probabilities``."""
    head = MultiLabelHead()
    head.classes_ = np.array(["x"])
    head.coef_ = np.array([[1.0]], dtype=np.float32)
    head.intercept_ = np.array([0.0], dtype=np.float32)
    head.thresholds_ = np.array([0.5], dtype=np.float32)
    p = np.array(probabilities)
    return head, np.log(p / (1 - p)).reshape(-1, 1).astype(np.float32)


def test_multilabel_head_tune_thresholds_maximises_f1() -> None:
    # One label, four rows with known probabilities: only a threshold in (0.35, 0.6] gives F1 = 1.
    head, X = _head_reading_probabilities([0.1, 0.35, 0.6, 0.9])
    Y = np.array([[0], [0], [1], [1]], dtype=np.float32)
    head.tune_thresholds(X, Y, grid=[0.2, 0.5, 0.7])
    assert head.thresholds_[0] == pytest.approx(0.5)
    head.tune_thresholds(X, np.array([[0], [0], [1], [np.nan]], dtype=np.float32), grid=[0.2, 0.5, 0.7])
    assert head.thresholds_[0] == pytest.approx(0.5)


def test_multilabel_head_tune_thresholds_takes_the_middle_of_a_tie() -> None:
    # Negatives at 0.1 and 0.3, positives at 0.75 and 0.9: every threshold in (0.3, 0.75] gives
    # F1 = 1; the middle of that run of the grid, not its lowest point, is taken.
    head, X = _head_reading_probabilities([0.1, 0.3, 0.75, 0.9])
    Y = np.array([[0], [0], [1], [1]], dtype=np.float32)
    head.tune_thresholds(X, Y, grid=[0.2, 0.35, 0.45, 0.55, 0.65, 0.8])
    assert head.thresholds_[0] == pytest.approx(0.55)  # the tied run 0.35-0.65: its upper middle
    head.tune_thresholds(X, Y, grid=[0.2, 0.35, 0.45, 0.8])
    assert head.thresholds_[0] == pytest.approx(0.45)  # a run of two: the upper one


# ---------------------------------------------------------------------------- TaskHeads


@pytest.mark.parametrize("keyword_features", [True, False])
def test_task_heads_save_load_round_trip(tmp_path: Path, fake_encoder: FakeEncoder, keyword_features: bool) -> None:
    taxonomy = Taxonomy.default()
    heads = fit_tiny_heads(fake_encoder, taxonomy, keyword_features=keyword_features)
    heads.sentiment.calibrate(fake_encoder.encode(["great", "terrible", "where"]), ["positive", "negative", "neutral"])
    heads.touchpoints.thresholds_[0] = 0.35
    heads.save(tmp_path)
    assert (tmp_path / WEIGHTS_FILE).is_file() and (tmp_path / META_FILE).is_file()

    loaded = TaskHeads.load(tmp_path)
    assert loaded.keyword_features is keyword_features
    X = fake_encoder.encode(["love the app", "late delivery, terrible", "how do I pay my bill"])
    X_tp = np.hstack([X, np.zeros((3, len(taxonomy.touchpoint_labels)), dtype=np.float32)]) if keyword_features else X
    for name in ("sentiment", "stage"):
        original, restored = getattr(heads, name), getattr(loaded, name)
        assert list(restored.classes_) == list(original.classes_)
        assert restored.temperature_ == original.temperature_
        np.testing.assert_array_equal(restored.coef_, original.coef_)
        np.testing.assert_array_equal(restored.intercept_, original.intercept_)
        # The weights are bit-identical; the products may differ in the last float32 bit
        # (memory layout changes the BLAS kernel), so compare labels exactly, numbers closely.
        np.testing.assert_array_equal(restored.predict(X), original.predict(X))
        np.testing.assert_allclose(restored.predict_proba(X), original.predict_proba(X), rtol=1e-5, atol=1e-7)
    assert list(loaded.touchpoints.classes_) == taxonomy.touchpoint_labels
    np.testing.assert_array_equal(loaded.touchpoints.thresholds_, heads.touchpoints.thresholds_)
    np.testing.assert_array_equal(loaded.touchpoints.coef_, heads.touchpoints.coef_)
    np.testing.assert_array_equal(loaded.touchpoints.predict(X_tp), heads.touchpoints.predict(X_tp))
    np.testing.assert_allclose(
        loaded.touchpoints.predict_proba(X_tp), heads.touchpoints.predict_proba(X_tp), rtol=1e-5, atol=1e-7
    )


@pytest.mark.parametrize("stage_cue_features", [True, False])
def test_task_heads_keep_whether_the_stage_head_reads_cues(
    tmp_path: Path, fake_encoder: FakeEncoder, stage_cue_features: bool
) -> None:
    heads = fit_tiny_heads(fake_encoder, Taxonomy.default())
    heads.stage_cue_features = stage_cue_features
    heads.save(tmp_path)
    assert TaskHeads.load(tmp_path).stage_cue_features is stage_cue_features
    # Heads written before stage cues existed have no such key: their stage head reads the vector alone.
    meta = json.loads((tmp_path / META_FILE).read_text(encoding="utf-8"))
    del meta["stage_cue_features"]
    (tmp_path / META_FILE).write_text(json.dumps(meta), encoding="utf-8")
    assert TaskHeads.load(tmp_path).stage_cue_features is False


@pytest.mark.parametrize("missing", [WEIGHTS_FILE, META_FILE])
def test_task_heads_load_missing_file_raises_bundle_error(
    tmp_path: Path, fake_encoder: FakeEncoder, missing: str
) -> None:
    fit_tiny_heads(fake_encoder, Taxonomy.default()).save(tmp_path)
    (tmp_path / missing).unlink()
    with pytest.raises(BundleError, match="Cannot read the heads"):
        TaskHeads.load(tmp_path)


def test_softmax_head_keeps_unseen_classes_but_never_predicts_them() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 8)).astype(np.float32)
    y = ["a" if x[0] > 0 else "b" for x in X]
    head = SoftmaxHead().fit(X, y, classes=["c", "b", "a"])
    assert list(head.classes_) == ["a", "b", "c"]
    proba = head.predict_proba(X)
    assert proba.shape == (60, 3)
    assert proba[:, 2].max() < 1e-6
    assert set(head.predict(X)) <= {"a", "b"}


def test_softmax_head_rejects_labels_outside_classes() -> None:
    X = np.eye(4, dtype=np.float32)
    with pytest.raises(ValueError, match="not among"):
        SoftmaxHead().fit(X, ["a", "b", "a", "z"], classes=["a", "b"])
