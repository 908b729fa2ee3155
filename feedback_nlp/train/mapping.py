"""Map each dataset's native labels onto the taxonomy, from the reviewed tables in ``mappings/``.

Every table row carries the reason for its mapping (see ``mappings/README.md``). What a native
label does not determine stays unknown (``None``): the trainer masks unknown labels out of
the loss for that task instead of guessing them. Channel touchpoints come from weak
supervision (:mod:`feedback_nlp.train.weak`), not from the tables.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import pandas as pd

from feedback_nlp.errors import DataError

UNKNOWN = "?"


@dataclass(frozen=True)
class LabelMap:
    """What one native label says in taxonomy terms; ``None`` means it does not say."""

    sentiment: str | None
    journey_stage: str | None
    touchpoints: frozenset[str] | None
    priority: int = 0


@lru_cache
def load_table(name: str) -> dict[str, LabelMap]:
    """Read ``mappings/<name>.csv`` into native label -> LabelMap."""
    resource = resources.files("feedback_nlp.train").joinpath("mappings", f"{name}.csv")
    if not resource.is_file():
        raise DataError(f"No mapping table mappings/{name}.csv in the package")
    table: dict[str, LabelMap] = {}
    with resource.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            tps = (row.get("touchpoints") or "").strip()
            table[row["native_label"].strip()] = LabelMap(
                sentiment=(row.get("sentiment") or "").strip() or None,
                journey_stage=(row.get("journey_stage") or "").strip() or None,
                touchpoints=None if tps == UNKNOWN else frozenset(t.strip() for t in tps.split("|") if t.strip()),
                priority=int(row.get("priority") or 0),
            )
    return table


def _lookup(table: dict[str, LabelMap], label: str) -> LabelMap:
    return table.get(label, LabelMap(None, None, None))


def _combine(maps: Iterable[LabelMap]) -> LabelMap:
    """Combine the maps of a multi-label text: the highest-priority stage, the union of touchpoints,
    negative sentiment if any label says so."""
    maps = list(maps)
    staged = [m for m in maps if m.journey_stage]
    stage = max(staged, key=lambda m: m.priority).journey_stage if staged else None
    sentiments = {m.sentiment for m in maps if m.sentiment}
    sentiment = "negative" if "negative" in sentiments else (sentiments.pop() if len(sentiments) == 1 else None)
    known = [m.touchpoints for m in maps if m.touchpoints is not None]
    touchpoints = frozenset().union(*known) if known else None
    return LabelMap(sentiment, stage, touchpoints)


def _map_row(row: pd.Series) -> LabelMap:
    source = row["source"]
    if source in ("banking77", "bitext_support", "tweeteval_sentiment"):
        names = {"banking77": "banking77", "bitext_support": "bitext", "tweeteval_sentiment": "tweeteval"}
        return _lookup(load_table(names[source]), row["native_label"])
    if source == "womens_clothing_reviews":
        base = _lookup(load_table("womens_clothing"), row["native_label"])
        if base.sentiment is None:
            # A 3-star review is mixed; the overall verdict decides (kept it / sent it back).
            verdict = "positive" if int(row["recommended"]) == 1 else "negative"
            base = LabelMap(verdict, base.journey_stage, base.touchpoints)
        return base
    if source in ("nlupp_banking", "nlupp_hotels"):
        table = load_table(source)
        mapped = _combine(_lookup(table, i) for i in row["intents"])
        # NLU++ messages are requests; without a problem intent they are neutral.
        return LabelMap(mapped.sentiment or "neutral", mapped.journey_stage, mapped.touchpoints)
    if source == "mams":
        return _map_mams(row["aspects"])
    if source == "cfpb_complaints":
        issue = _lookup(load_table("cfpb_issue"), row["issue"]) if row["issue"] else None
        product = _lookup(load_table("cfpb_product"), row["product"])
        chosen = issue or product
        touchpoints = chosen.touchpoints
        if touchpoints is None and issue is not None:
            touchpoints = product.touchpoints
        return LabelMap("negative", chosen.journey_stage or product.journey_stage, touchpoints)
    raise DataError(f"No label mapping for source '{source}'")


def _map_mams(aspects: list[tuple[str, str]]) -> LabelMap:
    table = load_table("mams")
    polarities = {p for _, p in aspects} - {"neutral"}
    # MAMS sentences hold aspects of different polarities; only one-sided ones get a label.
    sentiment = polarities.pop() if len(polarities) == 1 else (None if polarities else "neutral")
    mapped = _combine(_lookup(table, c) for c, _ in aspects)
    return LabelMap(sentiment, mapped.journey_stage or "usage", mapped.touchpoints)


def map_to_taxonomy(rows: pd.DataFrame) -> pd.DataFrame:
    """Add ``sentiment``, ``journey_stage`` and ``touchpoints`` (a frozenset or None) to ``rows``."""
    maps = [_map_row(row) for _, row in rows.iterrows()]
    return rows.assign(
        sentiment=[m.sentiment for m in maps],
        journey_stage=[m.journey_stage for m in maps],
        touchpoints=[m.touchpoints for m in maps],
    )
