"""Invariance copies: labels kept, corpus training rows only, and nothing borrowed from the suite."""

from __future__ import annotations

import numpy as np
from factories import small_corpus_table

from feedback_nlp.train import augment, behaviour

LABELS = ["phone", "website"]


_table = small_corpus_table


def test_copies_keep_every_label_and_weight_of_their_row() -> None:
    table = _table()
    out = augment.augmented(table, copies=2, seed=0)
    extra = out.frame[out.frame["origin"] == "augmented"]
    assert len(extra) == 4  # two corpus training rows, twice each
    source_rows = table.frame.iloc[[0, 1, 0, 1]]
    for column in ("sentiment", "journey_stage", "weight", "kind", "source"):
        assert extra[column].tolist() == source_rows[column].tolist()
    np.testing.assert_array_equal(out.touchpoints[-4:], table.touchpoints[[0, 1, 0, 1]])
    assert set(extra["split"]) == {"train"}  # never calibrated on
    assert all(new != old for new, old in zip(extra["text"], source_rows["text"], strict=True))


def test_only_corpus_training_rows_are_copied_and_zero_copies_is_a_no_op() -> None:
    table = _table()
    out = augment.augmented(table, copies=1, seed=1)
    extra = out.frame[out.frame["origin"] == "augmented"]
    assert not extra["text"].str.contains("Mapped text|Held out").any()
    assert augment.augmented(table, copies=0, seed=1) is table


def test_a_name_or_place_in_the_text_is_swapped_rather_than_added() -> None:
    rng = np.random.default_rng(3)
    swapped = augment.perturb("Great website, Priya in Bristol helped", rng)
    assert swapped.startswith("Great website, ") and swapped.endswith(" in Bristol helped")


def test_perturbations_share_nothing_with_the_behavioural_suite() -> None:
    """The suite measures invariance to names, brands, places and emoji the heads never saw."""
    suite_names = {n for pair in behaviour.NAMES for n in pair}
    suite_places = {p for pair in behaviour.PLACES for p in pair}
    suite_brands = {info["brand"] for info in behaviour.INDUSTRIES.values()}
    suite_emoji = {suffix.strip() for capability in ("emoji",) for _, suffix in behaviour.PERTURBATIONS[capability]}
    assert not suite_names & set(augment.MORE_NAMES + augment.REAL_NAMES)
    assert not suite_places & set(augment.PLACES)
    assert not suite_brands & set(augment.MADE_UP_BRANDS + augment.REAL_BRANDS)
    assert not suite_emoji & set(augment.NEUTRAL_EMOJI)


def test_a_real_brand_is_swapped_for_a_made_up_one_alike_at_every_mention() -> None:
    rng = np.random.default_rng(5)
    swapped = augment.perturb("Monzo froze my card and Monzo chat never replied", rng, swaps=True)
    first, rest = swapped.split(" froze my card and ")
    assert first in augment.MADE_UP_BRANDS
    assert rest == f"{first} chat never replied"


def test_a_real_first_name_is_swapped_but_a_word_that_is_also_a_name_is_not() -> None:
    rng = np.random.default_rng(6)
    swapped = augment.perturb("Brian on the phone sorted it", rng, swaps=True)
    assert swapped.endswith(" on the phone sorted it")
    assert swapped.split()[0] in augment.MORE_NAMES
    kept = augment.perturb("Mark my words, the bill was wrong", np.random.default_rng(6), swaps=True)
    assert "Mark my words, the bill was wrong" in kept  # only an addition, no swap


def test_handles_and_hashtags_are_not_rewritten_as_brands() -> None:
    swapped = augment.perturb("@Monzo #Monzo why", np.random.default_rng(7), swaps=True)
    assert "@Monzo #Monzo why" in swapped


def test_without_swaps_a_real_brand_or_name_is_left_and_something_is_added() -> None:
    """The default copies (data.invariance_swaps = false), as the shipped bundle was trained."""
    text = "Monzo froze my card, Brian was no help"
    changed = augment.perturb(text, np.random.default_rng(8))
    assert text in changed and changed != text
