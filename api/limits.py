"""Request limits beyond the schema: records per request and characters per text."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi.exceptions import RequestValidationError

from feedback_nlp.settings import Settings
from feedback_nlp.taxonomy.records import FeedbackRecord


def check_records(records: Sequence[FeedbackRecord], settings: Settings) -> None:
    """Raise a 422 naming the field and the limit when a request exceeds the configured limits."""
    errors = []
    if len(records) > settings.max_records:
        errors.append(
            {
                "loc": ["body", "records"],
                "msg": f"too many records: {len(records)}, the limit is {settings.max_records} per request",
                "type": "too_long",
            }
        )
    for i, record in enumerate(records):
        length = len(record.text or "") + sum(len(t.text) for t in record.turns or [])
        if length > settings.max_text_chars:
            field = "text" if record.text is not None else "turns"
            errors.append(
                {
                    "loc": ["body", "records", i, field],
                    "msg": f"text too long: {length} characters, the limit is {settings.max_text_chars}",
                    "type": "string_too_long",
                }
            )
    if errors:
        raise RequestValidationError(errors)
