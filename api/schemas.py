"""Request and response bodies of the HTTP API (apart from the domain records)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from feedback_nlp.taxonomy.records import FeedbackRecord, Prediction

MAX_RECORDS = 256


class ClassifyRequest(BaseModel):
    """Records to classify (1 to 256)."""

    records: list[FeedbackRecord] = Field(min_length=1, max_length=MAX_RECORDS)

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "records": [
                        {"id": "r1", "kind": "review", "text": "Love the app, but the delivery took two weeks."}
                    ]
                }
            ]
        }
    }


class ClassifyResponse(BaseModel):
    """One prediction per record, in input order."""

    results: list[Prediction]
    model_version: str


class Health(BaseModel):
    """Liveness / readiness answer."""

    status: str
    model_version: str | None = None
