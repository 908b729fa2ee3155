"""The encoder contract (encoders/base.py): every encoder the code is handed has all of it."""

from __future__ import annotations

from factories import FakeEncoder

from feedback_nlp.encoders.base import Encoder
from feedback_nlp.encoders.minilm import SentenceEncoder
from feedback_nlp.encoders.onnx_backend import OnnxEncoder
from feedback_nlp.lanes import auto_lanes


def test_the_fake_encoder_satisfies_the_protocol() -> None:
    encoder = FakeEncoder()
    assert isinstance(encoder, Encoder)
    assert encoder.weights_sha256 and not encoder.copyable_per_thread
    assert encoder.trainable_model() is None
    assert encoder.encode(["a text"]).shape == (1, encoder.dimension)


def test_real_encoders_declare_every_member() -> None:
    members = ("encode", "trainable_model", "copyable_per_thread")  # the rest are set in __init__
    for cls in (SentenceEncoder, OnnxEncoder):
        assert all(hasattr(cls, name) for name in members), cls


def test_copies_per_thread_follow_the_contract() -> None:
    torch_encoder = object.__new__(SentenceEncoder)
    torch_encoder.quantized = False
    assert torch_encoder.copyable_per_thread and auto_lanes(torch_encoder, threads=2) == 2
    onnx_encoder = object.__new__(OnnxEncoder)
    assert not onnx_encoder.copyable_per_thread and auto_lanes(onnx_encoder, threads=2) == 1
