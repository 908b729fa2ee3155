"""Corpus embeddings for topic models: the pipeline's own encoder, computed once, cached by text.

A topic fit, an update and a report over the same feedback all need the same embeddings.
They come from the classification pipeline's encoder (no second model), and each is stored
under the sha256 of its text and of the encoder's identity, so a text is encoded once per
encoder, whichever command asks first.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from feedback_nlp.memory import release_free_heap
from feedback_nlp.storage.artifacts import BundleManifest, EncoderInfo, Manifest, sha256_text

EmbedFn = Callable[[Sequence[str]], np.ndarray]

#: A bundle's fine-tuned encoder layers (``storage.loading.ENCODER_LAYERS_FILE``; not imported
#: from there, which would load the pipeline).
_LAYERS_FILE = "encoder_layers.safetensors"
_NO_LAYERS = "no-fine-tuned-layers"


class EncoderManifest(Manifest):
    """The keys of a manifest that name its encoder: ``encoder`` and ``files``.

    Reads a bundle's manifest, a custom classifier's, or a partial one (other keys are kept).
    """

    artifact: ClassVar[str] = "an artifact with an encoder"
    encoder: EncoderInfo = Field(default_factory=EncoderInfo)


def fingerprint_of(weights_sha256: str | None, max_seq_length: int | None, layers_sha256: str | None) -> str:
    """Identity of an encoder: its base weights' hash, sequence length and fine-tuned layers' hash.

    ``layers_sha256`` is None for an encoder without fine-tuned layers.
    """
    parts = [str(weights_sha256), str(max_seq_length), _NO_LAYERS if layers_sha256 is None else layers_sha256]
    return sha256_text("|".join(parts))


def encoder_fingerprint(manifest: BundleManifest | EncoderManifest | Mapping[str, Any]) -> str:
    """Identity of a bundle's encoder: the base weights' hash plus its fine-tuned layers' hash.

    Two bundles give the same embeddings exactly when their fingerprints are equal. A manifest
    given as a JSON object is read as an :class:`EncoderManifest` (only ``encoder`` and
    ``files`` matter; the heads, name and version do not).

    Raises:
        BundleError: ``encoder`` or ``files`` is not of the expected shape.
    """
    if isinstance(manifest, Mapping):
        manifest = EncoderManifest.parse(dict(manifest))
    encoder = manifest.encoder
    return fingerprint_of(encoder.sha256, encoder.max_seq_length, manifest.files.get(_LAYERS_FILE))


def text_key(text: str) -> str:
    """The cache key of one (normalised) text."""
    return sha256_text(text)


class EmbeddingCache:
    """Embeddings on disk (one SQLite file), keyed by encoder fingerprint and text hash.

    Vectors are stored as raw float32 bytes; nothing is pickled.

    Args:
        path: the SQLite file; created with its folder on first use.
        fingerprint: the encoder's :func:`encoder_fingerprint`.

    Examples:
        >>> cache = EmbeddingCache(tmp_path / "embeddings.sqlite", encoder_fingerprint(manifest))
        >>> vectors = cache.embed(texts, pipeline.embed)
    """

    def __init__(self, path: str | Path, fingerprint: str) -> None:
        self.path = Path(path)
        self.fingerprint = fingerprint
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS embedding ("
                " encoder TEXT NOT NULL, key TEXT NOT NULL, dim INTEGER NOT NULL, vector BLOB NOT NULL,"
                " PRIMARY KEY (encoder, key))"
            )

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def get(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached vectors among ``keys``."""
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(keys))
        with closing(self._connect()) as db:
            for start in range(0, len(unique), 500):
                chunk = unique[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = db.execute(
                    f"SELECT key, dim, vector FROM embedding WHERE encoder = ? AND key IN ({marks})",
                    [self.fingerprint, *chunk],
                )
                for key, dim, blob in rows:
                    found[key] = np.frombuffer(blob, dtype=np.float32, count=dim)
        return found

    def put(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        """Store ``vectors`` (one row per key)."""
        vectors = np.asarray(vectors, dtype=np.float32)
        with closing(self._connect()) as db, db:
            db.executemany(
                "INSERT OR REPLACE INTO embedding (encoder, key, dim, vector) VALUES (?, ?, ?, ?)",
                [(self.fingerprint, key, int(v.shape[0]), v.tobytes()) for key, v in zip(keys, vectors, strict=True)],
            )

    def embed(
        self,
        texts: Sequence[str],
        embed: EmbedFn,
        *,
        chunk_size: int = 2048,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Embeddings of ``texts`` in order: cached ones read, the others computed with ``embed`` and stored.

        Args:
            texts: the texts as the encoder should see them (redacted and normalised).
            embed: the pipeline's embedding function.
            chunk_size: texts encoded (and committed to the cache) at a time.
            progress: called with the number of texts done after each chunk (cached ones at once).
        """
        keys = [text_key(t) for t in texts]
        cached = self.get(keys)
        if progress is not None and cached:
            progress(sum(1 for k in keys if k in cached))
        missing = list(dict.fromkeys(k for k in keys if k not in cached))
        text_of = dict(zip(keys, texts, strict=True))
        for start in range(0, len(missing), chunk_size):
            chunk = missing[start : start + chunk_size]
            vectors = np.asarray(embed([text_of[k] for k in chunk]), dtype=np.float32)
            # Each chunk's passes free many differently shaped tensors (feedback_nlp.memory).
            release_free_heap()
            self.put(chunk, vectors)
            cached.update(zip(chunk, vectors, strict=True))
            if progress is not None:
                done = set(chunk)
                progress(sum(1 for k in keys if k in done))
        if not keys:
            return np.zeros((0, 0), dtype=np.float32)
        return np.vstack([cached[k] for k in keys]).astype(np.float32)
