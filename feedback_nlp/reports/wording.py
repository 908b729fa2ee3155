"""Numbers and test results in words, for reports read by people who do not read p-values.

Plain functions from values to short strings; the template escapes whatever they return.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from feedback_nlp.topics.trends import Period, period_label

MINUS = "\u2212"
DASH = "\u2014"
_PERIOD_NOUN = {"day": "day", "week": "week", "month": "month"}


def number(value: float | None) -> str:
    """A whole number with thousands separators and a true minus sign; a dash when missing."""
    if value is None or not math.isfinite(value):
        return DASH
    return f"{round(value):,}".replace("-", MINUS)


def percent(share: float | None, digits: int = 1) -> str:
    """A share in [0, 1] as a percentage, e.g. ``0.123`` → ``12.3%``; a dash when missing."""
    if share is None or not math.isfinite(share):
        return DASH
    return f"{100 * share:.{digits}f}%".replace("-", MINUS)


def signed(value: float | None, digits: int = 0, unit: str = "") -> str:
    """A change with its sign, e.g. ``+12``, ``−3.5 pts``; a dash when missing."""
    if value is None or not math.isfinite(value):
        return DASH
    text = f"{value:+.{digits}f}".replace("-", MINUS)
    if text in (f"{MINUS}0", f"{MINUS}{0:.{digits}f}"):
        text = text.replace(MINUS, "+")  # no "−0"
    return f"{text}{unit}"


def periods(count: int, period: Period) -> str:
    """``"4 weeks"``, ``"1 day"``."""
    noun = _PERIOD_NOUN[period]
    return f"{count} {noun}{'' if count == 1 else 's'}"


def period_span(start: pd.Timestamp, period: Period) -> str:
    """A period's name and dates, e.g. ``2024-W23 (3 Jun – 9 Jun 2024)``."""
    name = period_label(start, period)
    if period == "day":
        return f"{start.day} {start:%b %Y}"
    last = start + (pd.DateOffset(weeks=1) if period == "week" else pd.DateOffset(months=1)) - pd.Timedelta(days=1)
    return f"{name} ({start.day} {start:%b} \u2013 {last.day} {last:%b %Y})"


def chance(p: float) -> str:
    """How often chance alone would give a change as large, in words."""
    if not math.isfinite(p):
        return "could not be tested"
    if p < 0.001:
        return "less than once in 1,000"
    return f"about once in {number(max(1.0, 1 / p)) if p > 0 else DASH}"


def describe_trend(row: Mapping[str, Any], period: Period, tested: int) -> str:
    """One sentence on an emerging or declining topic and how sure the test is of it.

    Args:
        row: A row of :func:`~feedback_nlp.topics.trends.emerging_topics`.
        period: The period the trends were computed by.
        tested: How many topics the p-values were adjusted for.

    Returns:
        E.g. "42 mentions in 2024-W23, 31.0% of all feedback, against 9.8% over the
        previous 4 weeks: 3.2× as common. Chance alone would give a change this large
        less than once in 1,000 (Fisher's exact test, adjusted p < 0.001 over 6 topics)."
    """
    name = period_label(row["period"], period)
    then = f"over the previous {periods(int(row['baseline_periods']), period)}"
    if row["baseline_count"] == 0:
        before = f"no mentions {then}: new this {_PERIOD_NOUN[period]}"
    else:
        before = f"against {percent(row['baseline_share'])} {then}: {_ratio(row['ratio'])}"
    p = float(row["p_adjusted"])
    shown = "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
    return (
        f"{number(row['count'])} mentions in {name}, {percent(row['share'])} of all feedback, "
        f"{before}. Chance alone would give a change this large {chance(p)} "
        f"(Fisher's exact test, adjusted {shown} over {tested} topic{'' if tested == 1 else 's'})."
    )


def _ratio(ratio: float) -> str:
    if ratio >= 1:
        return f"{ratio:.1f}\u00d7 as common"
    return f"{percent(1 - ratio, 0)} less common"
