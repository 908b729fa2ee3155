"""Date-range query parameters, read by the one date parser (:mod:`feedback_nlp.dates`).

The spellings records accept are accepted here too (ISO 8601 with offsets, RFC 2822, the Twitter
API format, epoch seconds or milliseconds); offsets are honoured and a time without one is UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema

from feedback_nlp.dates import DateError, parse_datetime


def as_utc(value: Any) -> datetime | None:
    """``value`` as an aware UTC datetime; a naive time is taken to be UTC already (as stored times are)."""
    if value is None:
        return None
    from feedback_nlp.settings import get_settings

    try:
        return parse_datetime(value, date_format=get_settings().date_format)
    except DateError as exc:  # a 422 naming the parameter, not a 500
        raise ValueError(str(exc)) from None


#: A query time, always timezone-aware, so ``from`` and ``to`` compare whatever their spelling.
UtcDatetime = Annotated[
    datetime,
    BeforeValidator(as_utc),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "description": "ISO 8601 (naive times are UTC), RFC 2822, or epoch seconds or milliseconds.",
            "examples": ["2026-11-02T00:00:00Z", "2026-11-02"],
        }
    ),
]
