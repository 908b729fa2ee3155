"""Label-noise candidates: confident learning over out-of-fold probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from feedback_nlp.errors import InputError
from feedback_nlp.train.label_noise import (
    ISSUE_COLUMNS,
    confident_learning_issues,
    find_label_issues,
    out_of_fold_proba,
)


def _clusters(n_per_class: int = 40, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """Three well separated Gaussian clusters in 8 dimensions."""
    rng = np.random.default_rng(seed)
    centres = np.eye(8)[:3] * 4.0
    X = np.vstack([rng.normal(c, 1.0, size=(n_per_class, 8)) for c in centres])
    labels = [name for name in ("billing", "delivery", "usage") for _ in range(n_per_class)]
    return X, labels


def test_find_label_issues_finds_flipped_labels() -> None:
    X, labels = _clusters()
    flipped = [3, 17, 45, 60, 95, 110]
    for i in flipped:
        labels[i] = "delivery" if labels[i] != "delivery" else "usage"

    issues = find_label_issues(X, labels)

    assert list(issues.columns) == list(ISSUE_COLUMNS)
    assert len(issues) == len(labels)
    found = set(issues.loc[issues["is_issue"], "position"])
    assert set(flipped) <= found
    assert len(found) <= len(flipped) + 3  # few clean rows flagged
    # The flipped rows rank first, each with a suggestion back to its true cluster.
    top = issues.head(len(flipped))
    assert set(top["position"]) == set(flipped)
    truth = {i: ("billing", "delivery", "usage")[i // 40] for i in flipped}
    assert all(row.suggested == truth[row.position] for row in top.itertuples())
    assert (top["given_proba"] < top["suggested_proba"]).all()


def test_find_label_issues_on_clean_labels_flags_almost_nothing() -> None:
    X, labels = _clusters(seed=1)
    issues = find_label_issues(X, labels)
    assert issues["is_issue"].sum() <= 2


def test_find_label_issues_skips_unknown_and_rare_labels() -> None:
    X, labels = _clusters()
    labels = list(labels)
    labels[0] = None
    labels[1] = "marketing"  # a single row: cannot be cross-validated
    issues = find_label_issues(X, labels, folds=5).set_index("position")
    for position in (0, 1):
        assert np.isnan(issues.loc[position, "given_proba"])
        assert not issues.loc[position, "is_issue"]
    assert issues["given_proba"].notna().sum() == len(labels) - 2


def test_find_label_issues_with_one_checkable_label_checks_nothing() -> None:
    X, _ = _clusters(n_per_class=10)
    labels = ["billing"] * 29 + ["usage"]
    issues = find_label_issues(X, labels)
    assert not issues["is_issue"].any() and issues["given_proba"].isna().all()


def test_out_of_fold_proba_rows_sum_to_one_and_follow_sorted_classes() -> None:
    X, labels = _clusters(n_per_class=12)
    proba, classes = out_of_fold_proba(X, labels, folds=3)
    assert classes == ["billing", "delivery", "usage"]
    assert proba.shape == (36, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


@pytest.mark.parametrize(
    ("X", "labels", "folds", "message"),
    [
        (np.zeros((3, 2)), ["a", "b"], 2, "one label per row"),
        (np.zeros((4, 2)), ["a"] * 4, 2, "at least two labels"),
        (np.zeros((6, 2)), ["a"] * 5 + ["b"], 2, "fewer than 2 rows"),
        (np.zeros((4, 2)), ["a", "a", "b", "b"], 1, "folds must be at least 2"),
    ],
)
def test_out_of_fold_proba_refuses_bad_input(X: np.ndarray, labels: list[str], folds: int, message: str) -> None:
    with pytest.raises(InputError, match=message):
        out_of_fold_proba(X, labels, folds=folds)


def test_confident_learning_rule_on_hand_made_probabilities() -> None:
    proba = np.array([[0.9, 0.1], [0.8, 0.2], [0.2, 0.8], [0.1, 0.9], [0.1, 0.9]])
    given = np.array([0, 0, 1, 1, 0])  # the last row is labelled 0 but looks like a 1
    is_issue, suggested = confident_learning_issues(proba, given)
    assert is_issue.tolist() == [False, False, False, False, True]
    assert suggested[-1] == 1


def test_find_label_issues_refuses_mismatched_lengths() -> None:
    with pytest.raises(InputError, match="one label per row"):
        find_label_issues(np.zeros((3, 2)), ["a", "b"])
