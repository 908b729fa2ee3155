"""Lay a :class:`~feedback_nlp.reports.topic_report.TopicReport` out as an HTML page.

The report's tables become a template context of display strings and inline SVG charts,
rendered by Jinja2 with autoescaping on: data text (topic names, verbatims) is always
escaped; only the SVG that :mod:`feedback_nlp.reports.charts` builds is marked safe.
"""

from __future__ import annotations

import html
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import pandas as pd
from markupsafe import Markup

from feedback_nlp.reports import charts, wording
from feedback_nlp.text.normalize import HANDLE
from feedback_nlp.topics.trends import period_label

if TYPE_CHECKING:
    from jinja2 import Environment

    from feedback_nlp.reports.topic_report import TopicReport

TEMPLATE = "topic_report.html"
VERBATIM_CHARS = 600
#: What stands for an @handle in a quote (the pipeline never reads handles: text/normalize.py).
HANDLE_PLACEHOLDER = "@…"
_HEADLINE_NAMES = {
    "volume": "Feedback received",
    "net_sentiment": "Net sentiment",
    "active_topics": "Active topics",
    "unassigned_share": "Unassigned",
}
#: Headline metrics that count texts, so a period the report's end cuts short cannot be compared.
CUT_SHORT_METRICS = ("volume", "active_topics")
# Whether a rise is good news (1), bad news (-1) or neither (0), for the colour of a change.
_RISE_IS = {"volume": 0, "net_sentiment": 1, "active_topics": 0, "unassigned_share": -1}


def render(report: TopicReport) -> str:
    """The report as one HTML document."""
    return _environment().get_template(TEMPLATE).render(**context(report))


def context(report: TopicReport) -> dict[str, Any]:
    """Everything the template shows, as display strings and safe SVG markup."""
    period = report.period
    return {
        "period": period,
        "title": "Topic report",
        "span": f"{_day(report.first_record)} \u2013 {_day(report.last_record)}",
        "current": wording.period_span(report.current, period),
        "previous": wording.period_span(report.previous, period) if report.previous is not None else None,
        "last_record": f"{report.last_record:%a} {_day(report.last_record)}, {report.last_record:%H:%M} UTC",
        "cards": _cards(report),
        "volume_chart": Markup(
            charts.volume_chart_svg(
                list(report.totals["label"]), list(report.totals["volume"]), list(report.totals["net_sentiment"])
            )
        ),  # fmt: skip
        "top_topics": _top_rows(report),
        **_trend_context(report),
        **_heatmap_context(report),
        "verbatims": _verbatim_groups(report),
        "settings": report.settings,
        "periods": wording.periods(report.settings.get("baseline_periods", 0), period),
        "records": wording.number(report.settings.get("records", 0)),
        "generated_at": f"{_day(report.generated_at)}, {report.generated_at:%H:%M} UTC",
    }


@cache
def _environment() -> Environment:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(
        loader=PackageLoader("feedback_nlp.reports", "templates"),
        autoescape=True,  # every template here is HTML: escape all data, whatever the file name
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _cards(report: TopicReport) -> list[dict[str, str]]:
    previous_name = period_label(report.previous, report.period) if report.previous is not None else None
    cards = []
    for metric, row in report.headline.iterrows():
        value, before, change = row["current"], row["previous"], row["change"]
        note = f"vs {_metric(str(metric), before)} in {previous_name}" if previous_name else "no earlier period"
        if previous_name and metric in CUT_SHORT_METRICS and row.get("cut_short", False):
            note += f": the {report.period} is cut short by the report's end date"
        elif previous_name and row.get("low_base", False) and pd.isna(change):
            note += ": too few texts to compare"  # the volume card gives both counts
        cards.append({
            "name": _HEADLINE_NAMES[str(metric)],
            "value": _metric(str(metric), value),
            "delta": _delta(str(metric), change),
            "tone": _tone(str(metric), change),
            "arrow": "\u25b2" if change > 0 else "\u25bc" if change < 0 else "",
            "note": note,
        })  # fmt: skip
    return cards


def _metric(metric: str, value: float) -> str:
    if metric == "unassigned_share":
        return wording.percent(value)
    if metric == "net_sentiment":
        return wording.signed(value)
    return wording.number(value)


def _delta(metric: str, change: float) -> str:
    if metric == "volume":
        return wording.signed(100 * change, 0, "%")
    if metric == "unassigned_share":
        return wording.signed(100 * change, 1, " pts")
    return wording.signed(change, 0, " pts" if metric == "net_sentiment" else "")


def _tone(metric: str, change: float) -> str:
    if pd.isna(change) or change == 0 or _RISE_IS[metric] == 0:
        return "flat"
    return "good" if (change > 0) == (_RISE_IS[metric] > 0) else "bad"


def _top_rows(report: TopicReport) -> list[dict[str, Any]]:
    series = report.volume.pivot(index="period", columns="topic", values="volume").fillna(0)
    rows = []
    for rank, topic in enumerate(report.top_topics.itertuples(index=False), start=1):
        change = None if pd.isna(topic.previous_volume) else topic.current_volume - topic.previous_volume
        rows.append({
            "rank": rank,
            "label": topic.label,
            "is_new": topic.is_new,
            "seeded": topic.seeded,
            "volume": wording.number(topic.volume),
            "share": wording.percent(topic.share),
            "net": wording.signed(topic.net_sentiment),
            "net_tone": "good" if topic.net_sentiment > 0 else "bad" if topic.net_sentiment < 0 else "flat",
            "current": wording.number(topic.current_volume),
            "change": wording.signed(change) if change is not None else wording.DASH,
            "spark": Markup(charts.sparkline_svg(list(series[topic.topic]))),
        })  # fmt: skip
    return rows


def _trend_context(report: TopicReport) -> dict[str, Any]:
    trends = report.trends
    if report.trends_note:
        return {"emerging": [], "declining": [], "trends_note": report.trends_note, "tested": 0, "stable": 0}
    tested = 0 if trends.empty else int(trends["p_adjusted"].notna().sum())
    if tested == 0:
        # No topic reached the minimum mentions: "nothing grew beyond chance" would be unfounded.
        note = (
            f"No topic had enough mentions in {wording.period_span(report.current, report.period)} and the "
            f"{wording.periods(report.settings.get('baseline_periods', 0), report.period)} before to be tested "
            f"(at least {report.settings.get('min_count', 0)}), so nothing can be said about topics growing "
            "or shrinking."
        )
        return {"emerging": [], "declining": [], "trends_note": note, "tested": 0, "stable": 0}

    def described(kind: str) -> list[dict[str, str]]:
        rows = trends[trends["trend"] == kind].to_dict("records")
        return [{"label": r["topic_label"], "text": wording.describe_trend(r, report.period, tested)} for r in rows]

    return {
        "emerging": described("emerging"),
        "declining": described("declining"),
        "trends_note": report.trends_note,
        "tested": tested,
        # Of the tested topics only: a topic too small to test showed no change only in that it was not tested.
        "stable": int(((trends["trend"] == "stable") & trends["p_adjusted"].notna()).sum()),
    }


def _heatmap_context(report: TopicReport) -> dict[str, Any]:
    """The touchpoint heatmap, or ``heatmap_note``: why there is none, truthfully."""
    shares = report.touchpoints
    ids = list(report.top_topics["topic"])
    if not ids:
        return {
            "heatmap": None,
            "heatmap_note": "No text was assigned to a topic, so there is no topic to break down by touchpoint.",
        }
    if shares.empty:
        return {"heatmap": None, "heatmap_note": "No text names a touchpoint."}
    totals = shares.groupby("touchpoints")["value_total"].first().sort_values(ascending=False, kind="stable")
    matrix = (
        shares.pivot(index="topic", columns="touchpoints", values="share")
        .reindex(index=ids, columns=list(totals.index))
        .fillna(0.0)
    )
    matrix.index = list(report.top_topics["label"])
    return {
        "heatmap": Markup(charts.heatmap_svg(matrix, column_totals=[int(t) for t in totals])),
        "heatmap_note": None,
    }


def _verbatim_groups(report: TopicReport) -> list[dict[str, Any]]:
    groups = []
    for topic in report.top_topics.itertuples(index=False):
        rows = report.verbatims[report.verbatims["topic"] == topic.topic]
        items = [
            {
                "text": _shorten(display_text(str(row.text))),
                "date": _day(row.created_at),
                "sentiment": row.sentiment_label,
                "confidence": wording.percent(row.topic_confidence, 0),
            }
            for row in rows.itertuples(index=False)
        ]
        groups.append({"label": topic.label, "items": items})
    return groups


def display_text(text: str) -> str:
    """A quote as people should read it: HTML entities unescaped (``&amp;`` -> ``&``) and @handles
    replaced by :data:`HANDLE_PLACEHOLDER`. The text is already redacted (emails, phone, card and
    account numbers); names written in it are not removed.

    >>> display_text("@AcmeHelp @jo_smith my bill &amp; fees &gt; last month [EMAIL]")
    '@… @… my bill & fees > last month [EMAIL]'
    """
    return HANDLE.sub(HANDLE_PLACEHOLDER, html.unescape(text))


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= VERBATIM_CHARS else text[: VERBATIM_CHARS - 1].rstrip() + "\u2026"


def _day(moment: datetime) -> str:
    return f"{moment.day} {moment:%b %Y}"
