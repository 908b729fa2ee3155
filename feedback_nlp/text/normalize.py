"""Text normalisation: the cleaned text the encoder sees.

HTML entities unescaped, HTML tags stripped, NFC normalisation, control and invisible
formatting characters dropped, ``@handles``, URLs (with a word that only points at one: "see",
"via", "more at", "details:") and ``RT @handle:`` prefixes removed, hashtags
unwrapped (``#WorstServiceEver`` -> ``Worst Service Ever``), whitespace (newlines included)
collapsed to single spaces, and the length capped. Emoji are kept, though MiniLM's vocabulary
reads nearly all of them as one unknown token (writing them as their names was measured and not
adopted: docs/results.md).

The same rules hold for every kind of feedback, and handles and URLs leave no placeholder
behind: what a text says decides its labels, never where it was posted, whom it was addressed
to or what it linked to (``tests/text/test_normalize.py`` and the behavioural suite check this).

Normalisation is for the encoder only; the text shown to people (segments, offsets) is the
redacted text before normalisation.
"""

from __future__ import annotations

import html
import re
import unicodedata

__all__ = ["DEFAULT_MAX_CHARS", "HANDLE", "normalize"]

#: Characters kept by :func:`normalize`; the encoder truncates far earlier anyway.
DEFAULT_MAX_CHARS = 2000

# Raw characters read per output character: tags, entities and whitespace runs shrink, so
# read a little more than needed, but never the whole of a megabyte input.
_RAW_PER_OUTPUT_CHAR = 4

# Opening/closing tags and comments; attributes are bounded and cannot span another '<' or
# '>', so a stray '<' ("I <3 it", "a < b") stays and scanning stays linear.
_TAG = re.compile(r"</?[A-Za-z][\w:\-]{0,30}(?:\s[^<>]{0,2000})?/?>|<!--[^<>]{0,2000}-->|<![A-Za-z][^<>]{0,200}>")
# C0/C1 controls that are not whitespace, soft hyphen, zero-width space, direction marks and
# embeddings, invisible operators, BOM, interlinear annotations, lone surrogates and
# noncharacters. ZWJ/ZWNJ stay (emoji sequences, Persian and Indic scripts), and so do the
# tag characters of flag emoji.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u00ad\u061c\u180e\u200b\u200e\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff\ufffe\uffff]"
)
_WHITESPACE = re.compile(r"\s+")

_RT = re.compile(r"^(?:RT\b:?(?: ?@\w+)?:? ?)+|(?<!\w)RT @\w+:? ?", re.IGNORECASE)
_URL = re.compile(r"(?i)\b(?:https?://|www\.)[^\s<>\"]+")
# A word that only points at the link after it goes with the link: once the link is out, a
# dangling "see" or "via" says nothing about the text, and a word model would read it.
_URL_LEAD = re.compile(
    r"(?i)(?<![\w'])(?:see|via|visit|here|(?:read )?more(?: at| info| here)?|details|info|link|click here|go to)"
    r"\s*:?\s*(?=(?:https?://|www\.))"
)
#: An @handle (not an e-mail address): normalisation drops it, the topic report hides it.
HANDLE = re.compile(r"(?<![\w@])@\w+")
_HASHTAG = re.compile(r"(?<![\w&#])#([^\W\d_]\w*)")
_LEADING_PUNCT = re.compile(r"^[\s,:;.\-]+(?=\S)")
_MAX_HASHTAG_SPLIT = 100  # longer "hashtags" are junk: keep them as one word


def normalize(text: str, *, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """Clean ``text`` for the encoder.

    Args:
        text: Raw (already redacted) feedback text.
        max_chars: Keep at most this many characters, cut at a word boundary when one is
            near. Only about ``4 * max_chars`` raw characters are read, so megabyte inputs
            stay cheap (and their tail is ignored).

    Returns:
        The cleaned text on one line, without surrounding whitespace.

    Raises:
        ValueError: ``max_chars`` is smaller than 1.

    Examples:
        >>> normalize("RT @shop: Love it &amp; the #FastDelivery 😍 https://t.co/x")
        'Love it & the Fast Delivery 😍'
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, got {max_chars}")
    text = text[: max_chars * _RAW_PER_OUTPUT_CHAR]
    text = _TAG.sub(" ", html.unescape(text))
    text = _INVISIBLE.sub("", unicodedata.normalize("NFC", text))
    text = _markup(text)
    return _cap(_WHITESPACE.sub(" ", text).strip(), max_chars)


def _markup(text: str) -> str:
    """Retweet prefixes, URLs and handles out; hashtags unwrapped into their words."""
    text = _RT.sub(" ", text)
    text = _URL.sub(" ", _URL_LEAD.sub(" ", text))
    text = HANDLE.sub(" ", text)
    # "@acme , thanks" -> "thanks": punctuation left dangling at the start by a removed handle.
    text = _LEADING_PUNCT.sub("", text)
    return _HASHTAG.sub(lambda m: _split_hashtag(m.group(1)), text)


def _split_hashtag(tag: str) -> str:
    """``WorstServiceEver`` -> ``Worst Service Ever``; ``worst_service`` -> ``worst service``."""
    if len(tag) > _MAX_HASHTAG_SPLIT:
        return tag
    words = [word for part in tag.split("_") for word in _split_camel(part)]
    return " ".join(words)


def _split_camel(word: str) -> list[str]:
    # One-case words ("fail", "NHS", "covid19") carry no word boundaries to recover.
    if not word or word.islower() or word.isupper():
        return [word] if word else []
    words = []
    current = word[0]
    for i in range(1, len(word)):
        prev, char = word[i - 1], word[i]
        following = word[i + 1] if i + 1 < len(word) else ""
        lower_to_upper = prev.islower() and char.isupper() and i > 1  # i > 1 keeps iPhone, eBay
        acronym_end = prev.isupper() and char.isupper() and following.islower()  # HTTPServer
        digit_edge = prev.isdigit() != char.isdigit()  # Top10, 2024Sale
        if lower_to_upper or acronym_end or digit_edge:
            words.append(current)
            current = ""
        current += char
    words.append(current)
    return words


def _cap(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    # Prefer ending on a whole word when a space is close to the limit.
    space = cut.rfind(" ", max(0, max_chars - 50))
    if space > 0 and not text[max_chars].isspace():
        cut = cut[:space]
    return cut.rstrip()
