"""The encoder contract: what the pipeline, training, lanes and bundles need from an encoder.

Every encoder (:class:`~feedback_nlp.encoders.minilm.SentenceEncoder`,
:class:`~feedback_nlp.encoders.onnx_backend.OnnxEncoder`, the tests' ``FakeEncoder``) has all of
it, so no caller probes an encoder's type or its optional attributes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from feedback_nlp.encoders.spans import SegmentedVectors


@runtime_checkable
class Encoder(Protocol):
    """Texts in, one unit-length embedding row per text out."""

    #: The base weights' sha256, the encoder's fingerprint: bundles record it and are refused
    #: by an encoder with another one. None when the weights were not verified.
    weights_sha256: str | None

    @property
    def location(self) -> str | None:
        """Where the weights came from (a package, folder or hub id), written into manifests.
        Read-only here, so an encoder that always knows it may declare it ``str``."""
        ...

    @property
    def max_seq_length(self) -> int | None:
        """Tokens kept per text (None when the encoder does not say)."""
        ...

    @property
    def copyable_per_thread(self) -> bool:
        """Whether a deep copy may run in another thread beside this one and make it faster
        (parallel lanes, :mod:`feedback_nlp.lanes`); False for encoders that parallelise inside
        (ONNX Runtime) or that gain nothing from copies."""
        ...

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts``: one row per text, in order."""
        ...

    def encode_segmented(self, segmented: Sequence[Sequence[str]], *, side: bool = False) -> SegmentedVectors:
        """Embed texts given as their segments' inputs, and every segment, in one pass per text:
        a segment's vector is pooled from the text's token states
        (:func:`feedback_nlp.encoders.spans.encode_segmented`). With ``side``, also each text's
        vector from the encoder :meth:`attach_side` attached (``SegmentedVectors.side``; None
        when none is attached)."""
        ...

    def attach_side(self, side: Encoder | None) -> int:
        """Attach a side encoder whose lower layers equal this one's, so that
        ``encode_segmented(..., side=True)`` gives its text vectors from the same pass
        (:mod:`feedback_nlp.encoders.twin`); ``None`` detaches. Returns the layers shared, 0
        (nothing attached) where this encoder cannot share any."""
        ...

    def trainable_model(self) -> Any | None:
        """The sentence-transformers model whose layers fine-tuning changes in place, or None
        for an inference-only encoder (ONNX Runtime, test fakes)."""
        ...
