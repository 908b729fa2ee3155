"""spaCy segmentation: split feedback into sentences and contrastive clauses.

The pipeline is blank English: the tokenizer, spaCy's rule-based ``sentencizer`` and our
``feedback_clause_splitter``. No statistical model is loaded, so it is fast and needs no
download. A segment is a sentence, a line (or bullet item), or a clause of a sentence cut
before a contrastive marker::

    "Love the app, but the delivery took two weeks"
    -> "Love the app,"  |  "but the delivery took two weeks"

The marker opens the second clause (it belongs to what it contrasts); punctuation before it
stays with the first.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import cast

import spacy
from spacy.language import Language
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc

__all__ = [
    "CLAUSE_SPLITTER",
    "DEFAULT_MAX_SEGMENTS",
    "DEFAULT_SEGMENT_MAX_CHARS",
    "ClauseSplitter",
    "Segment",
    "make_nlp",
    "segment_texts",
]

#: Name of the registered clause-splitting component.
CLAUSE_SPLITTER = "feedback_clause_splitter"
#: Segments kept per text; later ones are dropped (the whole text is still classified).
DEFAULT_MAX_SEGMENTS = 32
#: Characters of a text that are segmented; the rest gets no segments.
DEFAULT_SEGMENT_MAX_CHARS = 10_000

# Markers that open a contrastive clause wherever they stand in a sentence.
_ALWAYS_MARKERS = frozenset({"but", "although", "whereas", "except"})
# Markers that are often adverbs ("not yet", "good though") or temporal ("while waiting"):
# they open a clause only right after a comma or similar punctuation.
_AFTER_PUNCT_MARKERS = frozenset({"however", "though", "yet", "while"})
# Subordinators that, opening a sentence, put the contrast at the first comma:
# "Although the food was good, | the service was slow".
_LEADING_SUBORDINATORS = frozenset({"although", "though", "while", "whereas"})
_BREAK_PUNCT = frozenset({",", ";", ":", "-", "–", "—", "...", "…", "("})
_BULLETS = frozenset({"•", "‣", "◦", "▪", "●", "∙"})
# Words longer than this are broken for the tokenizer (see _head).
_LONG_WORD = re.compile(r"\S{200}")
# A list marker at the start of a segment: dropped from the segment's text.
_LEADING_MARKER = re.compile(r"(?:[•‣◦▪●∙]+|(?:[-*·–—>]+|\d{1,2}[.)])(?=\s))\s*")
_LIST_MARKER = re.compile(r"\d{1,2}[.)]")


@dataclass(frozen=True, slots=True)
class Segment:
    """A sentence or clause: ``text == source[start:end]``, without surrounding whitespace."""

    text: str
    start: int
    end: int


class ClauseSplitter:
    """Adds segment starts at line breaks, bullets and contrastive discourse markers.

    Runs after the ``sentencizer`` and only ever adds sentence starts. A clause cut must
    leave at least ``min_clause_words`` words (tokens that are neither punctuation nor
    whitespace) on both sides; otherwise the fragment stays with its neighbour.

    Args:
        min_clause_words: The fewest words a clause may have.

    Examples:
        >>> nlp = make_nlp()
        >>> [s.text for s in nlp("The food was great but the service was slow").sents]
        ['The food was great', 'but the service was slow']
    """

    def __init__(self, *, min_clause_words: int = 3) -> None:
        self.min_clause_words = min_clause_words

    def __call__(self, doc: Doc) -> Doc:
        """Mark the extra segment starts on ``doc``."""
        self.set_annotations(doc, self.predict(doc))
        return doc

    def predict(self, doc: Doc) -> list[int]:
        """The indices of the tokens that open a new segment (pure: ``doc`` is unchanged)."""
        if len(doc) < 2:
            return []
        lower = [token.lower_ for token in doc]
        is_word = [not (token.is_punct or token.is_space) for token in doc]
        line_starts = _line_starts(doc)
        bounds = sorted({0, len(doc)} | line_starts | {t.i for t in doc if t.is_sent_start})
        words_before = [0]  # words_before[i]: words among tokens [0, i)
        for flag in is_word:
            words_before.append(words_before[-1] + flag)
        starts = set(line_starts)
        for a, b in pairwise(bounds):
            candidates = _clause_candidates(lower, a, b)
            starts.update(self._accept(candidates, a, b, words_before))
        return sorted(starts)

    def set_annotations(self, doc: Doc, starts: Iterable[int]) -> None:
        """Make every token in ``starts`` open a sentence."""
        for i in starts:
            doc[i].is_sent_start = True

    def _accept(self, candidates: list[int], a: int, b: int, words_before: list[int]) -> list[int]:
        # Greedy from the left: each kept cut leaves enough words on both of its sides.
        accepted = []
        last = a
        for cut in candidates:
            left = words_before[cut] - words_before[last]
            right = words_before[b] - words_before[cut]
            if left >= self.min_clause_words and right >= self.min_clause_words:
                accepted.append(cut)
                last = cut
        return accepted


def _line_starts(doc: Doc) -> set[int]:
    """Tokens after a line break, and bullet symbols that open an inline list item."""
    starts = set()
    for token in doc:
        if token.is_space and "\n" in token.text and token.i + 1 < len(doc):
            starts.add(token.i + 1)
        elif token.text in _BULLETS and token.i > 0:
            starts.add(token.i)
    return starts


def _clause_candidates(lower: list[str], a: int, b: int) -> list[int]:
    """Token indices in ``(a, b)`` where a contrastive clause could start."""
    candidates = {start for i in range(a + 1, b) if (start := _marker_clause_start(lower, a, i)) is not None}
    after_leading = _after_leading_clause(lower, a, b)
    if after_leading is not None:
        candidates.add(after_leading)
    return sorted(candidates)


def _marker_clause_start(lower: list[str], a: int, i: int) -> int | None:
    """Where the clause that token ``i`` opens starts (None: it opens none); ``a`` starts the sentence."""
    word = lower[i]
    if word == "but":
        return None if lower[i + 1 : i + 2] == ["also"] else i  # "not only ... but also" is no contrast
    if word in _ALWAYS_MARKERS:
        return i
    if word == "though" and lower[i - 1] == "even":
        return i - 1 if i - 1 > a else None
    if word in _AFTER_PUNCT_MARKERS:
        return i if _previous_word(lower, a, i) in _BREAK_PUNCT else None
    if word == "on" and lower[i + 1 : i + 4] == ["the", "other", "hand"]:
        return i
    return None


def _after_leading_clause(lower: list[str], a: int, b: int) -> int | None:
    """After the first comma of a sentence opened by a subordinator ("Although X, | Y")."""
    first = _first_word(lower, a, b)
    if first is None:
        return None
    if lower[first] not in _LEADING_SUBORDINATORS and lower[first : first + 2] != ["even", "though"]:
        return None
    comma = _index(lower, ",", first, b)
    return comma + 1 if comma is not None and comma + 1 < b else None


def _previous_word(lower: list[str], a: int, i: int) -> str:
    for j in range(i - 1, a - 1, -1):
        if lower[j].strip():
            return lower[j]
    return ""


def _first_word(lower: list[str], a: int, b: int) -> int | None:
    for i in range(a, b):
        if lower[i].strip() and lower[i] not in _BULLETS:
            return i
    return None


def _index(items: list[str], value: str, start: int, stop: int) -> int | None:
    try:
        return items.index(value, start, stop)
    except ValueError:
        return None


@Language.factory(
    CLAUSE_SPLITTER,
    default_config={"min_clause_words": 3},
    requires=["token.is_sent_start"],
    assigns=["token.is_sent_start"],
)
def make_clause_splitter(nlp: Language, name: str, min_clause_words: int) -> ClauseSplitter:
    """spaCy factory of :class:`ClauseSplitter` (``nlp.add_pipe("feedback_clause_splitter")``)."""
    return ClauseSplitter(min_clause_words=min_clause_words)


def make_nlp(*, min_clause_words: int = 3) -> Language:
    """The segmentation pipeline: blank English, ``sentencizer``, ``feedback_clause_splitter``.

    Args:
        min_clause_words: The fewest words a contrastive clause may have.

    Returns:
        A spaCy pipeline; build it once and reuse it.
    """
    nlp = spacy.blank("en")
    # Keep "#" and "@" on the word they tag: as prefixes they became the last token of the
    # previous sentence ("...today! #" | "HappyCustomer").
    prefixes = [p for p in nlp.Defaults.prefixes or () if p not in ("#", "@")]
    tokenizer = cast(Tokenizer, nlp.tokenizer)  # spaCy types it as any callable; blank("en") builds a Tokenizer
    tokenizer.prefix_search = spacy.util.compile_prefix_regex(prefixes).search
    nlp.add_pipe("sentencizer")
    nlp.add_pipe(CLAUSE_SPLITTER, config={"min_clause_words": min_clause_words})
    return nlp


def segment_texts(
    nlp: Language,
    texts: Sequence[str],
    *,
    max_segments: int = DEFAULT_MAX_SEGMENTS,
    max_chars: int = DEFAULT_SEGMENT_MAX_CHARS,
    batch_size: int = 256,
) -> list[list[Segment]]:
    """Split each text into sentences and clauses.

    Args:
        nlp: A pipeline from :func:`make_nlp`.
        texts: The (redacted) texts.
        max_segments: Keep the first this many segments of a text; the rest are dropped.
        max_chars: Segment only the first this many characters of a text (cut back to a
            whitespace when one is near), so a megabyte text costs no more than a long one.
        batch_size: Texts per ``nlp.pipe`` batch.

    Returns:
        One list per text, in order, of segments whose offsets index into that text.
        Empty or whitespace-only texts give an empty list.

    Examples:
        >>> [s.text for s in segment_texts(make_nlp(), ["Love the app, but it crashes a lot"])[0]]
        ['Love the app,', 'but it crashes a lot']
    """
    limit = min(max_chars, nlp.max_length)
    heads = [_head(text, limit) for text in texts]
    docs = nlp.pipe(heads, batch_size=batch_size)
    return [_segments(text, doc, max_segments) for text, doc in zip(texts, docs, strict=True)]


def _head(text: str, max_chars: int) -> str:
    """What spaCy reads of ``text``: a prefix, with the same offsets as ``text``."""
    if len(text) > max_chars:
        cut = text[:max_chars]
        space = max(cut.rfind(" ", max_chars - 200), cut.rfind("\n", max_chars - 200))
        text = cut[:space] if space > 0 else cut
    # spaCy's affix rules take time quadratic in a word's length ("<<<<...", "#####..."):
    # break very long words with a space in place of a character, which keeps the offsets.
    return _LONG_WORD.sub(_break_word, text)


def _break_word(match: re.Match[str]) -> str:
    return match.group()[:-1] + " "


def _segments(text: str, doc: Doc, max_segments: int) -> list[Segment]:
    segments: list[Segment] = []
    start = None  # where a pending list marker ("1.") began
    for sent in doc.sents:
        if len(segments) >= max_segments:
            break
        # The sentencizer ends a sentence after "1." of a numbered item: rejoin the marker
        # with its item, then _trimmed drops it.
        same_line = sent.end < len(doc) and "\n" not in sent[-1].whitespace_
        if start is None and same_line and _LIST_MARKER.fullmatch(sent.text.strip()):
            start = sent.start_char
            continue
        segment = _trimmed(text, sent.start_char if start is None else start, sent.end_char)
        start = None
        if segment is not None:
            segments.append(segment)
    return segments


def _trimmed(text: str, start: int, end: int) -> Segment | None:
    """The segment without surrounding whitespace or a leading list marker; None if empty."""
    while start < end and text[start].isspace():
        start += 1
    marker = _LEADING_MARKER.match(text, start, end)
    if marker:
        start = marker.end()
    while end > start and text[end - 1].isspace():
        end -= 1
    piece = text[start:end]
    # Keep a lone emoji (a symbol carrying sentiment) but not stray punctuation.
    if not any(ch.isalnum() or unicodedata.category(ch).startswith("S") for ch in piece):
        return None
    return Segment(text=piece, start=start, end=end)
