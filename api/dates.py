"""Date-range query parameters: offsets are honoured, and a time without one is UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator


def as_utc(value: datetime | None) -> datetime | None:
    """``value`` in UTC; a naive time is taken to be UTC already (as stored times are)."""
    if value is None:
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+05:00 is before year 1 in UTC: a 422, not a 500
        raise ValueError(
            f"{value.isoformat()} falls outside years 1-9999 once converted to UTC; give a time within that range"
        ) from None


#: A query time, always timezone-aware, so ``from`` and ``to`` compare whatever their spelling.
UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]
