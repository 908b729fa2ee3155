"""Label-noise candidates by confident learning over out-of-fold probabilities.

The training labels are mapped from other datasets' labels and keyword rules, so some are
wrong. To find likely ones without trusting a model that has seen them:

1. a linear head (the same logistic regression as the real heads) predicts each row's
   probabilities from a model fitted on the *other* folds;
2. each label ``j`` gets a threshold ``t_j``: the mean probability of ``j`` over the rows
   labelled ``j`` (how sure the model usually is of that label);
3. a row is a candidate when the labels the model is confident about (``p_j >= t_j``) do not
   include its given label and the most probable of them is another label: the off-diagonal
   of the *confident joint* of Northcutt, Jiang and Chuang, "Confident Learning" (JAIR 2021),
   the rule cleanlab's ``filter_by="confident_learning"`` applies.

Candidates are ranked by their given label's out-of-fold probability (lowest first). They
are texts to look at, not labels to flip blindly.

Examples:
    >>> issues = find_label_issues(X, labels)                     # doctest: +SKIP
    >>> issues[issues.is_issue].head(20)                          # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from feedback_nlp.errors import InputError

logger = logging.getLogger(__name__)

ISSUE_COLUMNS = ("position", "given", "given_proba", "suggested", "suggested_proba", "is_issue")


def out_of_fold_proba(
    X: np.ndarray, labels: Sequence[str], *, folds: int = 5, C: float = 1.0, seed: int = 42
) -> tuple[np.ndarray, list[str]]:
    """Each row's class probabilities from a model that never saw that row.

    Returns the (n, k) probabilities and the k classes (sorted) their columns follow. Every
    class needs at least ``folds`` rows; see :func:`find_label_issues` for mixed data.

    Raises:
        InputError: shapes disagree, fewer than two classes, or a class has fewer than ``folds`` rows.
    """
    X = np.asarray(X)
    y_text = np.asarray([str(v) for v in labels])
    if X.ndim != 2 or len(X) != len(y_text):
        raise InputError(f"expected one label per row of X, got X of shape {X.shape} and {len(y_text)} label(s)")
    if folds < 2:
        raise InputError(f"folds must be at least 2, got {folds}")
    classes, y = np.unique(y_text, return_inverse=True)
    counts = np.bincount(y, minlength=len(classes))
    if len(classes) < 2:
        raise InputError(f"out-of-fold probabilities need at least two labels, got {list(classes)}")
    if counts.min() < folds:
        rare = [str(c) for c, n in zip(classes, counts, strict=True) if n < folds]
        raise InputError(f"label(s) {rare} have fewer than {folds} rows; give more rows or fewer folds")
    proba = np.zeros((len(y), len(classes)), dtype=np.float64)
    for train, test in StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(X, y):
        model = LogisticRegression(C=C, class_weight="balanced", max_iter=2000, random_state=seed)
        model.fit(X[train], y[train])
        # A fold may miss a class only if counts < folds, ruled out above; map columns anyway.
        proba[np.ix_(test, model.classes_)] = model.predict_proba(X[test])
    return proba, [str(c) for c in classes]


def confident_learning_issues(proba: np.ndarray, given: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The confident-joint rule on probabilities ``proba`` (n, k) and given class indices.

    Returns, per row, whether it is a candidate and the suggested class index (-1 where the
    model is confident about no class).
    """
    k = proba.shape[1]
    thresholds = np.array([proba[given == j, j].mean() if (given == j).any() else np.inf for j in range(k)])
    confident = proba >= thresholds  # (n, k): classes the model is as sure of as it usually is
    masked = np.where(confident, proba, -np.inf)
    suggested = np.where(confident.any(axis=1), masked.argmax(axis=1), -1)
    is_issue = (suggested >= 0) & (suggested != given)
    return is_issue, suggested


def find_label_issues(
    X: np.ndarray, labels: Sequence[str | None], *, folds: int = 5, C: float = 1.0, seed: int = 42
) -> pd.DataFrame:
    """Rank rows whose given label looks wrong (confident learning, see the module docstring).

    Rows without a label (None) and rows whose label has fewer than ``folds`` examples are not
    checked: they get NaN probabilities and ``is_issue`` False.

    Args:
        X: embeddings, one row per text.
        labels: the given label of each row (None: unknown).
        folds: cross-validation folds for the out-of-fold probabilities.
        C: inverse L2 strength of the logistic regression.
        seed: seeds the folds and the solver.

    Returns:
        One row per input row with :data:`ISSUE_COLUMNS`: ``position`` (row number in the
        input), ``given``, ``given_proba`` (its out-of-fold probability), ``suggested`` (the
        label the model is confident about, or None) and ``suggested_proba``; sorted with the
        candidates first, lowest ``given_proba`` first.
    """
    X = np.asarray(X)
    labels = list(labels)
    if len(X) != len(labels):
        raise InputError(f"expected one label per row of X, got {len(X)} row(s) and {len(labels)} label(s)")
    known = np.array([label is not None and not (isinstance(label, float) and np.isnan(label)) for label in labels])
    values = pd.Series([str(label) if k else None for label, k in zip(labels, known, strict=True)], dtype=object)
    counts = values[known].value_counts()
    checked = known & values.map(lambda v: v is not None and counts.get(v, 0) >= folds).to_numpy(dtype=bool)
    if checked.sum() and values[checked].nunique() < 2:
        checked[:] = False
    skipped = sorted(set(values[known & ~checked]))
    if skipped:
        logger.info("label noise: not checking label(s) %s (fewer than %d rows)", skipped, folds)
    out = pd.DataFrame(
        {
            "position": np.arange(len(labels)),
            "given": values,
            "given_proba": np.nan,
            "suggested": pd.Series([None] * len(labels), dtype=object),
            "suggested_proba": np.nan,
            "is_issue": False,
        }
    )
    if checked.sum() == 0:
        return out
    rows = np.flatnonzero(checked)
    proba, classes = out_of_fold_proba(X[rows], values[checked].tolist(), folds=folds, C=C, seed=seed)
    index = {c: j for j, c in enumerate(classes)}
    given = np.array([index[v] for v in values[checked]])
    is_issue, suggested = confident_learning_issues(proba, given)
    out.loc[rows, "given_proba"] = proba[np.arange(len(rows)), given]
    out.loc[rows, "suggested"] = [classes[j] if j >= 0 else None for j in suggested]
    out.loc[rows, "suggested_proba"] = np.where(
        suggested >= 0, proba[np.arange(len(rows)), np.maximum(suggested, 0)], np.nan
    )
    out.loc[rows, "is_issue"] = is_issue
    out = out.sort_values(["is_issue", "given_proba"], ascending=[False, True], kind="stable", na_position="last")
    return out.reset_index(drop=True)[list(ISSUE_COLUMNS)]
