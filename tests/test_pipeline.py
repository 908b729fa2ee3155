"""FeedbackPipeline with the tiny bundle and the fake encoder: the output contract end to end."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from factories import FakeEncoder, check_contract

from feedback_nlp.pipeline import FeedbackPipeline
from feedback_nlp.settings import Settings
from feedback_nlp.storage.loading import load_bundle
from feedback_nlp.taxonomy.records import FeedbackKind, FeedbackRecord, Speaker, Turn
from feedback_nlp.text import encoder_input, redact

RECORDS = [
    FeedbackRecord(id="s1", kind="survey", text="I love the app, it is great"),
    FeedbackRecord(id="r1", kind="review", text="The delivery was late, terrible courier. Never again."),
    FeedbackRecord(id="x1", kind="social", text="@shop where is my invoice for March? #help http://t.co/x"),
    FeedbackRecord(
        id="t1", kind="transcript", text="Agent: Hello, how can I help?\nCustomer: I was charged twice on my bill"
    ),
    FeedbackRecord(kind="review", text="Love the app, but the delivery took two weeks"),
]


@pytest.fixture
def spy_pipeline(tiny_bundle: Path, settings: Settings) -> FeedbackPipeline:
    """A pipeline of its own, whose encoder records every text it is given."""
    return load_bundle(tiny_bundle, settings, encoder=FakeEncoder())


def _encoded(pipeline: FeedbackPipeline) -> list[str]:
    return [text for call in pipeline.encoder.calls for text in call]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.kind.value)
def test_pipeline_predict_matches_contract(fake_pipeline: FeedbackPipeline, record: FeedbackRecord) -> None:
    (prediction,) = fake_pipeline.predict([record])
    check_contract(prediction)
    assert prediction.id == record.id
    assert prediction.kind == record.kind
    assert prediction.model_version == "tiny:20240101T000000Z"


def test_pipeline_predict_one_per_record_in_order(fake_pipeline: FeedbackPipeline) -> None:
    predictions = fake_pipeline.predict(RECORDS)
    assert [p.id for p in predictions] == [r.id for r in RECORDS]
    assert [p.kind for p in predictions] == [r.kind for r in RECORDS]
    # Batching does not change results: each prediction equals the one made alone.
    for record, prediction in zip(RECORDS, predictions, strict=True):
        assert fake_pipeline.predict([record])[0] == prediction


def test_pipeline_predict_duplicates_and_reversed_order(fake_pipeline: FeedbackPipeline) -> None:
    records = [RECORDS[0], RECORDS[1], RECORDS[0]]
    predictions = fake_pipeline.predict(records)
    assert predictions[0] == predictions[2]
    assert fake_pipeline.predict(records[::-1]) == predictions[::-1]


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("I love the app, it is great", "positive"),
        ("The delivery was late, terrible courier", "negative"),
        ("Where is my invoice for March?", "neutral"),
    ],
)
def test_pipeline_predict_uses_the_heads(fake_pipeline: FeedbackPipeline, text: str, label: str) -> None:
    assert fake_pipeline.predict_texts([text])[0].sentiment.label == label


def test_pipeline_predict_touchpoints_from_heads(fake_pipeline: FeedbackPipeline) -> None:
    (prediction,) = fake_pipeline.predict_texts(["Order placed online, delivery expected next week"])
    assert {t.label for t in prediction.touchpoints} == {"website", "delivery"}
    assert all(t.confidence >= 0.5 for t in prediction.touchpoints)


def test_pipeline_predict_empty_list(fake_pipeline: FeedbackPipeline) -> None:
    assert fake_pipeline.predict([]) == []
    assert fake_pipeline.predict_texts([]) == []


def test_pipeline_segments_contrastive_clauses(fake_pipeline: FeedbackPipeline) -> None:
    text = "Love the app, but the delivery took two weeks"
    (prediction,) = fake_pipeline.predict_texts([text], kind="review")
    assert [s.text for s in prediction.segments] == ["Love the app,", "but the delivery took two weeks"]
    for segment in prediction.segments:
        assert text[segment.start : segment.end] == segment.text
    first, second = prediction.segments
    # Each clause is scored on its own: they differ from each other.
    assert (first.sentiment.score, first.touchpoints) != (second.sentiment.score, second.touchpoints)


def test_pipeline_single_segment_reuses_document_scores(fake_pipeline: FeedbackPipeline) -> None:
    (prediction,) = fake_pipeline.predict_texts(["I love the app, it is great"])
    (segment,) = prediction.segments
    assert segment.sentiment.label == prediction.sentiment.label
    assert segment.sentiment.score == prediction.sentiment.score
    assert segment.touchpoints == prediction.touchpoints


def test_pipeline_segment_offsets_index_redacted_text(fake_pipeline: FeedbackPipeline) -> None:
    text = "Mail me at jane.doe@example.com please. The parcel arrived late, but the staff were lovely."
    redacted = redact(text)
    assert redacted != text
    (prediction,) = fake_pipeline.predict_texts([text])
    assert len(prediction.segments) >= 2
    for segment in prediction.segments:
        assert redacted[segment.start : segment.end] == segment.text
    assert "[EMAIL]" in prediction.segments[0].text


PII = {
    "email": "jane.doe@example.com",
    "card": "4111 1111 1111 1111",
    "phone": "+44 20 7946 0958",
}


@pytest.mark.parametrize("kind", ["survey", "review", "social"])
def test_pipeline_output_never_contains_pii(spy_pipeline: FeedbackPipeline, kind: str) -> None:
    text = (
        f"My email is {PII['email']} and my card {PII['card']} was charged twice, terrible. "
        f"Call me on {PII['phone']}, but please not after 6pm."
    )
    (prediction,) = spy_pipeline.predict_texts([text], kind=kind)
    dumped = prediction.model_dump_json()
    assert "[EMAIL]" in dumped and "[CARD]" in dumped
    for value in [*PII.values(), "jane.doe", "4111111111111111", "7946 0958"]:
        assert value not in dumped, value
        assert all(value not in encoded for encoded in _encoded(spy_pipeline)), value


def test_pipeline_output_never_contains_pii_from_turns(spy_pipeline: FeedbackPipeline) -> None:
    record = FeedbackRecord(
        kind="transcript",
        turns=[
            Turn(speaker=Speaker.AGENT, text="Can you confirm your e-mail?"),
            Turn(speaker=Speaker.CUSTOMER, text=f"It is {PII['email']}, and the card is {PII['card']}"),
        ],
    )
    dumped = json.dumps(spy_pipeline.predict([record])[0].model_dump(mode="json"))
    assert PII["email"] not in dumped and PII["card"] not in dumped
    assert "[EMAIL]" in dumped


CUSTOMER = "The delivery was late, terrible courier"
AGENT = "I love helping you, great great lovely, love it, love the app"


@pytest.mark.parametrize(
    "record",
    [
        FeedbackRecord(
            kind="transcript",
            turns=[Turn(speaker=Speaker.AGENT, text=AGENT), Turn(speaker=Speaker.CUSTOMER, text=CUSTOMER)],
        ),
        FeedbackRecord(kind="transcript", text=f"Agent: {AGENT}\nCustomer: {CUSTOMER}\nAgent: {AGENT}"),
    ],
    ids=["turns", "prefixed-text"],
)
def test_pipeline_transcript_ignores_agent_words(spy_pipeline: FeedbackPipeline, record: FeedbackRecord) -> None:
    (prediction,) = spy_pipeline.predict([record])
    assert not any("helping" in text for text in _encoded(spy_pipeline))
    (customer_only,) = spy_pipeline.predict(
        [FeedbackRecord(kind="transcript", turns=[Turn(speaker="customer", text=CUSTOMER)])]
    )
    assert prediction == customer_only
    assert prediction.sentiment.label == "negative"
    assert [s.text for s in prediction.segments] == [CUSTOMER]


def test_pipeline_transcript_without_customer_turn_raises(fake_pipeline: FeedbackPipeline) -> None:
    from feedback_nlp.errors import InputError

    with pytest.raises(ValueError, match="no customer turn"):  # refused when the record is built
        FeedbackRecord(kind="transcript", text="Agent: Hello, how can I help?")
    # and, should an unvalidated record get this far, by the pipeline itself
    record = FeedbackRecord.model_construct(
        id=None, kind=FeedbackKind.TRANSCRIPT, text="Agent: Hello, how can I help?", turns=None
    )
    with pytest.raises(InputError, match="no customer turn"):
        fake_pipeline.predict([record])


def test_pipeline_social_normalisation_reaches_encoder(spy_pipeline: FeedbackPipeline) -> None:
    spy_pipeline.predict_texts(["RT @bigshop: #WorstServiceEver from @bigshop https://x.co/abc"], kind="social")
    encoded = _encoded(spy_pipeline)
    assert "Worst Service Ever from" in encoded
    assert not any("bigshop" in text for text in encoded)


def test_pipeline_encodes_each_distinct_text_once(spy_pipeline: FeedbackPipeline) -> None:
    spy_pipeline.predict_texts(["Love the app, but the delivery took two weeks"] * 3)
    assert len(spy_pipeline.encoder.calls) == 1
    encoded = spy_pipeline.encoder.calls[0]
    assert len(encoded) == len(set(encoded)) == 3  # the text and its two clauses


def test_pipeline_predict_texts_kind(fake_pipeline: FeedbackPipeline) -> None:
    predictions = fake_pipeline.predict_texts(["great", "late"], kind="social")
    assert [p.kind for p in predictions] == [FeedbackKind.SOCIAL] * 2
    assert [p.id for p in predictions] == [None, None]


def _unsorted_touchpoints(data: dict) -> None:
    data["touchpoints"] = [{"label": "phone", "confidence": 0.6}, {"label": "email", "confidence": 0.9}]


def _score_off(data: dict) -> None:
    data["sentiment"]["score"] = round(data["sentiment"]["score"] / 2, 4)


def _unknown_stage(data: dict) -> None:
    data["journey_stage"]["label"] = "shopping"


def _probabilities_off(data: dict) -> None:
    data["sentiment"]["probabilities"]["neutral"] += 0.05


def _no_segments(data: dict) -> None:
    data["segments"] = []


@pytest.mark.parametrize(
    "breakage", [_unsorted_touchpoints, _score_off, _unknown_stage, _probabilities_off, _no_segments]
)
def test_check_contract_rejects_broken_prediction(fake_pipeline: FeedbackPipeline, breakage) -> None:  # noqa: ANN001
    # The contract check used here and in the CLI tests must be able to fail.
    from feedback_nlp.taxonomy.records import Prediction

    data = fake_pipeline.predict_texts(["The delivery was late, terrible courier"])[0].model_dump(mode="json")
    breakage(data)
    with pytest.raises(AssertionError):
        check_contract(Prediction.model_validate(data))


def test_transcript_channel_adds_its_touchpoint(fake_pipeline: FeedbackPipeline) -> None:
    # docs/taxonomy.md ruling 3: a call transcript is about `phone`, a chat about `chat`;
    # the channel of another kind of record names where it was posted, not what it is about.
    text = "Customer: I'd like a quote for my car\nAgent: Sure"
    call, chat, plain = fake_pipeline.predict(
        [
            FeedbackRecord(kind="transcript", text=text, channel="Phone"),
            FeedbackRecord(kind="transcript", text=text, channel="live chat"),
            FeedbackRecord(kind="transcript", text=text),
        ]
    )
    assert {"phone": 1.0}.items() <= {t.label: t.confidence for t in call.touchpoints}.items()
    assert "chat" in {t.label for t in chat.touchpoints}
    assert "phone" not in {t.label for t in plain.touchpoints} and "chat" not in {t.label for t in plain.touchpoints}
    [social] = fake_pipeline.predict([FeedbackRecord(kind="social", text="my parcel is late", channel="chat")])
    assert "chat" not in {t.label for t in social.touchpoints}


# --- Segment vectors pooled from the text's own pass (bundles trained on segment pairs) ----------


@pytest.fixture
def pooled_pipeline(tiny_bundle: Path, settings: Settings) -> FeedbackPipeline:
    """The tiny bundle's heads reading pooled segment vectors, on a recording fake encoder."""
    pipeline = load_bundle(tiny_bundle, settings, encoder=FakeEncoder())
    pipeline.segment_vectors = "pooled"
    return pipeline


def test_pooled_pipeline_makes_one_pass_per_distinct_text(pooled_pipeline: FeedbackPipeline) -> None:
    texts = ["Love the app, but the delivery took two weeks", "I love the app, it is great"]
    pooled_pipeline.predict_texts([texts[0], texts[1], texts[0]])
    encoder = pooled_pipeline.encoder
    assert encoder.calls == []  # no text or segment encoded on its own
    (call,) = encoder.segmented_calls
    assert call == [["Love the app,", "but the delivery took two weeks"], ["I love the app, it is great"]]


def test_pooled_pipeline_scores_rows_as_the_separate_one(
    fake_pipeline: FeedbackPipeline, pooled_pipeline: FeedbackPipeline
) -> None:
    """The fake's pooled vectors equal its separate ones (a bag of words has no context), so any
    mix-up of text and segment rows shows as a different prediction."""
    records = [*RECORDS, RECORDS[1], FeedbackRecord(kind="review", text="Great staff. Rude courier. Fast refund.")]
    predictions = pooled_pipeline.predict(records)
    assert sum(len(p.segments) > 1 for p in predictions) >= 3
    for separate, joined in zip(fake_pipeline.predict(records), predictions, strict=True):
        assert joined.model_dump() == separate.model_dump()


def test_pipeline_refuses_unknown_segment_vectors(fake_pipeline: FeedbackPipeline) -> None:
    with pytest.raises(ValueError, match="'separate' or 'pooled'"):
        FeedbackPipeline(
            fake_pipeline.encoder,
            fake_pipeline.heads,
            fake_pipeline.taxonomy,
            version="x",
            segment_vectors="mean",  # type: ignore[arg-type]
        )


class _SideVectors:
    """A recording side output (``FeedbackPipeline.side_output``)."""

    def __init__(self, wanted: bool = True) -> None:
        self.want = wanted
        self.asked: list[list[str]] = []
        self.got: dict[str, np.ndarray] = {}

    def wanted(self, texts: Sequence[str]) -> bool:
        self.asked.append(list(texts))
        return self.want

    def put(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        assert len(texts) == len(vectors)
        self.got.update(zip(texts, vectors, strict=True))


def test_pooled_passes_send_the_side_encoders_vectors_of_each_distinct_text(pooled_pipeline: FeedbackPipeline) -> None:
    side_encoder = FakeEncoder(seed="side")
    assert pooled_pipeline.encoder.attach_side(side_encoder) > 0
    side = _SideVectors()
    pooled_pipeline.side_output = side
    texts = [
        "Love the app, but the delivery took two weeks",
        "I love the app, it is great",
        "?? Rude courier. Slow refund.",
    ]
    alone = pooled_pipeline.predict_texts(texts)
    inputs = [encoder_input(t) for t in texts]
    # Every text whose segments hold all its characters, keyed by its encoder input; a text
    # encoded as segments that leave characters out ("??") is left to the side's own pass.
    segments = [[s.text for s in p.segments] for p in alone]
    assert segments[2] == ["Rude courier.", "Slow refund."]
    assert sorted(side.got) == sorted(inputs[:2])
    for text in inputs[:2]:
        np.testing.assert_allclose(side.got[text], side_encoder.encode([text])[0], atol=1e-6)
    # The side output changes nothing the pipeline predicts.
    pooled_pipeline.side_output = None
    assert [p.model_dump() for p in pooled_pipeline.predict_texts(texts)] == [p.model_dump() for p in alone]


def test_no_side_vectors_are_computed_when_none_are_wanted(pooled_pipeline: FeedbackPipeline) -> None:
    side_encoder = FakeEncoder(seed="side")
    pooled_pipeline.encoder.attach_side(side_encoder)
    pooled_pipeline.side_output = side = _SideVectors(wanted=False)
    pooled_pipeline.predict_texts(["Love the app, but the delivery took two weeks"])
    assert len(side.asked) == 1  # asked once per pass, and told no
    assert side.got == {} and side_encoder.calls == []


def test_a_stage_head_that_reads_cues_is_given_them(spy_pipeline: FeedbackPipeline) -> None:
    """With ``stage_cue_features`` the stage head reads the vector plus one column per stage cue
    hit; the same columns a trained head learnt from (``train.trainer.head_inputs``)."""
    import copy

    from feedback_nlp.taxonomy.keywords import KeywordMatcher

    pipeline = copy.copy(spy_pipeline)
    heads = pipeline.heads = copy.deepcopy(spy_pipeline.heads)
    stages = pipeline.taxonomy.stage_labels
    inputs = [encoder_input("checkout failed when I tried to buy"), encoder_input("lovely weather")]
    X = pipeline.embed(inputs)
    assert pipeline.stage_input(inputs, X) is X  # heads without cues read the vector alone
    # A stage head over vector + cues whose only strong weight is "purchase cue -> purchase".
    stage = heads.stage
    width = X.shape[1]
    stage.coef_ = np.hstack([stage.coef_ * 0, np.zeros((len(stage.classes_), len(stages)), dtype=np.float32)])
    stage.intercept_ = np.where(stage.classes_ == "usage", 1.0, 0.0).astype(np.float32)
    purchase = int(np.flatnonzero(stage.classes_ == "purchase")[0])
    stage.coef_[purchase, width + stages.index("purchase")] = 10.0
    heads.stage_cue_features = True
    extended = pipeline.stage_input(inputs, X)
    np.testing.assert_array_equal(extended[:, :width], X)
    np.testing.assert_array_equal(extended[:, width:], KeywordMatcher.stage_cues(pipeline.taxonomy).features(inputs))
    checkout, weather = pipeline.predict(
        [
            FeedbackRecord(kind="review", text="checkout failed when I tried to buy"),
            FeedbackRecord(kind="review", text="lovely weather"),
        ]
    )
    assert (checkout.journey_stage.label, weather.journey_stage.label) == ("purchase", "usage")
