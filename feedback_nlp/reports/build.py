"""From feedback to a topic trend report: classify, embed (cached), assign topics, compute, render.

Shared by ``feedback-nlp report topics`` and ``GET /v1/reports/topic-trends``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from feedback_nlp.dates import ACCEPTED, DateTally
from feedback_nlp.errors import InputError
from feedback_nlp.reports.topic_report import TopicReport, _moment, build_topic_report
from feedback_nlp.topics.corpus import Corpus, embed_corpus
from feedback_nlp.topics.model import OUTLIER, TopicConfig, TopicModel
from feedback_nlp.topics.space import topic_space
from feedback_nlp.topics.stages import StageClock

logger = logging.getLogger(__name__)


def topics_frame(model: TopicModel) -> pd.DataFrame:
    """The model's topic table in the report's shape: topic, label, count, is_new, seeded."""
    rows = [
        {"topic": t.id, "label": t.label, "count": t.count, "is_new": t.is_new, "seeded": t.seeded}
        for t in model.topics
    ]
    return pd.DataFrame(rows, columns=["topic", "label", "count", "is_new", "seeded"])


def with_topics(corpus: Corpus, model: TopicModel, pipeline, *, progress: bool = False) -> pd.DataFrame:
    """The corpus table with each record's topic from ``model`` (embeddings from the cache)."""
    frame = corpus.frame.copy()
    space = topic_space(pipeline, model.space_name)
    assignments = model.assign(embed_corpus(corpus, pipeline, progress=progress, space=space))
    frame["topic"] = [a.topic for a in assignments]
    frame["topic_label"] = [a.label for a in assignments]
    frame["topic_confidence"] = [a.confidence for a in assignments]
    return frame


#: At most this many texts are fitted on when a report fits its own topic model; the rest are
#: assigned to the fitted topics from their embeddings (a dot product), so a large export costs
#: one fit of this size (docs/topics.md, Scale).
MAX_FIT_TEXTS = 20_000


def fit_on(
    corpus: Corpus,
    pipeline,
    *,
    min_topic_size: int = 15,
    progress: bool = False,
    max_fit_texts: int | None = MAX_FIT_TEXTS,
    clock: StageClock | None = None,
) -> TopicModel:
    """A topic model fitted on ``corpus`` itself (when none is deployed or given), on a seeded
    random sample of at most ``max_fit_texts`` texts (``None``: all).

    ``clock`` times the topic embeddings (stage ``embed``) and the fit's own stages
    (:data:`~feedback_nlp.topics.model.FIT_STAGES`); with ``progress``, a bar shows them.
    """
    import numpy as np

    space = topic_space(pipeline)
    own_clock = clock is None
    clock = clock or StageClock(progress=progress)
    with clock.stage("embed"):
        X = embed_corpus(corpus, pipeline, progress=progress, space=space)
    inputs, X_fit = corpus.model_inputs, X
    sampled = max_fit_texts is not None and len(inputs) > max_fit_texts
    if sampled:
        rows = np.sort(np.random.default_rng(0).choice(len(inputs), max_fit_texts, replace=False))
        logger.info(
            "fitting topics on %d of %d texts (a random sample); the rest are assigned", max_fit_texts, len(inputs)
        )
        inputs, X_fit = [inputs[i] for i in rows], X[rows]
    model, assigned = TopicModel.fit(
        inputs,
        X_fit,
        embed=space.embed,
        seeds=pipeline.taxonomy.topic_seeds,
        config=TopicConfig(min_topic_size=min_topic_size, verbose=progress),
        clock=clock,
    )
    if sampled:
        # Texts outside the sample are a little farther from the centroids than the sample's own:
        # the whole corpus gets the fit's share of unassigned texts, not more.
        model.calibrate(X, float(np.mean([a.topic == OUTLIER for a in assigned])))
    model.manifest["space"] = space.name
    if own_clock:
        clock.close()
    logger.info("topic fit stages (s): %s", {name: round(s, 1) for name, s in clock.seconds.items()})
    return model


def check_range(start: datetime | None, end: datetime | None) -> None:
    """Refuse a report range that ends before it starts, before any work.

    Raises:
        InputError: ``start`` is at or after ``end``.
    """
    if start is None or end is None:
        return
    if _moment(start) >= _moment(end):
        raise InputError(
            f"--from ({start.isoformat()}) must come before --to ({end.isoformat()}): the report covers "
            "--from (inclusive) to --to (exclusive). Swap them, or leave one out."
        )


def require_dated_file(path: str, read_kwargs: dict[str, Any]) -> None:
    """Refuse a file none of whose records has a usable created_at, before it is classified.

    Reads records (not classifying them) until the first with a date, so a dated file costs a
    row or two; an undated one is read once, far cheaper than the classifying pass it saves.

    Raises:
        InputError: no record has a usable created_at (the message says why and what to pass).
    """
    from feedback_nlp.fileio import read_records

    if str(path) == "-":
        return  # standard input can be read once only: the check after reading it stands
    tally = DateTally()
    for result in read_records(path, **read_kwargs):
        if result.record is None:
            continue
        if result.record.created_at is not None:
            return
        tally.add(result.line, None, problem=result.bad_date)
    if tally.total:
        raise _undated(tally)


def require_dates(corpus: Corpus) -> None:
    """Refuse a corpus none of whose records has a usable created_at, before topics are fitted
    or assigned (see :func:`dated`)."""
    missing = int(corpus.frame["created_at"].isna().sum())
    if len(corpus.frame) and missing == len(corpus.frame):
        tally = corpus.dates if corpus.dates.undated == missing else DateTally(total=missing, missing=missing)
        raise _undated(tally)


def _undated(dates: DateTally) -> InputError:
    return InputError(
        f"No record has a usable created_at, so there is no trend to show: {dates.describe()}. "
        "If the dates are in a column with another name, pass --created-at-column NAME; dates are read "
        f"as {ACCEPTED}; slashed dates need --date-format."
    )


def dated(
    frame: pd.DataFrame, warn: Callable[[str], None] = logger.warning, dates: DateTally | None = None
) -> pd.DataFrame:
    """Rows with a created_at (a trend needs a date); says how many were left out and why.

    Args:
        frame: The corpus table.
        warn: Where the count of left-out records goes.
        dates: The reader's tally (records without a date, or with one it could not read), for
            examples by line; counted from ``frame`` when not given.
    """
    missing = int(frame["created_at"].isna().sum())
    if dates is None or dates.undated != missing:
        dates = DateTally(total=len(frame), missing=missing)
    if missing == len(frame):
        raise _undated(dates)
    if missing:
        warn(f"{missing} record(s) without a usable created_at left out of the report: {dates.describe()}")
    return frame[frame["created_at"].notna()].reset_index(drop=True)


def topic_trend_report(
    corpus: Corpus,
    pipeline: Any,
    model: TopicModel,
    *,
    period: str = "week",
    start: str | None = None,
    end: str | None = None,
    progress: bool = False,
) -> TopicReport:
    """The report's tables for ``corpus`` under ``model``."""
    require_dates(corpus)  # before the topic vectors are computed
    frame = dated(with_topics(corpus, model, pipeline, progress=progress), dates=corpus.dates)
    return build_topic_report(frame, topics_frame(model), period=period, start=start, end=end)  # type: ignore[arg-type]


def default_output(fmt: str) -> Path:
    """report.html, report.pdf or report.png."""
    return Path(f"report.{fmt}")
