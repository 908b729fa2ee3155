"""Topic names follow the rules of issue 16: about things, never placeholders, swear words or moods.

Checked with word lists: the candidates that real tweets to companies produced before (the
issue quotes them), placeholders from older stored data, numbers, and names made only of
evaluative words.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from feedback_nlp.topics.model import (
    FALLBACK_LABEL,
    SEED_WORD_RANK,
    VECTORIZER_STOP_WORDS,
    _leading_words,
    _name_topics,
    _shares_words,
    topic_name,
)
from feedback_nlp.topics.naming import (
    BLAME,
    BLAME_ONLY,
    EVALUATIVE,
    INTENSIFIERS,
    NOTHING_TO_ADD,
    NOTHING_TO_IMPROVE,
    PLACEHOLDERS,
    PRAISE,
    PRAISE_ONLY,
    PROFANITY,
    acceptable_name,
    clean_candidate,
    content_free_name,
    representation_text,
)

#: The top names `report topics` gave on tweets to service companies before issue 16, as
#: candidate lists: each must now give a name about a thing, or the fallback.
ISSUE_CANDIDATES = [
    ["awful customer", "poor customer", "worst customer"],
    ["awesome flight", "great crew", "user amazing"],
    ["hold customer", "tried calling", "user hung"],
    ["shit user", "absurd", "ridiculous"],
    ["amazing user", "love user", "user great"],
]

PLACEHOLDER_WORDS = ["user", "@user", "http", "https", "url", "www", "rt", "amp", "[EMAIL]", "[CARD]", "[IBAN]"]
PROFANE_WORDS = ["shit", "fucking", "crap", "wtf", "bullshit", "damn"]
MOOD_WORDS = ["awful", "great", "love", "ridiculous", "amazing", "worst", "terrible", "disappointed", "thanks"]
NUMBERS = ["2", "24", "100", "3rd", "2019"]


def _tokens(name: str) -> list[str]:
    return re.findall(r"[a-z0-9@\[\]_']+", name.lower())


def _check(name: str) -> None:
    tokens = _tokens(name)
    assert not set(tokens) & {w.lower().strip("@[]") for w in PLACEHOLDER_WORDS}, name
    assert not set(tokens) & set(PROFANE_WORDS), name
    assert not any(re.search(r"\d", t) for t in tokens), name
    content = [t for t in tokens if t not in EVALUATIVE and t not in {"or", "and", "of", "the", "on"}]
    assert content, f"{name!r} is made only of evaluative words"


@pytest.mark.parametrize("candidates", ISSUE_CANDIDATES)
def test_the_issues_names_become_names_about_things_or_the_fallback(candidates: list[str]) -> None:
    name = topic_name(candidates, [], 3)
    _check(name)


def test_evaluative_words_are_trimmed_off_a_phrase() -> None:
    assert topic_name(["awful customer service", "worst customer service", "hold time"], [], 3) == (
        "customer service / hold time"
    )


def test_a_topic_with_only_moods_gets_the_fallback() -> None:
    assert topic_name(MOOD_WORDS, ["user", "http", "shit"], 3) == FALLBACK_LABEL


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (["Very good", "Excellent service thank you", "All fine", "Lovely!!", "Nothing."], PRAISE_ONLY),
        (["Awful.", "Terrible, just terrible", "Really disappointed", "so rude"], BLAME_ONLY),
        (["Nothing", "N/A", "nothing at all", "None", "no"], NOTHING_TO_ADD),
        # Answers to "what could we do better?" that say nothing could.
        (["Could not have been better.", "Can't improve perfection", "Nothing to change", "no"], NOTHING_TO_IMPROVE),
        # Improvement without a negation is no such answer.
        (["Everything can be improved", "Could be better", "Nothing"], FALLBACK_LABEL),
        # No majority: the texts do not agree on what they are.
        (["Very good", "Awful", "Nothing", "ok"], FALLBACK_LABEL),
        ([], FALLBACK_LABEL),
    ],
)
def test_a_topic_without_content_words_is_named_by_what_its_texts_do(texts: list[str], expected: str) -> None:
    name = topic_name(["great", "thanks"], ["user", "http"], 3, texts=texts)
    assert name == expected
    assert acceptable_name(name)


def test_texts_that_name_things_leave_the_name_to_the_words() -> None:
    texts = ["Great, the parcel came late", "Lovely courier but the parcel was late", "Great"]
    assert topic_name(["parcel late"], [], 3, texts=texts) == "parcel late"


def test_a_topic_of_nothing_answers_is_nothing_to_add_whatever_its_typos() -> None:
    # NHS answers to "what could we do better?": c-TF-IDF finds only the typos and fillers.
    texts = ["Nothing.", "Nothing", "nothing", "Nothing, thank you", "Nothingthank you there's", "nothinhg"]
    assert topic_name(["nothingthank there's", "nothinhg comment"], ["nothinhg"], 3, texts=texts) == NOTHING_TO_ADD


def test_praise_blame_and_intensifiers_do_not_overlap() -> None:
    # A word in two of the lists would vote both ways in content_free_name.
    assert not PRAISE & BLAME and not PRAISE & INTENSIFIERS and not BLAME & INTENSIFIERS
    assert content_free_name(["really really so"]) is None  # weight without a feeling


class _Words:
    """Stands in for a fitted BERTopic: one topic's c-TF-IDF words, best first."""

    topic_aspects_: dict = {}

    def __init__(self, words: list[str]) -> None:
        self.words = words

    def get_topic(self, topic_id: int) -> list[tuple[str, float]]:
        return [(w, 1.0 - i / 100) for i, w in enumerate(self.words)]


def test_a_seed_name_must_share_a_leading_word_of_the_topic() -> None:
    # A topic of credit-report disputes with "credit card" far down its words is no "card problem".
    report = ["credit", "report", "dispute", "bureau", "equifax", "accounts", "letter", "removed", "credit card"]
    assert "credit card" not in _leading_words(_Words(report), 0)
    assert not _shares_words("card problem", _leading_words(_Words(report), 0))
    cards = ["card", "declined", "atm", "pin", "chip"]
    assert _shares_words("card problem", _leading_words(_Words(cards), 0))
    assert set(_leading_words(_Words(report), 0)) == set(report[:SEED_WORD_RANK])


def test_generic_words_do_not_tie_a_seed_name_to_a_topic() -> None:
    assert not _shares_words("card problem", ["app problem", "problems", "login"])
    assert _shares_words("transfer or payment failure", ["payment", "pending"])


@pytest.mark.parametrize("word", PLACEHOLDER_WORDS + PROFANE_WORDS + NUMBERS)
def test_no_placeholder_swear_word_or_number_enters_a_name(word: str) -> None:
    name = topic_name([f"{word} refund", "refund", f"delivery {word}", "parcel"], [word], 3)
    assert word.lower().strip("@[]") not in _tokens(name), name
    _check(name)


@pytest.mark.parametrize("word", MOOD_WORDS)
def test_a_mood_word_alone_is_no_candidate(word: str) -> None:
    assert clean_candidate(word) is None
    assert not acceptable_name(word)
    assert not acceptable_name(f"{word} / {word}s")


@pytest.mark.parametrize(
    "name",
    [
        "hold times on the phone",
        "refund not received",
        "app log-in problems",
        "rude or unhelpful staff",
        "delivery delay",
        "parking",
    ],
)
def test_names_about_things_are_acceptable(name: str) -> None:
    assert acceptable_name(name)


@pytest.mark.parametrize("name", ["user refund", "http link", "shit service", "24 hours", "great / love"])
def test_names_breaking_a_rule_are_not(name: str) -> None:
    assert not acceptable_name(name)


def test_placeholders_and_links_are_out_of_the_text_words_are_counted_in() -> None:
    text = "@user RT @acme my [EMAIL] bounced http://t.co/x https www.acme.com &amp; refund"
    assert representation_text(text) == "my bounced refund"


def test_the_vectorizer_ignores_the_word_lists() -> None:
    stop = set(VECTORIZER_STOP_WORDS)
    assert PLACEHOLDERS <= stop and PROFANITY <= stop and EVALUATIVE <= stop
    # Words that name the things complained about stay.
    assert not {"refund", "delivery", "phone", "staff", "parking", "wait", "app", "invoice"} & stop


def test_word_lists_do_not_overlap_with_theme_words() -> None:
    themes = {
        "delivery",
        "refund",
        "staff",
        "parking",
        "appointment",
        "waiting",
        "phone",
        "email",
        "food",
        "transport",
        "app",
        "login",
        "card",
        "price",
        "size",
        "fit",
        "billing",
        "cancellation",
    }
    assert not themes & (EVALUATIVE | PLACEHOLDERS | PROFANITY)


def test_clusters_of_answers_naming_nothing_become_one_topic() -> None:
    # "None." and "No." answers cluster apart; they are one topic "nothing to add", the first cluster's id.
    texts = ["None.", "none", "None", "No.", "no", "No thanks", "parcel late", "late parcel"]
    topics = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    named, merged_into = _name_topics(_Words(["none"]), [0, 1, 2], topics, {}, 3, texts)  # type: ignore[arg-type]
    assert [(t.id, t.label, t.count) for t in named][:1] == [(0, NOTHING_TO_ADD, 6)]
    assert [t.id for t in named] == [0, 2] and named[1].label != NOTHING_TO_ADD
    assert merged_into == {1: 0}
