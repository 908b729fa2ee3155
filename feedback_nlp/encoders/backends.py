"""Choosing how the encoder runs: PyTorch, or ONNX Runtime in float32 or int8 (``encoder_backend``)."""

from __future__ import annotations

import logging
from pathlib import Path

from feedback_nlp.encoders.minilm import SentenceEncoder, resolve_precision
from feedback_nlp.encoders.onnx_backend import OnnxEncoder, default_num_threads, load_onnx_encoder
from feedback_nlp.errors import EncoderError
from feedback_nlp.settings import Settings

logger = logging.getLogger(__name__)

BACKENDS = ("torch", "onnx", "onnx-int8")


def resolve_backend(settings: Settings) -> str:
    """The backend ``encoder_backend`` means on this machine (``auto`` resolved).

    ``auto`` is the fastest backend whose gold metrics equal PyTorch float32's (measured in
    docs/performance.md): PyTorch where it runs under bfloat16 autocast (a CPU with AVX-512 BF16
    or AMX) or with its own int8 quantisation switched on, ONNX Runtime float32 everywhere else.
    """
    backend = settings.encoder_backend
    if backend != "auto":
        return backend
    if settings.quantize:
        return "torch"
    return "torch" if resolve_precision(settings.precision) == "bfloat16" else "onnx"


def build_encoder(
    settings: Settings,
    *,
    layers_file: Path | None = None,
    layers_sha256: str | None = None,
    max_seq_length: int | None = None,
) -> SentenceEncoder | OnnxEncoder:
    """The encoder the settings ask for, with a bundle's fine-tuned layers applied.

    Args:
        settings: ``encoder``, ``encoder_sha256``, ``encoder_backend`` (see :func:`resolve_backend`), ``batch_size``,
            ``num_threads``, ``cache_dir`` and, for PyTorch, ``quantize`` and ``precision``.
        layers_file: the bundle's ``encoder_layers.safetensors``, if it has one.
        layers_sha256: that file's hash as the verified bundle manifest lists it.
        max_seq_length: tokens per text the bundle was trained with (the setting when None).

    Raises:
        EncoderError: unknown backend, missing or unexpected weights.
    """
    backend = resolve_backend(settings)
    if backend not in BACKENDS:
        raise EncoderError(f"FEEDBACK_NLP_ENCODER_BACKEND must be one of {['auto', *BACKENDS]}, got {backend!r}.")
    expected_sha = settings.encoder_sha256 or None
    seq_length = int(max_seq_length or settings.max_seq_length)
    threads = settings.num_threads or default_num_threads()
    fast_path = backend == "torch" and settings.encoder_fast_path and not settings.quantize
    batch_size = settings.pass_size(fast_path=fast_path)
    if backend == "torch":
        encoder = SentenceEncoder(
            settings.encoder,
            expected_sha256=expected_sha,
            max_seq_length=seq_length,
            batch_size=batch_size,
            num_threads=threads,
        )
        if layers_file is not None:
            from safetensors.numpy import load_file

            from feedback_nlp.encoders.finetune import apply_layer_weights

            apply_layer_weights(encoder, load_file(str(layers_file)))
        if settings.quantize:
            encoder.quantize()
        encoder.set_precision(settings.precision)
        encoder.use_fast_path(settings.encoder_fast_path)
        return encoder
    if settings.quantize:
        logger.info("FEEDBACK_NLP_QUANTIZE applies to the torch backend; use FEEDBACK_NLP_ENCODER_BACKEND=onnx-int8")
    return load_onnx_encoder(
        settings.encoder,
        expected_sha256=expected_sha,
        cache_dir=settings.cache_dir,
        variant="int8" if backend == "onnx-int8" else "float32",
        layers_file=layers_file,
        layers_sha256=layers_sha256,
        max_seq_length=seq_length,
        batch_size=batch_size,
        num_threads=threads,
    )
