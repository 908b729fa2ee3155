"""From feedback to a topic trend report: classify, embed (cached), assign topics, compute, render.

Shared by ``feedback-nlp report topics`` and ``GET /v1/reports/topic-trends``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from feedback_nlp.errors import InputError
from feedback_nlp.reports.topic_report import TopicReport, build_topic_report
from feedback_nlp.topics.corpus import Corpus, embed_corpus
from feedback_nlp.topics.model import TopicConfig, TopicModel

logger = logging.getLogger(__name__)


def topics_frame(model: TopicModel) -> pd.DataFrame:
    """The model's topic table in the report's shape: topic, label, count, is_new, seeded."""
    rows = [{"topic": t.id, "label": t.label, "count": t.count, "is_new": t.is_new, "seeded": t.seeded}
            for t in model.topics]
    return pd.DataFrame(rows, columns=["topic", "label", "count", "is_new", "seeded"])


def with_topics(corpus: Corpus, model: TopicModel, pipeline, *, progress: bool = False) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """The corpus table with each record's topic from ``model`` (embeddings from the cache)."""
    frame = corpus.frame.copy()
    assignments = model.assign(embed_corpus(corpus, pipeline, progress=progress))
    frame["topic"] = [a.topic for a in assignments]
    frame["topic_label"] = [a.label for a in assignments]
    frame["topic_confidence"] = [a.confidence for a in assignments]
    return frame


def fit_on(corpus: Corpus, pipeline, *, min_topic_size: int = 15, progress: bool = False) -> TopicModel:  # type: ignore[no-untyped-def]
    """A topic model fitted on ``corpus`` itself (when none is deployed or given)."""
    X = embed_corpus(corpus, pipeline, progress=progress)
    model, _ = TopicModel.fit(corpus.model_inputs, X, embed=pipeline.embed, seeds=pipeline.taxonomy.topic_seeds,
                              config=TopicConfig(min_topic_size=min_topic_size))
    return model


def dated(frame: pd.DataFrame, warn: Callable[[str], None] = logger.warning) -> pd.DataFrame:
    """Rows with a created_at (a trend needs a date); says how many were left out."""
    missing = int(frame["created_at"].isna().sum())
    if missing == len(frame):
        raise InputError(
            "None of the records has a created_at, so there is no trend to show. Add a created_at "
            "column (ISO 8601, e.g. 2026-05-04T10:00:00Z) to the input."
        )
    if missing:
        warn(f"{missing} record(s) without created_at left out of the report")
    return frame[frame["created_at"].notna()].reset_index(drop=True)


def topic_trend_report(
    corpus: Corpus,
    pipeline,  # type: ignore[no-untyped-def]
    model: TopicModel,
    *,
    period: str = "week",
    start: str | None = None,
    end: str | None = None,
    progress: bool = False,
) -> TopicReport:
    """The report's tables for ``corpus`` under ``model``."""
    frame = dated(with_topics(corpus, model, pipeline, progress=progress))
    return build_topic_report(frame, topics_frame(model), period=period, start=start, end=end)  # type: ignore[arg-type]


def default_output(fmt: str) -> Path:
    """report.html, report.pdf or report.png."""
    return Path(f"report.{fmt}")
