"""Topics over time: volume per period, share by touchpoint or stage, emerging topics.

Every function here reads the topic model's ``assignments`` table, one row per feedback
record, with at least the columns it names: ``id``, ``created_at`` (timezone-aware),
``topic`` (int; ``-1`` means unassigned), ``topic_label``, ``sentiment_label``
(negative/neutral/positive), ``journey_stage`` and ``touchpoints`` (a list of names).

Periods are calendar periods in UTC: a day runs from midnight, a week is an ISO week
(Monday to Sunday) and a month starts on its first day. A period is named by the moment
it starts (a UTC ``Timestamp``). Shares always count every text of the period, the
unassigned ones included, so a topic's share does not jump when the outlier rate moves.

Examples:
    >>> weekly = topic_volume(assignments, "week")                    # doctest: +SKIP
    >>> trends = emerging_topics(assignments, "week", baseline_periods=4)  # doctest: +SKIP
    >>> trends[trends.trend == "emerging"][["topic_label", "share", "p_value"]]  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Literal, get_args

import numpy as np
import pandas as pd
from scipy.stats import false_discovery_control, fisher_exact

from feedback_nlp.errors import InputError
from feedback_nlp.taxonomy.labels import SENTIMENT_LABELS

logger = logging.getLogger(__name__)

Period = Literal["day", "week", "month"]
"""Calendar periods (UTC) that the functions here count by."""

ShareField = Literal["touchpoints", "journey_stage"]
"""Columns that :func:`topic_share_by` can break topics down by."""

Trend = Literal["emerging", "declining", "stable"]
"""The verdicts of :func:`emerging_topics`, in the order it sorts them."""

UNASSIGNED = -1
"""The topic number of texts that the topic model left unassigned (its outliers)."""

TRENDS: tuple[str, ...] = get_args(Trend)
PERIODS: tuple[str, ...] = get_args(Period)
_FREQ = {"day": "D", "week": "W-MON", "month": "MS"}
_BASE_COLUMNS = ("id", "created_at", "topic", "topic_label", "sentiment_label")
_VOLUME_COLUMNS = (
    "period", "topic", "topic_label", "volume", "period_total", "share",
    "positive", "neutral", "negative", "net_sentiment",
)  # fmt: skip
_TREND_COLUMNS = (
    "topic", "topic_label", "period", "count", "period_total", "share",
    "baseline_count", "baseline_total", "baseline_share", "baseline_periods",
    "expected", "ratio", "statistic", "p_value", "p_adjusted", "trend",
)  # fmt: skip


# ---------------------------------------------------------------------------- input


def validate_assignments(assignments: pd.DataFrame, columns: Collection[str] = _BASE_COLUMNS) -> pd.DataFrame:
    """Check an assignments table and return a copy with ``created_at`` in UTC.

    Args:
        assignments: The topic model's assignments, one row per feedback record.
        columns: The columns the caller needs; ``created_at``, ``topic`` and
            ``sentiment_label`` are checked further when they are among them.

    Returns:
        A copy of ``assignments`` with ``created_at`` converted to UTC and ``topic`` as int.

    Raises:
        InputError: A column is missing, ``created_at`` is not timezone-aware or has
            gaps, ``topic`` is not whole numbers, or a sentiment label is unknown.
    """
    if not isinstance(assignments, pd.DataFrame):
        raise InputError(f"expected the assignments as a pandas DataFrame, got {type(assignments).__name__}")
    missing = [c for c in columns if c not in assignments.columns]
    if missing:
        raise InputError(
            f"the assignments table lacks column(s) {missing}; columns found: "
            f"{list(map(str, assignments.columns))}. Rename them, or pass the topic model's "
            "assignments table (one row per record with id, created_at, topic, ...)"
        )
    df = assignments.copy()
    if "created_at" in columns:
        df["created_at"] = _utc_times(df["created_at"], df.get("id"))
    if "topic" in columns:
        df["topic"] = _topic_numbers(df["topic"])
    if "sentiment_label" in columns:
        _check_sentiment(df["sentiment_label"])
    return df


def _utc_times(values: pd.Series, ids: pd.Series | None) -> pd.Series:
    if not isinstance(values.dtype, pd.DatetimeTZDtype):
        hint = (
            "if the times are UTC, use df['created_at'].dt.tz_localize('UTC')"
            if pd.api.types.is_datetime64_dtype(values)
            else "convert them with pd.to_datetime(df['created_at'], utc=True)"
        )
        raise InputError(f"created_at must hold timezone-aware datetimes, got dtype {values.dtype}; {hint}")
    gaps = values.isna()
    if gaps.any():
        where = list(ids[gaps].astype(str)[:5]) if ids is not None else list(values.index[gaps][:5])
        raise InputError(
            f"created_at is empty in {int(gaps.sum())} row(s), e.g. id(s) {where}; every record "
            "needs a time to be counted in a period: drop those rows or fill their times"
        )
    return values.dt.tz_convert("UTC")


def _topic_numbers(values: pd.Series) -> pd.Series:
    numeric = pd.to_numeric(values, errors="coerce")
    bad = numeric.isna() | (numeric % 1 != 0)
    if bad.any():
        shown = list(values[bad].astype(str).unique()[:5])
        raise InputError(
            f"topic must be whole numbers (-1 for unassigned), got {shown}; pass the topic "
            "model's topic ids, not their labels"
        )
    return numeric.astype("int64")


def _check_sentiment(labels: pd.Series) -> None:
    if labels.isna().any():
        raise InputError(
            f"sentiment_label is empty in {int(labels.isna().sum())} row(s); every record needs "
            f"one of {list(SENTIMENT_LABELS)}: classify those records first or drop them"
        )
    unknown = sorted(set(labels.astype(str).unique()) - set(SENTIMENT_LABELS))
    if unknown:
        raise InputError(
            f"sentiment_label must be one of {list(SENTIMENT_LABELS)}, got {unknown[:5]}; "
            "map other labels to these three first"
        )


def _check_period(period: str) -> None:
    if period not in PERIODS:
        raise InputError(f"period must be one of {list(PERIODS)}, got {period!r}")


# ---------------------------------------------------------------------------- periods


def period_starts(created_at: pd.Series, period: Period) -> pd.Series:
    """The start of the calendar period (UTC) that each time falls in.

    Args:
        created_at: Timezone-aware times.
        period: ``"day"``, ``"week"`` (ISO week, from Monday) or ``"month"``.

    Returns:
        Midnight UTC of the day, of the week's Monday or of the month's first day.

    Raises:
        InputError: ``period`` is not one of the three.
    """
    _check_period(period)
    day = created_at.dt.tz_convert("UTC").dt.floor("D").dt.as_unit("ns")
    if period == "week":
        return day - pd.to_timedelta(day.dt.day_of_week, unit="D")
    if period == "month":
        return day - pd.to_timedelta(day.dt.day - 1, unit="D")
    return day


def period_range(first: pd.Timestamp, last: pd.Timestamp, period: Period) -> pd.DatetimeIndex:
    """Every period start from ``first`` to ``last`` (both period starts), gaps included."""
    _check_period(period)
    return pd.date_range(first, last, freq=_FREQ[period]).as_unit("ns")


def period_label(start: pd.Timestamp, period: Period) -> str:
    """A short name for a period: ``2024-06-03``, ``2024-W23`` or ``2024-06``."""
    _check_period(period)
    if period == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    return start.strftime("%Y-%m" if period == "month" else "%Y-%m-%d")


def to_period_start(moment: str | datetime | pd.Timestamp, period: Period) -> pd.Timestamp:
    """The start of the period holding ``moment``; a naive moment is read as UTC."""
    stamp = pd.Timestamp(moment)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return period_starts(pd.Series([stamp]), period).iloc[0]


def topic_labels(assignments: pd.DataFrame) -> dict[int, str]:
    """Each topic's label, as given on its most recent record (labels may be renamed)."""
    latest = assignments.sort_values("created_at", kind="stable").groupby("topic")["topic_label"].last()
    return {int(topic): str(label) for topic, label in latest.items()}


# ---------------------------------------------------------------------------- volume


def topic_volume(assignments: pd.DataFrame, period: Period = "week") -> pd.DataFrame:
    """Volume, share and net sentiment of every topic in every period.

    Every topic (the unassigned ``-1`` included) gets a row for every period from the
    first record's to the last's, with zeros where it was not mentioned, so that each
    topic's rows form an unbroken time series.

    Args:
        assignments: The topic model's assignments (see the module docstring).
        period: ``"day"``, ``"week"`` (ISO week, from Monday, UTC) or ``"month"``.

    Returns:
        One row per period and topic, sorted by both: ``period`` (start, UTC),
        ``topic``, ``topic_label``, ``volume``, ``period_total`` (texts in the period),
        ``share`` (volume / period_total; NaN in a period without texts), ``positive``,
        ``neutral``, ``negative`` and ``net_sentiment`` (100 × (positive − negative) /
        volume, in [−100, 100]; NaN when the volume is 0).

    Raises:
        InputError: A needed column is missing or malformed, or ``period`` is unknown.
    """
    _check_period(period)
    df = validate_assignments(assignments)
    if df.empty:
        return pd.DataFrame(columns=list(_VOLUME_COLUMNS))
    df["period"] = period_starts(df["created_at"], period)
    counts = _sentiment_counts(df, ["period", "topic"])
    grid = pd.MultiIndex.from_product(
        [period_range(df["period"].min(), df["period"].max(), period), sorted(counts.index.unique("topic"))],
        names=["period", "topic"],
    )
    table = counts.reindex(grid, fill_value=0).reset_index()
    table["period_total"] = table.groupby("period")["volume"].transform("sum")
    table["share"] = table["volume"] / table["period_total"].where(table["period_total"] > 0)
    table["net_sentiment"] = _net_sentiment(table)
    table["topic_label"] = table["topic"].map(topic_labels(df))
    return table[list(_VOLUME_COLUMNS)]


def _sentiment_counts(df: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Volume and texts per sentiment label for each group of ``by``."""
    flags = pd.DataFrame({label: df["sentiment_label"].eq(label).astype("int64") for label in SENTIMENT_LABELS})
    flags["volume"] = 1
    flags[list(by)] = df[list(by)]
    return flags.groupby(list(by))[["volume", *SENTIMENT_LABELS]].sum()


def _net_sentiment(table: pd.DataFrame) -> pd.Series:
    volume = table["volume"].where(table["volume"] > 0)
    return 100.0 * (table["positive"] - table["negative"]) / volume


# ---------------------------------------------------------------------------- share by


def topic_share_by(assignments: pd.DataFrame, field: ShareField) -> pd.DataFrame:
    """Each topic's share of the texts about each touchpoint or journey stage.

    For ``"touchpoints"`` each text counts once under every touchpoint in its list, and
    texts with no touchpoint are left out; for ``"journey_stage"`` every text counts
    once, under its stage (``none`` included). Unassigned texts stay in as topic ``-1``,
    so the shares within one value add up to 1.

    Args:
        assignments: The topic model's assignments (see the module docstring).
        field: ``"touchpoints"`` or ``"journey_stage"``.

    Returns:
        One row per value and topic that occur together (no zero rows), sorted by value
        and descending count: the value (in a column named ``field``), ``topic``,
        ``topic_label``, ``count``, ``value_total`` (texts with that value), ``share``
        (count / value_total) and ``net_sentiment`` (as in :func:`topic_volume`).

    Raises:
        InputError: ``field`` is not one of the two, a column is missing, or a
            ``touchpoints`` cell is not a list.
    """
    if field not in get_args(ShareField):
        raise InputError(f"field must be one of {list(get_args(ShareField))}, got {field!r}")
    df = validate_assignments(assignments, [*_BASE_COLUMNS, field])
    if field == "touchpoints":
        df["touchpoints"] = _touchpoint_lists(df)
        df = df.explode("touchpoints").dropna(subset=["touchpoints"])
    table = _sentiment_counts(df, [field, "topic"]).reset_index()
    table = table.rename(columns={"volume": "count"})
    table["value_total"] = table.groupby(field)["count"].transform("sum")
    table["share"] = table["count"] / table["value_total"]
    table["net_sentiment"] = _net_sentiment(table.rename(columns={"count": "volume"}))
    table["topic_label"] = table["topic"].map(topic_labels(df))
    table = table.sort_values([field, "count", "topic"], ascending=[True, False, True], ignore_index=True)
    return table[[field, "topic", "topic_label", "count", "value_total", "share", "net_sentiment"]]


def _touchpoint_lists(df: pd.DataFrame) -> pd.Series:
    """Touchpoint cells as lists: None becomes [], lists, tuples and arrays are kept."""

    def as_list(cell: object, record_id: object) -> list[str]:
        if cell is None or (pd.api.types.is_scalar(cell) and pd.isna(cell)):
            return []
        if isinstance(cell, (list, tuple, np.ndarray)):
            return [str(name) for name in cell]
        raise InputError(
            f"touchpoints must be a list of names for every record, got {type(cell).__name__} "
            f"{cell!r} for id {record_id!r}; wrap a single touchpoint in a list"
        )

    return pd.Series([as_list(c, i) for c, i in zip(df["touchpoints"], df["id"], strict=True)], index=df.index)


# ---------------------------------------------------------------------------- trends


def emerging_topics(
    assignments: pd.DataFrame,
    period: Period = "week",
    *,
    current: str | datetime | pd.Timestamp | None = None,
    baseline_periods: int = 4,
    min_count: int = 5,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Topics whose share of feedback grew or shrank in one period against a baseline.

    For each topic, the share of the current period's texts that mention it is compared
    with its share of the texts in the ``baseline_periods`` periods just before, by a
    two-sided Fisher's exact test on the 2 × 2 table (topic / other texts × current /
    baseline). The test conditions on the totals, so a topic that grows only because all
    feedback grew stays ``stable``, and a few mentions more of a small topic are not
    enough (2 → 4 mentions out of 100 gives p ≈ 0.27). The p-values are adjusted for the
    number of topics tested (Benjamini–Hochberg), so ``alpha`` is the expected share of
    false alarms among the flagged topics.

    Args:
        assignments: The topic model's assignments (see the module docstring).
        period: ``"day"``, ``"week"`` (ISO week, from Monday, UTC) or ``"month"``.
        current: A moment in the period to test (naive means UTC); the latest period
            with feedback when ``None``.
        baseline_periods: How many periods before the current one form the baseline.
            Periods before the first record are not counted.
        min_count: The fewest mentions behind a flag: ``emerging`` needs at least this
            many in the current period, ``declining`` needs at least this many expected
            at the baseline share. Topics below it are tested but never flagged.
        alpha: The false discovery rate at which a change is flagged.

    Returns:
        One row per topic mentioned in the current or the baseline periods (the
        unassigned ``-1`` left out), emerging first, then declining, then stable, each by
        p-value: ``topic``, ``topic_label``, ``period`` (current period start), ``count``,
        ``period_total``, ``share``, ``baseline_count``, ``baseline_total``,
        ``baseline_share``, ``baseline_periods`` (periods with data in the baseline),
        ``expected`` (mentions expected now at the baseline share), ``ratio`` (share /
        baseline_share; inf for a topic new in this period), ``statistic`` (the test's
        sample odds ratio), ``p_value``, ``p_adjusted`` (NaN below ``min_count``) and
        ``trend`` (``emerging``, ``declining`` or ``stable``).

    Raises:
        InputError: An argument is out of range, a column is missing or malformed, or
            the current period or its baseline holds no feedback.
    """
    check_trend_arguments(period, baseline_periods, min_count, alpha)
    df = validate_assignments(assignments)
    if df.empty:
        raise InputError("the assignments table is empty: there is no period to test")
    df["period"] = period_starts(df["created_at"], period)
    now = df["period"].max() if current is None else to_period_start(current, period)
    baseline = baseline_window(now, period, baseline_periods, first=df["period"].min())
    table = _trend_table(df[df["period"] == now], df[df["period"].isin(baseline)], now, period)
    table["baseline_periods"] = len(baseline)
    table["topic_label"] = table["topic"].map(topic_labels(df))
    table = _test_topics(table, min_count=min_count, alpha=alpha)
    logger.info(
        "trends for %s: %d emerging, %d declining of %d topics",
        period_label(now, period), (table.trend == "emerging").sum(), (table.trend == "declining").sum(), len(table),
    )  # fmt: skip
    return table[list(_TREND_COLUMNS)]


def check_trend_arguments(period: str, baseline_periods: int, min_count: int, alpha: float) -> None:
    """Check the arguments of :func:`emerging_topics`, before any work is done.

    Raises:
        InputError: One of them is out of range; the message names it.
    """
    _check_period(period)
    if isinstance(baseline_periods, bool) or not isinstance(baseline_periods, int) or baseline_periods < 1:
        raise InputError(f"baseline_periods must be a whole number of at least 1, got {baseline_periods!r}")
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 0:
        raise InputError(f"min_count must be a whole number of at least 0, got {min_count!r}")
    if not 0.0 < alpha < 1.0:
        raise InputError(f"alpha must be in (0, 1), got {alpha!r}; 0.05 is usual")


def baseline_window(
    now: pd.Timestamp, period: Period, size: int, *, first: pd.Timestamp | None = None
) -> pd.DatetimeIndex:
    """The starts of the ``size`` periods before the period starting at ``now``.

    Args:
        now: The start of the current period.
        period: ``"day"``, ``"week"`` or ``"month"``.
        size: How many periods the baseline spans.
        first: The first period with data; periods before it are left out.

    Returns:
        Period starts, oldest first.
    """
    window = pd.date_range(end=now, periods=size + 1, freq=_FREQ[period]).as_unit("ns")[:-1]
    return window if first is None else window[window >= first]


def _trend_table(current: pd.DataFrame, baseline: pd.DataFrame, now: pd.Timestamp, period: Period) -> pd.DataFrame:
    """Counts per topic in the current and baseline periods, with both totals."""
    name = period_label(now, period)
    if current.empty:
        raise InputError(
            f"there is no feedback in the period {name}; pass a `current` moment inside a "
            "period that has feedback, or leave it out to test the latest period"
        )
    if baseline.empty:
        raise InputError(
            f"there is no feedback in the periods before {name}, so there is no baseline to "
            "compare with; test a later period or give more history"
        )
    counts = pd.DataFrame(
        {"count": current["topic"].value_counts(), "baseline_count": baseline["topic"].value_counts()}
    )
    counts = counts.fillna(0).astype("int64").drop(index=UNASSIGNED, errors="ignore")
    table = counts.rename_axis("topic").reset_index().sort_values("topic", ignore_index=True)
    table["period"] = now
    table["period_total"] = len(current)
    table["baseline_total"] = len(baseline)
    table["share"] = table["count"] / len(current)
    table["baseline_share"] = table["baseline_count"] / len(baseline)
    table["expected"] = table["baseline_share"] * len(current)
    with np.errstate(divide="ignore", invalid="ignore"):
        table["ratio"] = table["share"] / table["baseline_share"]
    return table


def _test_topics(table: pd.DataFrame, *, min_count: int, alpha: float) -> pd.DataFrame:
    """Fisher's exact test per topic, Benjamini–Hochberg over those that may be flagged."""
    tests = [
        fisher_exact([[k1, n1 - k1], [k0, n0 - k0]])
        for k1, n1, k0, n0 in table[["count", "period_total", "baseline_count", "baseline_total"]].itertuples(
            index=False
        )
    ]
    table["statistic"] = [float(t.statistic) for t in tests]
    table["p_value"] = [float(t.pvalue) for t in tests]
    rising = table["share"] > table["baseline_share"]
    enough = np.where(rising, table["count"] >= min_count, table["expected"] >= min_count)
    table["p_adjusted"] = np.nan
    if enough.any():
        table.loc[enough, "p_adjusted"] = false_discovery_control(table.loc[enough, "p_value"], method="bh")
    significant = table["p_adjusted"] < alpha  # NaN compares False
    table["trend"] = np.select([significant & rising, significant & ~rising], ["emerging", "declining"], "stable")
    order = table["trend"].map({name: i for i, name in enumerate(TRENDS)})
    return table.assign(_order=order).sort_values(["_order", "p_value", "topic"], ignore_index=True)
