"""The labelling selector: uncertain texts, spread out, never a batch of near-duplicates."""

from __future__ import annotations

import numpy as np
import pytest

from feedback_nlp.errors import ConfigError
from feedback_nlp.labelling.select import select_for_labelling, uncertainty


def test_margin_and_entropy_rank_a_coin_flip_above_a_sure_thing() -> None:
    proba = np.array([[0.5, 0.5, 0.0], [0.98, 0.01, 0.01], [0.4, 0.35, 0.25]])
    margin = uncertainty(proba)
    assert margin[0] == pytest.approx(1.0) and margin[1] == pytest.approx(0.03)
    entropy = uncertainty(proba, kind="entropy")
    assert entropy[2] > entropy[0] > entropy[1]
    assert ((0 <= entropy) & (entropy <= 1)).all()


def test_multi_label_uncertainty_is_closeness_to_the_threshold() -> None:
    proba = np.array([[0.3, 0.99], [0.0, 1.0], [0.6, 0.0]])
    scores = uncertainty(proba, multi_label=True, thresholds=np.array([0.3, 0.5]))
    assert scores[0] == pytest.approx(1.0)  # sits on the first label's threshold
    assert scores[1] == pytest.approx(0.0)
    assert scores[2] == pytest.approx(1 - 0.3 / 0.7)


def _clustered_pool(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ten near-duplicates the model is least sure of, and four other groups it is nearly as unsure of.

    The near-duplicates are close (cosine about 0.9) but not identical, so only clustering, not
    the duplicate filter, can keep them from filling the batch.
    """
    rng = np.random.default_rng(seed)
    dim = 32
    centres = np.linalg.qr(rng.standard_normal((dim, 5)))[0].T  # five orthogonal directions
    X, proba, group = [], [], []
    for g in range(5):
        size = 10 if g == 0 else 6
        for _ in range(size):
            x = centres[g] + 0.3 * rng.standard_normal(dim) / np.sqrt(dim)
            X.append(x / np.linalg.norm(x))
            top = 0.5 + (0.01 if g == 0 else 0.05) + 0.005 * rng.random()  # group 0: closest to a tie
            proba.append([top, 1 - top])
            group.append(g)
    return np.asarray(X), np.asarray(proba), np.asarray(group)


def test_lowest_confidence_alone_picks_near_duplicates_but_the_selector_spreads_out() -> None:
    X, proba, group = _clustered_pool()
    near = X[group == 0] @ X[group == 0].T
    assert near[~np.eye(len(near), dtype=bool)].min() > 0.8  # they are near-duplicates ...
    assert near[~np.eye(len(near), dtype=bool)].max() < 0.95  # but not identical
    lowest_confidence = np.argsort(-uncertainty(proba))[:5]
    assert set(group[lowest_confidence]) == {0}  # ... and pure uncertainty takes only them
    chosen = select_for_labelling(X, proba, 5, seed=0)
    assert len(chosen.indices) == 5 and len(set(chosen.indices)) == 5
    assert (group[chosen.indices] == 0).sum() == 1
    assert set(group[chosen.indices]) == {0, 1, 2, 3, 4}
    assert group[chosen.indices[0]] == 0  # the most uncertain cluster comes first


def test_prefilter_one_is_plain_uncertainty_sampling() -> None:
    X, proba, group = _clustered_pool()
    chosen = select_for_labelling(X, proba, 5, prefilter=1.0, duplicate_cosine=0.999)
    assert set(group[chosen.indices]) == {0}


def test_exact_duplicates_and_already_labelled_texts_are_skipped() -> None:
    X, proba, group = _clustered_pool()
    copies = np.vstack([X, X[:3]])  # three exact copies, as uncertain as their originals
    chosen = select_for_labelling(copies, np.vstack([proba, proba[:3]]), 30, prefilter=1.0)
    kept = copies[chosen.indices] @ copies[chosen.indices].T
    assert kept[~np.eye(len(kept), dtype=bool)].max() < 0.95
    assert chosen.skipped_duplicates >= 3
    # Texts like ones already labelled (group 1 here) are never picked again.
    chosen = select_for_labelling(X[group != 1], proba[group != 1], 5, labelled_X=X[group == 1])
    assert len(chosen.indices) == 5
    again = select_for_labelling(X, proba, 5, labelled_X=X[group == 1])
    assert not (group[again.indices] == 1).any()
    assert again.skipped_duplicates >= 6


def test_selection_is_deterministic_for_a_seed_and_bounded_by_the_pool() -> None:
    X, proba, _ = _clustered_pool()
    first = select_for_labelling(X, proba, 7, seed=3)
    again = select_for_labelling(X, proba, 7, seed=3)
    np.testing.assert_array_equal(first.indices, again.indices)
    everything = select_for_labelling(X[:4], proba[:4], 10)
    assert sorted(everything.indices.tolist()) == sorted(set(everything.indices.tolist()))
    assert len(everything.indices) <= 4


def test_selector_rejects_mismatched_inputs() -> None:
    with pytest.raises(ConfigError, match="same texts"):
        select_for_labelling(np.zeros((3, 4)), np.full((2, 2), 0.5), 1)
    with pytest.raises(ConfigError, match="n must be"):
        select_for_labelling(np.ones((3, 4)), np.full((3, 2), 0.5), 0)
