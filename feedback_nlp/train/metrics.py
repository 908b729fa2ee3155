"""Metrics for the three tasks, as plain functions over label lists."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def single_label_report(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    """Macro-F1, accuracy, macro-recall, per-label P/R/F1/support and the confusion matrix.

    Labels absent from both ``y_true`` and ``y_pred`` are left out of the macro averages (a
    label only predicted counts, with F1 0). Counted directly, so a label set that none of
    ``y_true`` holds (a gold set of another taxonomy) scores 0 rather than failing.
    """
    true = np.asarray(list(y_true), dtype=object)
    pred = np.asarray(list(y_pred), dtype=object)
    if true.shape != pred.shape:
        raise ValueError(f"y_true has {len(true)} labels but y_pred has {len(pred)}")
    seen = set(true.tolist()) | set(pred.tolist())
    present = [label for label in labels if label in seen]
    tp = np.array([np.sum((true == label) & (pred == label)) for label in present], dtype=float)
    support = np.array([np.sum(true == label) for label in present], dtype=float)
    predicted = np.array([np.sum(pred == label) for label in present], dtype=float)
    p = _ratio(tp, predicted)
    r = _ratio(tp, support)
    f = _ratio(2 * tp, support + predicted)
    return {
        "n": len(true),
        "macro_f1": float(f.mean()) if len(present) else 0.0,
        "accuracy": float(np.mean(true == pred)) if len(true) else 0.0,
        "macro_recall": float(r.mean()) if len(present) else 0.0,
        "per_label": {
            label: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(support[i])}
            for i, label in enumerate(present)
        },
        "confusion": {
            "labels": present,
            "matrix": [[int(np.sum((true == a) & (pred == b))) for b in present] for a in present],
        },
    }


def multi_label_report(
    y_true: Sequence[Sequence[str]], y_pred: Sequence[Sequence[str]], labels: Sequence[str]
) -> dict[str, Any]:
    """Micro- and macro-F1 over labels, exact-match ratio, and per-label P/R/F1/support.

    The macro-F1 averages the labels that are in ``y_true`` or ``y_pred`` (a label only ever
    predicted counts, with F1 0, as scikit-learn counts it); labels in neither are left out.
    ``labels_scored`` says how many labels that is: with none (no touchpoint in the gold set or
    the predictions) micro- and macro-F1 are undefined and reported as 0.0.

    Raises:
        TypeError: a row is a string rather than a list of labels (it would be read letter by letter).
    """
    for name, rows in (("y_true", y_true), ("y_pred", y_pred)):
        for i, cell in enumerate(rows):
            if isinstance(cell, str) or not isinstance(cell, Sequence | np.ndarray | set | frozenset):
                raise TypeError(f"{name}[{i}] must be a list of labels, got {type(cell).__name__} {cell!r}")
    index = {label: i for i, label in enumerate(labels)}
    true = np.zeros((len(y_true), len(labels)), dtype=int)
    pred = np.zeros_like(true)
    for row, (wanted, got) in enumerate(zip(y_true, y_pred, strict=True)):
        true[row, [index[x] for x in wanted if x in index]] = 1
        pred[row, [index[x] for x in got if x in index]] = 1
    # Counted per column with numpy: scikit-learn reads a one-column indicator matrix as a
    # binary target and would score the wrong class.
    tp = (true & pred).sum(axis=0).astype(float)
    fp = ((1 - true) & pred).sum(axis=0).astype(float)
    fn = (true & (1 - pred)).sum(axis=0).astype(float)
    s = true.sum(axis=0)
    p = _ratio(tp, tp + fp)
    r = _ratio(tp, tp + fn)
    f = _ratio(2 * tp, 2 * tp + fp + fn)
    micro_den = 2 * tp.sum() + fp.sum() + fn.sum()
    scored = [i for i in range(len(labels)) if s[i] > 0 or pred[:, i].any()]
    return {
        "n": len(y_true),
        "micro_f1": float(2 * tp.sum() / micro_den) if micro_den else 0.0,
        "macro_f1": float(np.mean([f[i] for i in scored])) if scored else 0.0,
        "labels_scored": len(scored),
        "exact_match": float((true == pred).all(axis=1).mean()) if len(true) else 0.0,
        "per_label": {
            label: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
            for i, label in enumerate(labels)
        },
    }


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator``, 0 where the denominator is 0 (scikit-learn's ``zero_division=0``)."""
    return np.divide(numerator, denominator, out=np.zeros_like(numerator, dtype=float), where=denominator > 0)


def expected_calibration_error(confidence: Sequence[float], correct: Sequence[bool], bins: int = 15) -> float:
    """ECE: the share-weighted gap between mean confidence and accuracy over equal-width bins.

    ``confidence`` is the probability of the predicted label, ``correct`` whether it was right.
    """
    conf = np.asarray(confidence, dtype=float)
    hits = np.asarray(correct, dtype=float)
    if conf.size == 0:
        return 0.0
    which = np.clip(np.digitize(conf, np.linspace(0.0, 1.0, bins + 1)[1:-1]), 0, bins - 1)
    return float(
        sum(
            (which == b).mean() * abs(conf[which == b].mean() - hits[which == b].mean())
            for b in range(bins)
            if (which == b).any()
        )
    )
