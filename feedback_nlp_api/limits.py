"""Request limits beyond the schema: records per request, characters per text, the rating scale."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi.exceptions import RequestValidationError

from feedback_nlp.settings import Settings
from feedback_nlp.taxonomy.records import FeedbackRecord

#: The rating scale the score endpoints accept (CSAT, review stars).
RATING_MIN, RATING_MAX = 1, 5


def check_records(records: Sequence[FeedbackRecord], settings: Settings) -> None:
    """Raise a 422 naming the field and the limit when a request exceeds the configured limits."""
    errors: list[dict[str, Any]] = []
    if len(records) > settings.max_records:
        errors.append(
            {
                "loc": ["body", "records"],
                "msg": f"too many records: {len(records)}, the limit is {settings.max_records} per request",
                "type": "too_long",
            }
        )
    for i, record in enumerate(records):
        if record.rating is not None and not RATING_MIN <= record.rating <= RATING_MAX:
            # The score endpoints refuse stored ratings outside 1-5: one such record would break them.
            errors.append(
                {
                    "loc": ["body", "records", i, "rating"],
                    "msg": f"rating must be a number from {RATING_MIN} to {RATING_MAX}, got {record.rating}; "
                    "send another scale's answer in 'metadata'",
                    "type": "less_than_equal" if record.rating > RATING_MAX else "greater_than_equal",
                }
            )
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
