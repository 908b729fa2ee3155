"""The training table: every dataset loaded, mapped onto the taxonomy, weakly labelled where the
mapping is silent, the gold texts removed, and each source capped so no domain dominates."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from feedback_nlp.taxonomy.keywords import KeywordMatcher
from feedback_nlp.taxonomy.labels import SENTIMENT_LABELS, Taxonomy
from feedback_nlp.train.datasets import load_gold, load_source
from feedback_nlp.train.mapping import map_to_taxonomy

logger = logging.getLogger(__name__)

#: Touchpoints that are channels: a text that does not name one is not about it.
CHANNEL_TOUCHPOINTS = frozenset({"website", "mobile_app", "phone", "email", "chat", "social_media"})


def gold_key(text: str) -> str:
    """Match key for leaving gold texts out: lower-cased words, first 80 characters.

    The gold set shortens long texts (a trailing "..."), so exact matching misses some.
    """
    return re.sub(r"\W+", " ", text.lower()).strip()[:80]


@dataclass
class TrainingTable:
    """Texts with their targets: string labels (None = unknown) and a touchpoint matrix."""

    frame: pd.DataFrame  # text, source, kind, sentiment, journey_stage, split
    touchpoints: np.ndarray  # (n, n_touchpoints): 1, 0 or NaN (unknown)
    touchpoint_labels: list[str]
    fingerprints: dict[str, dict[str, object]]

    def select(self, mask: np.ndarray) -> TrainingTable:
        """The rows where ``mask`` is true, as a table of their own."""
        return TrainingTable(
            self.frame[mask].reset_index(drop=True), self.touchpoints[mask], self.touchpoint_labels, self.fingerprints
        )


def weak_touchpoints(mapped: frozenset[str] | None, mentioned: list[str], labels: list[str]) -> np.ndarray:
    """One row of the touchpoint matrix from the mapping and the keyword hits.

    - a channel the text names is 1; a channel it does not name is 0 (never guessed);
    - a non-channel touchpoint the mapping gives is 1, one it rules out is 0, unless the text
      names it, in which case the mapping's silence is not trusted and the label is unknown;
    - with no mapping, non-channel touchpoints are unknown.
    """
    row = np.full(len(labels), np.nan, dtype=np.float32)
    said = set(mentioned)
    for j, label in enumerate(labels):
        if label in CHANNEL_TOUCHPOINTS:
            row[j] = 1.0 if label in said or (mapped is not None and label in mapped) else 0.0
        elif mapped is not None:
            if label in mapped:
                row[j] = 1.0
            elif label not in said:
                row[j] = 0.0
    return row


def _fingerprint(frame: pd.DataFrame) -> str:
    digest = hashlib.sha256()
    for text in frame["text"]:
        digest.update(text.encode("utf-8"))
    return digest.hexdigest()[:16]


def _cap(frame: pd.DataFrame, limit: int, seed: int) -> pd.DataFrame:
    if len(frame) <= limit:
        return frame
    # Stratify by sentiment so a capped source keeps its label mix.
    strata = frame["sentiment"].fillna("?")
    share = limit / len(frame)
    parts = [
        group.sample(n=max(1, round(len(group) * share)), random_state=seed)
        for _, group in frame.groupby(strata, sort=True)
    ]
    capped = pd.concat(parts)
    if len(capped) > limit:  # rounding per stratum can overshoot by a row or two
        capped = capped.sample(n=limit, random_state=seed)
    return capped.sort_index()


def build_training_table(
    data_dir: Path,
    taxonomy: Taxonomy,
    *,
    sources: list[str],
    max_per_source: int,
    eval_fraction: float,
    gold_path: Path | None,
    seed: int = 42,
) -> TrainingTable:
    """Load, map, de-gold, cap and split the training data."""
    gold_keys: set[str] = set()
    if gold_path is not None and gold_path.exists():
        gold_keys = {gold_key(t) for t in load_gold(gold_path)["text"]}
    matcher = KeywordMatcher(taxonomy)
    labels = taxonomy.touchpoint_labels
    frames, fingerprints = [], {}
    for source in sources:
        raw = load_source(source, data_dir)
        kept = raw[~raw["text"].map(gold_key).isin(gold_keys)]
        mapped = map_to_taxonomy(kept)
        mapped = mapped[mapped["sentiment"].isin(SENTIMENT_LABELS) | mapped["sentiment"].isna()]
        capped = _cap(mapped, max_per_source, seed)
        fingerprints[source] = {
            "rows": len(raw),
            "gold_removed": len(raw) - len(kept),
            "used": len(capped),
            "sha256_16": _fingerprint(raw),
        }
        logger.info("%s: %d rows, %d gold removed, %d used", source, len(raw), len(raw) - len(kept), len(capped))
        frames.append(capped)
    frame = pd.concat(frames, ignore_index=True)
    rng = np.random.default_rng(seed)
    frame["split"] = np.where(rng.random(len(frame)) < eval_fraction, "eval", "train")
    stage_ok = frame["journey_stage"].isin(taxonomy.stage_labels)
    frame.loc[~stage_ok, "journey_stage"] = None
    matrix = np.stack(
        [
            weak_touchpoints(
                mapped if mapped is None else frozenset(mapped) & set(labels),
                matcher.matches(text),
                labels,
            )
            for mapped, text in zip(frame["touchpoints"], frame["text"], strict=True)
        ]
    )
    frame = frame[["text", "source", "kind", "sentiment", "journey_stage", "split"]]
    return TrainingTable(frame, matrix, labels, fingerprints)
