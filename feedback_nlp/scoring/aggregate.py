"""Sufficient statistics per group: the one thing a scoring engine computes.

An engine (DuckDB in :mod:`feedback_nlp.scoring.duck` for every local run, Spark in
:mod:`feedback_nlp.spark.score`) turns rows into a **count table**: the group keys, then
:data:`COUNT_COLUMNS`, all whole numbers. Every score is a pure function of these
(:mod:`feedback_nlp.scoring.scores`), so engines agree exactly and count tables of separate
batches or partitions simply add up (:func:`combine_counts`).

Sentiment scores enter as fixed-point integers, ``q = floor(score × 10⁵ + 0.5)``: sums of
integers are exact in any order, so a parallel engine gives the same table on every run.
A score is thereby rounded to 10⁻⁵ (the pipeline reports four decimals).

========================  ==============================================================
``n``                     rows in the group (texts, or mentions for touchpoints)
``n_negative`` etc.       rows with each sentiment label
``sum_score_e5``          Σ q
``sum_score_sq_e10``      Σ q²
``n_nps``                 rows with an NPS answer
``n_promoters``           NPS answers 9-10
``n_detractors``          NPS answers 0-6
``n_csat``                rows with a 1-5 rating
``n_satisfied``           ratings of 4 or more
========================  ==============================================================

Periods are calendar periods in UTC: a day from midnight, an ISO week from Monday, a
month from its first day; a period is named by its first day (a ``datetime.date``).
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Literal, get_args

import numpy as np
import pandas as pd

from feedback_nlp.errors import InputError

__all__ = [
    "COUNT_COLUMNS",
    "PERIODS",
    "SCORE_SCALE",
    "Period",
    "add_period",
    "canonical_counts",
    "check_period",
    "combine_counts",
    "group_counts",
    "period_start",
    "score_units",
    "shift_period",
]

Period = Literal["day", "week", "month"]
"""Calendar periods (UTC) that scores can be broken down by."""

PERIODS: tuple[str, ...] = get_args(Period)

#: Sentiment scores are counted in units of 1 / SCORE_SCALE.
SCORE_SCALE = 100_000

#: The statistics of a count table, after its group keys; all int64.
COUNT_COLUMNS: tuple[str, ...] = (
    "n", "n_negative", "n_neutral", "n_positive", "sum_score_e5", "sum_score_sq_e10",
    "n_nps", "n_promoters", "n_detractors", "n_csat", "n_satisfied",
)  # fmt: skip

#: Columns a frame needs for :func:`group_counts`, besides its group keys.
STAT_INPUTS: tuple[str, ...] = ("sentiment_label", "sentiment_score", "nps", "rating")


# ---------------------------------------------------------------------------- periods


def check_period(period: str) -> None:
    """Raise :class:`InputError` unless ``period`` is one of :data:`PERIODS`."""
    if period not in PERIODS:
        raise InputError(f"period must be one of {list(PERIODS)}, got {period!r}")


def period_start(moment: date | datetime | str, period: Period) -> date:
    """The first day of the period holding ``moment`` (a naive datetime is read as UTC).

    Examples:
        >>> period_start(date(2024, 3, 7), "week"), period_start("2024-03-07T23:00:00-02:00", "day")
        (datetime.date(2024, 3, 4), datetime.date(2024, 3, 8))
    """
    check_period(period)
    if isinstance(moment, str | datetime):
        stamp = pd.Timestamp(moment)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        day: date = stamp.date()
    else:
        day = moment
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day


def shift_period(start: date, period: Period, steps: int) -> date | None:
    """The start of the period ``steps`` periods after (negative: before) the one at ``start``;
    ``None`` when that period lies outside the dates Python holds (years 1 to 9999), as the
    neighbours of a record dated 0001-01-01 or 9999-12-31 do.

    Examples:
        >>> shift_period(date(2024, 3, 1), "month", -1), shift_period(date(2024, 3, 4), "week", 1)
        (datetime.date(2024, 2, 1), datetime.date(2024, 3, 11))
    """
    start = period_start(start, period)
    try:
        if period == "day":
            return start + timedelta(days=steps)
        if period == "week":
            return start + timedelta(weeks=steps)
        months = start.year * 12 + start.month - 1 + steps
        year, month = divmod(months, 12)
        return date(year, month + 1, 1)
    except (OverflowError, ValueError):  # date(10000, 1, 1), date.min - 1 day
        return None


def add_period(frame: pd.DataFrame, period: Period, *, column: str = "created_at") -> pd.DataFrame:
    """A copy of ``frame`` with a ``period`` column: the start of each row's period.

    Args:
        frame: A records or mentions frame.
        period: ``"day"``, ``"week"`` (ISO, from Monday) or ``"month"``; UTC.
        column: The timezone-aware time column to read.

    Returns:
        ``frame`` with ``period`` (``datetime.date``, None where the time is unknown).

    Raises:
        InputError: ``period`` is unknown, or ``column`` is missing or not timezone-aware.
    """
    check_period(period)
    if column not in frame.columns or not isinstance(frame[column].dtype, pd.DatetimeTZDtype):
        found = frame[column].dtype if column in frame.columns else "missing"
        raise InputError(
            f"add_period needs a timezone-aware column {column!r} (got {found}); build the frame with "
            "records_from_rows / records_from_frame, which read times as UTC"
        )
    day = frame[column].dt.tz_convert("UTC").dt.tz_localize(None).dt.floor("D")
    if period == "week":
        day = day - pd.to_timedelta(day.dt.day_of_week, unit="D")
    elif period == "month":
        day = day - pd.to_timedelta(day.dt.day - 1, unit="D")
    out = frame.copy()
    out["period"] = _dates(day)
    return out


def _dates(values: pd.Series) -> pd.Series:
    known = values.notna()
    return pd.Series(
        [d.date() if ok else None for d, ok in zip(values, known, strict=True)], index=values.index, dtype=object
    )


def days_in_period(start: date, period: Period) -> int:
    """How many days the period starting at ``start`` has."""
    if period == "month":
        return calendar.monthrange(start.year, start.month)[1]
    return 7 if period == "week" else 1


# ---------------------------------------------------------------------------- counts


def score_units(scores: pd.Series) -> pd.Series:
    """Scores as fixed-point integers, ``floor(score × SCORE_SCALE + 0.5)`` (what every engine sums).

    Examples:
        >>> score_units(pd.Series([0.8, -0.25, 0.123456])).tolist()
        [80000, -25000, 12346]
    """
    return np.floor(scores.to_numpy(dtype="float64") * SCORE_SCALE + 0.5).astype("int64")


def group_counts(frame: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """The count table of a frame grouped by ``by``, counted by the local engine (DuckDB).

    The statistics are :func:`~feedback_nlp.scoring.duck.group_counts_sql`'s, the one SQL
    definition of every local count table.

    Args:
        frame: A records or mentions frame: ``sentiment_label``, ``sentiment_score``,
            ``nps`` and ``rating``, plus the ``by`` columns.
        by: Group keys; empty for a single overall row. Missing key values form their
            own group (None).

    Returns:
        ``by`` then :data:`COUNT_COLUMNS`, one row per group present, sorted by ``by``
        (None last). An empty frame gives an empty table.

    Raises:
        InputError: A column is missing.

    Examples:
        >>> frame = pd.DataFrame({"touchpoint": ["app", "app"], "sentiment_label": ["positive", "negative"],
        ...                       "sentiment_score": [0.5, -0.5], "nps": [10.0, None], "rating": [None, 2.0]})
        >>> group_counts(frame, ["touchpoint"])[["touchpoint", "n", "n_positive", "n_promoters", "n_csat"]]
          touchpoint  n  n_positive  n_promoters  n_csat
        0        app  2           1            1       1
    """
    keys = list(by)
    missing = [c for c in (*keys, *STAT_INPUTS) if c not in frame.columns]
    if missing:
        raise InputError(
            f"group_counts needs column(s) {missing}; columns found: {list(map(str, frame.columns))}. "
            "Pass a records frame or mentions(records), with add_period(...) for 'period'"
        )
    from feedback_nlp.scoring.duck import frame_counts

    return frame_counts(frame, keys)


def _key_values(values: pd.Series) -> pd.Series:
    """Group-key values as plain Python objects, None for missing, dates for day-level datetimes."""
    naive = pd.api.types.is_datetime64_dtype(values) and not isinstance(values.dtype, pd.DatetimeTZDtype)
    if naive and values.dropna().eq(values.dropna().dt.normalize()).all():
        return _dates(values)  # DuckDB hands DATE keys back as naive midnight datetimes
    out = values.astype(object)
    return out.where(out.notna(), None).astype(object)


def canonical_counts(table: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """A count table in its canonical form: key columns, int64 counts, rows sorted by key.

    Every engine's output goes through this, so tables from different engines compare equal.

    Args:
        table: Group keys and :data:`COUNT_COLUMNS` (extra columns are dropped).
        by: The group keys.

    Returns:
        ``by`` (Python objects: str, ``datetime.date``, None) then :data:`COUNT_COLUMNS`
        (int64), sorted by ``by`` with None last, with a fresh ``RangeIndex``.

    Raises:
        InputError: A column is missing.
    """
    keys = list(by)
    missing = [c for c in (*keys, *COUNT_COLUMNS) if c not in table.columns]
    if missing:
        raise InputError(f"a count table needs the columns {missing}; got {list(map(str, table.columns))}")
    out = pd.DataFrame({key: _key_values(table[key]) for key in keys}, index=table.index)
    for column in COUNT_COLUMNS:
        out[column] = table[column].astype("int64")
    if keys:
        out = out.sort_values(keys, na_position="last", kind="mergesort")
    return out.reset_index(drop=True)


def combine_counts(counts: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Add up count tables' rows over coarser keys (or several batches' tables, concatenated).

    Args:
        counts: One or more count tables concatenated, with at least the ``by`` keys.
        by: The keys to keep; rows agreeing on them are summed.

    Returns:
        A canonical count table (see :func:`canonical_counts`).
    """
    keys = list(by)
    if counts.empty:
        return canonical_counts(counts.iloc[:0], keys)
    if not keys:
        return canonical_counts(counts[list(COUNT_COLUMNS)].sum().to_frame().T, keys)
    table = counts.assign(**{k: _key_values(counts[k]) for k in keys})
    summed = table.groupby(keys, dropna=False, sort=False)[list(COUNT_COLUMNS)].sum().reset_index()
    return canonical_counts(summed, keys)
