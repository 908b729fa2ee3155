"""One encoder pass per text for the text and its segments: segment vectors pooled from the text's tokens.

A text of several segments (sentences, clauses) used to cost one pass for the text and one for
each segment, about twice the tokens of the text alone. Here the text is fed as the
concatenation of its segments' tokens, ``[CLS] seg1 seg2 ... [SEP]``, which is the text's own
tokenisation (BERT splits words at whitespace and punctuation, and segments end at those), and
each segment's vector is the mean of the final token states over its span, L2-normalised, as the
text's is over all of its tokens. A segment that does not fit in the text's ``max_seq_length``
window, wholly or in part, is encoded on its own instead. Segment vectors made this way see the
words around them, so heads must be trained on them (``segment_vectors = "pooled"`` bundles,
``feedback_nlp/train/segment_pairs.py``); measured accuracy and speed: docs/results.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from feedback_nlp.encoders.minilm import length_buckets

#: Token states of padded passes: (ids per text) -> one (tokens, dimension) float32 array per text.
TokenStates = Callable[[list[list[int]]], list[np.ndarray]]
#: The same, with a side encoder's sentence vectors from the same pass (one unit row per text):
#: :class:`feedback_nlp.encoders.twin.TwinTop`.
TwinStates = Callable[[list[list[int]]], tuple[list[np.ndarray], np.ndarray]]


@dataclass(frozen=True)
class SegmentedVectors:
    """A segmented pass's output.

    Attributes:
        texts: one unit-length vector per text, shape (n_texts, dimension).
        segments: one unit-length vector per segment, every text's in order, shape (n_segments, dimension).
        side: each text's vector from a side encoder that shares the pass's lower layers (the
            topic space's; :mod:`feedback_nlp.encoders.twin`), or None when none was asked for.
    """

    texts: np.ndarray
    segments: np.ndarray
    side: np.ndarray | None = None


@dataclass(frozen=True)
class _Layout:
    """Where each segment sits in its text's token sequence."""

    ids: list[int]
    spans: list[tuple[int, int]]  # [start, end) token positions; (0, 0) when outside the window


def encode_segmented(
    segmented: Sequence[Sequence[str]],
    *,
    tokenize: Callable[[list[str]], list[list[int]]],
    token_states: TokenStates,
    encode: Callable[[list[str]], np.ndarray],
    cls_id: int,
    sep_id: int,
    max_seq_length: int,
    batch_size: int,
    dimension: int,
    twin_states: TwinStates | None = None,
) -> SegmentedVectors:
    """Vectors of texts given as their segments' encoder inputs, and of every segment, in one pass per text.

    Args:
        segmented: each text as the encoder inputs of its segments (a one-segment text: its input).
        tokenize: encoder inputs -> token ids without special tokens.
        token_states: padded passes -> final token states (see :data:`TokenStates`).
        encode: the encoder's own ``encode``, for segments outside a text's window.
        cls_id, sep_id: the tokenizer's ``[CLS]`` and ``[SEP]`` ids.
        max_seq_length: tokens per pass, special tokens included.
        batch_size: texts per pass (passes group texts of similar length).
        dimension: the vectors' length.
        twin_states: instead of ``token_states``, passes that also give a side encoder's text
            vectors (returned as ``side``).
    """
    flat = [segment for segments in segmented for segment in segments]
    n_segments = len(flat)
    text_vectors = np.zeros((len(segmented), dimension), dtype=np.float32)
    segment_vectors = np.zeros((n_segments, dimension), dtype=np.float32)
    side_vectors = None if twin_states is None else np.zeros((len(segmented), dimension), dtype=np.float32)
    if not segmented:
        return SegmentedVectors(text_vectors, segment_vectors, side_vectors)
    pieces = iter(tokenize(flat))
    layouts = [_layout([next(pieces) for _ in segments], cls_id, sep_id, max_seq_length) for segments in segmented]
    offsets = np.cumsum([0] + [len(segments) for segments in segmented])
    outside: list[int] = []
    for bucket in length_buckets([len(layout.ids) for layout in layouts], max_size=batch_size):
        ids = [layouts[i].ids for i in bucket]
        if twin_states is None:
            states = token_states(ids)
        else:
            states, side = twin_states(ids)
            assert side_vectors is not None
            side_vectors[bucket] = side
        for i, hidden in zip(bucket, states, strict=True):
            text_vectors[i] = _unit(hidden.mean(axis=0))
            spans = layouts[i].spans
            if len(spans) == 1:  # a one-segment text: its segment is the text
                segment_vectors[offsets[i]] = text_vectors[i]
                continue
            for j, (start, end) in enumerate(spans):
                if end > start:
                    segment_vectors[offsets[i] + j] = _unit(hidden[start:end].mean(axis=0))
                else:
                    outside.append(int(offsets[i] + j))
    if outside:
        segment_vectors[outside] = encode([flat[k] for k in outside])
    return SegmentedVectors(text_vectors, segment_vectors, side_vectors)


def _layout(pieces: list[list[int]], cls_id: int, sep_id: int, max_seq_length: int) -> _Layout:
    """``[CLS] + pieces + [SEP]`` cut to the window; spans past the cut are marked (0, 0)."""
    limit = max_seq_length - 1  # room for [SEP]
    ids = [cls_id]
    spans = []
    for piece in pieces:
        start = len(ids)
        ids.extend(piece)
        end = len(ids)
        spans.append((start, end) if end <= limit and end > start else (0, 0))
    return _Layout(ids[:limit] + [sep_id], spans)


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector
