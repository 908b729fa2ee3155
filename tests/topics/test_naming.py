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
    STOP_WORDS,
    VECTORIZER_STOP_WORDS,
    _leading_words,
    _name_topics,
    _shares_words,
    _texts_support,
    topic_name,
)
from feedback_nlp.topics.naming import (
    BLAME,
    BLAME_ONLY,
    EVALUATIVE,
    INTENSIFIERS,
    MIXED_ONLY,
    NOTHING_TO_ADD,
    NOTHING_TO_IMPROVE,
    PLACEHOLDERS,
    PRAISE,
    PRAISE_ONLY,
    PROFANITY,
    acceptable_name,
    clean_candidate,
    content_free_name,
    content_tokens,
    feeling_of,
    is_evaluative,
    is_filler,
    is_profane,
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
        # No kind holds a majority, but every text names nothing: mixed reactions.
        (["Very good", "Awful", "Nothing", "ok"], MIXED_ONLY),
        # Emoji alone name nothing either (they used to be left out of the vote).
        (["👍", "🤬🤬", "😂😂", "🙏", "phone broke again"], MIXED_ONLY),
        (["Brilliant", "👏👏👏", "Parfait!", "Flawless", "Love it", "Perfecta", "amazingggggg"], PRAISE_ONLY),
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


#: Swear words the review found in names or missing from the list: plurals, inflections,
#: misspellings and compounds ("fucks app", "depot pricks", "fence bellends").
MORE_PROFANITY = [
    "fucks", "fuk", "fuking", "fcking", "fkn", "effin", "shitshow", "shithole", "bs", "pissing", "prick",
    "pricks", "tosser", "bellend", "knobhead", "wankers", "twats", "dicks", "assholes", "cunts",
    "motherfuckers", "bugger", "sodding", "goddam", "damnit", "crapola", "fuuuuck", "shiiiit", "fuckers",
    "clusterfuck", "bellends", "tossers",
]  # fmt: skip
#: Words a swear-word matcher must not catch (Scunthorpe and friends).
NOT_PROFANE = [
    "class", "pass", "passed", "glass", "bass", "assistant", "assessment", "scunthorpe", "dickens",
    "cocktail", "peacock", "hello", "shell", "screen", "skill", "bucket", "docking", "arsenal", "access",
]  # fmt: skip


@pytest.mark.parametrize("word", MORE_PROFANITY)
def test_swear_words_are_caught_in_any_form(word: str) -> None:
    assert is_profane(word)
    assert clean_candidate(f"{word} app") is None and clean_candidate(f"depot {word}") is None
    assert not acceptable_name(f"{word} app")
    assert topic_name([f"{word} app", "app", f"fence {word}", "fence"], [word], 3) in ("app / fence", "fence / app")


@pytest.mark.parametrize("word", NOT_PROFANE)
def test_ordinary_words_are_not_taken_for_swear_words(word: str) -> None:
    assert not is_profane(word)


CHAT_FILLER = [
    "hmmm", "hahahah", "yep", "ty", "ur", "yea", "i'd", "we'd", "pls", "plz", "thx", "thanx", "tysm",
    "cheers", "haha", "lolol", "lmaoo", "meh", "bruh", "yikes", "jeez", "hmmmmm", "hahahahaha", "we'll",
]  # fmt: skip
MISSPELT_MOODS = [
    "excellant", "brillant", "awsome", "terible", "amazingggggg", "loveee", "sooo", "abysmal", "atrocious",
    "shambles", "hopeless", "parfait", "flawless", "perfecta",
]  # fmt: skip


@pytest.mark.parametrize("word", CHAT_FILLER + MISSPELT_MOODS)
def test_chat_filler_and_misspelt_moods_never_name_a_topic(word: str) -> None:
    assert is_filler(word) or is_evaluative(word)
    assert clean_candidate(word) is None
    assert not acceptable_name(f"{word} / {word}")
    assert clean_candidate(f"{word} login {word}") == "login"
    assert content_tokens(f"{word} login") == ["login"]


@pytest.mark.parametrize("word", ["police", "filed", "letter", "delivery", "account", "hotel", "helm", "loan"])
def test_content_words_are_no_moods_or_filler(word: str) -> None:
    assert not is_filler(word) and not is_evaluative(word) and not is_profane(word)
    assert clean_candidate(word) == word


def test_the_reviews_names_come_out_clean() -> None:
    # Names `topics fit` gave on tweets before the fix, as their candidate words.
    assert topic_name(["today hmmm", "hahahah yep", "hmmm hahahah", "yep"], [], 3) == "today"
    assert topic_name(["homie ty", "ur homie", "ty following"], [], 3) == "homie / following"
    assert topic_name(["dm i'd", "we'd platform", "settings yea"], [], 3) == "dm / platform / settings"


@pytest.mark.parametrize(
    ("candidates", "forbidden"),
    [
        (["ik niet", "krijg ik", "kaart"], {"ik", "niet"}),
        (["sehr und", "eine", "überweisung"], {"sehr", "und", "eine"}),
        (["que es", "es muy", "tarjeta"], {"que", "es", "muy"}),
        (["une carte", "est pas", "virement"], {"une", "est", "pas"}),
        (["una carta", "il conto", "bonifico"], {"una", "il"}),
        (["não consigo", "cartão"], {"não"}),
    ],
)
def test_stop_words_of_common_languages_never_name_a_topic(candidates: list[str], forbidden: set[str]) -> None:
    name = topic_name(candidates, [], 3)
    assert not set(_tokens(name)) & forbidden, name
    assert forbidden <= set(STOP_WORDS) | set(VECTORIZER_STOP_WORDS)


def test_english_words_that_are_foreign_stop_words_stay_available() -> None:
    # "car" is French for "because", "sim" Portuguese for "yes": both name things in English feedback.
    assert {"car", "sim", "fare", "door", "logo"}.isdisjoint(STOP_WORDS)
    assert topic_name(["car park", "sim card"], [], 3) == "car park / sim card"


def test_a_seed_name_needs_the_topics_texts_to_use_its_words() -> None:
    login = ["can't log in", "locked out of my account", "password reset", "login fails", "account access"]
    assert _texts_support("log-in and account access", login)
    # 100 varied tweets, a few of them about an account: not a log-in topic.
    varied = [f"tweet about thing {i}" for i in range(91)] + ["my account"] * 9
    assert not _texts_support("log-in and account access", varied)


def test_content_free_texts_are_named_for_that_whatever_seed_they_are_near() -> None:
    texts = ["Brilliant", "👏👏👏", "Parfait!", "Flawless", "Love it", "parcel late", "late parcel"]
    topics = np.array([0, 0, 0, 0, 0, 1, 1])
    named, _ = _name_topics(_Words(["quality"]), [0, 1], topics, {0: "product quality"}, 3, texts)  # type: ignore[arg-type]
    assert named[0].label == PRAISE_ONLY and not named[0].seeded


@pytest.mark.parametrize(("token", "feeling"), [("horrble", -1), ("disgustng", -1), ("excellant", 1), ("brillant", 1)])
def test_a_misspelt_feeling_keeps_its_side(token: str, feeling: int) -> None:
    """A misspelt word of blame is blame, not praise (the fuzzy match once looked in both lists)."""
    assert feeling_of(token) == feeling
