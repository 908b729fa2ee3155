"""Segment vectors pooled from a text's own pass: the layout, the window, and the real encoders."""

from __future__ import annotations

import numpy as np
import pytest

from feedback_nlp.encoders.spans import encode_segmented

CLS, SEP = 101, 102
DIM = 4


def _tokenize(texts: list[str]) -> list[list[int]]:
    """One token per word; a word's id is its length plus 1000 (distinct from CLS and SEP)."""
    return [[1000 + len(word) for word in text.split()] for text in texts]


def _states(passes: list[list[list[int]]]):  # noqa: ANN202
    """Token states whose every coordinate is the token id, and a log of the passes run."""

    def token_states(token_ids: list[list[int]]) -> list[np.ndarray]:
        passes.append(token_ids)
        return [np.repeat(np.asarray(ids, dtype=np.float32)[:, None], DIM, axis=1) for ids in token_ids]

    return token_states


def _alone(texts: list[str]) -> np.ndarray:
    """What encoding on its own returns in these tests: a marker vector (all minus ones)."""
    return -np.ones((len(texts), DIM), dtype=np.float32)


def _unit(value: float) -> np.ndarray:
    return np.full(DIM, np.sign(value) * 0.5, dtype=np.float32)  # a constant vector, normalised


def _run(segmented: list[list[str]], max_seq_length: int = 16, passes: list | None = None):  # noqa: ANN202
    return encode_segmented(
        segmented,
        tokenize=_tokenize,
        token_states=_states(passes if passes is not None else []),
        encode=_alone,
        cls_id=CLS,
        sep_id=SEP,
        max_seq_length=max_seq_length,
        batch_size=8,
        dimension=DIM,
    )


def test_a_text_is_its_segments_tokens_between_cls_and_sep() -> None:
    passes: list[list[list[int]]] = []
    _run([["aa bbb", "c"], ["dddd"]], passes=passes)
    assert sorted(ids for p in passes for ids in p) == sorted([[CLS, 1002, 1003, 1001, SEP], [CLS, 1004, SEP]])


def test_each_segment_is_pooled_over_its_own_tokens_only() -> None:
    # Constant-per-token states: a segment's pooled vector, once normalised, is the same constant
    # whatever its tokens, so tell spans apart by making their tokens' signs differ.
    def tokenize(texts: list[str]) -> list[list[int]]:
        return [[-1000] * len(t.split()) if t.startswith("-") else [1000] * len(t.split()) for t in texts]

    vectors = encode_segmented(
        [["-neg -neg", "pos pos pos"]],
        tokenize=tokenize,
        token_states=_states([]),
        encode=_alone,
        cls_id=CLS,
        sep_id=SEP,
        max_seq_length=16,
        batch_size=8,
        dimension=DIM,
    )
    np.testing.assert_allclose(vectors.segments[0], _unit(-1))
    np.testing.assert_allclose(vectors.segments[1], _unit(1))
    # The text: the mean over every token, [CLS] and [SEP] included: (101 - 2000 + 3000 + 102) / 7 > 0.
    np.testing.assert_allclose(vectors.texts[0], _unit(1))


def test_segments_outside_the_window_are_encoded_on_their_own() -> None:
    # Window of 6: [CLS] + 5 tokens; "a b c" fits, "d e" would end at position 6 (cut), "f" too.
    vectors = _run([["a b c", "d e", "f"]], max_seq_length=6)
    assert not np.allclose(vectors.segments[0], -1)
    np.testing.assert_array_equal(vectors.segments[1:], -1)


def test_a_one_segment_text_has_the_text_vector_as_its_segment() -> None:
    vectors = _run([["one two three"], ["x y", "zz"]])
    np.testing.assert_array_equal(vectors.segments[0], vectors.texts[0])
    assert vectors.segments.shape == (3, DIM)


def test_no_texts() -> None:
    vectors = _run([])
    assert vectors.texts.shape == (0, DIM)
    assert vectors.segments.shape == (0, DIM)


TEXTS = [
    ["Love the app,", "but the delivery took two weeks"],
    ["The staff at the branch were rude."],
    ["Checkout failed twice.", "Nobody answered the phone.", "I gave up."],
    ["word " * 150, "a tail that falls outside the window"],
]


BACKENDS = {
    "torch fast path": {"encoder_backend": "torch", "encoder_fast_path": True},
    "torch Hugging Face": {"encoder_backend": "torch", "encoder_fast_path": False},
    "onnx": {"encoder_backend": "onnx"},
}


@pytest.fixture(scope="module", params=sorted(BACKENDS))
def real_encoder(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """The shipped bundle's encoder on each backend, float32."""
    from feedback_nlp.settings import Settings
    from feedback_nlp.storage.loading import load_bundle

    if request.param == "onnx":
        pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install -e .)")
    settings = Settings(**BACKENDS[request.param], precision="float32", cache_dir=tmp_path_factory.mktemp("cache"))
    return load_bundle(None, settings).encoder


def test_real_encoders_match_a_separate_pass_where_they_must(real_encoder) -> None:  # noqa: ANN001
    vectors = real_encoder.encode_segmented(TEXTS)
    alone = real_encoder.encode([" ".join(segments) for segments in TEXTS])
    segments = real_encoder.encode([segment for segments in TEXTS for segment in segments])
    # The text is its segments' tokens: the same vector as the text encoded whole.
    assert ((vectors.texts * alone).sum(axis=1) > 0.999).all()
    # A one-segment text's segment, and a segment past the window, are as if encoded alone...
    cosine = (vectors.segments * segments).sum(axis=1)
    assert cosine[2] > 0.999 and cosine[-1] > 0.999
    # ...while pooled segments see their context: close to the lone vector, but not it.
    pooled = cosine[[0, 1, 3, 4, 5]]
    assert (pooled > 0.6).all() and (pooled < 0.999).all()
    np.testing.assert_allclose(np.linalg.norm(vectors.segments, axis=1), 1.0, atol=1e-4)


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast path", "Hugging Face"])
def test_bfloat16_pooled_segments_stay_close_to_float32(fast_path: bool) -> None:
    from feedback_nlp.settings import Settings
    from feedback_nlp.storage.loading import load_bundle

    settings = Settings(encoder_backend="torch", encoder_fast_path=fast_path, precision="float32")
    real_encoder = load_bundle(None, settings).encoder
    want = real_encoder.encode_segmented(TEXTS)
    real_encoder.set_precision("bfloat16")
    try:
        got = real_encoder.encode_segmented(TEXTS)
    finally:
        real_encoder.set_precision("float32")
    assert ((got.segments * want.segments).sum(axis=1) > 0.99).all()
    assert ((got.texts * want.texts).sum(axis=1) > 0.99).all()
