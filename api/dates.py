"""Date-range query parameters: offsets are honoured, and a time without one is UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator


def as_utc(value: datetime | None) -> datetime | None:
    """``value`` in UTC; a naive time is taken to be UTC already (as stored times are)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: A query time, always timezone-aware, so ``from`` and ``to`` compare whatever their spelling.
UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]
