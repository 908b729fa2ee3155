"""A plain-Python statement of the mention rule and the count statistics: the test oracle.

The library has one definition of both, in SQL (``feedback_nlp/scoring/duck.py``:
``mention_rule_sql`` and ``group_counts_sql``), which every local entry point runs. This
module writes the same rules the slow, obvious way so the tests can check the SQL against
something that is not itself; it is never imported by the library.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from feedback_nlp.scoring.aggregate import COUNT_COLUMNS, SCORE_SCALE, canonical_counts
from feedback_nlp.scoring.frame import with_fields


def segment_sentiment(segments: Sequence[dict[str, Any]]) -> tuple[str, float]:
    """Majority label (ties: the latest segment's), mean score summed left to right."""
    tally: dict[str, tuple[int, int]] = {}
    total = 0.0
    for position, segment in enumerate(segments):
        label = segment["sentiment"]["label"]
        tally[label] = (tally.get(label, (0, -1))[0] + 1, position)
        total += segment["sentiment"]["score"]
    return max(tally, key=lambda name: tally[name]), total / len(segments)


def record_mentions(touchpoints: list[dict[str, Any]], segments: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """``(touchpoint, confidence, label or None, score or None, from)`` per touchpoint, by name."""
    confidence = {t["label"]: t["confidence"] for t in touchpoints}
    about: dict[str, list[dict[str, Any]]] = {}
    best: dict[str, float] = {}
    for segment in segments:
        for t in segment["touchpoints"]:
            seen = best.get(t["label"], -math.inf)
            best[t["label"]] = max(seen, t["confidence"]) if not math.isnan(t["confidence"]) else seen
        for name in dict.fromkeys(t["label"] for t in segment["touchpoints"]):
            about.setdefault(name, []).append(segment)
    for name, value in best.items():
        confidence.setdefault(name, value if value > -math.inf else math.nan)
    out = []
    for name in sorted(confidence):
        if name in about:
            out.append((name, confidence[name], *segment_sentiment(about[name]), "segments"))
        else:
            out.append((name, confidence[name], None, None, "text"))
    return out


def mentions(records: pd.DataFrame, metadata_keys: Sequence[str] = ()) -> pd.DataFrame:
    """One row per (record, touchpoint) with the mention's sentiment and every flat record column."""
    frame = with_fields(records, metadata_keys)
    flat = [c for c in frame.columns if c not in ("metadata", "touchpoints", "segments", "topic")]
    rows = []
    for _, record in frame.iterrows():
        for name, conf, label, score, origin in record_mentions(record["touchpoints"], record["segments"]):
            row = {c: record[c] for c in flat}
            row.update(touchpoint=name, touchpoint_confidence=conf, sentiment_from=origin)
            if origin == "segments":
                row.update(sentiment_label=label, sentiment_score=score)
            rows.append(row)
    return pd.DataFrame(rows, columns=[*flat, "touchpoint", "touchpoint_confidence", "sentiment_from"])


def counts(frame: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """The count table of ``frame`` by ``by``, with numpy and a pandas groupby."""
    keys = list(by)
    label, nps, rating = frame["sentiment_label"], frame["nps"].astype("float64"), frame["rating"].astype("float64")
    units = np.floor(frame["sentiment_score"].to_numpy(dtype="float64") * SCORE_SCALE + 0.5).astype("int64")
    flags = {
        "n": np.ones(len(frame), dtype="int64"), "n_negative": label.eq("negative"), "n_neutral": label.eq("neutral"),
        "n_positive": label.eq("positive"), "sum_score_e5": units, "sum_score_sq_e10": units * units,
        "n_nps": nps.notna(), "n_promoters": nps.ge(9), "n_detractors": nps.le(6),
        "n_csat": rating.notna(), "n_satisfied": rating.ge(4),
    }  # fmt: skip
    stats = pd.DataFrame({name: np.asarray(v).astype("int64") for name, v in flags.items()}, index=frame.index)
    if not keys:
        return canonical_counts(stats.sum().to_frame().T if len(stats) else stats.iloc[:0], keys)
    for key in keys:
        stats[key] = frame[key].astype(object).where(frame[key].notna(), None)
    table = stats.groupby(keys, dropna=False, sort=False)[list(COUNT_COLUMNS)].sum().reset_index()
    return canonical_counts(table, keys)
