"""The real MiniLM encoder: length-bucketed passes and bfloat16 precision keep the embeddings."""

from __future__ import annotations

import numpy as np
import pytest

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


def test_encode_from_several_threads_runs_one_pass_at_a_time(
    encoder: SentenceEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fast tokenizer's padding state is shared: overlapping calls corrupted batches (a 500
    in the service with batching off). Calls from threads must not overlap, and must all answer."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    expected = encoder.encode(TEXTS)
    active, most = 0, 0
    guard = threading.Lock()
    original = encoder.model.encode

    def slow_encode(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal active, most
        with guard:
            active += 1
            most = max(most, active)
        time.sleep(0.02)  # wide enough for any overlap to show
        try:
            return original(*args, **kwargs)
        finally:
            with guard:
                active -= 1

    monkeypatch.setattr(encoder.model, "encode", slow_encode)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: encoder.encode(TEXTS), range(16)))

    assert most == 1
    for result in results:
        np.testing.assert_allclose(result, expected, atol=1e-5)


def test_a_deep_copy_is_independent_and_has_its_own_lock(encoder: SentenceEncoder) -> None:
    import copy

    clone = copy.deepcopy(encoder)
    assert clone._lock is not encoder._lock
    np.testing.assert_allclose(clone.encode(TEXTS[:2]), encoder.encode(TEXTS[:2]), atol=1e-5)
