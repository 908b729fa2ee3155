"""Counterfactual logit pairing for linear heads.

An invariance copy (:mod:`feedback_nlp.train.augment`) is a corpus text with a change that must
not move any label: a brand, a name or a place swapped, an emoji or a hashtag added. Training on
the copies with the same labels only asks that both land on the right side of each boundary.
Counterfactual logit pairing (Garg et al., 2019, "Counterfactual fairness in text
classification through robustness") asks more: that the logits of a text and its copy be equal,
by penalising their mean squared difference.

For a linear head that difference is ``w' S w``, ``S`` the second moment of the pairs'
embedding differences (scaled here to an average of 1 per dimension). Added ``strength`` times
to scikit-learn's L2 penalty ``w' w / 2``, the two make ``w' M w / 2`` with
``M = I + strength * S``. Fitting on ``X M^(-1/2)`` with the usual
penalty and mapping the weights back by ``M^(-1/2)`` solves exactly that problem, so the heads
keep their format: the transform is folded into the embedding columns of their weights, and
serving is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from feedback_nlp.heads.linear import HeadInput, Joined, MultiLabelHead, SoftmaxHead
from feedback_nlp.train.data import TrainingTable

#: The column that ties an invariance copy to the row it was made from (the row's position
#: when the copies were made; the same value on both).
PAIR_KEY = "pair_key"


@dataclass(frozen=True)
class Pairing:
    """``M^(-1/2)`` for the embedding columns (the first ``transform.shape[0]`` of every input)."""

    transform: np.ndarray
    pairs: int

    @classmethod
    def fit(cls, differences: np.ndarray, strength: float) -> Pairing:
        """The transform for embedding ``differences`` (one row per text and its copy)."""
        dim = differences.shape[1]
        second = differences.T.astype(np.float64) @ differences.astype(np.float64) / len(differences)
        second /= np.trace(second) / dim
        values, vectors = np.linalg.eigh(np.eye(dim) + strength * second)
        transform = (vectors * values**-0.5) @ vectors.T
        return cls(transform.astype(np.float32), len(differences))

    def apply(self, X: HeadInput) -> HeadInput:
        """``X`` with its embedding columns mapped by the transform."""
        dim = self.transform.shape[0]
        if isinstance(X, Joined):
            return Joined(self._dense(X.dense), X.block)
        if sp.issparse(X):
            X = sp.csr_matrix(X)
            head = np.asarray(X[:, :dim].todense(), dtype=np.float32) @ self.transform
            return sp.hstack([sp.csr_matrix(head), X[:, dim:]], format="csr")
        return self._dense(np.asarray(X))

    def fold(self, head: SoftmaxHead | MultiLabelHead) -> None:
        """Map a head fitted on :meth:`apply`'s output back to the untransformed embeddings."""
        dim = self.transform.shape[0]
        head.coef_ = head.coef_.copy()
        head.coef_[:, :dim] = head.coef_[:, :dim] @ self.transform

    def _dense(self, X: np.ndarray) -> np.ndarray:
        dim = self.transform.shape[0]
        out = X.astype(np.float32, copy=True)
        out[:, :dim] = X[:, :dim] @ self.transform
        return out


def pair_groups(frame: pd.DataFrame) -> np.ndarray:
    """One group id per row of ``frame``: a row and its invariance copies share their pair key; a
    row without one (no copies made, a segment row) is a group of its own, with a negative id,
    since pair keys are row positions."""
    positions = np.arange(len(frame), dtype=float)
    if PAIR_KEY not in frame:
        return -1.0 - positions
    keys = frame[PAIR_KEY].to_numpy(dtype=float)
    return np.where(np.isnan(keys), -1.0 - positions, keys)


def pair_differences(table: TrainingTable, embeddings: np.ndarray) -> np.ndarray:
    """``embeddings[copy] - embeddings[original]`` for every training-split invariance copy in
    ``table`` whose original is in it too (row for row with ``table``)."""
    frame = table.frame
    if PAIR_KEY not in frame:
        return np.zeros((0, embeddings.shape[1]), dtype=np.float32)
    keys = frame[PAIR_KEY].to_numpy(dtype=float)
    keyed = (frame["split"] == "train").to_numpy() & ~np.isnan(keys)
    is_copy = (frame["origin"] == "augmented").to_numpy()
    originals, copies = np.flatnonzero(keyed & ~is_copy), np.flatnonzero(keyed & is_copy)
    position = pd.Series(originals, index=keys[originals].astype(int))
    first = position.reindex(keys[copies].astype(int)).to_numpy(dtype=float)
    found = ~np.isnan(first)
    return embeddings[copies[found]] - embeddings[first[found].astype(int)]


def fit_pairing(table: TrainingTable, embeddings: np.ndarray, strength: float) -> Pairing | None:
    """The pairing transform for ``table``'s invariance copies, or None when ``strength`` is 0 or
    there are no copies."""
    if strength <= 0:
        return None
    differences = pair_differences(table, embeddings)
    if not len(differences):
        return None
    return Pairing.fit(differences, strength)
