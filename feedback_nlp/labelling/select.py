"""Which unlabelled texts to label next: uncertain ones, and not the same one twice.

Picking only the lowest-confidence texts spends a labelling budget on near-duplicates: a
cluster of similar texts the model is unsure about fills the whole batch, and labelling one of
them would have taught the model almost as much as labelling all of them. The selector here
follows *diverse mini-batch active learning* (Zhdanov, 2019):

1. **Uncertainty pre-filter.** Score every text by uncertainty (:func:`uncertainty`) and keep
   the ``prefilter`` x ``n`` most uncertain (10 x by default).
2. **Diversity.** Cluster those candidates into ``n`` groups with k-means (k-means++ start) on
   their embeddings, each candidate weighted by its uncertainty, and take from each cluster the
   candidate closest to its centre.
3. **Near-duplicates.** A text whose cosine similarity to an already-labelled text, or to a more
   uncertain candidate, is at least ``duplicate_cosine`` (0.95) is dropped before clustering;
   a batch that comes out short is filled with the next most uncertain texts that are no duplicates.

Everything works on arrays (embeddings and probabilities), so the same selector serves the
default tasks (sentiment, journey stage, touchpoints) and custom taxonomies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from feedback_nlp.errors import ConfigError

UncertaintyKind = Literal["margin", "entropy"]


def uncertainty(
    proba: np.ndarray,
    *,
    multi_label: bool = False,
    thresholds: np.ndarray | None = None,
    kind: UncertaintyKind = "margin",
) -> np.ndarray:
    """Uncertainty in [0, 1] per row (1 = most uncertain).

    Single-label: ``margin`` is 1 minus the gap between the two most probable labels;
    ``entropy`` is the normalised entropy. Multi-label: for each label, how close its
    probability is to its decision threshold (1 at the threshold, 0 at 0 or 1), and the row's
    largest such value (the label the model is least sure of).
    """
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim != 2 or proba.shape[1] < 1:
        raise ConfigError(f"expected a probability matrix (n_texts, n_labels), got shape {proba.shape}")
    if multi_label:
        t = np.full(proba.shape[1], 0.5) if thresholds is None else np.asarray(thresholds, dtype=np.float64)
        below = 1.0 - (t - proba) / np.maximum(t, 1e-9)
        above = 1.0 - (proba - t) / np.maximum(1.0 - t, 1e-9)
        closeness = np.where(proba < t, below, above)
        return np.clip(closeness, 0.0, 1.0).max(axis=1)
    if proba.shape[1] < 2:
        raise ConfigError("single-label uncertainty needs at least two labels")
    if kind == "entropy":
        p = np.clip(proba, 1e-12, 1.0)
        return (-(p * np.log(p)).sum(axis=1) / np.log(proba.shape[1])).clip(0.0, 1.0)
    top2 = np.sort(proba, axis=1)[:, -2:]
    return (1.0 - (top2[:, 1] - top2[:, 0])).clip(0.0, 1.0)


@dataclass(frozen=True)
class Selection:
    """The chosen rows, in the order they should be labelled (most informative first)."""

    indices: np.ndarray
    uncertainty: np.ndarray  # of the chosen rows
    cluster: np.ndarray  # k-means cluster of each chosen row (-1: filled in after clustering)
    candidates: int  # how many rows passed the uncertainty pre-filter
    skipped_duplicates: int


def _unit(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(norms > 0, norms, 1.0)


def select_for_labelling(
    X: np.ndarray,
    proba: np.ndarray,
    n: int,
    *,
    multi_label: bool = False,
    thresholds: np.ndarray | None = None,
    kind: UncertaintyKind = "margin",
    prefilter: float = 10.0,
    labelled_X: np.ndarray | None = None,
    duplicate_cosine: float = 0.95,
    seed: int = 0,
) -> Selection:
    """Choose ``n`` rows of ``X`` to label: uncertain, spread out, no near-duplicates.

    Args:
        X: embeddings of the unlabelled texts, one row each.
        proba: the model's probabilities for the same rows.
        n: how many to choose (fewer when fewer rows are left after removing duplicates).
        multi_label: ``proba`` holds independent per-label probabilities (touchpoints).
        thresholds: per-label decision thresholds for multi-label tasks.
        kind: single-label uncertainty, ``margin`` or ``entropy``.
        prefilter: candidates kept before clustering, as a multiple of ``n`` (1 = pure
            uncertainty sampling with duplicate removal).
        labelled_X: embeddings of texts that already have labels; near-duplicates of them are skipped.
        duplicate_cosine: cosine similarity at or above which two texts count as the same.
        seed: seeds k-means.

    Raises:
        ConfigError: shapes disagree or ``n`` / ``prefilter`` are out of range.
    """
    from sklearn.cluster import KMeans

    X = _unit(X)
    if len(X) != len(proba):
        raise ConfigError(f"{len(X)} embeddings but {len(proba)} probability rows; they must be the same texts")
    if n < 1 or prefilter < 1:
        raise ConfigError(f"n must be >= 1 and prefilter >= 1, got n={n}, prefilter={prefilter}")
    scores = uncertainty(proba, multi_label=multi_label, thresholds=thresholds, kind=kind)
    order = np.argsort(-scores, kind="stable")
    labelled = _unit(labelled_X) if labelled_X is not None and len(labelled_X) else np.zeros((0, X.shape[1]))
    fresh = order if not len(labelled) else order[(X[order] @ labelled.T).max(axis=1) < duplicate_cosine]
    skipped = len(order) - len(fresh)
    candidates, dropped = _distinct(X, fresh, max(n, int(round(prefilter * n))), duplicate_cosine)
    skipped += dropped
    if len(candidates) == 0:
        return Selection(np.zeros(0, dtype=int), np.zeros(0), np.zeros(0, dtype=int), 0, skipped)
    k = min(n, len(candidates))
    weights = np.maximum(scores[candidates], 1e-6)
    km = KMeans(n_clusters=k, init="k-means++", n_init=3, random_state=seed)
    assignment = km.fit_predict(X[candidates], sample_weight=weights)
    distance = np.linalg.norm(X[candidates] - km.cluster_centers_[assignment], axis=1)
    chosen: list[int] = []
    clusters: list[int] = []
    # Visit clusters by the uncertainty of their best member, so the most informative come first.
    cluster_order = sorted(range(k), key=lambda c: -weights[assignment == c].max(initial=0.0))
    for c in cluster_order:
        for j in np.flatnonzero(assignment == c)[np.argsort(distance[assignment == c])]:
            row = int(candidates[j])
            if not _duplicate(X, row, chosen, duplicate_cosine):
                chosen.append(row)
                clusters.append(c)
                break
            skipped += 1
    for row in fresh:  # clusters that gave nothing: the next uncertain non-duplicates
        if len(chosen) >= n:
            break
        row = int(row)
        if row not in chosen and not _duplicate(X, row, chosen, duplicate_cosine):
            chosen.append(row)
            clusters.append(-1)
    indices = np.asarray(chosen, dtype=int)
    return Selection(indices, scores[indices], np.asarray(clusters, dtype=int), len(candidates), skipped)


def _distinct(X: np.ndarray, order: np.ndarray, size: int, threshold: float) -> tuple[np.ndarray, int]:
    """The first ``size`` rows of ``order`` that are no near-duplicate of an earlier kept one."""
    kept: list[int] = []
    dropped = 0
    for row in order:
        if len(kept) >= size:
            break
        if _duplicate(X, int(row), kept, threshold):
            dropped += 1
        else:
            kept.append(int(row))
    return np.asarray(kept, dtype=int), dropped


def _duplicate(X: np.ndarray, row: int, chosen: list[int], threshold: float) -> bool:
    return bool(chosen) and float((X[chosen] @ X[row]).max()) >= threshold
