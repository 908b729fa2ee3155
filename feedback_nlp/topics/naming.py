"""Topic names a CX lead understands: what the texts are about, never how the writer felt.

Names are built from a topic's ranked words and phrases (c-TF-IDF and KeyBERT-style), after
three word lists have had their say:

- :data:`PLACEHOLDERS`: what normalisation, redaction or an older export leaves in a text
  instead of a person, an address or a link (``user``, ``http``, ``url``, ``email``,
  ``phone``, ``rt``, ``amp``, ...). Numbers never enter a name either.
- :data:`PROFANITY`: swear words, in any name.
- :data:`EVALUATIVE`: words that say how the writer feels (awful, great, love, ridiculous).
  Sentiment is shown beside every topic; it does not name one. Evaluative words are trimmed
  off the ends of a phrase ("awful customer service" -> "customer service"), and a candidate
  left with no content word is dropped.

The same lists go into the c-TF-IDF vectorizer as stop words (see :func:`vectorizer_stop_words`),
so bigrams are formed over the remaining content words and the topic words themselves say
what a topic is about.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

#: Tokens that stand for something removed: handles, links, redacted personal data, retweets.
# fmt: off
PLACEHOLDERS: frozenset[str] = frozenset({
    "user", "users", "username", "handle", "mention", "http", "https", "url", "urls", "www", "com",
    "co", "uk", "html", "href", "rt", "amp", "quot", "gt", "lt", "nbsp", "iban", "ssn", "url_credentials",
    "xxxx", "xx", "xxx", "redacted", "tco", "bit", "ly",
})
# fmt: on

#: Swear words and their common spellings; none may appear in a name.
# fmt: off
PROFANITY: frozenset[str] = frozenset({
    "shit", "shitty", "bullshit", "shite", "fuck", "fucking", "fucked", "fucker", "fuckin", "fck", "fk",
    "f-ing", "wtf", "ffs", "omfg", "stfu", "crap", "crappy", "damn", "damned", "goddamn", "dammit",
    "hell", "ass", "arse", "asshole", "arsehole", "bitch", "bitches", "bastard", "bastards", "piss",
    "pissed", "dick", "dickhead", "cock", "cunt", "twat", "wanker", "bollocks", "bloody", "screw",
    "screwed", "sucks", "suck", "sucked", "motherfucker", "jackass", "douche", "douchebag", "effing",
    "frickin", "freaking", "friggin", "lmao", "lmfao", "wth",
})
# fmt: on

#: Words that say how the writer feels rather than what happened.
# fmt: off
EVALUATIVE: frozenset[str] = frozenset({
    # praise
    "great", "good", "best", "better", "excellent", "amazing", "awesome", "fantastic", "wonderful",
    "brilliant", "superb", "outstanding", "perfect", "lovely", "nice", "love", "loved", "loving",
    "loves", "like", "liked", "happy", "glad", "pleased", "satisfied", "impressed", "impressive",
    "fab", "fabulous", "cool", "super", "terrific", "incredible", "exceptional", "thanks", "thank",
    "thankyou", "grateful", "gratitude", "appreciate", "appreciated", "kudos", "well", "fine", "ok",
    "okay", "positive", "pleasant", "kindly", "friendly", "helpful", "polite", "caring",
    "professional", "wow", "yay",
    "favourite", "favorite", "beautiful", "recommend", "recommended", "highly", "star",
    "stars", "praise", "pleasure", "welcoming", "compassionate", "supportive", "attentive",
    "courteous", "respectful", "considerate", "reassuring", "perfection", "faultless", "marvellous",
    # blame
    "bad", "worst", "worse", "awful", "terrible", "horrible", "horrendous", "dreadful", "poor",
    "poorly", "ridiculous", "absurd", "pathetic", "useless", "disgusting", "disgrace", "disgraceful",
    "shocking", "appalling", "unacceptable", "outrageous", "rubbish", "garbage", "trash", "joke",
    "hate", "hated", "hates", "angry", "annoyed", "annoying", "upset", "unhappy", "disappointed",
    "disappointing", "disappointment", "frustrated", "frustrating", "frustration", "furious",
    "mad", "sad", "rude", "unhelpful", "incompetent", "lousy", "lame",
    "stupid", "dumb", "idiot", "idiots", "insane", "crazy", "nightmare", "fail", "failed", "epic",
    "negative", "inexcusable", "unbelievable", "seriously", "literally", "totally", "absolutely",
    "completely", "really", "honestly", "ugh", "smh", "lol", "omg", "sorry", "shame",
    "unprofessional", "bother", "bothered", "very", "extremely", "so", "too",
})
# fmt: on

_TOKEN = re.compile(r"[a-z][a-z'_-]*|\d+")
# What older stored data or an export may still hold: redaction placeholders ([EMAIL]),
# @handles and the @user placeholder, links, retweet markers, HTML entities.
_REMOVED = re.compile(
    r"\[[A-Z_]{2,20}\]|(?<![\w@])@\w+|(?i:\b(?:https?://|www\.)\S+)|(?i:\bhttps?\b)|(?<!\w)RT\b|&\w{2,6};"
)


def representation_text(text: str) -> str:
    """The text c-TF-IDF counts words in: without placeholders, handles, links or retweet marks.

    >>> representation_text("@user RT my [EMAIL] http://x.co/a bounced")
    'my bounced'
    """
    return " ".join(_REMOVED.sub(" ", text).split())


def words_of(text: str) -> list[str]:
    """The lower-cased word and number tokens of a name or candidate."""
    return _TOKEN.findall(text.lower().replace("’", "'"))


def is_placeholder(token: str) -> bool:
    """A placeholder or a number (``user``, ``http``, ``12``, ``[email]``'s ``email``)."""
    token = token.strip("'_-").lower()
    return token in PLACEHOLDERS or any(ch.isdigit() for ch in token) or token.startswith("http")


def is_profane(token: str) -> bool:
    """A swear word."""
    return token.strip("'_-").lower() in PROFANITY


def is_evaluative(token: str) -> bool:
    """A word that says how the writer feels (or its plural: ``loves``, ``thankss`` typed twice)."""
    token = token.strip("'_-").lower()
    return token in EVALUATIVE or (token.endswith("s") and token[:-1] in EVALUATIVE)


def vectorizer_stop_words(base: Iterable[str]) -> list[str]:
    """``base`` stop words plus every placeholder, profane and evaluative word (c-TF-IDF's list)."""
    return sorted(set(base) | PLACEHOLDERS | PROFANITY | EVALUATIVE)


def clean_candidate(candidate: str, stop_words: Iterable[str] = ()) -> str | None:
    """A candidate word or phrase fit for a name, or None.

    Dropped: anything with a placeholder, a number or a swear word. Trimmed: evaluative and
    stop words at either end. Dropped after trimming: nothing left but evaluative or stop words.

    >>> clean_candidate("awful customer service")
    'customer service'
    >>> clean_candidate("user hung") is None, clean_candidate("great") is None
    (True, True)
    >>> clean_candidate("fixed fixed")
    'fixed'

    """
    stop = set(stop_words)
    if representation_text(candidate) != " ".join(candidate.split()):
        return None  # a redaction placeholder, handle or link: not a thing anyone talked about
    tokens = words_of(candidate)
    if not tokens or any(is_placeholder(t) or is_profane(t) for t in tokens):
        return None

    def weak(token: str) -> bool:
        return is_evaluative(token) or token in stop or len(token) < 2

    while tokens and weak(tokens[0]):
        tokens.pop(0)
    while tokens and weak(tokens[-1]):
        tokens.pop()
    if not tokens or all(weak(t) for t in tokens):
        return None
    # "fixed fixed" (a word repeated across a removed one) says it once.
    tokens = [t for i, t in enumerate(tokens) if i == 0 or t != tokens[i - 1]]
    return " ".join(tokens)


def acceptable_name(name: str) -> bool:
    """Whether a finished name follows the rules: no placeholder, number or swear word, and at
    least one word that is not evaluative (``seeded`` names from the taxonomy pass too)."""
    tokens = [t for t in words_of(name) if t not in {"or", "and", "of", "the", "on", "in", "with", "a", "to"}]
    if not tokens:
        return False
    if any(is_placeholder(t) or is_profane(t) for t in tokens):
        return False
    return not all(is_evaluative(t) for t in tokens)


def clean_candidates(words: Sequence[str], stop_words: Iterable[str] = ()) -> list[str]:
    """:func:`clean_candidate` over ranked candidates, order kept, duplicates dropped."""
    out: list[str] = []
    for word in words:
        cleaned = clean_candidate(word, stop_words)
        if cleaned and cleaned not in out:
            out.append(cleaned)
    return out
