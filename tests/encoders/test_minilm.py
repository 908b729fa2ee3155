"""The real MiniLM encoder: length-bucketed passes and bfloat16 precision keep the embeddings."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from feedback_nlp.encoders.minilm import SentenceEncoder, length_buckets
from feedback_nlp.errors import EncoderError
from feedback_nlp.settings import MINILM_SHA256, get_settings

TEXTS = [
    "ok",
    "The delivery took two weeks and nobody answered my emails about it.",
    "Love the app",
    "Checkout kept failing at the payment step, so I gave up and went to a shop instead of ordering online.",
    "Staff were kind.",
    "Refund still not here after 30 days, third call to support today and every agent tells me something else.",
]


def test_length_buckets_cover_every_position_once_shortest_first() -> None:
    lengths = [30, 8, 9, 31, 60, 8, 120, 10]
    buckets = length_buckets(lengths, max_size=3, min_size=1)
    flat = [i for bucket in buckets for i in bucket]
    assert sorted(flat) == list(range(len(lengths)))
    assert [lengths[i] for i in flat] == sorted(lengths)
    assert all(len(bucket) <= 3 for bucket in buckets)
    # No pass mixes a short segment with a long text.
    for bucket in buckets:
        shortest, longest = min(lengths[i] for i in bucket), max(lengths[i] for i in bucket)
        assert longest <= 1.25 * shortest + 4


def test_length_buckets_keep_a_small_batch_in_one_pass() -> None:
    assert length_buckets([30, 8, 9, 31, 60], max_size=64) == [[1, 2, 0, 3, 4]]
    assert len(length_buckets([8] * 10 + [100] * 10, max_size=64, min_size=10)) == 2


def test_length_buckets_empty() -> None:
    assert length_buckets([], max_size=8) == []


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    settings = get_settings()
    return SentenceEncoder(settings.encoder, expected_sha256=MINILM_SHA256, batch_size=4)


def test_bucketed_batch_equals_one_text_at_a_time(encoder: SentenceEncoder) -> None:
    encoder.set_precision("float32")
    together = encoder.encode(TEXTS)
    alone = np.vstack([encoder.encode([text]) for text in TEXTS])
    assert together.shape == (len(TEXTS), encoder.dimension)
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_bfloat16_embeddings_stay_close_to_float32(encoder: SentenceEncoder) -> None:
    encoder.set_precision("float32")
    full = encoder.encode(TEXTS)
    encoder.set_precision("bfloat16")
    try:
        half = encoder.encode(TEXTS)
    finally:
        encoder.set_precision("float32")
    cosine = (full * half).sum(axis=1)
    assert cosine.min() > 0.999
    assert not np.array_equal(full, half)  # the autocast really ran


def test_unknown_precision_is_refused(encoder: SentenceEncoder) -> None:
    with pytest.raises(EncoderError, match="'auto', 'float32' or 'bfloat16'"):
        encoder.set_precision("int4")


def test_auto_precision_picks_a_real_one(encoder: SentenceEncoder) -> None:
    encoder.set_precision("auto")
    assert encoder.precision in ("float32", "bfloat16")
    encoder.set_precision("float32")


def _overlap_counter(target: object, method: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Wrap ``target.<method>`` so it sleeps a little and counts how many calls overlap."""
    import threading
    import time

    counts = {"active": 0, "most": 0}
    guard = threading.Lock()
    original = getattr(target, method)

    def slow(*args, **kwargs):  # type: ignore[no-untyped-def]
        with guard:
            counts["active"] += 1
            counts["most"] = max(counts["most"], counts["active"])
        time.sleep(0.02)  # wide enough for any overlap to show
        try:
            return original(*args, **kwargs)
        finally:
            with guard:
                counts["active"] -= 1

    monkeypatch.setattr(target, method, slow)
    return counts


def test_encode_from_several_threads_runs_one_pass_at_a_time(
    encoder: SentenceEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fast tokenizer's padding state is shared: overlapping calls corrupted batches (a 500
    in the service with batching off). Calls from threads must not overlap, and must all answer."""
    from concurrent.futures import ThreadPoolExecutor

    expected = encoder.encode(TEXTS)
    counts = _overlap_counter(encoder.model, "encode", monkeypatch)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: encoder.encode(TEXTS), range(16)))

    assert counts["most"] == 1
    for result in results:
        np.testing.assert_allclose(result, expected, atol=1e-5)


def test_a_deep_copy_is_independent_and_has_its_own_lock(encoder: SentenceEncoder) -> None:
    import copy

    clone = copy.deepcopy(encoder)
    assert clone._lock is not encoder._lock
    np.testing.assert_allclose(clone.encode(TEXTS[:2]), encoder.encode(TEXTS[:2]), atol=1e-5)


def test_fast_path_gives_the_hugging_face_vectors(encoder: SentenceEncoder) -> None:
    """PyTorch's fused layers skip padding: every text, short or long, keeps its own vector."""
    encoder.set_precision("float32")
    reference = encoder.encode(TEXTS)
    encoder.use_fast_path()
    try:
        fast = encoder.encode(TEXTS)
        alone = np.vstack([encoder.encode([text]) for text in TEXTS])
        assert encoder._fast_path is not None  # it really ran
    finally:
        encoder.use_fast_path(False)
    np.testing.assert_allclose(fast, reference, atol=1e-5)
    np.testing.assert_allclose(alone, reference, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize(
    "texts",
    [
        ["refund " * 400],  # truncated to max_seq_length: a pass with no padding at all
        ["same words here", "same words here"],  # equal lengths: no padding either
        ["", "ok"],  # an empty text is just [CLS] [SEP]
    ],
    ids=["truncated", "equal-lengths", "empty"],
)
def test_fast_path_edge_cases_match(encoder: SentenceEncoder, texts: list[str]) -> None:
    encoder.set_precision("float32")
    reference = encoder.encode(texts)
    encoder.use_fast_path()
    try:
        fast = encoder.encode(texts)
    finally:
        encoder.use_fast_path(False)
    np.testing.assert_allclose(fast, reference, atol=1e-5)


@pytest.mark.parametrize(
    ("nested_below", "driver"),
    [(0.0, "padded_encoder"), (1.01, "encoder")],
    ids=["padded-with-mask", "nested"],
)
def test_fast_path_runs_ragged_passes_either_way_with_the_same_vectors(
    encoder: SentenceEncoder, monkeypatch: pytest.MonkeyPatch, nested_below: float, driver: str
) -> None:
    """A pass of mixed lengths runs padded (with a mask) or nested by its share of real tokens."""
    from feedback_nlp.encoders import fastpath

    monkeypatch.setattr(fastpath, "NESTED_BELOW_REAL_SHARE", nested_below)
    ragged = ["ok", "the delivery was late and the courier was rude about it", "app crashes"]
    encoder.set_precision("float32")
    reference = encoder.encode(ragged)
    encoder.use_fast_path()
    try:
        encoder.encode(ragged[:1])  # builds the fast path
        fast_path = encoder._fast_path
        assert fast_path is not None
        calls: list[str] = []
        drivers = dict(zip(("encoder", "padded_encoder"), fast_path._driver(0, fast_path.depth), strict=True))
        for name, driver_module in drivers.items():
            driver_module.register_forward_hook(lambda *_, name=name: calls.append(name))
        fast = encoder.encode(ragged)
    finally:
        encoder.use_fast_path(False)
    assert calls == [driver]
    np.testing.assert_allclose(fast, reference, atol=1e-5)


def test_fast_path_in_bfloat16_stays_close_to_float32(encoder: SentenceEncoder) -> None:
    encoder.set_precision("float32")
    reference = encoder.encode(TEXTS)
    encoder.set_precision("bfloat16")
    encoder.use_fast_path()
    try:
        half = encoder.encode(TEXTS)
        assert encoder._fast_path is not None and encoder._fast_path.dtype is torch.bfloat16
    finally:
        encoder.use_fast_path(False)
        encoder.set_precision("float32")
    assert (reference * half).sum(axis=1).min() > 0.999
    assert not np.array_equal(reference, half)


def test_fast_path_follows_changed_weights(encoder: SentenceEncoder) -> None:
    """The fast path copies the weights; weights_changed makes it copy the new ones."""
    import copy

    clone = copy.deepcopy(encoder)
    clone.set_precision("float32")
    clone.use_fast_path()
    before = clone.encode(TEXTS[:2])
    layer = clone.model[0].auto_model.encoder.layer[0].output.dense
    with torch.no_grad():
        layer.weight.mul_(0.5)
    assert np.allclose(clone.encode(TEXTS[:2]), before, atol=1e-6)  # still the old copy
    clone.weights_changed()
    clone.use_fast_path(False)
    slow = clone.encode(TEXTS[:2])
    clone.use_fast_path()
    np.testing.assert_allclose(clone.encode(TEXTS[:2]), slow, atol=1e-5)
    assert not np.allclose(slow, before, atol=1e-3)


def test_quantised_encoder_keeps_the_hugging_face_path(encoder: SentenceEncoder) -> None:
    import copy

    clone = copy.deepcopy(encoder)
    clone.quantize()
    clone.use_fast_path()
    assert not clone.fast_path_enabled
    assert clone.encode(TEXTS[:1]).shape == (1, clone.dimension)


def test_fast_path_from_several_threads_runs_one_pass_at_a_time(
    encoder: SentenceEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fast path tokenises once per call with the shared tokenizer, under the same lock."""
    from concurrent.futures import ThreadPoolExecutor

    encoder.set_precision("float32")
    encoder.use_fast_path()
    try:
        expected = encoder.encode(TEXTS)
        counts = _overlap_counter(encoder, "_token_ids", monkeypatch)
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda _: encoder.encode(TEXTS), range(16)))
    finally:
        encoder.use_fast_path(False)
    assert counts["most"] == 1
    for result in results:
        np.testing.assert_allclose(result, expected, atol=1e-5)
