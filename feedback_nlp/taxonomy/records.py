"""Feedback records in, predictions out: the package's data contract."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, WithJsonSchema, field_validator, model_validator
from pydantic.config import JsonDict


class FeedbackKind(StrEnum):
    """Where a piece of feedback came from."""

    SURVEY = "survey"
    REVIEW = "review"
    SOCIAL = "social"
    TRANSCRIPT = "transcript"


class Speaker(StrEnum):
    """Who said a transcript turn."""

    CUSTOMER = "customer"
    AGENT = "agent"


#: Speaker names, any case, and the role each stands for: in ``turns`` and as ``Name:`` line
#: prefixes of a transcript's text alike.
SPEAKER_ROLES: dict[str, Speaker] = {
    **dict.fromkeys(("customer", "caller", "client", "user"), Speaker.CUSTOMER),
    **dict.fromkeys(
        (
            "agent",
            "rep",
            "representative",
            "advisor",
            "adviser",
            "operator",
            "bot",
            "ivr",
            "system",
            "action",  # a system event in a chat log ("Account has been pulled up"), as ABCD writes them
            "support",
            "support agent",
            "customer service",
            "customer support",
        ),
        Speaker.AGENT,
    ),
}


def speaker_names(role: Speaker) -> list[str]:
    """The accepted speaker names of a role, in the order of :data:`SPEAKER_ROLES`."""
    return [name for name, value in SPEAKER_ROLES.items() if value is role]


def speaker_role(value: Any) -> Speaker:
    """The role of a speaker name (any case); a ``ValueError`` listing the accepted names if unknown."""
    if isinstance(value, Speaker):
        return value
    role = SPEAKER_ROLES.get(value.strip().lower()) if isinstance(value, str) else None
    if role is None:
        raise ValueError(
            f"unknown speaker {value!r}; expected a customer name ({', '.join(speaker_names(Speaker.CUSTOMER))}) "
            f"or an agent name ({', '.join(speaker_names(Speaker.AGENT))}), in any case"
        )
    return role


#: The latest a turn may start or end: 10^12 ms (about 31 years; a bound keeps seconds * 1000 finite).
MAX_TURN_MS = 10**12

_TURN_EXAMPLE: JsonDict = {
    "speaker": "caller",
    "text": "I was charged twice.",
    "start_ms": 1669,
    "end_ms": 3920,
    "confidence": 0.94,
    "metadata": {"channel_id": 1},
}


class Turn(BaseModel):
    """One turn of a call or chat transcript, with the timing speech-to-text tools add.

    ``speaker`` is a role or a name that maps to one (:data:`SPEAKER_ROLES`); timing comes as
    ``start_ms``/``end_ms`` or as ``start``/``end`` in seconds (stored as milliseconds).
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_TURN_EXAMPLE]})

    speaker: Annotated[
        Speaker,
        WithJsonSchema(
            {
                "type": "string",
                "enum": list(SPEAKER_ROLES),
                "description": "customer, caller, client or user; agent, rep, representative, advisor, "
                "operator, bot, ivr or system (any case).",
            }
        ),
    ]
    text: str
    start_ms: int | None = Field(
        default=None, ge=0, le=MAX_TURN_MS, description="Start of the turn, milliseconds from the start."
    )
    end_ms: int | None = Field(
        default=None, ge=0, le=MAX_TURN_MS, description="End of the turn, milliseconds from the start."
    )
    start: float | None = Field(
        default=None, ge=0, le=MAX_TURN_MS / 1000, exclude=True, description="Start in seconds (or start_ms)."
    )
    end: float | None = Field(
        default=None, ge=0, le=MAX_TURN_MS / 1000, exclude=True, description="End in seconds (or end_ms)."
    )
    confidence: float | None = Field(default=None, ge=0, le=1, description="The transcriber's confidence, 0-1.")
    metadata: dict[str, Any] = Field(default_factory=dict, description="Anything else the platform gives a turn.")

    @field_validator("speaker", mode="before")
    @classmethod
    def _role(cls, value: Any) -> Speaker:
        return speaker_role(value)

    @model_validator(mode="after")
    def _timing(self) -> Turn:
        self.start_ms = _milliseconds(self.start_ms, self.start, "start")
        self.end_ms = _milliseconds(self.end_ms, self.end, "end")
        if self.start_ms is not None and self.end_ms is not None and self.end_ms < self.start_ms:
            raise ValueError(f"the turn ends ({self.end_ms} ms) before it starts ({self.start_ms} ms)")
        return self


def _milliseconds(ms: int | None, seconds: float | None, name: str) -> int | None:
    if seconds is None:
        return ms
    if ms is not None and ms != round(seconds * 1000):
        raise ValueError(f"give {name}_ms or {name} (seconds), not both with different values")
    return round(seconds * 1000)


def _read_created_at(value: Any, info: ValidationInfo) -> datetime | None:
    from feedback_nlp.dates import parse_datetime
    from feedback_nlp.settings import get_settings

    if value is None:
        return None
    context = info.context or {}
    date_format = context["date_format"] if "date_format" in context else get_settings().date_format
    return parse_datetime(value, date_format=date_format)


_CREATED_AT_SCHEMA = {
    "anyOf": [{"type": "string", "format": "date-time"}, {"type": "string"}, {"type": "number"}, {"type": "null"}],
    "description": "When the feedback was given: ISO 8601 (T or a space; Z, +HH:MM, +HHMM or ' -0800'; "
    "date-only), RFC 2822, the Twitter API format, or epoch seconds or milliseconds. Naive times are UTC. "
    "Slashed dates need the service's FEEDBACK_NLP_DATE_FORMAT.",
    "examples": [
        "2026-11-02T10:15:00Z",
        "2015-02-24 11:35:52 -0800",
        "Wed Oct 04 13:59:33 +0000 2017",
        "2026-11-02",
        1793614500,
    ],
}


def accepted_fields(loc: Sequence[str | int]) -> list[str] | None:
    """The fields accepted where an unexpected field was found (a pydantic error location).

    Args:
        loc: The error's location, e.g. ``("turns", 0, "start_sec")`` or ``("body", "records", 0, "x")``.

    Returns:
        The field names of the record or turn holding the field; ``None`` for other models.
    """
    parents = [part for part in loc[:-1] if isinstance(part, str)]
    if "turns" in parents:
        return list(Turn.model_fields)
    if not parents or parents[-1] == "records":
        return list(FeedbackRecord.model_fields)
    return None


class FeedbackRecord(BaseModel):
    """One piece of feedback: a survey answer, a review, a social post or a transcript.

    A transcript gives either ``turns`` or ``text`` with ``Customer:`` / ``Agent:`` line
    prefixes; its labels describe the customer's side.
    """

    # The schema states what the validator below checks, as far as JSON Schema can: a record
    # has a ``text`` with a non-blank character or ``turns`` (API clients and fuzzers read it).
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"anyOf": [{"required": ["text"]}, {"required": ["turns"]}]}
    )

    id: str | None = Field(
        default=None, min_length=1, description="The sender's id of the record; leave it out to have one made."
    )
    kind: FeedbackKind
    text: str | None = Field(default=None, json_schema_extra={"pattern": r"\S"})
    turns: list[Turn] | None = None
    created_at: Annotated[datetime | None, WithJsonSchema(_CREATED_AT_SCHEMA)] = None
    channel: str | None = None
    source: str | None = None
    rating: float | None = Field(
        default=None,
        description="A 1-5 rating (reviews, CSAT); the API refuses others (scores need 1-5).",
        json_schema_extra={"minimum": 1, "maximum": 5},
    )
    nps: int | None = Field(default=None, ge=0, le=10, description="A 0-10 NPS answer.")
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _no_lone_surrogates(cls, data: Any) -> Any:
        problem = _lone_surrogate_in(data, "")
        if problem is not None:
            raise ValueError(problem)
        return data

    @field_validator("created_at", mode="before")
    @classmethod
    def _created_at(cls, value: Any, info: ValidationInfo) -> datetime | None:
        return _read_created_at(value, info)

    @model_validator(mode="after")
    def _has_text(self) -> FeedbackRecord:
        if self.turns is not None and self.kind is not FeedbackKind.TRANSCRIPT:
            raise ValueError(f"'turns' is only for kind 'transcript', got kind '{self.kind}'")
        if self.turns is not None and self.text is not None:
            raise ValueError("give either 'text' or 'turns', not both")
        has_turn_text = bool(self.turns) and any(has_visible_text(t.text) for t in self.turns or [])
        if not has_turn_text and not (self.text and has_visible_text(self.text)):
            raise ValueError(
                "the record has no text: give a non-empty 'text' (or 'turns'); whitespace, control "
                "characters (such as NUL) and invisible format characters (such as U+200B) do not count"
            )
        if self.kind is FeedbackKind.TRANSCRIPT:
            # Checked here, per record, so that one agent-only transcript is refused on its own
            # instead of failing every record it would share an encoder batch with.
            from feedback_nlp.errors import InputError
            from feedback_nlp.text.transcript import customer_text

            try:
                customer_text(self)
            except InputError as exc:
                raise ValueError(str(exc)) from None
        return self


def has_visible_text(text: str) -> bool:
    """Whether ``text`` has a character other than whitespace, control characters (NUL, ...) and
    invisible format characters (zero-width space, byte-order mark, ...)."""
    return any(not ch.isspace() and unicodedata.category(ch) not in ("Cc", "Cf") for ch in text)


#: A lone UTF-16 surrogate: JSON can spell one (a "\\ud800" escape without its pair); no database,
#: tokenizer or encoder can take it.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def lone_surrogate_problem(text: str, where: str) -> str | None:
    """Why ``text`` (the value of ``where``) cannot be stored, if it holds a lone UTF-16
    surrogate; None when it holds none. One regex search: records pass through it on every call."""
    match = _LONE_SURROGATE.search(text)
    if match is None:
        return None
    return (
        f"{where} holds a lone UTF-16 surrogate (U+{ord(match.group()):04X}) at character {match.start()}, "
        "which is not a Unicode character and cannot be stored: send valid UTF-8 (in JSON a \\ud83d-style "
        "escape must be followed by its low half, e.g. \\ud83d\\ude00)"
    )


def _lone_surrogate_in(value: Any, where: str) -> str | None:  # noqa: ANN401 (raw JSON)
    """The problem of the first lone UTF-16 surrogate in a raw record (its field path named)."""
    if isinstance(value, str):
        return lone_surrogate_problem(value, where or "the record")
    items: Any = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        path = f"{where}.{key}" if where and isinstance(key, str) else f"{where}[{key}]" if where else str(key)
        if isinstance(key, str) and (found := lone_surrogate_problem(key, f"a key of {where or 'the record'}")):
            return found
        if (found := _lone_surrogate_in(item, path)) is not None:
            return found
    return None


#: A sentiment label as a type (the values of :data:`~feedback_nlp.taxonomy.labels.SENTIMENT_LABELS`).
SentimentLabel = Literal["negative", "neutral", "positive"]


class SentimentResult(BaseModel):
    """Sentiment of a text: label, score in [-1, 1] and the three probabilities."""

    label: SentimentLabel
    score: float = Field(ge=-1.0, le=1.0, description="P(positive) - P(negative)")
    probabilities: dict[str, float] | None = None


class LabelScore(BaseModel):
    """A label with the model's confidence in it."""

    label: str
    confidence: float = Field(ge=0.0, le=1.0)


class TopicResult(BaseModel):
    """The topic a text belongs to (filled once a topic model is deployed)."""

    id: int
    label: str
    confidence: float = Field(ge=0.0, le=1.0)


class SegmentPrediction(BaseModel):
    """A sentence or clause of the customer's text, with its own sentiment and touchpoints.

    ``start``/``end`` are character offsets into the redacted customer text.
    """

    text: str
    start: int
    end: int
    sentiment: SentimentResult
    touchpoints: list[LabelScore] = Field(default_factory=list)
    topic: TopicResult | None = None


class Prediction(BaseModel):
    """What the pipeline says about one record; the API returns the same object."""

    id: str | None = None
    kind: FeedbackKind
    sentiment: SentimentResult
    journey_stage: LabelScore
    touchpoints: list[LabelScore] = Field(default_factory=list)
    topic: TopicResult | None = None
    segments: list[SegmentPrediction] = Field(default_factory=list)
    model_version: str
