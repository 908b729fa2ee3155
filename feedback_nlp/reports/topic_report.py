"""The topic report: what customers wrote about, what changed, and examples, on one page.

``build_topic_report`` computes the tables from the topic model's output,
``render_html`` turns them into one self-contained HTML page (inline CSS and SVG, no
script, nothing fetched: it opens offline and prints cleanly), and ``write_report``
saves that page as HTML, or as PDF or PNG through headless Chromium.

Examples:
    >>> report = build_topic_report(assignments, topics, period="week")  # doctest: +SKIP
    >>> write_report(report, "reports/topics.html")                     # doctest: +SKIP
    >>> write_report(report, "reports/topics.pdf", fmt="pdf")           # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from feedback_nlp.errors import InputError
from feedback_nlp.fileio import open_output
from feedback_nlp.reports import chromium, layout, wording
from feedback_nlp.topics.trends import (
    UNASSIGNED,
    Period,
    baseline_window,
    check_trend_arguments,
    emerging_topics,
    period_label,
    period_starts,
    topic_share_by,
    topic_volume,
    validate_assignments,
)

logger = logging.getLogger(__name__)

ReportFormat = Literal["html", "pdf", "png"]

ASSIGNMENT_COLUMNS: tuple[str, ...] = (
    "id", "created_at", "text", "topic", "topic_label", "topic_confidence",
    "sentiment_label", "journey_stage", "touchpoints",
)  # fmt: skip
"""Columns of the assignments table that the report reads."""

TOPIC_COLUMNS: tuple[str, ...] = ("topic", "label", "count", "is_new", "seeded")
"""Columns of the topics table that the report reads."""

VERBATIMS_PER_TOPIC = 3


#: The fewest texts a period needs for the headline to compare it with another: a common floor for
#: reading a rate in CX dashboards ("low base" below it). Even over 30 texts a net sentiment moves
#: by chance: two standard errors are 37 points when half the texts are positive and half negative.
MIN_BASE = 30


@dataclass(frozen=True)
class TopicReport:
    """The tables behind a topic report; :func:`render_html` lays them out.

    Attributes:
        period: The period everything is counted by: ``day``, ``week`` or ``month``.
        periods: Every period start in the report, oldest first (empty ones included).
        current: The latest period, which the headline and trends are about.
        previous: The period before it, or ``None`` when the report has only one.
        first_record: Time of the earliest record in the report.
        last_record: Time of the latest record in the report.
        totals: One row per period: ``period``, ``label``, ``volume``,
            ``net_sentiment``, ``active_topics`` and ``unassigned_share``.
        headline: Indexed by metric (``volume``, ``net_sentiment``, ``active_topics``,
            ``unassigned_share``): ``current``, ``previous`` and ``change`` (relative for
            volume, a difference for the others), and ``low_base``: a period holds fewer than
            ``min_base`` texts, so the change is not given (NaN; for volume, only when the
            previous period is the small one).
        volume: :func:`~feedback_nlp.topics.trends.topic_volume` over the report.
        top_topics: The largest topics over the report: ``topic``, ``label``,
            ``volume``, ``share``, ``net_sentiment``, ``current_volume``,
            ``previous_volume``, ``is_new`` and ``seeded``.
        trends: :func:`~feedback_nlp.topics.trends.emerging_topics` for the current
            period (empty when there is no baseline, see ``trends_note``).
        trends_note: Why ``trends`` is empty, or ``None``.
        touchpoints: :func:`~feedback_nlp.topics.trends.topic_share_by` touchpoints.
        verbatims: Up to three texts per top topic, highest topic confidence first:
            ``topic``, ``id``, ``created_at``, ``text``, ``topic_confidence``,
            ``sentiment_label``.
        settings: The arguments the report was built with.
        generated_at: When the report was built (UTC).
    """

    period: Period
    periods: list[pd.Timestamp]
    current: pd.Timestamp
    previous: pd.Timestamp | None
    first_record: pd.Timestamp
    last_record: pd.Timestamp
    totals: pd.DataFrame
    headline: pd.DataFrame
    volume: pd.DataFrame
    top_topics: pd.DataFrame
    trends: pd.DataFrame
    trends_note: str | None
    touchpoints: pd.DataFrame
    verbatims: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))


def build_topic_report(
    assignments: pd.DataFrame,
    topics: pd.DataFrame,
    *,
    period: Period = "week",
    start: str | datetime | pd.Timestamp | None = None,
    end: str | datetime | pd.Timestamp | None = None,
    top_n: int = 10,
    baseline_periods: int = 4,
    min_count: int = 5,
    alpha: float = 0.05,
    min_base: int = MIN_BASE,
) -> TopicReport:
    """Compute the tables of a topic report.

    Topic names come from ``topics.label`` (falling back on ``assignments.topic_label``
    for a topic the table lacks). The trends test the latest period against the
    ``baseline_periods`` before it, using records before ``start`` too when there are.

    Args:
        assignments: The topic model's assignments, one row per record (see
            :mod:`feedback_nlp.topics.trends`), with ``text`` and ``topic_confidence``.
        topics: The topic model's topics: ``topic``, ``label``, ``count``, ``is_new``,
            ``seeded``.
        period: ``"day"``, ``"week"`` (ISO week, from Monday, UTC) or ``"month"``.
        start: Leave out records before this moment (naive means UTC).
        end: Leave out records at or after this moment (naive means UTC).
        top_n: How many topics the tables, sparklines and examples cover.
        baseline_periods: See :func:`~feedback_nlp.topics.trends.emerging_topics`.
        min_count: See :func:`~feedback_nlp.topics.trends.emerging_topics`.
        alpha: See :func:`~feedback_nlp.topics.trends.emerging_topics`.
        min_base: The fewest texts a period needs for the headline to compare it with the
            other: below it a net sentiment or a share moves by chance (one text in a period
            makes its net sentiment +100 or -100), so the change is left out and said why.

    Returns:
        The report's tables.

    Raises:
        InputError: A table lacks a column or is malformed, ``top_n`` is below 1, or
            no record falls between ``start`` and ``end``.
    """
    if isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1:
        raise InputError(f"top_n must be a whole number of at least 1, got {top_n!r}")
    check_trend_arguments(period, baseline_periods, min_count, alpha)
    df = _with_topic_names(validate_assignments(assignments, ASSIGNMENT_COLUMNS), _check_topics(topics))
    history = df if end is None else df[df["created_at"] < _moment(end)]
    window = _window(history, start, end, total=len(df))
    logger.info("building a topic report by %s over %d records", period, len(window))
    volume = topic_volume(window, period)
    totals = _period_totals(volume, period)
    current = totals["period"].iloc[-1]
    previous = totals["period"].iloc[-2] if len(totals) > 1 else None
    trends, note = _trends(history, period, current, baseline_periods, min_count, alpha)
    top = _top_topics(window, volume, topics, current, previous, top_n)
    return TopicReport(
        period=period,
        periods=list(totals["period"]),
        current=current,
        previous=previous,
        first_record=window["created_at"].min(),
        last_record=window["created_at"].max(),
        totals=totals,
        headline=_headline(totals, min_base, cut_short=_cut_short(current, period, end)),
        volume=volume,
        top_topics=top,
        trends=trends,
        trends_note=note,
        touchpoints=topic_share_by(window, "touchpoints"),
        verbatims=_verbatims(window, list(top["topic"])),
        settings={
            "start": start,
            "end": end,
            "top_n": top_n,
            "baseline_periods": baseline_periods,
            "min_count": min_count,
            "alpha": alpha,
            "min_base": min_base,
            "records": len(window),
        },  # fmt: skip
    )


def render_html(report: TopicReport) -> str:
    """Lay a report out as one self-contained HTML page.

    The page holds its CSS and charts (inline SVG) and no script; a Content Security
    Policy forbids loading anything, so it opens the same way offline. All text from the
    data (topic names, verbatims) is escaped.

    Args:
        report: From :func:`build_topic_report`.

    Returns:
        The HTML document.
    """
    return layout.render(report)


def write_report(
    report: TopicReport,
    path: str | Path,
    fmt: ReportFormat = "html",
    *,
    chromium_path: str | Path | None = None,
    width: int = 1200,
) -> Path:
    """Save a report as HTML, or as PDF or PNG rendered by headless Chromium.

    The file appears complete or not at all: it is written under a temporary name next
    to ``path`` and renamed when done. Missing folders are created.

    Args:
        report: From :func:`build_topic_report`.
        path: Where to write the file.
        fmt: ``"html"`` (needs nothing else), ``"pdf"`` (A4, print layout) or ``"png"``
            (a full-page screenshot ``width`` CSS pixels wide).
        chromium_path: The Chromium binary for PDF and PNG; found on the system when
            ``None`` (see :func:`feedback_nlp.reports.chromium.find_chromium`).
        width: Screenshot width in CSS pixels (PNG only).

    Returns:
        The path written.

    Raises:
        InputError: ``fmt`` is not html, pdf or png.
        BrowserError: Chromium is needed but missing (the message says how to install
            it), or it failed.
    """
    if fmt not in ("html", "pdf", "png"):
        raise InputError(f"fmt must be 'html', 'pdf' or 'png', got {fmt!r}")
    target = Path(path)
    html = render_html(report)
    if fmt == "html":
        with open_output(target) as out:
            out.write(html)
        return target
    binary = chromium.find_chromium(chromium_path)  # fail before any work when it is missing
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp.{fmt}")
    try:
        with tempfile.TemporaryDirectory(prefix="feedback-nlp-report-") as folder:
            page = Path(folder) / "report.html"
            page.write_text(html, encoding="utf-8")
            if fmt == "pdf":
                messages = chromium.print_pdf(page, partial, chromium=binary)
            else:
                height = _page_height(report)
                messages = chromium.screenshot(page, partial, width=width, height=height, chromium=binary)
        for message in messages:
            logger.warning("the report page wrote to the browser console: %s", message)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def unassigned_share(report: TopicReport) -> float:
    """The share of the report's texts that no topic holds (0 for a report without texts)."""
    total = float(report.totals["volume"].sum())
    if total <= 0:
        return 0.0
    unassigned = report.volume.loc[report.volume["topic"] == UNASSIGNED, "volume"].sum()
    return float(unassigned) / total


def _page_height(report: TopicReport) -> int:
    # A generous guess at the page's length in CSS pixels: the fixed sections, then per
    # top topic a table row, a heatmap row and three quotes. screenshot() grows it if short.
    return 2600 + 520 * len(report.top_topics)


# ---------------------------------------------------------------------------- input


def _check_topics(topics: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(topics, pd.DataFrame):
        raise InputError(f"expected the topics as a pandas DataFrame, got {type(topics).__name__}")
    missing = [c for c in TOPIC_COLUMNS if c not in topics.columns]
    if missing:
        renamed = missing == ["topic"] and "id" in topics.columns
        hint = " (rename its id column: topics.rename(columns={'id': 'topic'}))" if renamed else ""
        raise InputError(
            f"the topics table lacks column(s) {missing}; columns found: {list(map(str, topics.columns))}. "
            f"Pass the topic model's topics table (topic, label, count, is_new, seeded){hint}"
        )
    return topics


def _with_topic_names(df: pd.DataFrame, topics: pd.DataFrame) -> pd.DataFrame:
    """Name every topic as the topics table does; keep the record's name where it has none."""
    names = dict(zip(topics["topic"].astype("int64"), topics["label"].astype(str), strict=True))
    df["topic_label"] = df["topic"].map(names).fillna(df["topic_label"]).astype(str)
    return df


def _moment(value: str | datetime | pd.Timestamp) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _window(df: pd.DataFrame, start: Any, end: Any, *, total: int) -> pd.DataFrame:
    """The records of ``df`` (those before ``end``) from ``start``; ``total`` counts the table's
    records before either cut, for the message."""
    window = df if start is None else df[df["created_at"] >= _moment(start)]
    if window.empty:
        raise InputError(
            f"no feedback to report on between {start or 'the first record'} and {end or 'the last'} "
            f"({total} records in the table before filtering); widen start/end or check created_at"
        )
    return window


# ---------------------------------------------------------------------------- tables


def _period_totals(volume: pd.DataFrame, period: Period) -> pd.DataFrame:
    """Volume, net sentiment, active topics and unassigned share of each period."""
    by_period = volume.groupby("period")
    totals = by_period[["volume", "positive", "negative"]].sum()
    assigned = volume[(volume["topic"] != UNASSIGNED) & (volume["volume"] > 0)]
    totals["active_topics"] = assigned.groupby("period").size().reindex(totals.index, fill_value=0)
    unassigned = volume[volume["topic"] == UNASSIGNED].set_index("period")["volume"]
    totals["unassigned_share"] = unassigned.reindex(totals.index, fill_value=0) / totals["volume"].where(
        totals["volume"] > 0
    )
    totals["net_sentiment"] = (
        100.0 * (totals["positive"] - totals["negative"]) / totals["volume"].where(totals["volume"] > 0)
    )
    totals = totals.reset_index()
    totals["label"] = [period_label(p, period) for p in totals["period"]]
    return totals[["period", "label", "volume", "net_sentiment", "active_topics", "unassigned_share"]]


def _cut_short(current: pd.Timestamp, period: Period, end: Any) -> bool:
    """Whether the report's ``end`` falls inside the latest period (its volume is a part of one)."""
    from feedback_nlp.scoring.aggregate import shift_period

    if end is None:
        return False
    following = shift_period(pd.Timestamp(current).date(), period, 1)
    return following is not None and _moment(end) < pd.Timestamp(following, tz="UTC")


def _headline(totals: pd.DataFrame, min_base: int = MIN_BASE, *, cut_short: bool = False) -> pd.DataFrame:
    """The latest period against the one before, per headline metric; no change where a
    period has fewer than ``min_base`` texts (a volume change only needs the earlier one), nor a
    change in volume or active topics where the report's end cuts the latest period short
    (``cut_short``): both count texts, and a part of a period holds fewer."""
    metrics = ["volume", "net_sentiment", "active_topics", "unassigned_share"]
    current = totals.iloc[-1][metrics].astype(float)
    previous = totals.iloc[-2][metrics].astype(float) if len(totals) > 1 else current * float("nan")
    change = current - previous
    change["volume"] = change["volume"] / previous["volume"] if previous["volume"] > 0 else float("nan")
    low = bool(len(totals) > 1 and min(current["volume"], previous["volume"]) < min_base)
    if low:
        change[["net_sentiment", "active_topics", "unassigned_share"]] = float("nan")
        if previous["volume"] < min_base:
            change["volume"] = float("nan")  # +1700% of one text says nothing
    if cut_short:
        # Two days of a week against a whole week says nothing: fewer texts, and so fewer topics
        # with a text, whatever happened.
        change[["volume", "active_topics"]] = float("nan")
    return pd.DataFrame(
        {"current": current, "previous": previous, "change": change, "low_base": low, "cut_short": cut_short}
    ).rename_axis("metric")


def _trends(
    history: pd.DataFrame, period: Period, current: pd.Timestamp, baseline_periods: int, min_count: int, alpha: float
) -> tuple[pd.DataFrame, str | None]:
    """The trend table for ``current``, or an empty one and why when there is no baseline."""
    baseline = baseline_window(current, period, baseline_periods)
    if not period_starts(history["created_at"], period).isin(baseline).any():
        return pd.DataFrame(), (
            f"Trends need feedback from the {wording.periods(baseline_periods, period)} before "
            f"{period_label(current, period)} to compare with; this report has none."
        )
    table = emerging_topics(
        history, period, current=current, baseline_periods=baseline_periods, min_count=min_count, alpha=alpha
    )
    return table, None


def _top_topics(
    window: pd.DataFrame,
    volume: pd.DataFrame,
    topics: pd.DataFrame,
    current: pd.Timestamp,
    previous: pd.Timestamp | None,
    top_n: int,
) -> pd.DataFrame:
    """The ``top_n`` topics by volume over the report, unassigned texts left out."""
    per_topic = volume[volume["topic"] != UNASSIGNED].groupby("topic")
    top = per_topic.agg(label=("topic_label", "last"), volume=("volume", "sum"),
                        positive=("positive", "sum"), negative=("negative", "sum"))  # fmt: skip
    top = top[top["volume"] > 0].reset_index()
    top["share"] = top["volume"] / len(window)
    top["net_sentiment"] = 100.0 * (top["positive"] - top["negative"]) / top["volume"]
    top["current_volume"] = top["topic"].map(_volume_in(volume, current)).fillna(0).astype("int64")
    top["previous_volume"] = (
        top["topic"].map(_volume_in(volume, previous)).fillna(0).astype("int64") if previous is not None else pd.NA
    )
    flags = topics.assign(topic=topics["topic"].astype("int64")).set_index("topic")
    top["is_new"] = top["topic"].map(flags["is_new"]).fillna(False).astype(bool)
    top["seeded"] = top["topic"].map(flags["seeded"]).fillna(False).astype(bool)
    top = top.sort_values(["volume", "topic"], ascending=[False, True], ignore_index=True).head(top_n)
    columns = ["topic", "label", "volume", "share", "net_sentiment", "current_volume", "previous_volume"]
    return top[[*columns, "is_new", "seeded"]]


def _volume_in(volume: pd.DataFrame, period: pd.Timestamp | None) -> pd.Series:
    return volume[volume["period"] == period].set_index("topic")["volume"]


def _verbatims(window: pd.DataFrame, topic_ids: list[int]) -> pd.DataFrame:
    """The most confidently assigned texts of each topic, one of each wording."""
    rows = window[window["topic"].isin(topic_ids)].assign(_key=lambda d: d["text"].astype(str).str.strip().str.lower())
    rows = rows.sort_values(["topic_confidence", "created_at"], ascending=[False, False], kind="stable")
    rows = rows.drop_duplicates(["topic", "_key"]).groupby("topic", sort=False).head(VERBATIMS_PER_TOPIC)
    columns = ["topic", "id", "created_at", "text", "topic_confidence", "sentiment_label"]
    return rows[columns].reset_index(drop=True)
