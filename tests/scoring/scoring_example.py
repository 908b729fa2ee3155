"""The worked example of ``docs/scores.md``: ten classified records over two ISO weeks.

The numbers the docs derive by hand are asserted in ``test_worked_example.py``; keep the
two in step.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd

from feedback_nlp.scoring.frame import records_from_rows

__all__ = ["EXAMPLE_ROWS", "example_records", "row"]


def _tp(*labels: str) -> list[dict[str, Any]]:
    return [{"label": label, "confidence": 0.9} for label in labels]


def _seg(label: str, score: float, *touchpoints: str) -> dict[str, Any]:
    return {"sentiment": {"label": label, "score": score}, "touchpoints": _tp(*touchpoints)}


def row(
    id: str,
    day: int,
    label: str,
    score: float,
    touchpoints: tuple[str, ...] = (),
    *,
    kind: str = "survey",
    stage: str = "usage",
    topic: str | None = None,
    nps: int | None = None,
    rating: float | None = None,
    segments: list[dict[str, Any]] | None = None,
    metadata: dict[str, Any] | None = None,
    source: str | None = "web",
    month: int = 3,
    year: int = 2024,
) -> dict[str, Any]:
    """One records-frame row; ``day`` of March 2024 (noon UTC) unless ``month``/``year`` say otherwise."""
    return {
        "id": id,
        "source": source,
        "kind": kind,
        "created_at": datetime(year, month, day, 12, tzinfo=UTC),
        "rating": rating,
        "nps": nps,
        "metadata": metadata or {},
        "sentiment_label": label,
        "sentiment_score": score,
        "journey_stage": stage,
        "touchpoints": _tp(*touchpoints),
        "segments": segments or [],
        "topic": None if topic is None else {"id": len(topic), "label": topic, "confidence": 0.8},
    }


NORTH, SOUTH = {"region": "north"}, {"region": "south"}

#: Week 1 is 2024-03-04 (days 4-7), week 2 is 2024-03-11 (days 11-14).
EXAMPLE_ROWS: list[dict[str, Any]] = [
    # "The app makes ordering easy"
    row("r1", 4, "positive", 0.8, ("mobile_app",), stage="purchase", topic="easy process", nps=10, metadata=NORTH),
    # "Parcel arrived a week late"
    row("r2", 5, "negative", -0.6, ("delivery",), kind="review", stage="onboarding", topic="delivery delay",
        rating=2, metadata=SOUTH, source="store"),
    # "Love the app, but delivery was late"
    row("r3", 5, "negative", -0.2, ("mobile_app", "delivery"), kind="review", stage="onboarding",
        topic="delivery delay", rating=3, metadata=SOUTH, source="store",
        segments=[_seg("positive", 0.9, "mobile_app"), _seg("negative", -0.8, "delivery")]),
    # "The agent on the phone was lovely"
    row("r4", 6, "positive", 0.6, ("phone",), stage="support", topic="staff friendliness", nps=9, metadata=NORTH),
    # "Forty minutes on hold"
    row("r5", 7, "negative", -0.9, ("phone",), stage="support", topic="long wait or hold time", nps=2,
        metadata=NORTH),
    # "Courier never came, the parcel was a week late"
    row("r6", 11, "negative", -0.7, ("delivery",), kind="review", stage="onboarding", topic="delivery delay",
        rating=1, metadata=SOUTH, source="store"),
    # "Quick checkout in the app"
    row("r7", 12, "positive", 0.7, ("mobile_app",), stage="purchase", topic="easy process", nps=8, metadata=NORTH),
    # "The app looks nice. It crashed twice. A call to support sorted it."
    row("r8", 12, "neutral", 0.1, ("mobile_app",), stage="usage", topic="app or website problem", nps=7,
        metadata=NORTH,
        segments=[_seg("positive", 0.6, "mobile_app"), _seg("negative", -0.4, "mobile_app"),
                  _seg("positive", 0.5, "phone")]),
    # "Delivery was fast and the tracking clear"
    row("r9", 13, "positive", 0.5, ("delivery",), kind="review", stage="onboarding",
        topic="communication and updates", rating=5, metadata=SOUTH, source="store"),
    # "Why is nobody answering?"
    row("r10", 14, "negative", -0.5, (), kind="social", stage="support", source="twitter"),
]  # fmt: skip


def example_records() -> pd.DataFrame:
    """The example as a records frame."""
    return records_from_rows(EXAMPLE_ROWS)
