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
from collections import Counter
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

#: Words of praise: how the writer feels, not what happened.
# fmt: off
PRAISE: frozenset[str] = frozenset({
    "great", "good", "best", "better", "excellent", "amazing", "awesome", "fantastic", "wonderful",
    "brilliant", "superb", "outstanding", "perfect", "lovely", "nice", "love", "loved", "loving",
    "loves", "like", "liked", "happy", "glad", "pleased", "satisfied", "impressed", "impressive",
    "fab", "fabulous", "cool", "super", "terrific", "incredible", "exceptional", "thanks", "thank",
    "thankyou", "grateful", "gratitude", "appreciate", "appreciated", "kudos", "positive",
    "pleasant", "friendly", "helpful", "polite", "caring", "professional", "favourite", "favorite",
    "beautiful", "recommend", "recommended", "star", "stars", "praise", "pleasure", "welcoming",
    "compassionate", "supportive", "attentive", "courteous", "respectful", "considerate",
    "reassuring", "perfection", "faultless", "marvellous", "fine", "ok", "okay",
})
# fmt: on

#: Words of blame.
# fmt: off
BLAME: frozenset[str] = frozenset({
    "bad", "worst", "worse", "awful", "terrible", "horrible", "horrendous", "dreadful", "poor",
    "poorly", "ridiculous", "absurd", "pathetic", "useless", "disgusting", "disgrace",
    "disgraceful", "shocking", "appalling", "unacceptable", "outrageous", "rubbish", "garbage",
    "trash", "joke", "hate", "hated", "hates", "angry", "annoyed", "annoying", "upset", "unhappy",
    "disappointed", "disappointing", "disappointment", "frustrated", "frustrating", "frustration",
    "furious", "mad", "sad", "rude", "unhelpful", "incompetent", "lousy", "lame", "stupid", "dumb",
    "idiot", "idiots", "insane", "crazy", "nightmare", "fail", "failed", "negative", "inexcusable",
    "unbelievable", "sorry", "shame", "unprofessional", "bother", "bothered",
})
# fmt: on

#: Words that only add weight to a feeling ("really", "so", "lol").
# fmt: off
INTENSIFIERS: frozenset[str] = frozenset({
    "seriously", "literally", "totally", "absolutely", "completely", "really", "honestly", "ugh",
    "smh", "lol", "omg", "very", "extremely", "so", "too", "epic", "wow", "yay", "highly", "kindly",
    "well",
})
# fmt: on

#: Words that say how the writer feels rather than what happened.
EVALUATIVE: frozenset[str] = PRAISE | BLAME | INTENSIFIERS
#: The feelings themselves, which (unlike intensifiers) also count in the plural.
_FEELINGS: frozenset[str] = PRAISE | BLAME

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
    """A word that says how the writer feels (or its plural: ``loves``, ``thankss`` typed twice).

    Intensifiers take no plural: "wells" is a name ("Wells Fargo"), not "well".

    >>> is_evaluative("loves"), is_evaluative("well"), is_evaluative("wells")
    (True, True, False)
    """
    token = token.strip("'_-").lower()
    return token in INTENSIFIERS or _in(token, _FEELINGS)


def _in(token: str, words: frozenset[str]) -> bool:
    """``token`` or its singular is one of ``words``."""
    return token in words or (token.endswith("s") and token[:-1] in words)


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


#: Answers that say there is nothing to say ("Nothing.", "N/A", "None at all").
NOTHING_WORDS: frozenset[str] = frozenset(
    {"nothing", "none", "no", "nope", "na", "n/a", "nil", "nowt", "not", "applicable"}
)
#: Names for a topic whose texts name no thing, by what most of them do instead.
PRAISE_ONLY = "general praise, no details"
BLAME_ONLY = "general complaints, no details"
NOTHING_TO_ADD = "nothing to add"
NOTHING_TO_IMPROVE = "nothing to improve"
CONTENT_FREE_NAMES = frozenset({PRAISE_ONLY, BLAME_ONLY, NOTHING_TO_ADD, NOTHING_TO_IMPROVE})
#: Answers to "what could we do better?" that say nothing could: a word of these two lists
#: together ("Could not have been better", "You can't improve perfection").
IMPROVE_WORDS: frozenset[str] = frozenset(
    {"improve", "improved", "improvement", "improvements", "better", "bettered", "change", "changed", "differently"}
)
NEGATIONS: frozenset[str] = frozenset(
    {"not", "no", "nothing", "never", "nobody", "can't", "cannot", "couldn't", "don't", "dont", "cant", "couldnt"}
)
#: Words that leave a text naming no thing (beside stop words and evaluative words).
_NAMES_NOTHING: frozenset[str] = NOTHING_WORDS | IMPROVE_WORDS | NEGATIONS


def content_free_name(texts: Iterable[str], stop_words: Iterable[str] = ()) -> str | None:
    """What a topic is made of when most of its texts name no thing; else None.

    Such topics are real and large in survey answers ("Nothing.", "Very good", "All fine thank
    you"): a CX lead reads "nothing to add" where the words of a few typos ("nothinhg") or a
    bare "other feedback" said nothing. A text with no content word (every word a stop word, an
    evaluative word or one of :data:`NOTHING_WORDS`, :data:`IMPROVE_WORDS` and :data:`NEGATIONS`)
    votes "nothing to improve" if it negates an improvement ("Could not be better"), "nothing to
    add" if it starts with a word of :data:`NOTHING_WORDS`, else praise or blame by which has more
    words; a text with a content word votes for a name from words. The winner needs more than
    half of the texts.

    >>> content_free_name(["Very good", "Excellent, thank you", "All fine", "Nothing."])
    'general praise, no details'
    >>> content_free_name(["Nothing", "N/A", "Nothing, thank you", "nothinhg"])
    'nothing to add'
    >>> from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
    >>> answers = ["Could not have been better.", "You can't improve perfection", "Nothing"]
    >>> content_free_name(answers, ENGLISH_STOP_WORDS)
    'nothing to improve'
    >>> content_free_name(["Very good", "Awful", "Nothing"]) is None
    True
    >>> content_free_name(["Great parking", "Lovely car park", "Great"]) is None
    True
    """
    stop = set(stop_words) | {"at", "all", "to", "add", "the", "a", "i", "it", "was", "everything", "is", "you"}
    tokenised = (words_of(representation_text(text).lower().replace("n/a", "na")) for text in texts)
    votes = Counter(_content_free_vote(tokens, stop) for tokens in tokenised if tokens)
    total = sum(votes.values())
    named = [(count, name) for name, count in votes.items() if name is not None]
    if not named:
        return None
    count, name = max(named)
    return name if count * 2 > total else None


def _content_free_vote(tokens: list[str], stop: set[str]) -> str | None:
    """What one text of :func:`content_free_name` votes for; None for a text that names a thing."""
    words = set(tokens)
    if any(len(t) > 1 and t not in stop and t not in _NAMES_NOTHING and not is_evaluative(t) for t in words):
        return None
    if words & IMPROVE_WORDS:
        # "Could not be better" says nothing could; "Everything can be improved" is no such answer.
        return NOTHING_TO_IMPROVE if words & NEGATIONS else None
    if tokens[0] in NOTHING_WORDS:
        return NOTHING_TO_ADD
    praise = sum(_in(t, PRAISE) for t in tokens)
    blame = sum(_in(t, BLAME) for t in tokens)
    if praise == blame:
        return None
    return PRAISE_ONLY if praise > blame else BLAME_ONLY


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
