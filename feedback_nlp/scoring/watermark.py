"""Where an incremental score run over the database resumes: the watermark and the gaps below it.

Stored records are read in storage order (the primary key) after the last run's watermark. On
PostgreSQL a key is handed out when a row is written, not when its transaction commits, so a slow
ingest can commit a smaller key after a run has already read a larger one. Keys below the
watermark that a run did not see are kept as *gaps*, and the next run reads them again: a record
committed late is counted then. A gap is dropped once it is older than :data:`GAP_HORIZON` and a
later run has looked at it (a transaction left open that long is not waited for). Keys that a
rejected insert used up (PostgreSQL's sequences never give them back) are such gaps too, so the
list stays bounded by the horizon and by :data:`MAX_GAPS`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

logger = logging.getLogger(__name__)

#: How long a key below the watermark is waited for after a run first missed it.
GAP_HORIZON = timedelta(hours=1)
#: Most gap ranges kept (the oldest go first).
MAX_GAPS = 1_000


@dataclass
class Gap:
    """Keys ``low`` to ``high`` (inclusive) not seen by the run that first passed them."""

    low: int
    high: int
    seen: str  # when a run first passed these keys (ISO 8601, UTC)


@dataclass
class ResumePoint:
    """The largest key counted, and the keys below it still awaited."""

    watermark: int | None = None
    gaps: list[Gap] = field(default_factory=list)

    @classmethod
    def from_state(cls, state: dict[str, Any] | None) -> ResumePoint:
        """The resume point stored by the last run (none: read everything)."""
        if not state:
            return cls()
        gaps = [Gap(int(g["low"]), int(g["high"]), str(g["seen"])) for g in state.get("gaps", [])]
        return cls(state.get("watermark"), gaps)

    def to_state(self) -> dict[str, Any]:
        """What the run stores beside its counts."""
        return {"watermark": self.watermark, "gaps": [vars(g) for g in self.gaps]}

    @property
    def gap_ranges(self) -> list[tuple[int, int]]:
        """The key ranges to read again beside those after the watermark."""
        return [(g.low, g.high) for g in self.gaps]

    def advance(self, keys: list[int], now: datetime | None = None) -> list[int]:
        """Take a run's keys in storage order; returns the keys to count (each key once: a key
        counted before, after the watermark and outside every gap, is skipped)."""
        stamp = (now or datetime.now(UTC)).isoformat()
        counted = []
        for key in keys:
            if self.watermark is None or key > self.watermark:
                expected = (self.watermark or 0) + 1
                if key > expected:
                    self.gaps.append(Gap(expected, key - 1, stamp))
                self.watermark = key
                counted.append(key)
            elif self._fill(key):
                counted.append(key)
        return counted

    def expire(self, now: datetime | None = None) -> None:
        """Drop the gaps older than :data:`GAP_HORIZON` (this run has just read them again), and
        the oldest beyond :data:`MAX_GAPS`."""
        cutoff = (now or datetime.now(UTC)) - GAP_HORIZON
        kept = [g for g in self.gaps if datetime.fromisoformat(g.seen) > cutoff]
        if len(kept) > MAX_GAPS:
            logger.warning("%d gaps below the watermark; keeping the newest %d", len(kept), MAX_GAPS)
            kept = kept[-MAX_GAPS:]
        self.gaps = kept

    def _fill(self, key: int) -> bool:
        """Remove ``key`` from the gap holding it; whether one did."""
        for i, gap in enumerate(self.gaps):
            if gap.low <= key <= gap.high:
                parts = [
                    Gap(low, high, gap.seen) for low, high in ((gap.low, key - 1), (key + 1, gap.high)) if low <= high
                ]
                self.gaps[i : i + 1] = parts
                return True
        return False
