"""Request and response bodies of the HTTP API (apart from the domain records)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic.config import JsonValue

from feedback_nlp.taxonomy.records import FeedbackRecord, Prediction

_EXAMPLE_RECORDS: list[JsonValue] = [
    {"id": "r1", "kind": "review", "text": "Love the app, but the delivery took two weeks."},
    {
        "id": "c7",
        "kind": "transcript",
        "turns": [
            {"speaker": "agent", "text": "How can I help?"},
            {"speaker": "customer", "text": "I was charged twice this month."},
        ],
    },
]


#: Records as exporting tools write them: their date spellings and speech-to-text transcripts.
_EXPORT_EXAMPLES: list[JsonValue] = [
    {
        "id": "570306133677760513",
        "kind": "social",
        "text": "@VirginAmerica What @dhepburn said.",
        "created_at": "2015-02-24 11:35:52 -0800",
        "source": "twitter-export",
    },
    {
        "id": "914606615792406528",
        "kind": "social",
        "text": "Third delayed flight this month",
        "created_at": "Wed Oct 04 13:59:33 +0000 2017",
        "source": "twitter-api",
    },
    {
        "id": "R_1aB2cD3eF4gH5iJ",
        "kind": "survey",
        "text": "Quick delivery, friendly driver",
        "created_at": "2026-11-02 10:15:00",
        "nps": 9,
    },
    {"id": "rev-88", "kind": "review", "text": "Refund took a month", "created_at": 1793614500000, "rating": 2},
    {
        "id": "call-17",
        "kind": "transcript",
        "created_at": "Mon, 02 Nov 2026 10:15:00 +0000",
        "turns": [
            {"speaker": "ivr", "text": "Say billing or support.", "start_ms": 0, "end_ms": 1450},
            {
                "speaker": "agent",
                "text": "Thanks for calling, how can I help?",
                "start_ms": 1500,
                "end_ms": 3100,
                "confidence": 0.97,
            },
            {
                "speaker": "caller",
                "text": "I was charged twice this month.",
                "start": 3.35,
                "end": 5.9,
                "confidence": 0.91,
                "metadata": {"channel": 1},
            },
        ],
    },
]


class ClassifyRequest(BaseModel):
    """Records to classify (1 to the configured maximum, 256 by default)."""

    records: list[FeedbackRecord] = Field(min_length=1, max_length=10_000)

    # A misspelt field is refused, not ignored.
    model_config = {
        "extra": "forbid",
        "json_schema_extra": {"examples": [{"records": _EXAMPLE_RECORDS}, {"records": _EXPORT_EXAMPLES}]},
    }


class ClassifyResponse(BaseModel):
    """One prediction per record, in input order."""

    results: list[Prediction]
    model_version: str


class IngestRequest(BaseModel):
    """Records to store. ``source`` names the sending system for records that do not name one;
    ``(source, id)`` is the idempotency key."""

    records: list[FeedbackRecord] = Field(min_length=1, max_length=10_000)
    source: str = Field(default="api", min_length=1, max_length=200)

    # A misspelt field ("sorce") is refused: ignored, it would file the records under another key.
    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [
                {"source": "survey-tool", "records": _EXAMPLE_RECORDS},
                {"source": "exports", "records": _EXPORT_EXAMPLES},
            ]
        },
    }


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
    turns: list[dict[str, Any]] | None = Field(
        default=None,
        description="A transcript's turns: speaker, redacted text, start_ms, end_ms, confidence, metadata.",
    )
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
