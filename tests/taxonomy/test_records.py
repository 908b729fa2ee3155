"""Records as speech-to-text, contact-centre and social tools write them (issue 15)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from feedback_nlp.fileio import describe_validation_error
from feedback_nlp.taxonomy.records import SPEAKER_ROLES, FeedbackRecord, Speaker, Turn, accepted_fields
from feedback_nlp.text.transcript import customer_text, parse_transcript


def _error(data: dict) -> str:
    with pytest.raises(ValidationError) as caught:
        FeedbackRecord.model_validate(data)
    return describe_validation_error(caught.value)


def test_turn_keeps_timing_confidence_and_metadata() -> None:
    turn = Turn.model_validate(
        {
            "speaker": "agent",
            "text": "Hello",
            "start_ms": 1669,
            "end_ms": 2400,
            "confidence": 0.93,
            "metadata": {"channel": 0},
        }
    )
    assert (turn.start_ms, turn.end_ms, turn.confidence, turn.metadata) == (1669, 2400, 0.93, {"channel": 0})
    assert turn.model_dump() == {
        "speaker": Speaker.AGENT,
        "text": "Hello",
        "start_ms": 1669,
        "end_ms": 2400,
        "confidence": 0.93,
        "metadata": {"channel": 0},
    }


def test_turn_timing_in_seconds_is_kept_as_milliseconds() -> None:
    turn = Turn.model_validate({"speaker": "customer", "text": "Hi", "start": 1.669, "end": 2.5})
    assert (turn.start_ms, turn.end_ms) == (1669, 2500)
    assert "start" not in turn.model_dump()


@pytest.mark.parametrize(
    ("turn", "message"),
    [
        ({"start_ms": 3000, "end_ms": 1000}, "the turn ends (1000 ms) before it starts (3000 ms)"),
        ({"start_ms": 1000, "start": 2.0}, "give start_ms or start (seconds), not both"),
        ({"confidence": 1.5}, "turns.0.confidence: expected at most 1"),
        ({"start_ms": -1}, "turns.0.start_ms: expected at least 0"),
    ],
)
def test_bad_turn_timing_is_explained(turn: dict, message: str) -> None:
    data = {"kind": "transcript", "turns": [{"speaker": "customer", "text": "hi", **turn}]}
    assert message in _error(data)


@pytest.mark.parametrize("name", ["caller", "client", "user", "customer", "Customer", " CALLER "])
def test_customer_speaker_names_map_to_the_customer(name: str) -> None:
    assert Turn(speaker=name, text="x").speaker is Speaker.CUSTOMER


@pytest.mark.parametrize(
    "name", ["agent", "rep", "representative", "advisor", "operator", "bot", "ivr", "system", "IVR", "Bot"]
)
def test_agent_speaker_names_map_to_the_agent(name: str) -> None:
    assert Turn(speaker=name, text="x").speaker is Speaker.AGENT


def test_an_unknown_speaker_lists_the_accepted_names() -> None:
    message = _error({"kind": "transcript", "turns": [{"speaker": "spk_0", "text": "hi"}]})
    assert "turns.0.speaker: unknown speaker 'spk_0'" in message
    assert "caller, client, user" in message and "operator, bot, ivr, system" in message


def test_an_unknown_turn_field_names_the_field_and_the_accepted_ones() -> None:
    message = _error({"kind": "transcript", "turns": [{"speaker": "agent", "text": "hi", "start_sec": 1}]})
    assert message.startswith("turns.0.start_sec: unexpected field; accepted fields: speaker, text, start_ms, end_ms")
    assert "confidence, metadata" in message


def test_an_unknown_record_field_names_the_accepted_ones() -> None:
    message = _error({"kind": "review", "text": "hi", "timestamp": "2026-01-01"})
    assert message.startswith("timestamp: unexpected field; accepted fields: id, kind, text, turns, created_at")


def test_accepted_fields_follow_the_error_location() -> None:
    assert accepted_fields(("body", "records", 0, "x")) == list(FeedbackRecord.model_fields)
    assert accepted_fields(("body", "records", 0, "turns", 2, "x")) == list(Turn.model_fields)
    assert accepted_fields(("body", "x")) is None


@pytest.mark.parametrize(
    ("text", "customer"),
    [
        ("IVR: Say billing or support\nCaller: billing please\nOperator: one moment", "billing please"),
        ("Bot: Hi! How can I help?\nUser: my parcel is lost\nSystem: transferring", "my parcel is lost"),
        ("Rep: hello\nClient: the app crashes", "the app crashes"),
    ],
)
def test_the_whole_text_form_accepts_the_same_speaker_names(text: str, customer: str) -> None:
    record = FeedbackRecord(kind="transcript", text=text)
    assert customer_text(record) == customer
    assert {t.speaker for t in parse_transcript(text)} == {Speaker.CUSTOMER, Speaker.AGENT}


def test_every_speaker_name_works_as_a_line_prefix() -> None:
    for name, role in SPEAKER_ROLES.items():
        [turn] = parse_transcript(f"{name.title()}: words")
        assert turn.speaker is role, name


def test_a_timed_transcript_from_speech_to_text_is_a_valid_record() -> None:
    record = FeedbackRecord.model_validate(
        {
            "id": "call-1",
            "kind": "transcript",
            "created_at": "Mon, 02 Nov 2026 10:15:00 +0000",
            "turns": [
                {
                    "speaker": "agent",
                    "text": "Thanks for calling, how can I help?",
                    "start_ms": 0,
                    "end_ms": 1600,
                    "confidence": 0.97,
                },
                {
                    "speaker": "caller",
                    "text": "I was charged twice this month.",
                    "start_ms": 1669,
                    "end_ms": 3920,
                    "confidence": 0.91,
                    "metadata": {"channel": 1},
                },
            ],
        }
    )
    assert customer_text(record) == "I was charged twice this month."
    assert record.created_at == datetime(2026, 11, 2, 10, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2015-02-24 11:35:52 -0800", datetime(2015, 2, 24, 19, 35, 52, tzinfo=UTC)),
        ("Wed Oct 04 13:59:33 +0000 2017", datetime(2017, 10, 4, 13, 59, 33, tzinfo=UTC)),
        (1793614500000, datetime(2026, 11, 2, 10, 15, tzinfo=UTC)),
        ("2026-11-02 10:15:00", datetime(2026, 11, 2, 10, 15, tzinfo=UTC)),
    ],
)
def test_record_created_at_uses_the_shared_parser(value: object, expected: datetime) -> None:
    assert FeedbackRecord(kind="review", text="x", created_at=value).created_at == expected


def test_record_created_at_refuses_an_ambiguous_slashed_date() -> None:
    assert "created_at: '02/11/2026' is a slashed date (ambiguous" in _error(
        {"kind": "review", "text": "x", "created_at": "02/11/2026"}
    )


def test_record_created_at_takes_the_date_format_from_the_validation_context() -> None:
    record = FeedbackRecord.model_validate(
        {"kind": "review", "text": "x", "created_at": "02/11/2026"}, context={"date_format": "%d/%m/%Y"}
    )
    assert record.created_at == datetime(2026, 11, 2, tzinfo=UTC)


def test_turn_times_beyond_the_bound_are_refused_not_a_crash() -> None:
    # Found by the fuzz run: start=1e308 seconds overflowed on the way to milliseconds (a 500).
    assert "turns.0.start: expected at most" in _error(
        {"kind": "transcript", "turns": [{"speaker": "caller", "text": "hi", "start": 1e308}]}
    )


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (
            {"kind": "review", "text": "bad \ud800 service"},
            "text holds a lone UTF-16 surrogate (U+D800) at character 4",
        ),
        ({"kind": "review", "text": "ok", "id": "r\udfff"}, "id holds"),
        ({"kind": "review", "text": "ok", "channel": "\ud800"}, "channel holds"),
        ({"kind": "review", "text": "ok", "metadata": {"k": [1, "\udfff"]}}, "metadata.k[1] holds"),
        ({"kind": "review", "text": "ok", "metadata": {"\ud800": 1}}, "a key of metadata holds"),
        ({"kind": "transcript", "turns": [{"speaker": "customer", "text": "x \ud800"}]}, "turns[0].text holds"),
    ],
)
def test_a_lone_surrogate_is_refused_naming_where_it_is(data: dict, where: str) -> None:
    # JSON may spell one ("\ud800" escapes); no database or tokenizer can take it.
    with pytest.raises(ValidationError, match=re.escape(where)):
        FeedbackRecord.model_validate(data)


def test_a_surrogate_pair_is_a_character_and_is_accepted() -> None:
    record = FeedbackRecord.model_validate(json.loads('{"kind": "review", "text": "fine \\ud83d\\ude00"}'))
    assert record.text == "fine 😀"


@pytest.mark.parametrize("text", ["\x00\x00", "\u200b\u200b", "\ufeff", " \u200b\n\x00 "])
def test_text_of_only_invisible_characters_is_no_text(text: str) -> None:
    with pytest.raises(ValidationError, match="the record has no text"):
        FeedbackRecord(kind="review", text=text)
    with pytest.raises(ValidationError, match="the record has no text"):
        FeedbackRecord(kind="transcript", turns=[{"speaker": "customer", "text": text}])


def test_visible_text_beside_invisible_characters_is_text() -> None:
    assert FeedbackRecord(kind="review", text="\u200b👍\x00").text == "\u200b👍\x00"


def test_an_empty_id_is_refused_rather_than_taken_for_no_id() -> None:
    with pytest.raises(ValidationError, match="id"):
        FeedbackRecord(id="", kind="review", text="ok")
