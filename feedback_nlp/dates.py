"""One date parser for every place a date is read: files, the API, score, topics, report, Spark.

Accepted without any option:

- ISO 8601 with ``T`` or a space, offsets ``Z``, ``+HH:MM``, ``+HHMM`` or `` -0800`` (with a
  space, as Twitter's data exports write it), and date-only (``2026-11-02``);
- year-first slashed or dotted dates (``2019/9/24``, ``2019.09.24 10:15``, as CFPB's exports
  write them): no convention puts the day before the month after a year;
- RFC 2822 (``Mon, 02 Nov 2026 10:15:00 +0000``) and the Twitter API's
  ``Wed Oct 04 13:59:33 +0000 2017``;
- epoch seconds and milliseconds, as numbers or digit strings (13 digits and more, or a value
  above 10^11, are milliseconds).

Slashed dates ending in the year (``02/11/2026``) read day-first in some countries and month-first in others, so
they are read only with a format (``--date-format %d/%m/%Y`` or the ``date_format`` setting);
without one they are refused with a message saying why, never guessed.

Naive times (no offset) are taken as UTC. Every result is timezone-aware, in UTC.

Examples:
    >>> parse_datetime("2015-02-24 11:35:52 -0800").isoformat()
    '2015-02-24T19:35:52+00:00'
    >>> parse_datetime("Wed Oct 04 13:59:33 +0000 2017").isoformat()
    '2017-10-04T13:59:33+00:00'
    >>> parse_datetime("02/11/2026", date_format="%d/%m/%Y").isoformat()
    '2026-11-02T00:00:00+00:00'
    >>> parse_datetime("2019/9/24").isoformat()
    '2019-09-24T00:00:00+00:00'
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Literal

__all__ = [
    "BadDatePolicy",
    "DateError",
    "DateTally",
    "check_date_format",
    "parse_datetime",
    "try_parse_datetime",
]

BadDatePolicy = Literal["error", "null"]
"""What a reader does with a date it cannot read: refuse the row, or keep it without a date."""

ACCEPTED = (
    "ISO 8601 (2026-11-02T10:15:00Z, 2026-11-02 10:15:00, 2015-02-24 11:35:52 -0800, 2026-11-02), "
    "year-first slashed dates (2026/11/2, 2026/11/02 10:15), "
    "RFC 2822 (Mon, 02 Nov 2026 10:15:00 +0000), the Twitter API's Wed Oct 04 13:59:33 +0000 2017, "
    "or epoch seconds or milliseconds"
)
"""The accepted spellings, for error messages and docs."""

#: Epoch values at or above this are milliseconds (10^11 seconds is the year 5138).
_MILLISECONDS_FROM = 10**11
_EPOCH = re.compile(r"[+-]?\d{9,}(?:\.\d+)?")
#: The smallest epoch number read as a date (9 digits, 1973-03-03), for numbers as for text: a
#: smaller one is more likely a spreadsheet serial, a year or a YYYYMMDD date than a 1970s time.
_EPOCH_FROM = 100_000_000
_MONTH_NAME = re.compile(r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b", re.IGNORECASE)
_SLASHED = re.compile(r"(\d{1,4})[/.](\d{1,2})[/.](\d{1,4})(?:[ T].*)?")
#: Year first, then month and day ("2019/9/24", "2019/09/24 10:15"), as CFPB's exports and
#: East Asian systems write them: no convention puts the day before the month after a year.
_YEAR_FIRST = re.compile(r"(\d{4})([/.])(\d{1,2})\2(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
# A space before a numeric offset ("11:35:52 -0800") or a +HHMM offset without a colon.
_SPACED_OFFSET = re.compile(r"^(.*\d)\s+([+-]\d{2}:?\d{2})$")
_TWITTER = "%a %b %d %H:%M:%S %z %Y"


class DateError(ValueError):
    """A value that is not a date in any accepted spelling; the message says what to do."""


def parse_datetime(value: Any, *, date_format: str | None = None) -> datetime:
    """Read one date or date-time, as users' data writes them, into an aware UTC datetime.

    Args:
        value: A string, a ``datetime``/``date``, or an epoch number (seconds or milliseconds).
        date_format: A ``strptime`` format tried first (needed for slashed dates such as
            ``%d/%m/%Y``); the unambiguous spellings are still accepted beside it.

    Returns:
        The moment in UTC; a naive time is taken to be UTC.

    Raises:
        DateError: The value is empty, unreadable, an ambiguous slashed date without a format,
            or falls outside years 1-9999 once in UTC.
    """
    if isinstance(value, datetime):
        return _utc(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, bool):
        raise DateError(f"expected a date, got the boolean {value}")
    if isinstance(value, (int, float)):
        if math.isfinite(value) and abs(value) < _EPOCH_FROM:
            raise DateError(_small_number_message(value))
        return _from_epoch(float(value), value)
    if not isinstance(value, str):
        raise DateError(f"expected a date as text or a number, got {type(value).__name__}")
    text = value.strip()
    if not text:
        raise DateError("expected a date, got an empty value")
    return _from_text(text, date_format)


def try_parse_datetime(value: Any, *, date_format: str | None = None) -> datetime | None:
    """Like :func:`parse_datetime`, but ``None`` for a value it cannot read (and for ``None``)."""
    if value is None:
        return None
    try:
        return parse_datetime(value, date_format=date_format)
    except DateError:
        return None


def check_date_format(date_format: str | None) -> str | None:
    """``date_format`` if it is a usable ``strptime`` format; raises :class:`DateError` otherwise."""
    if date_format is None or not date_format.strip():
        return None
    if "%" not in date_format:
        raise DateError(
            f"--date-format must be a strptime format such as %d/%m/%Y (day first) or %m/%d/%Y "
            f"(month first), got {date_format!r}"
        )
    return date_format


# ---------------------------------------------------------------------------- readers


def _from_text(text: str, date_format: str | None) -> datetime:
    if date_format is not None:
        try:
            return _utc(datetime.strptime(text, date_format))
        except ValueError:
            pass  # the file may mix spellings: try the unambiguous ones below
    if text.isdigit() and int(text) < _EPOCH_FROM:  # "46363", "20261207": the hints numbers get
        raise DateError(_small_number_message(int(text)) + _format_hint(date_format))
    if _EPOCH.fullmatch(text):
        return _from_epoch(float(text), text)
    for reader in _READERS:
        parsed = reader(text)
        if parsed is not None:
            return _utc(parsed)
    slashed = _SLASHED.fullmatch(text)
    if slashed:
        raise DateError(_slashed_message(text, slashed, date_format))
    hint = _format_hint(date_format)
    if date_format is None and _MONTH_NAME.search(text):
        hint += (
            "; a date with a month name is read with --date-format: '%b %d, %Y' reads 'Dec 7, 2026', "
            "'%d %b %Y' reads '7 Dec 2026' (%B for a full month name)"
        )
    raise DateError(f"cannot read {text!r} as a date; expected {ACCEPTED}" + hint)


def _iso(text: str) -> datetime | None:
    candidate = text[:-1] + "+00:00" if text[-1:] in "Zz" else text
    spaced = _SPACED_OFFSET.match(candidate)
    if spaced:  # "2015-02-24 11:35:52 -0800": fromisoformat wants the offset attached
        candidate = spaced.group(1) + spaced.group(2)
    if not re.match(r"\d{4}-\d{2}-\d{2}", candidate):
        return None  # fromisoformat also takes "20261102" and week dates: too loose for user data
    try:
        return datetime.fromisoformat(candidate)
    except ValueError:
        return None


def _twitter(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, _TWITTER)
    except ValueError:
        return None


def _rfc2822(text: str) -> datetime | None:
    if not re.search(r"[A-Za-z]{3}", text):
        return None
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None


def _year_first(text: str) -> datetime | None:
    match = _YEAR_FIRST.fullmatch(text)
    if match is None:
        return None
    year, _, month, day, hour, minute, second = match.groups()
    try:
        return datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
    except ValueError:
        return None


_READERS: tuple[Callable[[str], datetime | None], ...] = (_iso, _year_first, _twitter, _rfc2822)


def _small_number_message(value: float) -> str:
    """Why a number under 10^8 is no date, with what it may be instead."""
    hint = ""
    if 20_000 <= value < 80_000:
        hint = " (it looks like an Excel date serial: format the column as a date in the sheet, or export it as text)"
    elif 19_000_000 <= value < 21_000_000 and float(value).is_integer():
        hint = (
            f" (it looks like a date written as YYYYMMDD: give it as text, e.g. '{int(value)}' with "
            "--date-format %Y%m%d)"
        )
    return (
        f"expected a date, got the number {value!r}, too small for epoch seconds (from 1973, 9 digits) "
        f"or milliseconds{hint}"
    )


def _from_epoch(number: float, shown: Any) -> datetime:
    if not math.isfinite(number):
        raise DateError(f"expected a date, got the number {shown!r}")
    seconds = number / 1000 if abs(number) >= _MILLISECONDS_FROM else number
    try:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    except OverflowError:
        raise DateError(f"{shown!r} is too large for epoch seconds or milliseconds (years 1-9999)") from None


def _utc(value: datetime) -> datetime:
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise DateError(
            f"{value.isoformat()} falls outside years 1-9999 once converted to UTC; give a time within that range"
        ) from None


def _slashed_message(text: str, match: re.Match[str], date_format: str | None) -> str:
    first, second = int(match.group(1)), int(match.group(2))
    if date_format is not None:
        return f"{text!r} does not match --date-format {date_format!r}" + _format_hint(None)
    if first <= 12 and second <= 12 and first != second:
        why = f"ambiguous: day {first} of month {second}, or month {first}, day {second}"
    else:
        why = "and slashed dates are day-first in some exports and month-first in others"
    sep = "." if "." in text[: match.end(2) + 1] else "/"
    kind = "dotted" if sep == "." else "slashed"
    return (
        f"{text!r} is a {kind} date ({why}); such dates are never guessed. Pass --date-format "
        f"%d{sep}%m{sep}%Y (day first) or %m{sep}%d{sep}%Y (month first), adding %H:%M:%S for times, or set "
        "FEEDBACK_NLP_DATE_FORMAT"
    )


def _format_hint(date_format: str | None) -> str:
    return f" or the --date-format {date_format!r}" if date_format else ""


# ----------------------------------------------------------------------------- tallies


@dataclass
class DateTally:
    """Counts, with examples, of records without a date or with one that could not be read.

    Commands that need dates (``score``, ``topics``, ``report``) print :meth:`describe`, so a
    user sees whether the column was empty or written in a way the parser does not read.
    """

    total: int = 0
    missing: int = 0
    unreadable: int = 0
    missing_examples: list[str] = field(default_factory=list)
    unreadable_examples: list[str] = field(default_factory=list)
    max_examples: int = 3

    def add(self, line: int | str, value: Any, *, problem: str | None = None) -> None:
        """Count one record: its line (or id), its date (``None`` if none) and why it was unreadable."""
        self.total += 1
        if problem is not None:
            self.unreadable += 1
            if len(self.unreadable_examples) < self.max_examples:
                self.unreadable_examples.append(f"line {line}: {problem}")
        elif value is None:
            self.missing += 1
            if len(self.missing_examples) < self.max_examples:
                self.missing_examples.append(f"line {line}")

    @property
    def undated(self) -> int:
        """Records that have no usable date."""
        return self.missing + self.unreadable

    def describe(self, field_name: str = "created_at") -> str:
        """One sentence on the records without a usable date ("" when every record has one)."""
        parts = []
        if self.missing:
            parts.append(f"{self.missing} had no {field_name}" + _examples(self.missing_examples, ", "))
        if self.unreadable:
            parts.append(
                f"{self.unreadable} had a {field_name} that could not be read and was dropped by "
                "--on-bad-date null" + _examples(self.unreadable_examples, "; ")
            )
        if not parts:
            return ""
        return f"of {self.total} record(s), " + " and ".join(parts)


def _examples(examples: list[str], separator: str) -> str:
    return f" (e.g. {separator.join(examples)})" if examples else ""
