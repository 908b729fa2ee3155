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

_NAME = re.compile(r"\b(" + "|".join(NAMES) + r")\b")
_PLACE = re.compile(r"\b(" + "|".join(PLACES) + r")\b")


def perturb(text: str, rng: np.random.Generator) -> str:
    """``text`` with one label-preserving change: an emoji, a brand hashtag, a greeting to a
    brand, a signed name, or a name or place swapped for another."""
    if _NAME.search(text):
        return _NAME.sub(lambda m: _other(m.group(0), NAMES, rng), text)
    if _PLACE.search(text):
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


def _other(word: str, choices: list[str], rng: np.random.Generator) -> str:
    return str(rng.choice([c for c in choices if c != word]))


def invariance_copies(table: TrainingTable, copies: int, seed: int) -> TrainingTable:
    """``copies`` perturbed copies of every training row of origin ``corpus``, same labels and
    weight, origin ``augmented``; never in the calibration split."""
    frame = table.frame
    rows = np.flatnonzero(((frame["origin"] == "corpus") & (frame["split"] == "train")).to_numpy())
    rng = np.random.default_rng(seed)
    picked = np.tile(rows, copies)
    out = frame.iloc[picked].copy()
    out["text"] = [perturb(t, rng) for t in out["text"]]
    out["origin"] = "augmented"
    out["split"] = "train"
    return TrainingTable(
        out.reset_index(drop=True),
        table.touchpoints[picked].copy(),
        table.touchpoint_labels,
        {"cx_corpus (invariance copies)": {"used": len(out)}},
    )


def augmented(table: TrainingTable, copies: int, seed: int) -> TrainingTable:
    """``table`` with its invariance copies appended (unchanged when ``copies`` is 0)."""
    if copies <= 0:
        return table
    return combine([table, invariance_copies(table, copies, seed)])
