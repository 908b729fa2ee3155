"""Feedback records in, predictions out: the package's data contract."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


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


class Turn(BaseModel):
    """One turn of a call or chat transcript."""

    model_config = ConfigDict(extra="forbid")

    speaker: Speaker
    text: str


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

    id: str | None = None
    kind: FeedbackKind
    text: str | None = Field(default=None, json_schema_extra={"pattern": r"\S"})
    turns: list[Turn] | None = None
    created_at: datetime | None = None
    channel: str | None = None
    source: str | None = None
    rating: float | None = Field(
        default=None, description="A 1-5 rating (reviews, CSAT); the API refuses others (scores need 1-5).",
        json_schema_extra={"minimum": 1, "maximum": 5},
    )
    nps: int | None = Field(default=None, ge=0, le=10, description="A 0-10 NPS answer.")
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _has_text(self) -> FeedbackRecord:
        if self.turns is not None and self.kind is not FeedbackKind.TRANSCRIPT:
            raise ValueError(f"'turns' is only for kind 'transcript', got kind '{self.kind}'")
        if self.turns is not None and self.text is not None:
            raise ValueError("give either 'text' or 'turns', not both")
        has_turn_text = bool(self.turns) and any(t.text.strip() for t in self.turns or [])
        if not has_turn_text and not (self.text and self.text.strip()):
            raise ValueError("the record has no text: give a non-empty 'text' (or 'turns')")
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


class SentimentResult(BaseModel):
    """Sentiment of a text: label, score in [-1, 1] and the three probabilities."""

    label: Literal["negative", "neutral", "positive"]
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
