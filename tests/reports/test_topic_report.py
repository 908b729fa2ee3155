"""Tests for the topic report: its tables, its HTML page, and the page in headless Chromium.

The corpus is synthetic: ten ISO weeks of feedback on seven topics plus unassigned texts,
in which "delivery delay" surges in the last week and "fraud and security" first appears.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from feedback_nlp.errors import InputError
from feedback_nlp.reports import charts, chromium
from feedback_nlp.reports.chromium import BrowserError
from feedback_nlp.reports.topic_report import TopicReport, build_topic_report, render_html, write_report

FIRST_MONDAY = pd.Timestamp("2024-03-04", tz="UTC")  # ISO week 2024-W10
WEEKS = 10
CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.is_file(), reason="headless Chromium not installed at /usr/bin/chromium (apt-get install chromium)"
)
XSS = "<script>alert(1)</script>"

# topic: (label, seeded, weekly share, P(negative), P(positive), touchpoints, stage, texts)
TOPICS: dict[int, tuple[str, bool, float, float, float, list[str], str, list[str]]] = {
    0: (
        "delivery delay",
        True,
        0.10,
        0.8,
        0.05,
        ["delivery"],
        "onboarding",
        [
            "My parcel arrived {n} days late and nobody told me why.",
            "Still waiting for my order after {n} days, the tracking page has not moved.",
            "The courier missed the delivery slot again, {n} days of waiting now.",
            "Delivery promised for Tuesday, came {n} days later.",
        ],
    ),
    1: (
        "staff friendliness",
        True,
        0.16,
        0.05,
        0.85,
        ["in_person"],
        "support",
        [
            "The staff at the store were lovely and sorted it in {n} minutes.",
            "Really friendly team at the counter, thank you!",
            "Anna at the branch was patient and kind, {n} stars from me.",
        ],
    ),
    2: (
        "billing error or unexpected charge",
        True,
        0.13,
        0.75,
        0.05,
        ["billing"],
        "billing",
        [
            "I was charged twice this month, {n} euros taken without warning.",
            "Unexpected fee of {n} on my invoice, please explain.",
            "My bill shows a charge I never agreed to.",
        ],
    ),
    3: (
        "app or website problem",
        True,
        0.13,
        0.7,
        0.05,
        ["mobile_app", "website"],
        "usage",
        [
            "The app crashes every time I open my orders, {n} tries today.",
            "Cannot log in on the website, the page just reloads.",
            "Checkout in the app freezes at the payment step.",
        ],
    ),
    4: (
        "price and value",
        True,
        0.11,
        0.35,
        0.35,
        ["product"],
        "consideration",
        [
            "Good quality for the price, would buy again.",
            "A bit expensive compared with others, {n} euros more for the same.",
            "Fair price and decent value overall.",
        ],
    ),
    5: (
        "parking at the store",
        False,
        0.09,
        0.3,
        0.1,
        ["in_person"],
        "usage",
        [
            "Hard to find parking near the store on Saturdays.",
            "The car park was full, drove around for {n} minutes.",
        ],
    ),
    6: (
        "fraud and security",
        True,
        0.0,
        0.9,
        0.0,
        ["billing", "phone"],
        "support",
        [
            "Someone used my card details, I called {n} times to block it.",
            "I got a suspicious text pretending to be you asking for my PIN.",
        ],
    ),
    -1: (
        "unassigned",
        False,
        0.15,
        0.3,
        0.3,
        [],
        "none",
        [
            "ok",
            "Nothing to add.",
            "See previous message.",
            "Just browsing {n}.",
        ],
    ),
}


def make_corpus(seed: int = 7, weeks: int = WEEKS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Assignments and topics for ``weeks`` weeks; the last week has the surge and the new topic."""
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    for week in range(weeks):
        last = week == weeks - 1
        total = int(rng.integers(130, 170))
        for topic, (label, _, share, p_neg, p_pos, touchpoints, stage, texts) in TOPICS.items():
            count = round(total * share)
            if last and topic == 0:
                count = 60  # the surge: about 6 times the usual 15
            if last and topic == 6:
                count = 9  # a topic the latest model update found
            for _ in range(count):
                rows.append(_row(rng, len(rows), week, topic, label, p_neg, p_pos, touchpoints, stage, texts))
    assignments = pd.DataFrame(rows)
    assignments["created_at"] = pd.to_datetime(assignments["created_at"], utc=True)
    counts = assignments["topic"].value_counts()
    topics = pd.DataFrame(
        [{"topic": t, "label": spec[0], "count": int(counts.get(t, 0)), "is_new": t == 6, "seeded": spec[1]}
         for t, spec in TOPICS.items()]
    )  # fmt: skip
    return assignments, topics


def _row(rng: np.random.Generator, i: int, week: int, topic: int, label: str, p_neg: float, p_pos: float,
         touchpoints: list[str], stage: str, texts: list[str]) -> dict[str, Any]:  # fmt: skip
    sentiment = rng.choice(["negative", "positive", "neutral"], p=[p_neg, p_pos, 1 - p_neg - p_pos])
    when = FIRST_MONDAY + pd.Timedelta(weeks=week) + pd.Timedelta(seconds=int(rng.integers(0, 7 * 86400)))
    return {
        "id": f"fb-{i:05d}",
        "created_at": when,
        "text": str(rng.choice(texts)).format(n=int(rng.integers(2, 9))),
        "topic": topic,
        "topic_label": label,
        "topic_confidence": float(rng.uniform(0.35, 0.99)) if topic != -1 else 0.0,
        "sentiment_label": str(sentiment),
        "sentiment_score": {"negative": -0.7, "neutral": 0.0, "positive": 0.7}[str(sentiment)],
        "journey_stage": stage,
        "touchpoints": _touchpoints(rng, touchpoints),
        "source": "survey",
    }


def _touchpoints(rng: np.random.Generator, usual: list[str]) -> list[str]:
    """One or more of the topic's usual touchpoints, and now and then a channel besides."""
    names = list(usual[: int(rng.integers(1, len(usual) + 1))]) if usual else []
    if rng.random() < 0.3:
        extra = str(rng.choice(["phone", "email", "chat", "website", "mobile_app"]))
        names += [] if extra in names else [extra]
    return names


@pytest.fixture(scope="module")
def corpus() -> tuple[pd.DataFrame, pd.DataFrame]:
    return make_corpus()


@pytest.fixture(scope="module")
def report(corpus: tuple[pd.DataFrame, pd.DataFrame]) -> TopicReport:
    return build_topic_report(*corpus, period="week")


@pytest.fixture(scope="module")
def html(report: TopicReport) -> str:
    return render_html(report)


def week(n: int) -> pd.Timestamp:
    return FIRST_MONDAY + pd.Timedelta(weeks=n)


# ---------------------------------------------------------------------------- tables


def test_build_topic_report_headline_compares_the_last_two_weeks(
    report: TopicReport, corpus: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    assignments = corpus[0]
    in_week = {n: assignments[(assignments.created_at >= week(n)) & (assignments.created_at < week(n + 1))]
               for n in (WEEKS - 2, WEEKS - 1)}  # fmt: skip
    last, before = in_week[WEEKS - 1], in_week[WEEKS - 2]
    headline = report.headline

    assert (report.current, report.previous) == (week(WEEKS - 1), week(WEEKS - 2))
    assert headline.loc["volume", "current"] == len(last)
    assert headline.loc["volume", "previous"] == len(before)
    assert headline.loc["volume", "change"] == pytest.approx(len(last) / len(before) - 1)
    net = 100 * ((last.sentiment_label == "positive").sum() - (last.sentiment_label == "negative").sum()) / len(last)
    assert headline.loc["net_sentiment", "current"] == pytest.approx(net)
    assert headline.loc["active_topics", "current"] == 7  # six steady topics and the new one
    assert headline.loc["active_topics", "previous"] == 6
    assert headline.loc["unassigned_share", "current"] == pytest.approx((last.topic == -1).mean())
    assert len(report.periods) == WEEKS and list(report.totals["label"])[-1] == "2024-W19"


def test_build_topic_report_flags_the_surge_and_the_new_topic(report: TopicReport) -> None:
    trends = report.trends.set_index("topic_label")

    assert report.trends_note is None
    assert trends.loc["delivery delay", "trend"] == "emerging"
    assert trends.loc["delivery delay", "p_adjusted"] < 0.001
    assert trends.loc["fraud and security", "trend"] == "emerging"
    assert trends.loc["staff friendliness", "trend"] == "stable"
    assert "unassigned" not in trends.index


def test_build_topic_report_ranks_top_topics_by_volume(corpus: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    assignments, topics = corpus

    report = build_topic_report(assignments, topics, top_n=3)

    assigned = assignments[assignments.topic != -1]
    expected = assigned["topic"].value_counts().head(3)
    assert list(report.top_topics["topic"]) == list(expected.index)
    assert list(report.top_topics["volume"]) == list(expected)
    assert report.top_topics["share"].iloc[0] == pytest.approx(expected.iloc[0] / len(assignments))
    assert set(report.verbatims["topic"]) == set(expected.index)


def test_build_topic_report_takes_flags_and_names_from_the_topics_table(
    corpus: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    assignments, topics = corpus
    renamed = topics.assign(label=topics["label"].replace({"delivery delay": "late deliveries"}))

    report = build_topic_report(assignments, renamed)

    top = report.top_topics.set_index("topic")
    assert top.loc[0, "label"] == "late deliveries"
    assert bool(top.loc[6, "is_new"]) and not bool(top.loc[5, "seeded"])
    assert "late deliveries" in set(report.trends["topic_label"])


def test_build_topic_report_verbatims_are_the_most_confident_distinct_texts(
    report: TopicReport, corpus: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    assignments = corpus[0]
    for topic in report.top_topics["topic"]:
        shown = report.verbatims[report.verbatims["topic"] == topic]
        rows = assignments[assignments.topic == topic].sort_values("topic_confidence", ascending=False)
        assert len(shown) == 3
        assert shown["text"].is_unique
        assert shown["topic_confidence"].iloc[0] == rows["topic_confidence"].iloc[0]
        assert list(shown["topic_confidence"]) == sorted(shown["topic_confidence"], reverse=True)


def test_build_topic_report_keeps_records_between_start_and_end(corpus: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    assignments, topics = corpus

    report = build_topic_report(assignments, topics, start=week(2), end=week(5))

    assert report.periods == [week(2), week(3), week(4)]
    assert report.first_record >= week(2) and report.last_record < week(5)
    kept = assignments[(assignments.created_at >= week(2)) & (assignments.created_at < week(5))]
    assert report.settings["records"] == len(kept)
    assert report.trends["baseline_periods"].iloc[0] == 4  # the baseline reaches back before `start`


def test_build_topic_report_with_one_week_explains_why_there_are_no_trends(
    corpus: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    report = build_topic_report(*corpus, end=week(1))

    assert report.previous is None and report.trends.empty
    assert report.trends_note is not None and "before 2024-W10" in report.trends_note
    assert "before 2024-W10" in render_html(report)


def test_a_period_of_few_texts_is_not_compared_in_the_headline(corpus: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    # The week before the last keeps one text: its net sentiment is +100, 0 or -100 by that text alone.
    assignments, topics = corpus
    before = assignments[(assignments.created_at >= week(WEEKS - 2)) & (assignments.created_at < week(WEEKS - 1))]
    thinned = assignments.drop(before.index[1:])
    report = build_topic_report(thinned, topics, period="week")
    headline = report.headline

    assert headline.loc["volume", "previous"] == 1 and headline["low_base"].all()
    assert headline["change"].isna().all(), headline  # no +N% of one text, no difference of rates
    page = render_html(report)
    notes = re.findall(r'class="note">([^<]*)<', page)[:4]
    assert notes[0] == "vs 1 in 2024-W18: too few texts to compare"
    assert all(note.endswith(" in 2024-W18: too few texts to compare") for note in notes[1:]), notes

    # The full corpus compares as before; a small latest period still shows its volume change.
    assert not build_topic_report(*corpus, period="week").headline["low_base"].any()
    small_last = assignments.drop(assignments[assignments.created_at >= week(WEEKS - 1)].index[1:])
    last = build_topic_report(small_last, topics, period="week").headline
    assert last.loc["volume", "change"] == pytest.approx(1 / len(before) - 1)
    assert last.loc[["net_sentiment", "active_topics", "unassigned_share"], "change"].isna().all()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"topics": lambda t: t.drop(columns=["is_new"])}, r"topics table lacks column\(s\) \['is_new'\]"),
        ({"assignments": lambda a: a.drop(columns=["text"])}, r"assignments table lacks column\(s\) \['text'\]"),
        ({"start": "2030-01-01"}, r"no feedback to report on between 2030-01-01"),
        ({"top_n": 0}, r"top_n must be a whole number of at least 1"),
        ({"alpha": 0.0}, r"alpha must be in \(0, 1\), got 0.0"),  # an error, not a note on the page
        ({"topics": lambda t: t.rename(columns={"topic": "id"})}, r"rename its id column"),
    ],
)
def test_build_topic_report_rejects_bad_input(
    corpus: tuple[pd.DataFrame, pd.DataFrame], change: dict[str, Any], message: str
) -> None:
    assignments, topics = corpus
    assignments = change.pop("assignments", lambda a: a)(assignments)
    topics = change.pop("topics", lambda t: t)(topics)

    with pytest.raises(InputError, match=message):
        build_topic_report(assignments, topics, **change)


@pytest.mark.parametrize(("period", "periods", "latest"), [("day", 70, "12 May 2024"), ("month", 3, "2024-05")])
def test_build_topic_report_by_day_and_by_month(
    corpus: tuple[pd.DataFrame, pd.DataFrame], period: str, periods: int, latest: str
) -> None:
    report = build_topic_report(*corpus, period=period)  # type: ignore[arg-type]

    assert len(report.periods) == periods
    assert report.totals["volume"].sum() == len(corpus[0])
    html = render_html(report)
    assert f"This {period} at a glance" in html and f"Topic report: {latest}" in html


# ---------------------------------------------------------------------------- HTML


def test_render_html_escapes_text_from_the_data(corpus: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    assignments, topics = corpus
    assignments = assignments.copy()
    best = assignments[assignments.topic == 0]["topic_confidence"].idxmax()
    assignments.loc[best, "text"] = f"Late again {XSS} & <b>bold</b>"
    topics = topics.assign(label=topics["label"].replace({"delivery delay": f"delivery {XSS}"}))

    html = render_html(build_topic_report(assignments, topics))

    assert "<script" not in html.lower()
    assert "<b>bold</b>" not in html
    assert "Late again &lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert "delivery &lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_render_html_is_self_contained(html: str, report: TopicReport) -> None:
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert "default-src 'none'" in html  # the page's own policy: load nothing, run nothing
    for pattern in (r"<script", r"<link", r"<iframe", r"@import", r"\bsrc\s*=", r"url\((?!#)"):
        assert not re.search(pattern, html, re.IGNORECASE), pattern
    assert set(re.findall(r'href="(.)', html)) <= {"#"}  # only references inside the page
    # One volume chart, one heatmap, one sparkline per top topic, all inline.
    assert html.count("<svg") == 2 + len(report.top_topics)
    assert 'class="chart chart-volume"' in html and 'class="chart chart-heatmap"' in html


def test_render_html_chart_ids_are_unique_across_charts(html: str) -> None:
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))
    for ref in re.findall(r'(?:href="#|url\(#)([^")]+)', html):
        assert ref in ids


def test_render_html_shows_every_section(html: str, report: TopicReport) -> None:
    for heading in ("This week at a glance", "Volume and sentiment by week", "Top topics",
                    "What changed in 2024-W19", "Topics by touchpoint", "What customers wrote",
                    "How these numbers were computed"):  # fmt: skip
        assert re.search(rf">{re.escape(heading)}( \([^<]*\))?</h2>", html), heading
    for label in report.top_topics["label"]:
        assert f"<h3>{label}</h3>" in html
    assert html.count("<blockquote>") == 3 * len(report.top_topics)
    assert "Fisher’s exact test" in html and "Benjamini–Hochberg" in html


def test_render_html_puts_the_surge_into_words(html: str, report: TopicReport) -> None:
    surge = report.trends.set_index("topic_label").loc["delivery delay"]
    emerging = html.split('<div class="emerging">')[1].split('<div class="declining">')[0]

    assert "<strong>delivery delay</strong>" in emerging
    assert f"{surge['count']} mentions in 2024-W19" in emerging
    assert "as common" in emerging and "less than once in 1,000" in emerging
    assert "<strong>staff friendliness</strong>" not in emerging


# ---------------------------------------------------------------------------- writing


def test_write_report_html_is_written_whole(report: TopicReport, tmp_path: Path) -> None:
    target = tmp_path / "out" / "topics.html"

    written = write_report(report, target)

    assert written == target
    assert target.read_text(encoding="utf-8") == render_html(report)
    assert [p.name for p in target.parent.iterdir()] == ["topics.html"]  # no temporary file left


@pytest.mark.parametrize("fmt", ["pdf", "png"])
def test_write_report_without_chromium_says_how_to_get_it(
    report: TopicReport, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    monkeypatch.setattr(chromium, "CANDIDATES", (str(tmp_path / "no-chromium"),))

    with pytest.raises(BrowserError, match=r"apt-get install chromium.*or write the report as html"):
        write_report(report, tmp_path / f"topics.{fmt}", fmt=fmt)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_write_report_rejects_an_unknown_format(report: TopicReport, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"fmt must be 'html', 'pdf' or 'png', got 'docx'"):
        write_report(report, tmp_path / "topics.docx", fmt="docx")  # type: ignore[arg-type]


@pytest.mark.parametrize(("ink_rows", "trimmed", "height"), [((10, 50), True, 50 + 24), ((10, 300), False, 300)])
def test_trim_bottom_cuts_blank_rows_and_tells_when_the_page_ran_on(
    tmp_path: Path, ink_rows: tuple[int, int], trimmed: bool, height: int
) -> None:
    from PIL import Image

    pixels = np.full((300, 80, 3), 255, dtype=np.uint8)
    pixels[ink_rows[0] : ink_rows[1], 20:60] = 30
    png = tmp_path / "shot.png"
    Image.fromarray(pixels).save(png)

    assert chromium.trim_bottom(png) is trimmed
    with Image.open(png) as image:
        assert image.size == (80, height)


# ---------------------------------------------------------------------------- in Chromium


@pytest.fixture(scope="module")
def page(html: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("page") / "report.html"
    path.write_text(html, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def shot(page: Path) -> tuple[np.ndarray, list[str]]:
    """The page's screenshot as an RGB array, and what the page wrote to its console."""
    from PIL import Image

    png = page.with_suffix(".png")
    messages = chromium.screenshot(page, png, width=1200, chromium=CHROMIUM)
    with Image.open(png) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16), messages


def near(pixels: np.ndarray, color: str | tuple[int, int, int], tolerance: int = 6) -> np.ndarray:
    rgb = tuple(int(color[i : i + 2], 16) for i in (1, 3, 5)) if isinstance(color, str) else color
    return (np.abs(pixels - np.array(rgb)) <= tolerance).all(axis=2)


@needs_chromium
def test_report_in_chromium_draws_its_charts(shot: tuple[np.ndarray, list[str]]) -> None:
    import matplotlib

    pixels, _ = shot
    assert pixels.shape[1] == 1200 and 1500 < pixels.shape[0] < 12000  # cut below the page's end
    assert pixels.std() > 20  # not a blank page

    bars = near(pixels, charts.BAR_COLOR)
    assert bars.sum() > 2000  # the volume bars were painted
    rows, cols = np.nonzero(bars)
    chart = pixels[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    assert chart.shape[0] > 80 and chart.shape[1] > 500
    assert chart.std() > 40  # bars against the background, not one flat colour

    darkest = tuple(round(255 * c) for c in matplotlib.colormaps[charts.HEATMAP_CMAP](1.0)[:3])
    assert near(pixels, darkest).sum() > 300  # the heatmap's largest cell


@needs_chromium
def test_report_in_chromium_writes_nothing_to_the_console(shot: tuple[np.ndarray, list[str]]) -> None:
    _, messages = shot
    assert messages == []


@needs_chromium
def test_console_check_catches_what_a_page_logs(tmp_path: Path) -> None:
    # The check above must be able to fail: a page that logs and throws is caught.
    noisy = tmp_path / "noisy.html"
    noisy.write_text("<!doctype html><p>x</p><script>console.log('hello'); undefinedCall();</script>")

    messages = chromium.screenshot(noisy, tmp_path / "noisy.png", width=400, height=300, chromium=CHROMIUM)

    assert any("hello" in m for m in messages)
    assert any("Uncaught" in m for m in messages)


@needs_chromium
def test_report_dom_in_chromium_holds_the_svg_charts(page: Path, report: TopicReport) -> None:
    dom = chromium.dump_dom(page, chromium=CHROMIUM)

    assert dom.count("<svg") == 2 + len(report.top_topics)
    assert len(re.findall(r"<svg[^>]*chart-volume", dom)) == 1
    assert len(re.findall(r"<svg[^>]*chart-heatmap", dom)) == 1
    assert len(re.findall(r"<polyline", dom)) == len(report.top_topics)
    assert "<script" not in dom.lower()


@needs_chromium
@pytest.mark.parametrize(("fmt", "magic"), [("pdf", b"%PDF-"), ("png", b"\x89PNG\r\n\x1a\n")])
def test_write_report_renders_pdf_and_png(report: TopicReport, tmp_path: Path, fmt: str, magic: bytes) -> None:
    target = tmp_path / f"topics.{fmt}"

    write_report(report, target, fmt=fmt, chromium_path=CHROMIUM)  # type: ignore[arg-type]

    assert target.read_bytes().startswith(magic)
    assert target.stat().st_size > 20_000
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_a_report_fits_its_own_topics_on_a_sample_and_assigns_every_record(fake_pipeline) -> None:  # noqa: ANN001
    import numpy as np
    import pandas as pd
    from factories import topic_corpus

    from feedback_nlp.reports import build
    from feedback_nlp.topics.corpus import Corpus

    texts, groups = topic_corpus(("delivery", "refund", "app", "staff"), 30)
    corpus = Corpus(
        pd.DataFrame(
            {
                "id": range(len(texts)),
                "text": texts,
                "kind": "survey",
                "created_at": pd.Timestamp("2026-01-05", tz="UTC"),
            }
        )
    )
    model = build.fit_on(corpus, fake_pipeline, min_topic_size=10, max_fit_texts=60)
    assert model.manifest["corpus"]["n_texts"] == 60
    frame = build.with_topics(corpus, model, fake_pipeline)
    assert len(frame) == len(texts)
    assigned = frame["topic"].to_numpy() >= 0
    assert assigned.mean() >= 0.7
    # The threshold is calibrated on every record, not only the sample: the whole corpus leaves
    # the fit's share of its texts unassigned (to one text: the quantile's rounding).
    fit_share = 1 - sum(t.count for t in model.topics) / 60
    assert abs((~assigned).mean() - fit_share) <= 1 / len(texts), ((~assigned).mean(), fit_share)
    # Texts of one group mostly share a topic, fitted or not.
    for group in set(groups):
        topics = frame["topic"][np.array(groups) == group]
        assert topics.value_counts().iloc[0] >= 0.6 * len(topics), (group, topics.value_counts())


def test_an_empty_window_counts_every_record_of_the_table(corpus: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    assignments, topics = corpus
    # start after end: nothing between them; the message counted only the records before `end`.
    with pytest.raises(InputError, match=rf"\({len(assignments)} records in the table before filtering\)"):
        build_topic_report(assignments, topics, start=week(5), end=week(2))


def test_the_trend_note_counts_no_change_among_the_tested_topics_only(report: TopicReport) -> None:
    import dataclasses

    trends = report.trends.copy()
    small = trends.index[trends["trend"] == "stable"][0]
    trends.loc[small, "p_adjusted"] = float("nan")  # a topic too small to be tested
    page = render_html(dataclasses.replace(report, trends=trends))
    tested = int(trends["p_adjusted"].notna().sum())
    stable = int((trends["trend"] == "stable").sum()) - 1
    assert f"{tested} topics had enough mentions to be tested; {stable} of them showed no change" in page


def test_an_end_inside_the_latest_period_gives_no_volume_change(corpus: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    assignments, topics = corpus
    cut = build_topic_report(assignments, topics, end=week(5) + pd.Timedelta(days=2))  # Monday and Tuesday
    assert bool(cut.headline.loc["volume", "cut_short"]) and np.isnan(cut.headline.loc["volume", "change"])
    assert "cut short by the report&#39;s end date" in render_html(cut) or "cut short by the report's end date" in (
        render_html(cut)
    )
    whole = build_topic_report(assignments, topics, end=week(5))  # a period boundary: nothing is cut
    assert not bool(whole.headline.loc["volume", "cut_short"]) and not np.isnan(whole.headline.loc["volume", "change"])


def test_an_end_inside_the_latest_period_gives_no_active_topics_change(
    corpus: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    assignments, topics = corpus
    cut = build_topic_report(assignments, topics, end=week(5) + pd.Timedelta(days=2))  # Monday and Tuesday
    assert np.isnan(cut.headline.loc["active_topics", "change"])
    page = render_html(cut)
    card = page[page.index("Active topics") : page.index("Unassigned")]
    assert "cut short by the report" in card and "\u25bc" not in card and "\u25b2" not in card
    whole = build_topic_report(assignments, topics, end=week(5))
    assert not np.isnan(whole.headline.loc["active_topics", "change"])


def _all_unassigned(corpus: tuple[pd.DataFrame, pd.DataFrame]) -> TopicReport:
    assignments, topics = corpus
    none = assignments.assign(topic=-1, topic_label="unassigned", topic_confidence=0.0)
    return build_topic_report(none, topics, period="week")


def test_a_report_without_topics_says_so_instead_of_good_news(corpus: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    from feedback_nlp.reports.topic_report import unassigned_share

    report = _all_unassigned(corpus)
    assert unassigned_share(report) == 1.0
    page = render_html(report)
    # Texts name touchpoints here: the heatmap is missing because no topic holds a text.
    assert "No text names a touchpoint" not in page
    assert "No text was assigned to a topic, so there is no topic to break down by touchpoint." in page
    # Nothing was tested: no claim that nothing grew beyond chance.
    assert "beyond what chance would explain" not in page
    assert "No topic had enough mentions" in page and "nothing can be said" in page
    assert "nothing to quote" in page


def test_a_report_with_topics_but_no_touchpoints_says_no_text_names_one(
    corpus: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    assignments, topics = corpus
    report = build_topic_report(assignments.assign(touchpoints=[[] for _ in range(len(assignments))]), topics)
    assert "No text names a touchpoint." in render_html(report)


def test_unassigned_share_counts_the_reports_texts(
    corpus: tuple[pd.DataFrame, pd.DataFrame], report: TopicReport
) -> None:
    from feedback_nlp.reports.topic_report import unassigned_share

    assignments, _ = corpus  # counted from the input rows, not from the report's own tables
    dated = assignments[assignments["created_at"].notna()]
    expected = float((dated["topic"] == -1).mean())
    assert unassigned_share(report) == pytest.approx(expected)
    assert 0 < expected < 0.5


def test_quotes_show_the_text_as_people_read_it(corpus: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    assignments, topics = corpus
    raw = "@AcmeHelp @jo_smith my bill &amp; fees went up &gt; 20% [EMAIL]"
    quoted = assignments.copy()
    quoted.loc[quoted["topic"] == 2, "text"] = raw
    quoted.loc[quoted["topic"] == 2, "topic_confidence"] = 0.999
    page = render_html(build_topic_report(quoted, topics))
    quotes = page[page.index('id="verbatims"') :]
    assert "@AcmeHelp" not in quotes and "@jo_smith" not in quotes
    assert "my bill &amp; fees went up &gt; 20%" in quotes  # unescaped once, escaped once by the page
    assert "&amp;amp;" not in quotes and "&amp;gt;" not in quotes
    # The note claims only what is true: names are not removed.
    assert "personal data already removed" not in page and "names written in a text are not removed" in page
