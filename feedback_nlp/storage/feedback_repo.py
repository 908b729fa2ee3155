"""Stored feedback: idempotent ingest in one transaction, and filtered, cursor-paginated reads.

Pure data access: the caller redacts and classifies; this module stores what it is given and
reads it back. Records are immutable once stored.

Idempotency key: ``(source, id)``, where ``source`` is the record's own or the caller's default
(the API key's name, say). Sending a stored record again is a ``duplicate`` that returns the
stored id; the same key with a different redacted customer text is a conflict. Records
without an ``id`` get a generated key, so they are never deduplicated by accident.

Examples:
    >>> with Session() as session:
    ...     outcomes = ingest(session, [(record, prediction, redacted_text)], default_source="api")
    >>> outcomes[0]
    IngestOutcome(status='stored', id='6f1c...')
    >>> with Session() as session:
    ...     page, cursor = list_feedback(session, FeedbackFilters(sentiment="negative"), limit=50)
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel
from sqlalchemy import ColumnElement, and_, exists, or_, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from feedback_nlp.errors import ConflictError, InputError
from feedback_nlp.storage.artifacts import sha256_text
from feedback_nlp.storage.db import IMMEDIATE, writer_lock
from feedback_nlp.storage.models import KEY_MAX_LENGTH, Feedback, FeedbackTouchpoint
from feedback_nlp.taxonomy.records import FeedbackKind, FeedbackRecord, Prediction, lone_surrogate_problem

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "FeedbackConflict",
    "FeedbackFilters",
    "IngestItem",
    "IngestOutcome",
    "StoredFeedback",
    "ingest",
    "list_feedback",
]

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
_LOOKUP_CHUNK = 400  # keys per SELECT: 800 bound parameters, far below every database's limit
_CURSOR_VERSION = 1
_MAX_LISTED_KEYS = 20


class IngestItem(NamedTuple):
    """One record to store: the record as received, its prediction and its redacted customer text.

    ``redacted_text`` is the text that was classified (the customer's side, PII redacted);
    segment offsets in ``prediction`` point into it. A plain 3-tuple works as well.
    """

    record: FeedbackRecord
    prediction: Prediction
    redacted_text: str


@dataclass(frozen=True)
class IngestOutcome:
    """What happened to one ingested record: newly ``stored``, or a ``duplicate`` of ``id``."""

    status: Literal["stored", "duplicate"]
    id: str


class FeedbackConflict(ConflictError):
    """Records reuse a stored (or repeated) ``(source, id)`` with a different text; nothing was stored.

    Attributes:
        conflicts: the conflicting ``(source, id)`` keys, in input order.
    """

    def __init__(self, conflicts: Sequence[tuple[str, str]]) -> None:
        self.conflicts = list(conflicts)
        shown = ", ".join(f"(source={s!r}, id={i!r})" for s, i in self.conflicts[:_MAX_LISTED_KEYS])
        more = len(self.conflicts) - _MAX_LISTED_KEYS
        super().__init__(
            f"{len(self.conflicts)} record(s) reuse a (source, id) that is stored, or sent earlier in "
            f"this request, with a different text: {shown}{f' and {more} more' if more > 0 else ''}. "
            "Stored feedback cannot be "
            "changed: send a changed text under a new id. Nothing from this request was stored."
        )


@dataclass(frozen=True)
class FeedbackFilters:
    """Filters of :func:`list_feedback`; ``None`` means "any". Values are ANDed.

    ``created_from`` is inclusive and ``created_to`` exclusive; naive datetimes are UTC. A
    created_at range leaves out records stored without a ``created_at``.
    """

    kind: str | None = None
    source: str | None = None
    touchpoint: str | None = None
    journey_stage: str | None = None
    sentiment: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


class StoredFeedback(BaseModel):
    """A stored record as read back: its metadata, redacted text and prediction.

    ``id`` is the public id; ``external_id`` is the client's id (``None`` when the record came
    without one).
    """

    id: str
    source: str
    external_id: str | None
    kind: FeedbackKind
    text: str
    created_at: datetime | None
    received_at: datetime
    channel: str | None
    rating: float | None
    nps: int | None
    metadata: dict[str, Any]
    turns: list[dict[str, Any]] | None = None
    prediction: Prediction


@dataclass(frozen=True)
class _Prepared:
    """A validated record, ready to insert (built once, reused if the transaction is retried)."""

    public_id: str
    key: tuple[str, str]
    key_generated: bool
    values: dict[str, Any]
    touchpoints: list[tuple[str, float]]

    @property
    def sha(self) -> str:
        return str(self.values["text_sha256"])


def ingest(
    session: Session,
    items: Iterable[IngestItem | tuple[FeedbackRecord, Prediction, str]],
    default_source: str,
    *,
    received_at: datetime | None = None,
) -> list[IngestOutcome]:
    """Store records and their predictions in one transaction: all of them, or none.

    Begins and commits its own transaction, so pass a session with none in progress (a fresh
    one). On any error everything is rolled back and the error re-raised. If a concurrent
    request stores one of the same keys first, the whole batch is retried once and that record
    comes back as a duplicate.

    Args:
        session: a session from :func:`feedback_nlp.storage.db.make_session_factory`.
        items: ``(record, prediction, redacted_text)`` triples.
        default_source: the source of records that do not name one.
        received_at: the time stamped on stored rows; now (UTC) by default.

    Returns:
        One outcome per item, in input order.

    Raises:
        FeedbackConflict: (a :class:`ConflictError`) a key is stored, or repeated in the batch,
            with a different redacted text.
        InputError: a record cannot be stored as given (key too long, NaN in metadata, ...).
    """
    stamp = received_at or datetime.now(UTC)
    prepared = [_prepare(i, IngestItem(*item), default_source, stamp) for i, item in enumerate(items)]
    if not prepared:
        return []
    with writer_lock(session.get_bind()):
        for attempt in (1, 2):
            try:
                outcomes = _ingest_once(session, prepared)
                session.commit()
            except IntegrityError:
                session.rollback()
                if attempt == 2:
                    raise
                logger.info("a concurrent request stored one of the same keys; retrying the batch")
            except BaseException:
                session.rollback()
                raise
            else:
                logger.info("ingested %d records (%d new)", len(outcomes), sum(o.status == "stored" for o in outcomes))
                return outcomes
    raise AssertionError("unreachable")  # pragma: no cover


def list_feedback(
    session: Session,
    filters: FeedbackFilters | None = None,
    *,
    limit: int = DEFAULT_PAGE_SIZE,
    cursor: str | None = None,
) -> tuple[list[StoredFeedback], str | None]:
    """One page of stored feedback, newest first (by ``received_at``, then storage order).

    Pagination is by keyset: the cursor holds the position of the page's last row, so pages
    neither repeat nor skip rows while new records are stored (new rows sort before the first
    page). Pass the same filters with every page of a listing.

    Args:
        session: a session from :func:`feedback_nlp.storage.db.make_session_factory`.
        filters: what to keep; all records when ``None``.
        limit: page size, 1 to :data:`MAX_PAGE_SIZE`.
        cursor: ``next_cursor`` of the previous page; ``None`` for the first page.

    Returns:
        The page's records and the cursor of the next page (``None`` on the last page).

    Raises:
        InputError: the limit is out of range, the range is reversed or the cursor is not one
            this function issued.
    """
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InputError(f"limit must be between 1 and {MAX_PAGE_SIZE}, got {limit}")
    query = select(Feedback).where(*_conditions(filters or FeedbackFilters()))
    if cursor is not None:
        after_received, after_pk = _decode_cursor(cursor)
        query = query.where(
            or_(
                Feedback.received_at < after_received,
                and_(Feedback.received_at == after_received, Feedback.pk < after_pk),
            )
        )
    query = query.order_by(Feedback.received_at.desc(), Feedback.pk.desc()).limit(limit + 1)
    rows = list(session.scalars(query))
    next_cursor = _encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return [_to_stored(row) for row in rows[:limit]], next_cursor


# --- ingest -----------------------------------------------------------------------------------


def _ingest_once(session: Session, prepared: list[_Prepared]) -> list[IngestOutcome]:
    if not session.in_transaction():
        # SQLite: take the write lock before reading, so no other writer slips in between.
        session.connection(execution_options=IMMEDIATE)
    seen = _stored_keys(session, [p.key for p in prepared if not p.key_generated])
    outcomes: list[IngestOutcome] = []
    conflicts: list[tuple[str, str]] = []
    new: list[_Prepared] = []
    for item in prepared:
        hit = seen.get(item.key)
        if hit is None:
            seen[item.key] = (item.public_id, item.sha)
            new.append(item)
            outcomes.append(IngestOutcome("stored", item.public_id))
        elif hit[1] != item.sha:
            conflicts.append(item.key)
        else:
            outcomes.append(IngestOutcome("duplicate", hit[0]))
    if conflicts:
        raise FeedbackConflict(conflicts)
    session.add_all(_row(item) for item in new)
    session.flush()
    return outcomes


def _stored_keys(session: Session, keys: list[tuple[str, str]]) -> dict[tuple[str, str], tuple[str, str]]:
    """``(source, external_id) -> (public id, text sha256)`` of the keys already stored."""
    unique = list(dict.fromkeys(keys))
    found: dict[tuple[str, str], tuple[str, str]] = {}
    for start in range(0, len(unique), _LOOKUP_CHUNK):
        chunk = unique[start : start + _LOOKUP_CHUNK]
        query = select(Feedback.source, Feedback.external_id, Feedback.id, Feedback.text_sha256).where(
            tuple_(Feedback.source, Feedback.external_id).in_(chunk)
        )
        for source, external_id, public_id, sha in session.execute(query):
            found[(source, external_id)] = (public_id, sha)
    return found


def _prepare(index: int, item: IngestItem, default_source: str, received_at: datetime) -> _Prepared:
    record, prediction, redacted = item
    where = f"record {index}"
    source = _key_part(record.source or default_source, f"{where}: 'source'")
    public_id = str(uuid.uuid4())
    key_generated = not record.id
    external_id = public_id if key_generated else _key_part(record.id or "", f"{where}: 'id'")
    if record.rating is not None and not math.isfinite(record.rating):
        raise InputError(f"{where}: 'rating' must be a finite number, got {record.rating}")
    predicted = prediction.model_dump(mode="json")
    values: dict[str, Any] = {
        "id": public_id,
        "source": source,
        "external_id": external_id,
        "external_id_generated": key_generated,
        "kind": record.kind.value,
        # PostgreSQL text cannot hold NUL; U+FFFD keeps every segment offset in place.
        "text": redacted.replace("\x00", "\ufffd"),
        "text_sha256": sha256_text(redacted),
        "created_at": _utc(record.created_at, f"{where}: 'created_at'"),
        "received_at": received_at,
        "channel": record.channel.replace("\x00", "\ufffd") if record.channel is not None else None,
        "rating": record.rating,
        "nps": record.nps,
        "meta": _json_safe(record.metadata, f"{where}: metadata"),
        "turns": _stored_turns(record, where),
        "sentiment_label": prediction.sentiment.label,
        "sentiment_score": prediction.sentiment.score,
        "sentiment_probabilities": predicted["sentiment"]["probabilities"],
        "journey_stage": prediction.journey_stage.label,
        "journey_stage_confidence": prediction.journey_stage.confidence,
        "touchpoints": predicted["touchpoints"],
        "segments": predicted["segments"],
        "topic": predicted["topic"],
        "model_version": prediction.model_version,
    }
    # One row per label; a repeated label keeps its highest confidence.
    best: dict[str, float] = {}
    for tp in prediction.touchpoints:
        best[tp.label] = max(tp.confidence, best.get(tp.label, 0.0))
    return _Prepared(public_id, (source, external_id), key_generated, values, list(best.items()))


def _row(item: _Prepared) -> Feedback:
    row = Feedback(**item.values)
    row.touchpoint_rows = [FeedbackTouchpoint(label=label, confidence=c) for label, c in item.touchpoints]
    return row


def _stored_turns(record: FeedbackRecord, where: str) -> list[dict[str, Any]] | None:
    """A transcript's turns as stored: timing, confidence and metadata kept, each text redacted."""
    if record.turns is None:
        return None
    from feedback_nlp.text.redact import redact

    turns = []
    for number, turn in enumerate(record.turns):
        data = turn.model_dump(mode="json")
        data["text"] = redact(turn.text).replace("\x00", "\ufffd")
        data["metadata"] = _json_safe(turn.metadata, f"{where}: turns.{number}.metadata")
        turns.append(data)
    return turns


def _key_part(value: str, what: str) -> str:
    if len(value) > KEY_MAX_LENGTH:
        raise InputError(f"{what} is {len(value)} characters long; the limit is {KEY_MAX_LENGTH}")
    if "\x00" in value:
        raise InputError(f"{what} contains a NUL character; send an id without control characters")
    _no_surrogate(value, what)
    return value


def _no_surrogate(value: str, what: str) -> None:
    """An :class:`InputError` if ``value`` holds a lone UTF-16 surrogate (no database can store one)."""
    problem = lone_surrogate_problem(value, what)
    if problem is not None:
        raise InputError(problem)


def _utc(value: datetime | None, what: str) -> datetime | None:
    """``value`` in UTC (naive means UTC already); an :class:`InputError` if it has no UTC equivalent."""
    if value is None:
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError as exc:
        raise InputError(f"{what} ({value.isoformat()}) falls outside years 1-9999 in UTC") from exc


def _json_safe(value: Any, path: str) -> Any:
    """``value`` if it is plain JSON (finite numbers, string keys); an :class:`InputError` if not."""
    if isinstance(value, str):
        _no_surrogate(value, path)
        return value
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(f"{path} is {value}, which JSON cannot hold; send null or a string instead")
        return value
    if isinstance(value, Mapping):
        if not all(isinstance(key, str) for key in value):
            raise InputError(f"{path} has a key that is not a string; JSON object keys are strings")
        for key in value:
            _no_surrogate(key, f"a key of {path}")
        return {key: _json_safe(item, f"{path}.{key}") for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item, f"{path}[{i}]") for i, item in enumerate(value)]
    raise InputError(f"{path} holds a {type(value).__name__}; metadata must be plain JSON values")


# --- list ---------------------------------------------------------------------------------------


def _conditions(filters: FeedbackFilters) -> list[ColumnElement[bool]]:
    created_from = _utc(filters.created_from, "created_from")
    created_to = _utc(filters.created_to, "created_to")
    if created_from is not None and created_to is not None and created_from >= created_to:
        raise InputError(
            f"created_from ({created_from.isoformat()}) must be before created_to ({created_to.isoformat()})"
        )
    equal = {
        Feedback.kind: filters.kind,
        Feedback.source: filters.source,
        Feedback.journey_stage: filters.journey_stage,
        Feedback.sentiment_label: filters.sentiment,
    }
    conditions: list[ColumnElement[bool]] = [column == value for column, value in equal.items() if value is not None]
    if filters.touchpoint is not None:
        conditions.append(
            exists().where(
                FeedbackTouchpoint.feedback_pk == Feedback.pk, FeedbackTouchpoint.label == filters.touchpoint
            )
        )
    if created_from is not None:
        conditions.append(Feedback.created_at >= created_from)
    if created_to is not None:
        conditions.append(Feedback.created_at < created_to)
    return conditions


def _to_stored(row: Feedback) -> StoredFeedback:
    prediction = Prediction.model_validate(
        {
            "id": None if row.external_id_generated else row.external_id,
            "kind": row.kind,
            "sentiment": {
                "label": row.sentiment_label,
                "score": row.sentiment_score,
                "probabilities": row.sentiment_probabilities,
            },
            "journey_stage": {"label": row.journey_stage, "confidence": row.journey_stage_confidence},
            "touchpoints": row.touchpoints,
            "topic": row.topic,
            "segments": row.segments,
            "model_version": row.model_version,
        }
    )
    return StoredFeedback(
        id=row.id,
        source=row.source,
        external_id=None if row.external_id_generated else row.external_id,
        kind=FeedbackKind(row.kind),
        text=row.text,
        created_at=row.created_at,
        received_at=row.received_at,
        channel=row.channel,
        rating=row.rating,
        nps=row.nps,
        metadata=row.meta,
        turns=row.turns,
        prediction=prediction,
    )


def _encode_cursor(row: Feedback) -> str:
    payload = json.dumps([_CURSOR_VERSION, row.received_at.isoformat(), row.pk], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        version, received, pk = json.loads(raw)
        when = datetime.fromisoformat(received)
        if version != _CURSOR_VERSION or when.tzinfo is None or not _is_pk(pk):
            raise ValueError("unexpected cursor content")
        when.astimezone(UTC)  # a time with no UTC equivalent (year 9999 at -23:59) is no cursor of ours
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError, OverflowError) as exc:
        raise InputError(
            "the cursor is not valid: pass the 'next_cursor' of the previous page unchanged, "
            "or leave it out for the first page"
        ) from exc
    return when, pk


def _is_pk(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63
