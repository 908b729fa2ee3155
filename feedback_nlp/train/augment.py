"""Invariance copies: corpus texts with a change that must not move any label.

The behavioural suite (:mod:`feedback_nlp.train.behaviour`) checks that adding an emoji or a
hashtag, or changing a person's name, a brand or a place, leaves sentiment, stage and touchpoints
as they were. Linear heads over a frozen encoder learn that only if they see it: each copy keeps
its source row's labels and adds one such change, so the heads' weights turn away from the
directions those changes move the embedding in.

The names, brands, places and emoji here are deliberately disjoint from the behavioural suite's,
so the suite still measures generalisation rather than recall of its own strings (a test checks
the two lists share nothing).
"""

from __future__ import annotations

import re

import numpy as np

from feedback_nlp.train.corpus_data import combine
from feedback_nlp.train.data import TrainingTable
from feedback_nlp.train.pairing import PAIR_KEY

#: Emoji that say nothing about how the writer feels.
NEUTRAL_EMOJI = ["📌", "📎", "📍", "📷", "💬", "🔁", "📅", "🧾"]
BRANDS = [
    "Acornfield",
    "Bluepeak",
    "Corvid Bank",
    "Dunmore Energy",
    "Elmstead",
    "Fernway",
    "Galloway Foods",
    "Harrowgate Mobile",
    "Ivybridge",
    "Juniper Telecom",
    "Kestrel Insurance",
    "Larchmont",
]
NAMES = ["Priya", "Liam", "Chen", "Fatima", "Olu", "Grace", "Mateo", "Yusuf", "Hannah", "Kwame", "Ingrid", "Ravi"]
PLACES = ["Bristol", "Cardiff", "Austin", "Perth", "Dublin", "Lagos", "Mumbai", "Ottawa", "Bergen", "Pune"]

# With ``swaps`` (data.invariance_swaps): a real brand or first name the text names is swapped
# for a made-up one, as a user's feedback names theirs.

#: Made-up brand names of two parts, so that a brand may sound like its trade ("Harbourpay",
#: "Cedar Mobile") as real ones do.
_BRAND_HEADS = [
    "Acorn",
    "Harbour",
    "Cedar",
    "Ember",
    "Quarry",
    "Nimbus",
    "Atlas",
    "Orchid",
    "Copper",
    "Falcon",
    "Maple",
]
_BRAND_TAILS = ["field", "pay", " Mobile", " Energy", "mart", " Foods", "ware", " Insurance", "lux", " Health", "net"]
MADE_UP_BRANDS = BRANDS + sorted({f"{head}{tail}" for head in _BRAND_HEADS for tail in _BRAND_TAILS} - set(BRANDS))
MORE_NAMES = NAMES + [
    "Siobhan", "Tariq", "Mei", "Diego", "Amara", "Lukas", "Noor", "Keisha", "Arjun", "Freya", "Emeka", "Sofia",
]  # fmt: skip
#: Real brands the corpus texts name (counted over the 9,716 texts: Monzo 217, N26 109, Revolut
#: 108, Apple 53, ...). Only names that are not also everyday words at the start of a sentence,
#: and no social network or messenger (Twitter, Facebook, YouTube, Skype): naming one is what
#: makes a text's touchpoint ``social_media`` or ``chat``, so swapping it would change a label.
REAL_BRANDS = [
    "Monzo", "N26", "Revolut", "Apple", "Amazon", "Experian", "Google", "Chase", "Equifax", "Xbox",
    "Wells Fargo", "Microsoft", "Transunion", "TransUnion", "Dropbox", "Spotify", "Adobe", "Hulu", "eBay",
    "Tesco", "Starling", "Yahoo", "Citi", "Citibank", "PayPal", "Capital One", "Navient", "Chipotle",
    "Costco", "Barclays", "Verizon", "Honda",
    "McDonald's", "McDonalds", "Santander", "Lloyds", "Netflix", "Samsung", "Lenovo", "Fitbit", "Comcast",
    "BofA", "Bank of America", "Chime", "Vodafone", "Nordstrom", "PlayStation", "Walmart", "GoDaddy",
    "Halifax", "Starbucks", "NatWest", "Argos", "Sainsbury's", "Morrisons", "Asda", "Lidl", "Aldi",
]  # fmt: skip
#: First names the corpus texts use for staff and customers (Brian 20, Ian 19, John 13, ...).
#: Names that are also words ("Mark", "Bill", "Will") are left out, and so are the behavioural
#: suite's own names, which no training text is rewritten from or into.
REAL_NAMES = [
    "Brian", "Ian", "John", "Paul", "Tim", "Zach", "David", "Charles", "Carl", "Kyle", "Mike", "James",
    "George", "Brandon", "Alex", "Ashley", "Anna", "Alice", "Chris", "Peter", "Justin", "Kelly", "Henry",
    "Andrew", "Richard", "Joshua", "Matthew", "Laura", "Steven", "Anthony", "Ryan", "Sophie", "Eric",
    "Jerry", "Daniel", "Emma", "Scott", "Jacob", "Ben", "Michelle", "Janet", "Michael", "Jessica",
    "Heather", "Amanda", "Kevin", "Jane", "Jack", "Patrick", "Carlos", "Mary", "Julie", "Kate", "Megan",
    "Steve", "Claire", "Olivia", "Rachel", "Nicole", "Jennifer", "Lisa", "Karen", "Dave", "Rob", "Dan",
]  # fmt: skip


def _words(words: list[str]) -> re.Pattern[str]:
    """Any of ``words`` as a whole word (not inside a handle or hashtag), longest first."""
    alternatives = "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))
    return re.compile(r"(?<![@#\w])(" + alternatives + r")(?!\w)")


_NAME = re.compile(r"\b(" + "|".join(NAMES) + r")\b")
_PLACE = re.compile(r"\b(" + "|".join(PLACES) + r")\b")
_SWAPS = [
    (_words(REAL_BRANDS + MADE_UP_BRANDS), MADE_UP_BRANDS),
    (_words(REAL_NAMES + MORE_NAMES), MORE_NAMES),
    (_words(PLACES), PLACES),
]


def perturb(text: str, rng: np.random.Generator, *, swaps: bool = False) -> str:
    """``text`` with one label-preserving change: an emoji, a brand hashtag, a greeting to a
    brand, a signed name, or a name or place swapped for another.

    With ``swaps``, a text that names a real brand, a first name or a place gets that swapped
    for a made-up one instead (every mention of it alike)."""
    if swaps:
        for pattern, choices in _SWAPS:
            if pattern.search(text):
                return _swap_all(text, pattern, choices, rng)
    elif _NAME.search(text):
        return _NAME.sub(lambda m: _other(m.group(0), NAMES, rng), text)
    elif _PLACE.search(text):
        return _PLACE.sub(lambda m: _other(m.group(0), PLACES, rng), text)
    brand = str(rng.choice(BRANDS))
    choice = int(rng.integers(5))
    if choice == 0:
        return f"{text} {rng.choice(NEUTRAL_EMOJI)}"
    if choice == 1:
        return f"{text} #{brand.replace(' ', '')}"
    if choice == 2:
        return f"Hi {brand}, {text}"
    if choice == 3:
        return f"{text} - {rng.choice(NAMES)}"
    return f"{text} ({rng.choice(PLACES)})"


def _swap_all(text: str, pattern: re.Pattern[str], choices: list[str], rng: np.random.Generator) -> str:
    """Every match of ``pattern`` replaced, the same word by the same other word."""
    chosen: dict[str, str] = {}

    def replace(match: re.Match[str]) -> str:
        word = match.group(0)
        if word not in chosen:
            chosen[word] = _other(word, choices, rng)
        return chosen[word]

    return pattern.sub(replace, text)


def _other(word: str, choices: list[str], rng: np.random.Generator) -> str:
    return str(rng.choice([c for c in choices if c != word]))


def invariance_copies(table: TrainingTable, copies: int, seed: int, *, swaps: bool = False) -> TrainingTable:
    """``copies`` perturbed copies of every training row of origin ``corpus``, same labels and
    weight, origin ``augmented``; never in the calibration split. Each copy's ``pair_key`` is
    the position of its row in ``table``."""
    frame = table.frame
    rows = np.flatnonzero(((frame["origin"] == "corpus") & (frame["split"] == "train")).to_numpy())
    rng = np.random.default_rng(seed)
    picked = np.tile(rows, copies)
    out = frame.iloc[picked].copy()
    out["text"] = [perturb(t, rng, swaps=swaps) for t in out["text"]]
    out["origin"] = "augmented"
    out["split"] = "train"
    out[PAIR_KEY] = picked
    return TrainingTable(
        out.reset_index(drop=True),
        table.touchpoints[picked].copy(),
        table.touchpoint_labels,
        {"cx_corpus (invariance copies)": {"used": len(out)}},
    )


def augmented(table: TrainingTable, copies: int, seed: int, *, swaps: bool = False) -> TrainingTable:
    """``table`` with its invariance copies appended (unchanged when ``copies`` is 0); every row
    of ``table`` gets its position as ``pair_key``, so each copy can be paired with its row
    (:mod:`feedback_nlp.train.pairing`)."""
    if copies <= 0:
        return table
    keyed = TrainingTable(
        table.frame.assign(**{PAIR_KEY: np.arange(len(table.frame))}),
        table.touchpoints,
        table.touchpoint_labels,
        table.fingerprints,
    )
    return combine([keyed, invariance_copies(keyed, copies, seed, swaps=swaps)])
