"""Zero-shot classification from label descriptions alone.

A label's *prototype* is the embedding of its description. A text's score for a label is the
cosine similarity of the two embeddings, and the probabilities are a softmax over the scores:

    p(label | x) = softmax_j( (cos(x, prototype_j) - centre_j) / T )

- **Temperature** ``T = 0.05``. all-MiniLM-L6-v2 was trained with a contrastive loss
  (multiple-negatives ranking) that applies a softmax to cosine similarities scaled by 20; the
  same scale (``1 / 20``) turns its similarities into probabilities without any labelled data.
- **Centring** ``centre_j``. Some descriptions are close to almost every text (a broad
  description is a "hub") and would win too often. Each label's similarity is centred by its
  mean similarity over *reference texts*: unlabelled texts from the task when the caller gives
  them (no labels are read), otherwise the other labels' descriptions. The centre's mean over
  labels is kept, so only the differences between labels change.

Both are fixed rules, not fitted to labels; ``benchmarks/custom_taxonomy.py`` reports how well
calibrated the result is (expected calibration error) next to its macro-F1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: all-MiniLM-L6-v2's training scale for cosine similarities is 20.
ZERO_SHOT_TEMPERATURE = 0.05


def prototype_texts(names: Sequence[str], descriptions: Sequence[str]) -> list[str]:
    """What is embedded for each label: its readable name, then its description."""
    return [f"{name.replace('_', ' ')}: {text}" for name, text in zip(names, descriptions, strict=True)]


def label_centres(prototypes: np.ndarray, reference: np.ndarray | None) -> np.ndarray:
    """Per-label centring offsets (see the module docstring); shape (n_labels,).

    Args:
        prototypes: unit-length label embeddings, one row per label.
        reference: unit-length embeddings of unlabelled texts, or None to use the other
            labels' prototypes.
    """
    n_labels = prototypes.shape[0]
    if reference is not None and len(reference) > 0:
        mean_similarity = (reference @ prototypes.T).mean(axis=0)
    else:
        similarity = prototypes @ prototypes.T
        off_diagonal = ~np.eye(n_labels, dtype=bool)
        mean_similarity = np.array([similarity[j, off_diagonal[j]].mean() for j in range(n_labels)])
    return (mean_similarity - mean_similarity.mean()).astype(np.float32)
