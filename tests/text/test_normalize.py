"""Tests for feedback_nlp.text.normalize: the cleaned text the encoder sees."""

from __future__ import annotations

import pytest

from feedback_nlp.text import DEFAULT_MAX_CHARS, normalize

# ----------------------------------------------------------------------------- every kind


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Great&nbsp;service &amp; fast", "Great service & fast"),
        ("I &lt;3 this &#128525;", "I <3 this 😍"),
        ("<p>Great <b>fast</b> delivery</p><br/>Thanks", "Great fast delivery Thanks"),
        ('<a href="https://x.io">link</a> text <!-- note -->', "link text"),
        ("price < 100 and > 50", "price < 100 and > 50"),
        ("[EMAIL] said hi", "[EMAIL] said hi"),
    ],
)
def test_normalize_unescapes_entities_and_strips_tags(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("line one\nline two\r\nthree\tfour", "line one line two three four"),
        ("  lots   of\n\n\n  space  ", "lots of space"),
        ("nul\x00 bell\x07 esc\x1b end", "nul bell esc end"),
        ("zero\u200bwidth and\u202e bidi\u200f marks\ufeff", "zerowidth and bidi marks"),
        ("soft\u00adhyphen", "softhyphen"),
        ("no\u00a0break", "no break"),
    ],
)
def test_normalize_drops_controls_and_collapses_whitespace(text: str, expected: str) -> None:
    assert normalize(text) == expected


def test_normalize_applies_nfc() -> None:
    assert normalize("e\u0301cole") == "\u00e9cole"


@pytest.mark.parametrize(
    "text",
    [
        "Love it 😍🔥",
        "family 👩\u200d👩\u200d👧 heart ❤️",
        "flag 🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
        "שלום עולם مرحبا",
        "می\u200cخواهم",  # Persian needs the zero-width non-joiner
    ],
)
def test_normalize_keeps_emoji_and_scripts(text: str) -> None:
    assert normalize(text) == text


def test_normalize_treats_every_kind_alike() -> None:
    # One rule set: a review quoting a handle or a URL is encoded like a tweet doing the same.
    assert normalize("@bank #WorstServiceEver https://t.co/x") == "Worst Service Ever"


# ----------------------------------------------------------------------------- social


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@bank fix this @Help_Desk2", "fix this"),
        ("mail john@example.com", "mail john@example.com"),
        ("see https://t.co/abc123 and www.example.com/page", "and"),
        ("RT @shop: great deal", "great deal"),
        ("RT @a: RT @b: hi", "hi"),
        ("rt @x: hi", "hi"),
        ("so true RT @someone: quoted", "so true quoted"),
        ("ART and RTL stay", "ART and RTL stay"),
    ],
)
def test_normalize_social_replaces_handles_urls_and_retweets(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#WorstServiceEver", "Worst Service Ever"),
        ("#fail again", "fail again"),
        ("#NHS", "NHS"),
        ("#covid19", "covid19"),
        ("#black_friday", "black friday"),
        ("#HTTPServer", "HTTP Server"),
        ("#Top10 #BlackFriday2024", "Top 10 Black Friday 2024"),
        ("#iPhone #eBay", "iPhone eBay"),
        ("We're #1", "We're #1"),
        ("#Café #ÜberCool", "Café Über Cool"),
    ],
)
def test_normalize_social_splits_hashtags(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@acme thanks for sorting my refund so quickly!!", "thanks for sorting my refund so quickly!!"),
        ("@acme, my bag is lost", "my bag is lost"),
        ("my bag is lost @acme https://t.co/x", "my bag is lost"),
    ],
)
def test_normalize_leaves_no_placeholder_for_handles_and_urls(text: str, expected: str) -> None:
    # "@user" and "http" placeholders taught the old model that a tweet is neutral and about nothing.
    assert normalize(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Checkout failed three times see www.example.com/help", "Checkout failed three times"),
        ("Great deal via https://t.co/x", "Great deal"),
        ("Signed up today. More info: https://t.co/x", "Signed up today."),
        ("Read more at www.example.com, it was late", "it was late"),
        # Only a word right before the link goes: elsewhere it is the text's own.
        ("I see it now https://t.co/x", "I see it now"),
        ("See the store on the high street https://t.co/x", "See the store on the high street"),
        ("oversee https://t.co/x", "oversee"),
    ],
)
def test_normalize_drops_a_word_that_only_points_at_a_removed_link(text: str, expected: str) -> None:
    assert normalize(text) == expected


# ----------------------------------------------------------------------------- length


def test_normalize_caps_length_by_default() -> None:
    assert len(normalize("word " * 10_000)) <= DEFAULT_MAX_CHARS


@pytest.mark.parametrize("max_chars", [1, 10, 37, 500])
def test_normalize_caps_length_to_max_chars(max_chars: int) -> None:
    assert len(normalize("word " * 1000, max_chars=max_chars)) <= max_chars


def test_normalize_cuts_at_a_word_boundary() -> None:
    assert normalize("alpha beta gamma delta", max_chars=13) == "alpha beta"


@pytest.mark.parametrize(
    "text", ["a" * 1_000_000, "<b>" * 300_000, "&amp;" * 200_000, "#Ab" * 300_000, "\n" * 1_000_000]
)
def test_normalize_megabyte_input_stays_cheap(text: str) -> None:
    assert len(normalize(text)) <= DEFAULT_MAX_CHARS


def test_normalize_rejects_non_positive_max_chars() -> None:
    with pytest.raises(ValueError, match="max_chars"):
        normalize("text", max_chars=0)


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "<br/>", "\x00"])
def test_normalize_empty_input_gives_empty_string(text: str) -> None:
    assert normalize(text) == ""
