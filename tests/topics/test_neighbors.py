"""The exact cosine neighbours handed to UMAP (``precomputed_knn``) instead of its own search."""

from __future__ import annotations

import numpy as np

from feedback_nlp.topics.model import exact_cosine_neighbors


def test_the_neighbours_are_the_brute_force_ones_block_by_block() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((203, 16)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    idx, dist = exact_cosine_neighbors(x, 7, block=50)
    sims = x @ x.T
    np.fill_diagonal(sims, np.inf)
    expected = np.argsort(-sims, axis=1, kind="stable")[:, :7]
    assert idx.dtype == np.int64 and dist.dtype == np.float32
    assert (idx[:, 0] == np.arange(203)).all()
    assert (idx == expected).all()
    np.testing.assert_allclose(dist[:, 1:], 1.0 - np.take_along_axis(x @ x.T, idx[:, 1:], axis=1), atol=1e-6)
    assert (np.diff(dist, axis=1) >= -1e-6).all()  # ascending


def test_each_text_is_its_own_first_neighbour_among_duplicates() -> None:
    x = np.tile(np.array([[0.6, 0.8]], dtype=np.float32), (6, 1))
    idx, dist = exact_cosine_neighbors(x, 3, block=4)
    assert (idx[:, 0] == np.arange(6)).all()
    np.testing.assert_allclose(dist, 0.0, atol=1e-6)
