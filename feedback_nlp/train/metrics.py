"""Metrics for the three tasks, as plain functions over label lists."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
    recall_score,
)


def single_label_report(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    """Macro-F1, accuracy, macro-recall, per-label P/R/F1/support and the confusion matrix.

    Labels absent from both ``y_true`` and ``y_pred`` are left out of the macro averages.
    """
    present = [label for label in labels if label in set(y_true) | set(y_pred)]
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=present, zero_division=0)
    return {
        "n": len(y_true),
        "macro_f1": float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_recall": float(recall_score(y_true, y_pred, labels=present, average="macro", zero_division=0)),
        "per_label": {
            label: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
            for i, label in enumerate(present)
        },
        "confusion": {
            "labels": present,
            "matrix": confusion_matrix(y_true, y_pred, labels=present).tolist(),
        },
    }


def multi_label_report(
    y_true: Sequence[Sequence[str]], y_pred: Sequence[Sequence[str]], labels: Sequence[str]
) -> dict[str, Any]:
    """Micro- and macro-F1 over labels, exact-match ratio, and per-label P/R/F1/support."""
    index = {label: i for i, label in enumerate(labels)}
    true = np.zeros((len(y_true), len(labels)), dtype=int)
    pred = np.zeros_like(true)
    for row, (t, p) in enumerate(zip(y_true, y_pred, strict=True)):
        true[row, [index[x] for x in t if x in index]] = 1
        pred[row, [index[x] for x in p if x in index]] = 1
    # Counted per column with numpy: scikit-learn reads a one-column indicator matrix as a
    # binary target and would score the wrong class.
    tp = (true & pred).sum(axis=0).astype(float)
    fp = ((1 - true) & pred).sum(axis=0).astype(float)
    fn = (true & (1 - pred)).sum(axis=0).astype(float)
    s = true.sum(axis=0)
    p = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=(tp + fp) > 0)
    r = np.divide(tp, tp + fn, out=np.zeros_like(tp), where=(tp + fn) > 0)
    f = np.divide(2 * tp, 2 * tp + fp + fn, out=np.zeros_like(tp), where=(2 * tp + fp + fn) > 0)
    micro_den = 2 * tp.sum() + fp.sum() + fn.sum()
    supported = [i for i in range(len(labels)) if s[i] > 0]
    return {
        "n": len(y_true),
        "micro_f1": float(2 * tp.sum() / micro_den) if micro_den else 0.0,
        "macro_f1": float(np.mean([f[i] for i in supported])) if supported else 0.0,
        "exact_match": float((true == pred).all(axis=1).mean()) if len(true) else 0.0,
        "per_label": {
            label: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
            for i, label in enumerate(labels)
        },
    }


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
