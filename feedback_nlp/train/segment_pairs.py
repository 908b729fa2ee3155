"""Training rows for segment vectors pooled from a text's own pass (``data.segment_pairs``).

At serving time a bundle with ``segment_vectors = "pooled"`` reads each segment's vector from
its text's token states (:mod:`feedback_nlp.encoders.spans`), so the vector also carries some of
the words around the segment. The heads learn to read such vectors from labelled segments in
context: two labelled one-segment texts of the annotated corpus, from the same source, are fed
as one text of two segments, and each segment's pooled vector is a training row with its own
text's sentiment and touchpoints (no journey stage: segments are not given one). Only the
corpus's training split is used, so calibration and thresholds still see held-out texts only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from feedback_nlp.encoders.base import Encoder
from feedback_nlp.text import make_nlp, segment_texts
from feedback_nlp.train.data import TrainingTable
from feedback_nlp.train.pairing import PAIR_KEY

#: Sentence-final punctuation: a first part without it gets a full stop, as a sentence would.
_SENTENCE_END = (".", "!", "?", "…")


@dataclass(frozen=True)
class SegmentPairs:
    """Pairs of one-segment texts to feed as two-segment texts.

    Attributes:
        segmented: each pair's two encoder inputs, in order.
        rows: (n_pairs, 2) the table rows the two parts come from.
    """

    segmented: list[tuple[str, str]]
    rows: np.ndarray


def draw_segment_pairs(table: TrainingTable, encoder_inputs: list[str], count: int, seed: int) -> SegmentPairs:
    """``count`` pairs of the table's one-segment corpus training texts, each pair from one source.

    Args:
        table: the training table (its ``origin == "corpus"`` rows with split ``train`` take part).
        encoder_inputs: the encoder's view of every table row, row for row.
        count: pairs to draw; a text may take part in several, each time with another partner.
        seed: seeds the draw.
    """
    frame = table.frame
    candidates = np.flatnonzero(
        ((frame["origin"] == "corpus") & (frame["split"] == "train") & frame["sentiment"].notna()).to_numpy()
    )
    if count <= 0 or len(candidates) < 2:
        return SegmentPairs([], np.zeros((0, 2), dtype=int))
    segments = segment_texts(make_nlp(), [encoder_inputs[i] for i in candidates])
    single = candidates[[len(found) == 1 for found in segments]]
    by_source = [group.to_numpy() for _, group in pd.Series(single).groupby(frame["source"].to_numpy()[single])]
    by_source = [rows for rows in by_source if len(rows) >= 2]
    if not by_source:
        return SegmentPairs([], np.zeros((0, 2), dtype=int))
    rng = np.random.default_rng(seed)
    # Sources draw in proportion to their one-segment texts.
    sizes = np.array([len(rows) for rows in by_source], dtype=float)
    picks = rng.choice(len(by_source), size=count, p=sizes / sizes.sum())
    pairs = np.array([rng.choice(by_source[k], size=2, replace=False) for k in picks], dtype=int)
    segmented = [(_as_sentence(encoder_inputs[a]), encoder_inputs[b]) for a, b in pairs]
    return SegmentPairs(segmented, pairs)


def segment_rows(table: TrainingTable, pairs: SegmentPairs) -> TrainingTable:
    """The pairs' segments as training rows: each part's own sentiment, touchpoints and weight,
    no journey stage, split ``train`` and origin ``segment_pair``; ``text`` is the part's encoder input."""
    rows = pairs.rows.reshape(-1)
    frame = table.frame.iloc[rows].reset_index(drop=True).copy()
    frame["text"] = [part for pair in pairs.segmented for part in pair]
    frame["journey_stage"] = None
    frame["split"] = "train"
    frame["origin"] = "segment_pair"
    if PAIR_KEY in frame:
        # A segment row is neither an invariance copy nor the text a copy was made from: counterfactual
        # pairing (train/pairing.py) pairs each copy with its text's own row, never with a segment of it.
        frame[PAIR_KEY] = np.nan
    return TrainingTable(frame, table.touchpoints[rows], table.touchpoint_labels, table.fingerprints)


def pooled_segment_vectors(encoder: Encoder, pairs: SegmentPairs) -> np.ndarray:
    """The pairs' segment vectors pooled from each pair's one pass, two rows per pair, in order."""
    return encoder.encode_segmented(pairs.segmented).segments


def _as_sentence(text: str) -> str:
    text = text.rstrip()
    return text if text.endswith(_SENTENCE_END) else f"{text}."
