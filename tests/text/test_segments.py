"""Tests for feedback_nlp.text.nlp: sentences, lines and contrastive clauses with offsets."""

from __future__ import annotations

from itertools import pairwise

import pytest
from spacy.language import Language
from spacy.tokens import Doc

from feedback_nlp.text import CLAUSE_SPLITTER, ClauseSplitter, Segment, make_nlp, segment_texts


@pytest.fixture(scope="module")
def nlp() -> Language:
    return make_nlp()


def _texts(nlp: Language, text: str, **kwargs: int) -> list[str]:
    return [segment.text for segment in segment_texts(nlp, [text], **kwargs)[0]]


def test_make_nlp_has_only_the_rule_components(nlp: Language) -> None:
    assert nlp.pipe_names == ["sentencizer", CLAUSE_SPLITTER]


# ----------------------------------------------------------------------------- clause splits


def test_segment_texts_splits_before_but(nlp: Language) -> None:
    assert _texts(nlp, "Love the app, but the delivery took two weeks") == [
        "Love the app,",
        "but the delivery took two weeks",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The food was great but the service was slow", ["The food was great", "but the service was slow"]),
        (
            "The app is great; however, the login keeps failing.",
            ["The app is great;", "however, the login keeps failing."],
        ),
        ("Staff were friendly although the room was dirty", ["Staff were friendly", "although the room was dirty"]),
        ("I loved the hotel, though the breakfast was cold", ["I loved the hotel,", "though the breakfast was cold"]),
        ("It is cheap, yet it feels really solid", ["It is cheap,", "yet it feels really solid"]),
        ("Shipping was fast whereas returns take forever", ["Shipping was fast", "whereas returns take forever"]),
        ("Check-in was quick, while check-out took an hour", ["Check-in was quick,", "while check-out took an hour"]),
        (
            "The price is fair on the other hand the fees are hidden",
            ["The price is fair", "on the other hand the fees are hidden"],
        ),
        (
            "Everything was fine except the wait at the counter",
            ["Everything was fine", "except the wait at the counter"],
        ),
        ("I liked it even though it arrived late", ["I liked it", "even though it arrived late"]),
        ("Although the food was good, the service was slow.", ["Although the food was good,", "the service was slow."]),
        ("While I was on hold, the line went dead", ["While I was on hold,", "the line went dead"]),
        (
            "The screen is great, but the battery dies fast, but support replaced it quickly",
            ["The screen is great,", "but the battery dies fast,", "but support replaced it quickly"],
        ),
    ],
)
def test_segment_texts_splits_at_contrastive_markers(nlp: Language, text: str, expected: list[str]) -> None:
    assert _texts(nlp, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Good app but slow",  # left clause too short
        "Delivery was anything but fast",  # right clause too short
        "It was nothing but trouble",
        "The parcel has not arrived yet",
        "The app is simple yet powerful",  # 'yet' without a comma is not a clause start
        "I read a book while waiting in the queue",  # temporal 'while' without a comma
        "It is not only fast but also very cheap",
        "The room was nice though",
        "However, the delivery took two weeks",  # a marker opening the sentence: nothing to cut
    ],
)
def test_segment_texts_keeps_short_or_non_contrastive_clauses_whole(nlp: Language, text: str) -> None:
    assert _texts(nlp, text) == [text]


def test_make_nlp_min_clause_words_is_configurable() -> None:
    assert _texts(make_nlp(min_clause_words=2), "Good app but slow") == ["Good app", "but slow"]


# ----------------------------------------------------------------------------- sentences and lines


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Great staff. Terrible parking! Would I return? Maybe.",
            ["Great staff.", "Terrible parking!", "Would I return?", "Maybe."],
        ),
        ("fast delivery\nbroken box\n\nno refund", ["fast delivery", "broken box", "no refund"]),
        (
            "Pros:\n- fast shipping\n- nice box\n* cheap\n1. good support",
            ["Pros:", "fast shipping", "nice box", "cheap", "good support"],
        ),
        ("cheap • good • fast", ["cheap", "good", "fast"]),
        ("Loved it 😍", ["Loved it 😍"]),
        ("😡", ["😡"]),
        ("-5% discount was applied", ["-5% discount was applied"]),
        ("10.", ["10."]),
        ("Steps:\n1. Open the app\n2) It crashes", ["Steps:", "Open the app", "It crashes"]),
        ("Mail [EMAIL] now, but nobody answers my calls", ["Mail [EMAIL] now,", "but nobody answers my calls"]),
    ],
)
def test_segment_texts_splits_sentences_lines_and_bullets(nlp: Language, text: str, expected: list[str]) -> None:
    assert _texts(nlp, text) == expected


@pytest.mark.parametrize("text", ["", " ", "\n\n\t", "...", "- \n *"])
def test_segment_texts_empty_text_gives_no_segments(nlp: Language, text: str) -> None:
    assert segment_texts(nlp, [text]) == [[]]


# ----------------------------------------------------------------------------- offsets


_OFFSET_TEXTS = [
    "Love the app, but the delivery took two weeks",
    "  Leading space.   Trailing space.  ",
    "Line one\r\nline two\n\n  - bullet, but a long bullet with words\n",
    "Emoji 😍 first. Then שלום and مرحبا, but also a clause at the end.",
    "Although it was cheap, it broke; however, support was kind. Except nothing else worked at all!",
]


@pytest.mark.parametrize("text", _OFFSET_TEXTS)
def test_segment_texts_offsets_index_the_input(nlp: Language, text: str) -> None:
    segments = segment_texts(nlp, [text])[0]
    assert segments
    for segment in segments:
        assert segment.text == text[segment.start : segment.end]
        assert segment.text == segment.text.strip()
    assert all(a.end <= b.start for a, b in pairwise(segments))


def test_segment_texts_returns_one_list_per_text_in_order(nlp: Language) -> None:
    texts = ["First, but a longer second clause here.", "", "Another text.\nWith a line."]
    result = segment_texts(nlp, texts)
    assert [[s.text for s in segs] for segs in result] == [
        ["First, but a longer second clause here."],
        [],
        ["Another text.", "With a line."],
    ]


def test_segment_is_frozen() -> None:
    segment = Segment(text="hi", start=0, end=2)
    with pytest.raises(AttributeError):
        segment.start = 1  # type: ignore[misc]


# ----------------------------------------------------------------------------- limits


def test_segment_texts_caps_segments_per_text(nlp: Language) -> None:
    text = " ".join(f"Sentence number {i}." for i in range(100))
    assert len(segment_texts(nlp, [text])[0]) == 32
    segments = segment_texts(nlp, [text], max_segments=5)[0]
    assert [s.text for s in segments] == [f"Sentence number {i}." for i in range(5)]


def test_segment_texts_reads_only_max_chars(nlp: Language) -> None:
    text = "Short one. " * 50
    segments = segment_texts(nlp, [text], max_chars=60, max_segments=100)[0]
    assert segments[-1].end <= 60
    assert len(segments) == 5


@pytest.mark.parametrize(
    "text",
    ["a" * 1_000_000, "<" * 1_000_000, "#" * 500_000, "word, but " * 100_000, "\n" * 1_000_000, "😍" * 500_000],
    ids=["letters", "angle-brackets", "hashes", "clauses", "newlines", "emoji"],
)
def test_segment_texts_megabyte_input_is_capped(nlp: Language, text: str) -> None:
    segments = segment_texts(nlp, [text])[0]
    assert len(segments) <= 32
    assert all(segment.text == text[segment.start : segment.end] for segment in segments)


# ----------------------------------------------------------------------------- the component


def test_clause_splitter_predict_does_not_change_the_doc(nlp: Language) -> None:
    words = ["The", "food", "was", "great", ",", "but", "the", "service", "was", "slow"]
    doc = Doc(nlp.vocab, words=words, spaces=[True, True, True, False, True, True, True, True, True, False])
    splitter = ClauseSplitter()
    assert splitter.predict(doc) == [5]
    assert [t.is_sent_start for t in doc][5] is None
    splitter.set_annotations(doc, [5])
    assert [s.text for s in doc.sents] == ["The food was great,", "but the service was slow"]


def test_clause_splitter_is_registered_as_a_factory() -> None:
    pipe = make_nlp(min_clause_words=4).get_pipe(CLAUSE_SPLITTER)
    assert isinstance(pipe, ClauseSplitter)
    assert pipe.min_clause_words == 4
