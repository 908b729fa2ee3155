"""Tests for feedback_nlp.text.transcript: turns from prefixes, the customer's side of a record."""

from __future__ import annotations

import pytest

from feedback_nlp.errors import InputError
from feedback_nlp.taxonomy.records import FeedbackKind, FeedbackRecord, Speaker, Turn
from feedback_nlp.text import customer_text, parse_transcript

C, A = Speaker.CUSTOMER, Speaker.AGENT


def _pairs(turns: list[Turn]) -> list[tuple[Speaker, str]]:
    return [(turn.speaker, turn.text) for turn in turns]


# ----------------------------------------------------------------------------- parse_transcript


def test_parse_transcript_reads_customer_and_agent_turns() -> None:
    text = "Agent: Hello, how can I help?\nCustomer: My card was declined.\nAgent: Let me check."
    assert _pairs(parse_transcript(text)) == [
        (A, "Hello, how can I help?"),
        (C, "My card was declined."),
        (A, "Let me check."),
    ]


@pytest.mark.parametrize(
    ("prefix", "speaker"),
    [
        ("Customer:", C),
        ("customer:", C),
        ("CUSTOMER :", C),
        ("Client:", C),
        ("Caller:", C),
        ("User:", C),
        ("Agent:", A),
        ("AGENT:", A),
        ("Rep:", A),
        ("Representative:", A),
        ("Advisor:", A),
        ("Support:", A),
        ("Customer Service:", A),
        ("[10:32] Agent:", A),
        ("10:32:05 PM Customer:", C),
        ("- Caller:", C),
        ("Agent 2:", A),
        ("Agent (Sam):", A),
        ("Customer：", C),  # full-width colon
    ],
)
def test_parse_transcript_accepts_speaker_prefixes(prefix: str, speaker: Speaker) -> None:
    assert _pairs(parse_transcript(f"{prefix} the words")) == [(speaker, "the words")]


def test_parse_transcript_continues_the_previous_turn() -> None:
    text = "Customer: First line\nsecond line\n\nAgent: Reply\n  more reply  "
    assert _pairs(parse_transcript(text)) == [(C, "First line\nsecond line"), (A, "Reply\nmore reply")]


@pytest.mark.parametrize(
    "text",
    ["I want my money back.", "Line one\nLine two", "Customers: plural is no prefix", "Agent said: wait"],
)
def test_parse_transcript_without_prefix_is_one_customer_turn(text: str) -> None:
    turns = parse_transcript(text)
    assert len(turns) == 1
    assert turns[0].speaker == C


def test_parse_transcript_lines_before_first_prefix_are_the_customer() -> None:
    assert _pairs(parse_transcript("hello?\nAgent: Hi there")) == [(C, "hello?"), (A, "Hi there")]


def test_parse_transcript_prefix_with_text_on_next_line() -> None:
    assert _pairs(parse_transcript("Customer:\nMy parcel is lost\nAgent:\nSorry")) == [
        (C, "My parcel is lost"),
        (A, "Sorry"),
    ]


@pytest.mark.parametrize("text", ["", "   ", "\n\n", "Agent:\nCustomer:  "])
def test_parse_transcript_drops_empty_turns(text: str) -> None:
    assert parse_transcript(text) == []


# ----------------------------------------------------------------------------- customer_text


def test_customer_text_joins_customer_turns_from_text() -> None:
    record = FeedbackRecord(
        kind="transcript",
        text="Agent: Hi\nCustomer: The app crashes.\nAgent: Sorry!\nClient: And I was charged twice.",
    )
    assert customer_text(record) == "The app crashes.\nAnd I was charged twice."


def test_customer_text_uses_structured_turns() -> None:
    record = FeedbackRecord(
        kind=FeedbackKind.TRANSCRIPT,
        turns=[
            Turn(speaker="agent", text="How can I help?"),
            Turn(speaker="customer", text=" Card blocked. "),
            Turn(speaker="customer", text="   "),
            Turn(speaker="customer", text="Please fix"),
        ],
    )
    assert customer_text(record) == "Card blocked.\nPlease fix"


def test_customer_text_transcript_without_prefixes_is_all_customer() -> None:
    record = FeedbackRecord(kind="transcript", text="The call dropped twice.")
    assert customer_text(record) == "The call dropped twice."


@pytest.mark.parametrize("kind", ["survey", "review", "social"])
def test_customer_text_returns_text_for_other_kinds(kind: str) -> None:
    text = "Agent: this is a review mentioning an agent"
    assert customer_text(FeedbackRecord(kind=kind, text=text)) == text


AGENT_ONLY = [
    {"id": "t1", "kind": "transcript", "text": "Agent: Hello?\nRep: Anyone there?"},
    {"kind": "transcript", "turns": [Turn(speaker="agent", text="Hello?")]},
    {"kind": "transcript", "turns": [Turn(speaker="agent", text="Hello?"), Turn(speaker="customer", text="  ")]},
]


@pytest.mark.parametrize("fields", AGENT_ONLY)
def test_customer_text_agent_only_transcript_raises(fields: dict) -> None:
    # model_construct skips validation: customer_text keeps its own check as a second line.
    record = FeedbackRecord.model_construct(
        **{"id": None, "text": None, "turns": None, **fields, "kind": FeedbackKind.TRANSCRIPT}
    )
    with pytest.raises(InputError, match="no customer turn"):
        customer_text(record)


@pytest.mark.parametrize("fields", AGENT_ONLY)
def test_feedback_record_refuses_agent_only_transcript(fields: dict) -> None:
    with pytest.raises(ValueError, match="no customer turn"):
        FeedbackRecord(**fields)


def test_customer_text_error_names_the_record() -> None:
    record = FeedbackRecord.model_construct(
        id="call-42", kind=FeedbackKind.TRANSCRIPT, text="Agent: Hello?", turns=None
    )
    with pytest.raises(InputError, match="call-42"):
        customer_text(record)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Chatbot: Hi! So happy to help\nCustomer: my refund is late", [("agent", "Hi! So happy to help"),
                                                                       ("customer", "my refund is late")]),
        ("Customer: refund late\nAgent Sarah: so sorry", [("customer", "refund late"), ("agent", "so sorry")]),
        ("Virtual Agent: hello\nVisitor: my parcel", [("agent", "hello"), ("customer", "my parcel")]),
        ("Customer Service Agent: hi\nCustomer: hello", [("agent", "hi"), ("customer", "hello")]),
        ("[10:02] Live Chat: welcome\nGuest 12: the app crashes", [("agent", "welcome"),
                                                                  ("customer", "the app crashes")]),
        # A colon in the customer's own words is no speaker.
        ("Customer: the System update: broke it", [("customer", "the System update: broke it")]),
    ],
)  # fmt: skip
def test_exports_own_speaker_labels_are_read(text: str, expected: list[tuple[str, str]]) -> None:
    # Before, an unknown label's line joined the previous turn or opened a customer turn: an
    # agent's greeting was scored as the customer's words.
    assert [(t.speaker.value, t.text) for t in parse_transcript(text)] == expected


@pytest.mark.parametrize("text", ["Speaker 1: hi\nSpeaker 2: my card was charged twice", "spk_0: hello\nspk_1: hi"])
def test_labels_that_do_not_say_who_is_the_customer_are_refused(text: str) -> None:
    with pytest.raises(InputError, match="does not say who the customer is"):
        parse_transcript(text)
