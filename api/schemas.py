"""Request and response bodies of the HTTP API (apart from the domain records)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from feedback_nlp.taxonomy.records import FeedbackRecord, Prediction

_EXAMPLE_RECORDS = [
    {"id": "r1", "kind": "review", "text": "Love the app, but the delivery took two weeks."},
    {"id": "c7", "kind": "transcript", "turns": [
        {"speaker": "agent", "text": "How can I help?"},
        {"speaker": "customer", "text": "I was charged twice this month."},
    ]},
]


class ClassifyRequest(BaseModel):
    """Records to classify (1 to the configured maximum, 256 by default)."""

    records: list[FeedbackRecord] = Field(min_length=1, max_length=10_000)

    model_config = {"json_schema_extra": {"examples": [{"records": _EXAMPLE_RECORDS}]}}


class ClassifyResponse(BaseModel):
    """One prediction per record, in input order."""

    results: list[Prediction]
    model_version: str


class IngestRequest(BaseModel):
    """Records to store. ``source`` names the sending system for records that do not name one;
    ``(source, id)`` is the idempotency key."""

    records: list[FeedbackRecord] = Field(min_length=1, max_length=10_000)
    source: str = Field(default="api", min_length=1, max_length=200)

    model_config = {"json_schema_extra": {"examples": [{"source": "survey-tool", "records": _EXAMPLE_RECORDS}]}}


class IngestResult(BaseModel):
    """What happened to one record."""

    id: str = Field(description="The stored record's id (the existing one for a duplicate).")
    external_id: str | None = Field(description="The id the client sent.")
    status: Literal["stored", "duplicate"]


class IngestResponse(BaseModel):
    """One result per record, in input order."""

    results: list[IngestResult]
    model_version: str


class StoredRecord(BaseModel):
    """A stored record with its prediction (text redacted)."""

    id: str
    source: str
    external_id: str | None
    kind: str
    text: str
    created_at: Any | None
    received_at: Any
    channel: str | None
    rating: float | None
    nps: int | None
    metadata: dict[str, Any]
    prediction: Prediction


class FeedbackPage(BaseModel):
    """A page of stored feedback; pass ``next_cursor`` back as ``cursor`` for the next one."""

    items: list[StoredRecord]
    next_cursor: str | None


class Health(BaseModel):
    """Liveness / readiness answer."""

    status: str
    model_version: str | None = None
    database: str | None = None


class ErrorBody(BaseModel):
    """Every error answer: a message that names the field and the limit where there is one."""

    detail: Any
