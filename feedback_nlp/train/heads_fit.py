"""Fitting the task heads on embeddings: the one place training and retraining fit, calibrate
and threshold them.

:func:`fit_task_heads` fits each single-label head (sentiment, journey stage) on the training
rows where its label is known, fits its softmax temperature on the held-out rows where the label
is known and reports on them; the touchpoint head is fitted one label at a time where that label
is known, and its per-label thresholds are tuned on the held-out rows. The trainer
(:func:`feedback_nlp.train.trainer.fit_heads`) and :func:`feedback_nlp.train.retrain.retrain_heads`
differ only in what they pass: the split, row weights, strengths and class weights.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

import numpy as np
import pandas as pd
import scipy.sparse as sp

from feedback_nlp.errors import DataError
from feedback_nlp.heads.heads import TaskHeads
from feedback_nlp.heads.linear import MultiLabelHead, SoftmaxHead
from feedback_nlp.heads.ngrams import WordNgrams
from feedback_nlp.taxonomy.labels import NO_STAGE, SENTIMENT_LABELS
from feedback_nlp.train.metrics import single_label_report

logger = logging.getLogger(__name__)

#: What a head reads: dense vectors, or sparse ones with a word n-gram block appended.
Features: TypeAlias = np.ndarray | sp.csr_matrix


@dataclass(frozen=True)
class HeadTargets:
    """What the heads learn, one entry per row of the embeddings.

    A label column of None leaves that head unfitted (the caller keeps its own); within a
    column, None (or NaN) marks a row whose label is unknown.

    Attributes:
        stage_labels: every journey stage the stage head must output (the taxonomy's).
        touchpoint_labels: the touchpoint matrix's columns, in order.
        sentiment: one sentiment label per row, or None.
        journey_stage: one journey stage per row, or None.
        touchpoints: (rows, touchpoint labels) of 1, 0 or NaN (unknown), or None.
    """

    stage_labels: list[str]
    touchpoint_labels: list[str]
    sentiment: Sequence[str | None] | None = None
    journey_stage: Sequence[str | None] | None = None
    touchpoints: np.ndarray | None = None


@dataclass(frozen=True)
class HeadOptions:
    """How the heads are fitted (the ``[heads]`` table of a training config, or retraining's ``C``).

    Attributes:
        C_sentiment, C_stage, C_touchpoints: inverse L2 strength of each head.
        stage_class_weight: ``"balanced"`` weighs rare stages up; ``"sqrt-balanced"`` weighs each
            stage by the square root of its balanced weight, except ``none``, which keeps weight 1
            (rare stages count more, while `none` keeps the rate the data gives it); None fits the
            data's priors.
            The sentiment and touchpoint heads are always balanced.
        seed: seeds the solvers.
    """

    C_sentiment: float = 1.0
    C_stage: float = 1.0
    C_touchpoints: float = 1.0
    stage_class_weight: Literal["balanced", "sqrt-balanced"] | None = "balanced"
    seed: int = 42


@dataclass(frozen=True)
class ThresholdFolds:
    """Training rows whose out-of-fold probabilities tune the touchpoint thresholds beside the
    held-out rows.

    A rare touchpoint has few held-out positives (``marketing``: about 30 in the corpus's 15%), so
    a threshold tuned on them alone moves a lot between seeds. Each of ``folds`` extra touchpoint
    heads is fitted without one fold of these rows and scores them; the thresholds are then
    tuned on every held-out row and every such row together.

    Attributes:
        rows: boolean mask of the training rows to score out of fold (those whose labels people
            gave: the annotated corpus).
        groups: one group id per row. A fold leaves out every training row of its groups, so a
            row's invariance copies (which share its group) never train the head that scores it.
        folds: how many folds, at least 2.
        seed: which groups fall in which fold.
    """

    rows: np.ndarray
    groups: np.ndarray
    folds: int = 5
    seed: int = 42

    def __post_init__(self) -> None:
        if self.folds < 2:
            raise ValueError(f"threshold folds must be at least 2, got {self.folds}")
        if len(self.rows) != len(self.groups):
            raise ValueError(f"rows has {len(self.rows)} entries but groups has {len(self.groups)}; they must match")

    def assignments(self) -> np.ndarray:
        """The fold of each row's group (-1 for rows whose group holds no row to score)."""
        scored = np.random.default_rng(self.seed).permutation(np.unique(self.groups[self.rows]))
        rank = {group: i for i, group in enumerate(scored.tolist())}
        return np.array([rank[g] % self.folds if g in rank else -1 for g in self.groups.tolist()], dtype=int)


@dataclass
class FittedHeads:
    """The heads :func:`fit_task_heads` fitted (None where no labels were given).

    Attributes:
        held_out: per fitted single-label column (``sentiment``, ``journey_stage``), its
            :func:`~feedback_nlp.train.metrics.single_label_report` on the held-out rows where
            its label is known (absent when there are none).
    """

    sentiment: SoftmaxHead | None = None
    stage: SoftmaxHead | None = None
    touchpoints: MultiLabelHead | None = None
    held_out: dict[str, dict[str, Any]] = field(default_factory=dict)

    def task_heads(
        self,
        keyword_features: bool,
        keep: TaskHeads | None = None,
        *,
        stage_cue_features: bool = False,
        ngrams: WordNgrams | None = None,
    ) -> TaskHeads:
        """The three heads together: the fitted ones, and ``keep``'s where none was fitted.

        ``stage_cue_features`` says whether a fitted stage head read the stage cues; a kept stage
        head keeps ``keep``'s setting. ``ngrams``: the word n-gram vocabulary the fitted heads read
        (None: none); every text head of a bundle reads the same one, so a head kept from
        ``keep`` must have read it too.

        Raises:
            ValueError: a head was not fitted and there is no ``keep`` to take it from, or ``keep``'s
                heads read another n-gram vocabulary than ``ngrams``.
        """
        chosen = {}
        for name in ("sentiment", "stage", "touchpoints"):
            head = getattr(self, name)
            if head is None and keep is None:
                raise ValueError(f"The {name} head was not fitted (no labels given) and no heads were passed to keep.")
            chosen[name] = head if head is not None else getattr(keep, name)
        # Segment heads (pooled-segment bundles) are kept only beside a kept text head: a refitted
        # head reads segments too, so segments follow the labels it was refitted on.
        segment_sentiment = keep.segment_sentiment if keep is not None and self.sentiment is None else None
        segment_touchpoints = keep.segment_touchpoints if keep is not None and self.touchpoints is None else None
        if keep is not None and any(getattr(self, name) is None for name in chosen) and keep.ngrams is not ngrams:
            raise ValueError("heads kept from a bundle read its word n-grams: refit them with the same vocabulary")
        return TaskHeads(
            chosen["sentiment"],
            chosen["stage"],
            chosen["touchpoints"],
            keyword_features,
            segment_sentiment,
            segment_touchpoints,
            stage_cue_features if self.stage is not None or keep is None else keep.stage_cue_features,
            ngrams,
        )


def stage_class_factors(y: np.ndarray, power: float) -> np.ndarray:
    """Each row's factor: its label's balanced weight (n / (k * n_label)) to ``power``, with
    :data:`NO_STAGE` left at 1 (``power`` 0.5 is ``"sqrt-balanced"``)."""
    labels, counts = np.unique(y, return_counts=True)
    factor = {label: (len(y) / (len(labels) * count)) ** power for label, count in zip(labels, counts, strict=True)}
    factor[NO_STAGE] = 1.0
    return np.array([factor[label] for label in y])


def _sqrt_balanced(y: np.ndarray, sample_weight: np.ndarray | None) -> np.ndarray:
    """Row weights times :func:`stage_class_factors` with power 0.5."""
    weights = stage_class_factors(y, 0.5)
    return weights if sample_weight is None else sample_weight * weights


def fit_task_heads(
    X: Features,
    X_tp: Features,
    targets: HeadTargets,
    train: np.ndarray,
    held: np.ndarray,
    *,
    options: HeadOptions | None = None,
    sample_weight: np.ndarray | None = None,
    X_stage: Features | None = None,
    threshold_folds: ThresholdFolds | None = None,
) -> FittedHeads:
    """Fit the heads that ``targets`` has labels for; calibrate and threshold them on ``held``.

    Args:
        X: embeddings, one row per target row (the sentiment head's input, and the stage head's
            when ``X_stage`` is None); dense, or sparse with a word n-gram block appended.
        X_tp: the touchpoint head's input (``X``, with keyword features appended when the heads
            use them).
        targets: the labels.
        train: boolean mask of the rows to fit on.
        held: boolean mask of the rows to calibrate, tune thresholds and report on.
        options: strengths, class weights and seed; the defaults when None.
        sample_weight: a weight per row, or None for equal weights.
        X_stage: the stage head's input (``X`` with the stage-cue hits appended when the heads use
            them); ``X`` when None.
        threshold_folds: training rows whose out-of-fold probabilities tune the touchpoint
            thresholds beside ``held`` (:class:`ThresholdFolds`); None: ``held`` alone.

    Raises:
        DataError: a single-label head's known training labels hold fewer than two distinct values.
    """
    options = options or HeadOptions()
    fitted = FittedHeads()
    single = (
        ("sentiment", X, targets.sentiment, options.C_sentiment, "balanced", list(SENTIMENT_LABELS)),
        (
            "journey_stage",
            X if X_stage is None else X_stage,
            targets.journey_stage,
            options.C_stage,
            options.stage_class_weight,
            targets.stage_labels,
        ),
    )
    for column, X_head, cells, C, class_weight, labels in single:
        if cells is None:
            continue
        y = pd.Series(list(cells), dtype=object)
        known = y.notna().to_numpy()
        fit_rows, held_rows = train & known, held & known
        seen = sorted(set(y[fit_rows]))
        if len(seen) < 2:
            raise DataError(
                f"{column}: the training rows hold {len(seen)} distinct label(s) {seen}; a head needs at "
                "least two. Give rows with other labels (when retraining a bundle's heads, leaving the "
                "column out keeps the bundle's head instead)."
            )
        missing = sorted(set(labels) - set(seen))
        if missing:
            logger.warning(
                "%s: no training text has the label(s) %s; the head will never predict them", column, missing
            )
        fit_weight = None if sample_weight is None else sample_weight[fit_rows]
        if class_weight == "sqrt-balanced":
            fit_weight = _sqrt_balanced(y[fit_rows].to_numpy(dtype=object), fit_weight)
            class_weight = None
        head = SoftmaxHead(C=C, class_weight=class_weight, random_state=options.seed).fit(
            X_head[fit_rows], y[fit_rows].tolist(), fit_weight, classes=labels
        )
        if held_rows.any():
            y_held = y[held_rows].tolist()
            head.calibrate(X_head[held_rows], y_held)
            fitted.held_out[column] = single_label_report(y_held, head.predict(X_head[held_rows]).tolist(), labels)
            logger.info("%s head: held-out macro-F1 %.3f", column, fitted.held_out[column]["macro_f1"])
        if column == "sentiment":
            fitted.sentiment = head
        else:
            fitted.stage = head
    if targets.touchpoints is not None:
        Y = targets.touchpoints
        head_tp = _fit_touchpoints(X_tp, Y, train, targets, options, sample_weight)
        proba, Y_tune = head_tp.predict_proba(X_tp[held]), Y[held]
        if threshold_folds is not None:
            oof_proba, oof_Y = _out_of_fold(X_tp, Y, train, targets, options, sample_weight, threshold_folds)
            proba, Y_tune = np.vstack([proba, oof_proba]), np.vstack([Y_tune, oof_Y])
        if len(Y_tune):
            head_tp.tune_thresholds_on(proba, Y_tune)
        fitted.touchpoints = head_tp
    return fitted


def _fit_touchpoints(
    X_tp: Features,
    Y: np.ndarray,
    rows: np.ndarray,
    targets: HeadTargets,
    options: HeadOptions,
    sample_weight: np.ndarray | None,
) -> MultiLabelHead:
    """A touchpoint head fitted on ``rows`` (thresholds left at 0.5)."""
    weight = None if sample_weight is None else sample_weight[rows]
    return MultiLabelHead(C=options.C_touchpoints, random_state=options.seed).fit(
        X_tp[rows], Y[rows], targets.touchpoint_labels, weight
    )


def _out_of_fold(
    X_tp: Features,
    Y: np.ndarray,
    train: np.ndarray,
    targets: HeadTargets,
    options: HeadOptions,
    sample_weight: np.ndarray | None,
    folds: ThresholdFolds,
) -> tuple[np.ndarray, np.ndarray]:
    """Touchpoint probabilities of ``folds.rows``, each from a head fitted without its fold."""
    fold_of = folds.assignments()
    proba_parts, Y_parts = [], []
    for fold in range(folds.folds):
        in_fold = fold_of == fold
        scored = folds.rows & in_fold
        if not scored.any():
            continue
        head = _fit_touchpoints(X_tp, Y, train & ~in_fold, targets, options, sample_weight)
        proba_parts.append(head.predict_proba(X_tp[scored]))
        Y_parts.append(Y[scored])
    n_scored = sum(len(part) for part in Y_parts)
    logger.info(
        "Touchpoint thresholds: %d out-of-fold rows from %d folds join the held-out rows", n_scored, folds.folds
    )
    if not Y_parts:
        return np.empty((0, Y.shape[1])), np.empty((0, Y.shape[1]))
    return np.vstack(proba_parts), np.vstack(Y_parts)
