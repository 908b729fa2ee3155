"""Linear heads over sentence embeddings: softmax for single-label tasks, one-vs-rest sigmoids
with per-label thresholds for multi-label tasks.

Training uses scikit-learn's LogisticRegression; what is kept is only the weight matrix, the
bias and the label list, saved as safetensors + JSON. Prediction is one matrix product, so
every head shares the same encoder pass and costs next to nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted


@dataclass(frozen=True)
class Joined:
    """Dense columns with a sparse block beside them (a head's input when it reads word n-grams),
    read as one matrix without building it: the dense part never becomes sparse."""

    dense: np.ndarray
    block: sp.csr_matrix

    @property
    def shape(self) -> tuple[int, int]:
        return self.dense.shape[0], self.dense.shape[1] + self.block.shape[1]


#: What a head reads: a dense matrix, a sparse one, or dense columns joined to a sparse block.
HeadInput: TypeAlias = np.ndarray | sp.csr_matrix | Joined


def _linear(X: HeadInput, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    """``X @ coef.T + intercept``, for a :class:`Joined` input without joining it."""
    if isinstance(X, Joined):
        width = X.dense.shape[1]
        return np.asarray(X.dense @ coef[:, :width].T + X.block @ coef[:, width:].T) + intercept
    return np.asarray(X @ coef.T) + intercept


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


class SoftmaxHead(ClassifierMixin, BaseEstimator):
    """Multinomial logistic regression with temperature scaling.

    Args:
        C: inverse L2 strength.
        class_weight: ``"balanced"`` to weigh rare labels up, or None.
        random_state: seed for the solver.

    Examples:
        >>> head = SoftmaxHead(C=1.0).fit(X, ["negative", "positive", ...])
        >>> head.predict_proba(X).shape[1] == len(head.classes_)
        True
    """

    # Fitted attributes (set by fit).
    classes_: np.ndarray
    coef_: np.ndarray
    intercept_: np.ndarray
    temperature_: float

    def __init__(self, *, C: float = 1.0, class_weight: str | None = "balanced", random_state: int | None = 0) -> None:
        self.C = C
        self.class_weight = class_weight
        self.random_state = random_state

    def fit(
        self,
        X: np.ndarray,
        y: Sequence[str],
        sample_weight: np.ndarray | None = None,
        *,
        classes: Sequence[str] | None = None,
    ) -> SoftmaxHead:
        """Fit on embeddings ``X`` and string labels ``y``.

        ``classes`` lists every label the head must output (the taxonomy's); labels with no
        training example get a column that is never chosen, so the head still matches the
        taxonomy it is bundled with.
        """
        seen, y_idx = np.unique(np.asarray(y), return_inverse=True)
        self._fit_seen(X, y_idx, sample_weight)
        self.classes_ = seen
        if classes is not None:
            self._expand(seen, np.asarray(sorted(classes)))
        self.temperature_ = 1.0
        return self

    def _expand(self, seen: np.ndarray, classes: np.ndarray) -> None:
        unknown = sorted(set(seen) - set(classes))
        if unknown:
            raise ValueError(f"labels {unknown} are not among the head's classes {list(classes)}")
        coef = np.zeros((len(classes), self.coef_.shape[1]), dtype=np.float32)
        intercept = np.full(len(classes), -30.0, dtype=np.float32)  # never chosen
        for i, label in enumerate(seen):
            j = int(np.flatnonzero(classes == label)[0])
            coef[j], intercept[j] = self.coef_[i], self.intercept_[i]
        self.classes_, self.coef_, self.intercept_ = classes, coef, intercept

    def _fit_seen(self, X: np.ndarray, y_idx: np.ndarray, sample_weight: np.ndarray | None) -> None:
        model = LogisticRegression(
            C=self.C, class_weight=self.class_weight, max_iter=2000, random_state=self.random_state
        )
        model.fit(X, y_idx, sample_weight=sample_weight)
        coef, intercept = model.coef_, model.intercept_
        if coef.shape[0] == 1:
            # Two classes: scikit-learn keeps one row w for class 1; softmax over [-w/2, w/2]
            # equals its sigmoid, so every head has one row per class.
            coef = np.vstack([-coef / 2, coef / 2])
            intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
        self.coef_ = coef.astype(np.float32)
        self.intercept_ = intercept.astype(np.float32)

    def decision_function(self, X: HeadInput) -> np.ndarray:
        """Raw scores, one column per class."""
        check_is_fitted(self)
        return _linear(X, self.coef_, self.intercept_)

    def predict_proba(self, X: HeadInput) -> np.ndarray:
        """Calibrated probabilities; columns follow ``classes_``."""
        return _softmax(self.decision_function(X) / self.temperature_)

    def predict(self, X: HeadInput) -> np.ndarray:
        """The most probable label for each row."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def calibrate(self, X: np.ndarray, y: Sequence[str]) -> SoftmaxHead:
        """Fit the softmax temperature on held-out data (minimum log-loss)."""
        index = {label: i for i, label in enumerate(self.classes_)}
        y_idx = np.array([index[label] for label in y])
        logits = self.decision_function(X)
        grid = np.exp(np.linspace(np.log(0.25), np.log(8.0), 60))
        losses = [-np.log(_softmax(logits / t)[np.arange(len(y_idx)), y_idx] + 1e-12).mean() for t in grid]
        self.temperature_ = float(grid[int(np.argmin(losses))])
        return self


class MultiLabelHead(ClassifierMixin, BaseEstimator):
    """One logistic regression per label, trained only where that label is known.

    ``Y`` is a float matrix with 1 (label applies), 0 (does not) or NaN (unknown: the row is
    left out of that label's fit). Thresholds default to 0.5 and are tuned with
    :meth:`tune_thresholds` on held-out data.
    """

    def __init__(self, *, C: float = 1.0, random_state: int | None = 0) -> None:
        self.C = C
        self.random_state = random_state

    def fit(
        self, X: np.ndarray, Y: np.ndarray, labels: Sequence[str], sample_weight: np.ndarray | None = None
    ) -> MultiLabelHead:
        """Fit one binary model per column of ``Y`` (rows weighted by ``sample_weight`` if given)."""
        self.classes_ = np.asarray(labels)
        n_labels = len(labels)
        self.coef_ = np.zeros((n_labels, X.shape[1]), dtype=np.float32)
        self.intercept_ = np.full(n_labels, -10.0, dtype=np.float32)
        for j in range(n_labels):
            known = ~np.isnan(Y[:, j])
            y = Y[known, j].astype(int)
            if known.sum() == 0 or len(np.unique(y)) < 2:
                # Never seen (or never seen absent): stay silent rather than guess.
                continue
            model = LogisticRegression(C=self.C, class_weight="balanced", max_iter=2000, random_state=self.random_state)
            model.fit(X[known], y, sample_weight=None if sample_weight is None else sample_weight[known])
            self.coef_[j] = model.coef_[0]
            self.intercept_[j] = model.intercept_[0]
        self.thresholds_ = np.full(n_labels, 0.5, dtype=np.float32)
        return self

    def predict_proba(self, X: HeadInput) -> np.ndarray:
        """Per-label probabilities, shape (n, n_labels)."""
        check_is_fitted(self)
        return _sigmoid(_linear(X, self.coef_, self.intercept_))

    def predict(self, X: HeadInput) -> np.ndarray:
        """0/1 matrix: probability at or above each label's threshold."""
        return (self.predict_proba(X) >= self.thresholds_).astype(int)

    def tune_thresholds(self, X: np.ndarray, Y: np.ndarray, *, grid: Sequence[float] | None = None) -> MultiLabelHead:
        """Choose, per label, the threshold with the best F1 on held-out ``Y`` (NaN ignored).

        Where neighbouring thresholds tie for the best F1 (a rare label has few held-out rows, so
        a range of thresholds often separates them equally well), the middle of that range is
        taken (the upper of two), not its lowest point: the lowest sits right above the held-out
        negatives and lets through the first new text that scores a little higher.
        """
        return self.tune_thresholds_on(self.predict_proba(X), Y, grid=grid)

    def tune_thresholds_on(
        self, proba: np.ndarray, Y: np.ndarray, *, grid: Sequence[float] | None = None
    ) -> MultiLabelHead:
        """:meth:`tune_thresholds` from probabilities already computed, one row per row of ``Y``:
        the held-out rows' from this head, or out-of-fold rows' from heads fitted without them
        (:func:`feedback_nlp.train.heads_fit.fit_task_heads` with ``threshold_folds``)."""
        check_is_fitted(self)
        if proba.shape != Y.shape:
            raise ValueError(f"proba has shape {proba.shape} but Y has shape {Y.shape}; they must match")
        candidates = np.asarray(grid if grid is not None else np.linspace(0.2, 0.9, 15))
        for j in range(len(self.classes_)):
            known = ~np.isnan(Y[:, j])
            y = Y[known, j]
            if y.sum() == 0:
                continue
            scores = np.array([_f1(y, proba[known, j] >= t) for t in candidates])
            first = last = int(np.argmax(scores))
            while last + 1 < len(scores) and scores[last + 1] == scores[first]:
                last += 1
            self.thresholds_[j] = float(candidates[(first + last + 1) // 2])
        return self


def _f1(y: np.ndarray, predicted: np.ndarray) -> float:
    tp = float((predicted & (y == 1)).sum())
    fp = float((predicted & (y == 0)).sum())
    fn = float((~predicted & (y == 1)).sum())
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)
