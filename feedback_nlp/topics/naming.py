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
from functools import cache, lru_cache

#: Tokens that stand for something removed: handles, links, redacted personal data, retweets.
# fmt: off
PLACEHOLDERS: frozenset[str] = frozenset({
    "user", "users", "username", "handle", "mention", "http", "https", "url", "urls", "www", "com",
    "co", "uk", "html", "href", "rt", "amp", "quot", "gt", "lt", "nbsp", "iban", "ssn", "url_credentials",
    "xxxx", "xx", "xxx", "redacted", "tco", "bit", "ly",
})
# fmt: on

#: Swear words and their common spellings; none may appear in a name. :func:`is_profane` also
#: knows their plurals and inflections (:data:`PROFANE_ROOTS`), stretched spellings ("fuuuck")
#: and the words built on the strongest of them (:data:`PROFANE_PREFIXES`, :data:`PROFANE_SUFFIXES`).
# fmt: off
PROFANITY: frozenset[str] = frozenset({
    "shit", "shitty", "bullshit", "shite", "fuck", "fucking", "fucked", "fucker", "fuckin", "fck", "fk",
    "f-ing", "wtf", "ffs", "omfg", "stfu", "crap", "crappy", "damn", "damned", "goddamn", "dammit",
    "hell", "ass", "arse", "asshole", "arsehole", "bitch", "bitches", "bastard", "bastards", "piss",
    "pissed", "dick", "dickhead", "cock", "cunt", "twat", "wanker", "bollocks", "bloody", "screw",
    "screwed", "sucks", "suck", "sucked", "motherfucker", "jackass", "douche", "douchebag", "effing",
    "frickin", "freaking", "friggin", "lmao", "lmfao", "wth",
    "fuk", "fuking", "fcking", "fckin", "fkn", "fckn", "fking", "effin", "bs", "sodding", "goddam",
    "goddammit", "damnit", "crapola", "bugger", "buggered", "tosser", "bellend", "knobhead", "prick",
    "pricks", "frigging", "feck", "fecking", "bollock", "shitshow", "shithole",
})
#: Swear words whose plurals and inflections are swear words too: "pricks", "pissing", "wankers".
PROFANE_ROOTS: frozenset[str] = frozenset({
    "fuck", "shit", "shite", "crap", "damn", "goddam", "goddamn", "piss", "prick", "dick", "dickhead",
    "cock", "cunt", "twat", "wank", "wanker", "tosser", "bellend", "knobhead", "bollock",
    "bugger", "bastard", "bitch", "arse", "arsehole", "ass", "asshole", "motherfucker", "jackass",
    "douche", "douchebag", "feck", "frig", "suck", "crapola", "turd", "dipshit",
})
#: Beginnings that make a swear word of any word ("shitshow", "fuckwit", "wankers").
PROFANE_PREFIXES: tuple[str, ...] = ("fuck", "shit", "cunt", "twat", "wank", "motherf", "bullshit", "dickhead")
#: Endings that make a swear word of any word ("clusterfuck", "batshit", "dumbass" is listed).
PROFANE_SUFFIXES: tuple[str, ...] = ("fuck", "fucker", "fuckers", "shit", "shits")
#: The f-word as people type it: fk, fkn, fck, fcking, fuk, fukin, fuuuck, fucks, fuckers.
_F_WORD = re.compile(r"f+(?:u+|\*+)?c*k+(?:i+n+g*|i+n|n|e+d|e+r+s*|s|a)?")
# fmt: on

#: Words of praise: how the writer feels, not what happened.
# fmt: off
PRAISE: frozenset[str] = frozenset({
    "great", "good", "best", "better", "excellent", "amazing", "awesome", "fantastic", "wonderful",
    "brilliant", "superb", "outstanding", "perfect", "lovely", "nice", "love", "loved", "loving",
    "loves", "like", "liked", "happy", "glad", "pleased", "satisfied", "impressed", "impressive",
    "fab", "fabulous", "cool", "terrific", "incredible", "exceptional", "thanks", "thank",
    "thankyou", "grateful", "gratitude", "appreciate", "appreciated", "kudos", "positive",
    "pleasant", "friendly", "helpful", "polite", "caring", "professional", "favourite", "favorite",
    "beautiful", "recommend", "recommended", "star", "stars", "praise", "pleasure", "welcoming",
    "compassionate", "supportive", "attentive", "courteous", "respectful", "considerate",
    "reassuring", "perfection", "faultless", "marvellous", "fine", "ok", "okay",
    "flawless", "cheers", "ty", "thx", "thanx", "thnx", "tysm", "tyvm", "awsome", "awsum", "amazin",
    "gr8", "bravo", "wow", "spot-on",
    # Praise in the other languages whose stop words are removed (model.py): "Parfait!", "Perfecta".
    "parfait", "parfaite", "génial", "geniale", "excelente", "excellente", "perfecto", "perfecta",
    "perfetto", "perfetta", "perfekt", "prima", "super", "gut", "bueno", "buena", "buenísimo",
    "bien", "geweldig", "goed", "ottimo", "ottima", "bellissimo", "fantastico", "fantástico",
    "fantastique", "magnifique", "merci", "gracias", "grazie", "danke", "obrigado", "obrigada",
    "bedankt", "increíble", "incroyable", "mooi", "lekker",
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
    "abysmal", "atrocious", "shambles", "shambolic", "hopeless", "dire", "woeful", "laughable",
    "terible", "horible", "disapointed", "dissapointed", "unacceptible", "ridiculus", "rediculous",
    # Blame in the other languages whose stop words are removed.
    "schlecht", "schrecklich", "mauvais", "mauvaise", "nul", "nulle", "malo", "mala",
    "pésimo", "pessimo", "pessima", "slecht", "péssimo", "horrível", "terrível", "lamentable",
})
# fmt: on

#: Words that only add weight to a feeling ("really", "so", "lol").
# fmt: off
INTENSIFIERS: frozenset[str] = frozenset({
    "seriously", "literally", "totally", "absolutely", "completely", "really", "honestly", "ugh",
    "smh", "lol", "omg", "very", "extremely", "so", "too", "epic", "yay", "highly", "kindly",
    "well", "sehr", "muy", "très", "molto", "zeer", "muito", "tan", "tres",
})
# fmt: on

#: Chat filler: laughter, hesitation, "yep", "pls", "ur", "bruh". It says nothing about what
#: happened; :func:`is_filler` also knows laughter and hesitation of any length ("hahahah",
#: "hmmmm", "lolol", "lmaooo") and contraction fragments ("i'd", "we'll", "ll").
# fmt: off
FILLER: frozenset[str] = frozenset({
    "hm", "hmm", "hmmm", "um", "umm", "uh", "uhh", "er", "erm", "ah", "ahh", "oh", "ohh", "eh", "meh",
    "yep", "yup", "yeah", "yea", "ya", "yah", "nah", "nope", "ur", "u", "r", "pls", "plz", "plss",
    "bruh", "bro", "yikes", "jeez", "geez", "gosh", "welp", "huh", "ooh", "oops", "aww", "aw",
    "haha", "hehe", "lolol", "rofl", "xd", "btw", "idk", "imo", "tbh", "fyi",
    "okey", "k", "kk", "ll", "ve", "re", "d", "s", "t", "m", "im", "ive", "youre",
    "gonna", "gotta", "wanna", "tryna", "kinda", "sorta", "dunno", "lemme", "gimme", "ain't", "aint",
    "y'all", "yall", "hey", "hiya", "yo", "sup", "dear", "guys", "guy", "folks", "mate",
})
# fmt: on

#: Words that say how the writer feels rather than what happened.
EVALUATIVE: frozenset[str] = PRAISE | BLAME | INTENSIFIERS
#: The feelings themselves, which (unlike intensifiers) also count in the plural.
_FEELINGS: frozenset[str] = PRAISE | BLAME

#: Feelings long enough to be told apart from other words when misspelt by one letter
#: (:func:`_misspelt`): "excellant", "brillant", "terible".
_MIN_FUZZY = 7
_VOWELS = frozenset("aeiouy")

_TOKEN = re.compile(r"[^\W\d_](?:[^\W\d]|['-])*|\d+")
# What older stored data or an export may still hold: redaction placeholders ([EMAIL]),
# @handles and the @user placeholder, links, retweet markers, HTML entities.
_REMOVED = re.compile(
    r"\[[A-Z_]{2,20}\]|(?<![\w@])@\w+|(?i:\b(?:https?://|www\.)\S+)|(?i:\bhttps?\b)|(?<!\w)RT\b|&\w{2,6};"
)
# Laughter and hesitation of any length: haha, hahahah, hehe, ahah, lolol, lmaooo, hmmmm, ummm.
_LAUGHTER = re.compile(r"(?:a?h+[aeiou]+)+h*|(?:l+o+)+l+|l+m+f*a+o+|r+o+f+l+|x+d+|h+m+|u+m+|e+r+m+")
# A pronoun's contraction: i'd, we'll, you're, they've, it'd, that'll, let's (not "customer's").
_CONTRACTION = re.compile(
    r"(?:i|you|we|they|he|she|it|that|there|here|what|who|where|how|let|y)'(?:d|ll|re|ve|s|m|all)"
)
_REPEAT3 = re.compile(r"(.)\1{2,}")


def representation_text(text: str) -> str:
    """The text c-TF-IDF counts words in: without placeholders, handles, links or retweet marks.

    >>> representation_text("@user RT my [EMAIL] http://x.co/a bounced")
    'my bounced'
    """
    return " ".join(_REMOVED.sub(" ", text).split())


def words_of(text: str) -> list[str]:
    """The lower-cased word and number tokens of a name or candidate (letters of any script).

    >>> words_of("Für die Rückerstattung, log-in 24h")
    ['für', 'die', 'rückerstattung', 'log-in', '24', 'h']
    """
    return _TOKEN.findall(text.lower().replace("’", "'"))


def _normal(token: str) -> str:
    return token.replace("’", "'").strip("'_-").lower()


def _unstretched(token: str) -> set[str]:
    """``token`` and its stretched letters (3 or more in a row) read once or twice:
    "amazingggggg" -> amazing, "sooo" -> so, "loveee" -> love, "asssss" -> ass.

    >>> sorted(_unstretched("sooo"))
    ['so', 'soo', 'sooo']
    """
    return {token, _REPEAT3.sub(r"\1", token), _REPEAT3.sub(r"\1\1", token)}


def inflections(word: str) -> set[str]:
    """``word`` and what it may be an inflection of: "pricks" -> prick, "pissing" -> piss,
    "sodding" -> sod, "wankers" -> wanker, wank (crude, for word-list look-ups only)."""
    forms = {word}
    for suffix in ("s", "es", "ing", "in", "in'", "n", "ed", "er", "ers", "y", "ies", "ish"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 2:
            stem = word[: -len(suffix)]
            forms.add(stem)
            if len(stem) > 2 and stem[-1] == stem[-2]:  # sodding -> sodd -> sod
                forms.add(stem[:-1])
            if suffix == "ies":
                forms.add(stem + "y")
    return forms


def is_placeholder(token: str) -> bool:
    """A placeholder or a number (``user``, ``http``, ``12``, ``[email]``'s ``email``)."""
    token = token.strip("'_-").lower()
    return token in PLACEHOLDERS or any(ch.isdigit() for ch in token) or token.startswith("http")


def is_profane(token: str) -> bool:
    """A swear word, in the plural, inflected, stretched or in a common misspelling.

    >>> [is_profane(w) for w in ("fucks", "fkn", "pricks", "bellends", "shitshow", "fuuuck", "sodding")]
    [True, True, True, True, True, True, True]
    >>> [is_profane(w) for w in ("class", "pass", "hello", "scunthorpe", "dickens", "cocktail", "assistant")]
    [False, False, False, False, False, False, False]
    """
    token = _normal(token).replace("'", "")
    if not token:
        return False
    for form in _unstretched(token):
        if form in PROFANITY or _F_WORD.fullmatch(form):
            return True
        if form.startswith(PROFANE_PREFIXES) or form.endswith(PROFANE_SUFFIXES):
            return True
        if any(stem in PROFANE_ROOTS or stem in PROFANITY for stem in inflections(form)):
            return True
    return False


def is_filler(token: str) -> bool:
    """Chat filler: "yep", "pls", "ur", laughter or hesitation of any length, a pronoun's
    contraction ("i'd", "we'll").

    >>> [is_filler(w) for w in ("hahahah", "hmmmm", "lmaoo", "lolol", "i'd", "we'd", "pls", "yep")]
    [True, True, True, True, True, True, True, True]
    >>> [is_filler(w) for w in ("hold", "customer's", "helm", "lola", "loan")]
    [False, False, False, False, False]
    """
    token = _normal(token)
    if not token:
        return False
    return any(
        form in FILLER or _LAUGHTER.fullmatch(form) is not None or _CONTRACTION.fullmatch(form) is not None
        for form in _unstretched(token)
    )


def is_evaluative(token: str) -> bool:
    """A word that says how the writer feels (or its plural: ``loves``, ``thankss`` typed twice),
    stretched ("amazingggg", "sooo") or misspelt by a letter ("excellant", "brillant", "terible").

    Intensifiers take no plural: "wells" is a name ("Wells Fargo"), not "well".

    >>> is_evaluative("loves"), is_evaluative("well"), is_evaluative("wells")
    (True, True, False)
    >>> is_evaluative("amazingggggg"), is_evaluative("excellant"), is_evaluative("police")
    (True, True, False)
    """
    token = _normal(token)
    return any(
        form in INTENSIFIERS or _in(form, _FEELINGS) or _misspelt(form, _FEELINGS) for form in _unstretched(token)
    )


def feeling_of(token: str) -> int:
    """+1 for a word of praise, -1 for one of blame, 0 otherwise (stretched and misspelt words count)."""
    token = _normal(token)
    for form in _unstretched(token):
        if _in(form, PRAISE) or _misspelt(form, PRAISE):
            return 1
        if _in(form, BLAME) or _misspelt(form, BLAME):
            return -1
    return 0


def _misspelt(token: str, words: frozenset[str]) -> bool:
    """Whether ``token`` is one of ``words`` (of at least :data:`_MIN_FUZZY` letters) with one
    vowel dropped or changed, or one of a doubled letter dropped: "awsome", "excellant",
    "terible". Consonants are never changed: "police" is no "polite", "filed" no "failed".
    """
    if len(token) < _MIN_FUZZY - 1 or not token.isalpha():
        return False
    for word in _fuzzy_index().get(token[:2], ()):
        if word not in words:
            continue
        if len(word) == len(token) + 1 and _one_dropped(word, token):
            return True
        if len(word) == len(token) and _one_vowel_changed(word, token):
            return True
    return False


def _one_dropped(word: str, token: str) -> bool:
    """``token`` is ``word`` less one vowel or one letter of a doubled pair."""
    for i, letter in enumerate(word):
        if word[:i] + word[i + 1 :] == token:
            doubled = (i > 0 and word[i - 1] == letter) or (i + 1 < len(word) and word[i + 1] == letter)
            if letter in _VOWELS or doubled:
                return True
    return False


def _one_vowel_changed(word: str, token: str) -> bool:
    diffs = [(a, b) for a, b in zip(word, token, strict=True) if a != b]
    return len(diffs) == 1 and diffs[0][0] in _VOWELS and diffs[0][1] in _VOWELS


@cache
def _fuzzy_index() -> dict[str, tuple[str, ...]]:
    """The feelings long enough for :func:`_misspelt`, by their first two letters."""
    index: dict[str, list[str]] = {}
    for word in _FEELINGS:
        if len(word) >= _MIN_FUZZY and word.isalpha():
            index.setdefault(word[:2], []).append(word)
    return {key: tuple(sorted(words)) for key, words in index.items()}


def _in(token: str, words: frozenset[str]) -> bool:
    """``token`` or its singular is one of ``words``."""
    return token in words or (token.endswith("s") and token[:-1] in words)


def vectorizer_stop_words(base: Iterable[str]) -> list[str]:
    """``base`` stop words plus every placeholder, profane, evaluative and filler word (c-TF-IDF's
    list; :func:`content_tokens` also drops their inflections, stretched and misspelt forms)."""
    return sorted(set(base) | PLACEHOLDERS | PROFANITY | EVALUATIVE | FILLER)


_VECTOR_TOKEN = re.compile(r"(?u)\b[^\W\d_](?:[^\W\d_]|['-])+\b")


def content_tokens(text: str) -> list[str]:
    """c-TF-IDF's tokenizer: the words of ``text`` (letters of any script, 2 or more), without
    swear words, evaluative words and chat filler in any form (:func:`is_weak_word`), so bigrams
    form over the words that remain ("the fkn app froze" counts "app froze").

    >>> content_tokens("the fkn app froze, hahahah, amazingggg support")
    ['the', 'app', 'froze', 'support']
    """
    return [token for token in _VECTOR_TOKEN.findall(text) if not is_weak_word(token.lower())]


@lru_cache(maxsize=200_000)
def is_weak_word(token: str) -> bool:
    """A token no name may be built on: a placeholder, swear word, evaluative word or filler."""
    return is_placeholder(token) or is_profane(token) or is_evaluative(token) or is_filler(token)


def clean_candidate(candidate: str, stop_words: Iterable[str] = ()) -> str | None:
    """A candidate word or phrase fit for a name, or None.

    Dropped: anything with a placeholder, a number or a swear word. Removed: chat filler
    ("hmmm", "yep", "i'd"). Trimmed: evaluative and stop words at either end. Dropped after
    trimming: nothing left but evaluative or stop words.

    >>> clean_candidate("awful customer service")
    'customer service'
    >>> clean_candidate("user hung") is None, clean_candidate("great") is None
    (True, True)
    >>> clean_candidate("fixed fixed")
    'fixed'
    >>> clean_candidate("hmmm login yep"), clean_candidate("hahahah yep") is None
    ('login', True)

    """
    stop = set(stop_words)
    if representation_text(candidate) != " ".join(candidate.split()):
        return None  # a redaction placeholder, handle or link: not a thing anyone talked about
    tokens = words_of(candidate)
    if not tokens or any(is_placeholder(t) or is_profane(t) for t in tokens):
        return None
    tokens = [t for t in tokens if not is_filler(t)]

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
#: Most texts name nothing, but no one kind is a majority: praise and blame mixed, or emoji alone.
MIXED_ONLY = "mixed reactions, no details"
CONTENT_FREE_NAMES = frozenset({PRAISE_ONLY, BLAME_ONLY, NOTHING_TO_ADD, NOTHING_TO_IMPROVE, MIXED_ONLY})
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

#: Emoji of praise and of blame; any other emoji says something happened, not what.
POSITIVE_EMOJI = frozenset("👍👏🙏❤♥😍🥰😊😀😃😄😁🙂😘🤩🔥💯⭐🌟✨🎉🙌💕💖💗💙💚💛💜🤗😎👌✅🏆🥳💪😻")
NEGATIVE_EMOJI = frozenset("👎😡🤬😠😤💩😞😢😭😩😫🙄😒😔😟😕☹🙁😣😖🤮🤢💔❌😱😰😨🤦🖕")


def content_free_name(texts: Iterable[str], stop_words: Iterable[str] = ()) -> str | None:
    """What a topic is made of when most of its texts name no thing; else None.

    Such topics are real and large in survey answers ("Nothing.", "Very good", "All fine thank
    you"): a CX lead reads "nothing to add" where the words of a few typos ("nothinhg") or a
    bare "other feedback" said nothing. A text with no content word (every word a stop word, an
    evaluative word, chat filler or one of :data:`NOTHING_WORDS`, :data:`IMPROVE_WORDS` and
    :data:`NEGATIONS`; emoji and punctuation alone included) votes "nothing to improve" if it
    negates an improvement ("Could not be better"), "nothing to add" if it starts with a word of
    :data:`NOTHING_WORDS`, else praise or blame by which has more words and emoji, else "mixed"; a
    text with a content word votes for a name from words. The winner needs more than half of the
    texts; when no kind has that but the texts that name nothing do, the topic is
    :data:`MIXED_ONLY`.

    >>> content_free_name(["Very good", "Excellent, thank you", "All fine", "Nothing."])
    'general praise, no details'
    >>> content_free_name(["Nothing", "N/A", "Nothing, thank you", "nothinhg"])
    'nothing to add'
    >>> from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
    >>> answers = ["Could not have been better.", "You can't improve perfection", "Nothing"]
    >>> content_free_name(answers, ENGLISH_STOP_WORDS)
    'nothing to improve'
    >>> content_free_name(["Very good", "Awful", "Nothing"])
    'mixed reactions, no details'
    >>> content_free_name(["👏👏👏", "Parfait!", "Flawless", "amazingggggg", "parcel late"])
    'general praise, no details'
    >>> content_free_name(["Great parking", "Lovely car park", "Great"]) is None
    True
    """
    stop = set(stop_words) | {"at", "all", "to", "add", "the", "a", "i", "it", "was", "everything", "is", "you"}
    votes: Counter[str | None] = Counter()
    for text in texts:
        shown = representation_text(text)
        if not shown.strip():
            continue  # an empty text says nothing either way
        tokens = words_of(shown.lower().replace("n/a", "na"))
        votes[_content_free_vote(tokens, stop, _emoji_feeling(shown))] += 1
    total = sum(votes.values())
    named = [(count, name) for name, count in votes.items() if name is not None and name != MIXED_ONLY]
    if named:
        count, name = max(named)
        if count * 2 > total:
            return name
    content_free = sum(count for name, count in votes.items() if name is not None)
    return MIXED_ONLY if content_free * 2 > total else None


def _emoji_feeling(text: str) -> tuple[int, int]:
    """How many emoji of praise and of blame ``text`` holds."""
    return sum(ch in POSITIVE_EMOJI for ch in text), sum(ch in NEGATIVE_EMOJI for ch in text)


def _content_free_vote(tokens: list[str], stop: set[str], emoji: tuple[int, int] = (0, 0)) -> str | None:
    """What one text of :func:`content_free_name` votes for; None for a text that names a thing
    or that only weighs a feeling it never states ("really really so")."""
    words = set(tokens)
    if any(
        len(t) > 1 and t not in stop and t not in _NAMES_NOTHING and not is_evaluative(t) and not is_filler(t)
        for t in words
    ):
        return None
    if words & IMPROVE_WORDS:
        # "Could not be better" says nothing could; "Everything can be improved" is no such answer.
        return NOTHING_TO_IMPROVE if words & NEGATIONS else None
    if tokens and tokens[0] in NOTHING_WORDS:
        return NOTHING_TO_ADD
    feelings = [feeling_of(t) for t in tokens]
    praise = feelings.count(1) + emoji[0]
    blame = feelings.count(-1) + emoji[1]
    if praise != blame:
        return PRAISE_ONLY if praise > blame else BLAME_ONLY
    if praise or not tokens:
        return MIXED_ONLY  # as much praise as blame, or emoji and punctuation of no clear feeling
    return None


def acceptable_name(name: str) -> bool:
    """Whether a finished name follows the rules: no placeholder, number, swear word or chat
    filler, and at least one word that is not evaluative (``seeded`` names from the taxonomy
    pass too)."""
    tokens = [t for t in words_of(name) if t not in {"or", "and", "of", "the", "on", "in", "with", "a", "to"}]
    if not tokens:
        return False
    if any(is_placeholder(t) or is_profane(t) or is_filler(t) for t in tokens):
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
