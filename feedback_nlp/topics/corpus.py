"""Feedback for topic models and reports: from a file (classified here) or from the database.

Either way the result is one table with a row per record: id, created_at, the redacted
customer text, kind, source and the prediction fields the trend report needs. The text
the encoder sees is the same normalised text the pipeline classifies, so an embedding
computed for classification can be reused for topics and the other way round.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from feedback_nlp.dates import DateTally
from feedback_nlp.errors import InputError
from feedback_nlp.settings import get_settings
from feedback_nlp.taxonomy.records import FeedbackRecord, Prediction
from feedback_nlp.text import encoder_input
from feedback_nlp.topics.embeddings import EmbeddingCache, text_key
from feedback_nlp.topics.space import TopicSpace, topic_space

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

COLUMNS = [
    "id",
    "created_at",
    "text",
    "kind",
    "source",
    "sentiment_label",
    "sentiment_score",
    "journey_stage",
    "touchpoints",
    "topic",
    "topic_label",
    "topic_confidence",
]


@dataclass
class Corpus:
    """Feedback ready for topics: one row per record (see :data:`COLUMNS`), bad-row messages, and
    a tally of the records without a usable created_at (for the messages of date-based reports)."""

    frame: pd.DataFrame
    errors: list[str] = field(default_factory=list)
    dates: DateTally = field(default_factory=DateTally)

    @property
    def model_inputs(self) -> list[str]:
        """The texts as the encoder sees them (already redacted customer text, normalised)."""
        return [encoder_input(t) for t in self.frame["text"]]

    def __len__(self) -> int:
        return len(self.frame)


def _row(record: FeedbackRecord, text: str, prediction: Prediction | None, index: int) -> dict[str, Any]:
    topic = prediction.topic if prediction is not None else None
    return {
        "id": record.id or str(index + 1),
        "created_at": record.created_at,
        "text": text,
        "kind": str(record.kind),
        "source": record.source,
        "sentiment_label": prediction.sentiment.label if prediction else None,
        "sentiment_score": prediction.sentiment.score if prediction else np.nan,
        "journey_stage": prediction.journey_stage.label if prediction else None,
        "touchpoints": [t.label for t in prediction.touchpoints] if prediction else [],
        "topic": topic.id if topic else -1,
        "topic_label": topic.label if topic else "unassigned",
        "topic_confidence": topic.confidence if topic else 0.0,
    }


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return frame


def corpus_from_file(
    path: str,
    pipeline,
    *,
    kind: str | None = None,
    text_column: str = "text",
    id_column: str = "id",
    classify: bool = False,
    batch_size: int = 256,
    progress: bool = True,
    space: TopicSpace | None = None,
    **read_options: Any,
) -> Corpus:
    """Read feedback from a CSV, Excel, JSONL or Parquet file; with ``classify``, add the pipeline's predictions.

    Bad rows are skipped and reported in ``errors`` (with their line numbers); ``read_options``
    (``columns``, ``skip_rows``, ``date_format``, ``on_bad_date``) go to
    :func:`~feedback_nlp.fileio.read_records`.

    ``space``: the topic space the records will be embedded in next. While classifying, the
    classifier's pass then also computes their vectors in that space over the layers the two
    encoders share, and caches them (:func:`topic_pass_in_classifier`), so :func:`embed_corpus`
    finds them there.
    """
    from contextlib import nullcontext

    from tqdm import tqdm

    from feedback_nlp.fileio import read_records

    rows: list[dict[str, Any]] = []
    errors: list[str] = []
    dates = DateTally()
    batch: list[FeedbackRecord] = []
    bar = tqdm(
        unit="rec", desc="reading" + (" and classifying" if classify else ""), disable=not progress, file=sys.stderr
    )

    def flush() -> None:
        texts = pipeline.customer_texts(batch)
        predictions: list[Prediction | None] = list(pipeline.predict(batch)) if classify else [None] * len(batch)
        for record, text, prediction in zip(batch, texts, predictions, strict=True):
            rows.append(_row(record, text, prediction, len(rows)))
        bar.update(len(batch))
        batch.clear()

    sharing = topic_pass_in_classifier(pipeline, space) if classify and space is not None else nullcontext()
    with sharing:
        for result in read_records(path, kind=kind, text_column=text_column, id_column=id_column, **read_options):
            if result.error is not None:
                errors.append(f"{result.where}: {result.error}")
                continue
            assert result.record is not None
            dates.add(result.line, result.record.created_at, problem=result.bad_date)
            batch.append(result.record)
            if len(batch) >= batch_size:
                flush()
        if batch:
            flush()
    bar.close()
    if not rows:
        first = f" The first: {errors[0]}" if errors else ""
        raise InputError(f"{path} holds no valid feedback records ({len(errors)} bad rows); nothing to model.{first}")
    return Corpus(_frame(rows), errors, dates)


def space_cache(space: TopicSpace) -> EmbeddingCache:
    """The embedding cache of ``space``'s vectors, under the ``cache_dir`` setting."""
    return EmbeddingCache(Path(get_settings().cache_dir) / "embeddings.sqlite", space.fingerprint)


class _TopicVectors:
    """The pipeline's side output (:class:`~feedback_nlp.pipeline.SideOutput`): the topic
    space's vectors, made from its encoder's output and stored in the embedding cache."""

    def __init__(self, space: TopicSpace, cache: EmbeddingCache) -> None:
        self.space = space
        self.cache = cache

    def wanted(self, texts: Sequence[str]) -> bool:
        keys = {text_key(t) for t in texts}
        return len(self.cache.get(list(keys))) < len(keys)

    def put(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        self.cache.put([text_key(t) for t in texts], self.space.from_encoder(vectors))


@contextmanager
def topic_pass_in_classifier(pipeline: Any, space: TopicSpace) -> Iterator[int]:  # noqa: ANN401
    """Within the block, the pipeline's classifying passes also embed their texts in ``space``
    and cache the vectors, running the layers the two encoders share once
    (:mod:`feedback_nlp.encoders.twin`). Yields the layers shared: 0 when nothing can be shared
    (the ``pipeline`` space, int8, a bundle with separately encoded segments or without the
    released model's lower layers, see ``Encoder.attach_side``) or attaching failed, and the
    topic pass then runs on its own later, as before.

    ``pipeline`` is a :class:`~feedback_nlp.pipeline.FeedbackPipeline` or a
    :class:`~feedback_nlp.lanes.ParallelPredictor` (every lane shares).
    """
    from feedback_nlp.lanes import ParallelPredictor

    side = space.encoder
    wrapped = pipeline.pipeline if isinstance(pipeline, ParallelPredictor) else pipeline
    if side is None or getattr(wrapped, "segment_vectors", None) != "pooled":
        yield 0
        return
    if isinstance(pipeline, ParallelPredictor):
        pipeline.close()  # lanes made from now on copy the encoder with its side attached
    try:
        shared = wrapped.encoder.attach_side(side)
    except Exception as exc:  # noqa: BLE001 (only a saving is lost: the topic pass runs on its own)
        logger.warning("The topic pass runs on its own: sharing the classifier's layers failed (%s)", exc)
        shared = 0
    if shared:
        wrapped.side_output = _TopicVectors(space, space_cache(space))
        logger.info("the topic pass runs in the classifier's: %d lower layers shared", shared)
    try:
        yield shared
    finally:
        if shared:
            wrapped.encoder.attach_side(None)
            wrapped.side_output = None
        if isinstance(pipeline, ParallelPredictor):
            pipeline.close()  # the lanes' copies carry the side encoder: dropped


def iter_stored(
    since: datetime | None = None, until: datetime | None = None, *, sessions: Callable[[], Session] | None = None
) -> Iterator[dict[str, Any]]:
    """Stored feedback rows with their predictions, oldest first, streamed from the database.

    Args:
        since, until: created_at range (inclusive, exclusive); records without one count by received_at.
        sessions: a session factory (the service's); a new engine on the configured database otherwise.
    """
    from sqlalchemy import func, select

    from feedback_nlp.storage.db import init_db, make_session_factory
    from feedback_nlp.storage.models import Feedback

    engine = init_db(get_settings().database_url) if sessions is None else None
    factory = sessions or make_session_factory(engine)  # type: ignore[arg-type]
    moment = func.coalesce(Feedback.created_at, Feedback.received_at)
    try:
        with factory() as session:
            query = select(Feedback).order_by(Feedback.pk)
            if since is not None:
                query = query.where(moment >= since)
            if until is not None:
                query = query.where(moment < until)
            for row in session.scalars(query.execution_options(yield_per=1000)):
                topic = row.topic or {}
                yield {
                    "id": row.id,
                    "created_at": row.created_at or row.received_at,
                    "text": row.text,
                    "kind": row.kind,
                    "source": row.source,
                    "sentiment_label": row.sentiment_label,
                    "sentiment_score": row.sentiment_score,
                    "journey_stage": row.journey_stage,
                    "touchpoints": [t["label"] for t in row.touchpoints or []],
                    "topic": int(topic.get("id", -1)),
                    "topic_label": topic.get("label", "unassigned"),
                    "topic_confidence": float(topic.get("confidence", 0.0)),
                }
    finally:
        if engine is not None:
            engine.dispose()


def corpus_from_db(
    since: datetime | None = None, until: datetime | None = None, *, sessions: Callable[[], Session] | None = None
) -> Corpus:
    """Every stored record (within the created_at range) as a corpus."""
    rows = list(iter_stored(since, until, sessions=sessions))
    if not rows:
        raise InputError(
            "The database holds no feedback"
            + (" in that date range" if since or until else "")
            + "; ingest some with POST /v1/feedback, or give an input file."
        )
    return Corpus(_frame(rows))


def embed_corpus(
    corpus: Corpus,
    pipeline,
    *,
    progress: bool = True,
    space: TopicSpace | None = None,
) -> np.ndarray:
    """The corpus' embeddings in the topic ``space`` (default: :func:`~feedback_nlp.topics.space.topic_space`),
    cached by text and space fingerprint under the ``cache_dir`` setting."""
    from tqdm import tqdm

    space = space or topic_space(pipeline)
    cache = space_cache(space)
    with tqdm(
        total=len(corpus), unit="text", desc=f"embedding ({space.name})", disable=not progress, file=sys.stderr
    ) as bar:
        return cache.embed(corpus.model_inputs, space.embed, progress=bar.update)
