"""The one date parser (issue 15): the spellings users' exports write, and the ones it refuses."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from feedback_nlp.dates import DateError, DateTally, check_date_format, parse_datetime, try_parse_datetime


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-02T10:15:00Z", datetime(2026, 11, 2, 10, 15, tzinfo=UTC)),
        ("2026-11-02T10:15:00z", datetime(2026, 11, 2, 10, 15, tzinfo=UTC)),
        ("2026-11-02 10:15:00", datetime(2026, 11, 2, 10, 15, tzinfo=UTC)),  # naive: UTC
        ("2026-11-02T10:15:00+01:00", datetime(2026, 11, 2, 9, 15, tzinfo=UTC)),
        ("2026-11-02T10:15:00+0100", datetime(2026, 11, 2, 9, 15, tzinfo=UTC)),
        ("2015-02-24 11:35:52 -0800", datetime(2015, 2, 24, 19, 35, 52, tzinfo=UTC)),  # Twitter data export
        ("2026-11-02", datetime(2026, 11, 2, tzinfo=UTC)),
        ("2026-11-02T10:15:00.250Z", datetime(2026, 11, 2, 10, 15, 0, 250000, tzinfo=UTC)),
        ("Wed Oct 04 13:59:33 +0000 2017", datetime(2017, 10, 4, 13, 59, 33, tzinfo=UTC)),  # Twitter API
        ("Mon, 02 Nov 2026 10:15:00 +0000", datetime(2026, 11, 2, 10, 15, tzinfo=UTC)),  # RFC 2822
        ("Mon, 02 Nov 2026 10:15:00 -0500", datetime(2026, 11, 2, 15, 15, tzinfo=UTC)),
        (1793614500, datetime(2026, 11, 2, 10, 15, tzinfo=UTC)),  # epoch seconds
        (1793614500000, datetime(2026, 11, 2, 10, 15, tzinfo=UTC)),  # epoch milliseconds
        (1793614500.5, datetime(2026, 11, 2, 10, 15, 0, 500000, tzinfo=UTC)),
        ("1793614500", datetime(2026, 11, 2, 10, 15, tzinfo=UTC)),
        ("1793614500000", datetime(2026, 11, 2, 10, 15, tzinfo=UTC)),
        ("  2026-11-02  ", datetime(2026, 11, 2, tzinfo=UTC)),
    ],
)
def test_parse_datetime_accepts_the_spellings_exports_write(value: object, expected: datetime) -> None:
    parsed = parse_datetime(value)
    assert parsed == expected
    assert parsed.tzinfo is UTC


def test_parse_datetime_takes_datetimes_and_dates() -> None:
    assert parse_datetime(datetime(2026, 1, 2, 3, 4)) == datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    paris = timezone(timedelta(hours=1))
    assert parse_datetime(datetime(2026, 1, 2, 3, 4, tzinfo=paris)) == datetime(2026, 1, 2, 2, 4, tzinfo=UTC)
    assert parse_datetime(date(2026, 1, 2)) == datetime(2026, 1, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "date_format", "expected"),
    [
        ("02/11/2026", "%d/%m/%Y", datetime(2026, 11, 2, tzinfo=UTC)),
        ("02/11/2026", "%m/%d/%Y", datetime(2026, 2, 11, tzinfo=UTC)),
        ("02/11/2026 10:15", "%d/%m/%Y %H:%M", datetime(2026, 11, 2, 10, 15, tzinfo=UTC)),
        # A format does not stop the unambiguous spellings from being read in the same file.
        ("2026-11-02T10:15:00Z", "%d/%m/%Y", datetime(2026, 11, 2, 10, 15, tzinfo=UTC)),
    ],
)
def test_parse_datetime_reads_slashed_dates_with_a_format(value: str, date_format: str, expected: datetime) -> None:
    assert parse_datetime(value, date_format=date_format) == expected


def test_parse_datetime_refuses_an_ambiguous_slashed_date_without_a_format() -> None:
    with pytest.raises(DateError) as caught:
        parse_datetime("02/11/2026")
    message = str(caught.value)
    assert "'02/11/2026'" in message and "ambiguous" in message
    assert "day 2 of month 11, or month 2, day 11" in message
    assert "--date-format %d/%m/%Y" in message and "%m/%d/%Y" in message and "never guessed" in message


def test_parse_datetime_never_guesses_even_an_unambiguous_slashed_date() -> None:
    with pytest.raises(DateError, match="never guessed.*--date-format"):
        parse_datetime("25/11/2026")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2019/9/24", datetime(2019, 9, 24, tzinfo=UTC)),
        ("2019/09/04", datetime(2019, 9, 4, tzinfo=UTC)),
        ("2019.09.04 10:15", datetime(2019, 9, 4, 10, 15, tzinfo=UTC)),
        ("2019/9/4 07:05:09", datetime(2019, 9, 4, 7, 5, 9, tzinfo=UTC)),
    ],
)
def test_parse_datetime_reads_year_first_slashed_dates_without_a_format(value: str, expected: datetime) -> None:
    # Year, month, day: CFPB's exports write "2019/9/24"; no convention puts the day second.
    assert parse_datetime(value) == expected


@pytest.mark.parametrize("value", ["2019/24/9", "2019/9/31", "2019/9-24", "2019/9/24 25:00"])
def test_parse_datetime_refuses_impossible_year_first_dates(value: str) -> None:
    with pytest.raises(DateError, match=f"'{value}'"):
        parse_datetime(value)


def test_parse_datetime_says_when_a_value_does_not_match_the_format() -> None:
    with pytest.raises(DateError, match=r"'31/31/2026' does not match --date-format '%d/%m/%Y'"):
        parse_datetime("31/31/2026", date_format="%d/%m/%Y")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("yesterday", "cannot read 'yesterday' as a date; expected ISO 8601"),
        ("2026-13-01", "cannot read '2026-13-01'"),
        ("", "got an empty value"),
        (True, "got the boolean True"),
        (float("nan"), "got the number nan"),
        (10**20, "too large for epoch seconds or milliseconds"),
        ("0001-01-01T00:00:00+05:00", "outside years 1-9999"),
        ([2026], "got list"),
    ],
)
def test_parse_datetime_explains_what_it_cannot_read(value: object, expected: str) -> None:
    with pytest.raises(DateError, match=None) as caught:
        parse_datetime(value)
    assert expected in str(caught.value)


def test_try_parse_datetime_returns_none_instead_of_raising() -> None:
    assert try_parse_datetime(None) is None
    assert try_parse_datetime("nope") is None
    assert try_parse_datetime("2026-11-02") == datetime(2026, 11, 2, tzinfo=UTC)


def test_check_date_format_refuses_a_format_without_directives() -> None:
    assert check_date_format(None) is None
    assert check_date_format("%d/%m/%Y") == "%d/%m/%Y"
    with pytest.raises(DateError, match="strptime format"):
        check_date_format("dd/mm/yyyy")


def test_date_tally_describes_missing_and_unreadable_dates_with_examples() -> None:
    tally = DateTally()
    tally.add(2, datetime(2026, 1, 1, tzinfo=UTC))
    tally.add(3, None)
    tally.add(4, None, problem="created_at: cannot read 'soon' as a date")
    assert (tally.total, tally.missing, tally.unreadable, tally.undated) == (3, 1, 1, 2)
    text = tally.describe()
    assert "of 3 record(s), 1 had no created_at (e.g. line 3)" in text
    assert "1 had a created_at that could not be read" in text and "line 4: created_at: cannot read 'soon'" in text
    assert DateTally().describe() == ""


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        (46363, "Excel date serial"),  # a date cell without date formatting
        (20261207, "YYYYMMDD"),
        (2026, "too small for epoch seconds"),
        (0, "too small for epoch seconds"),
    ],
)
def test_a_number_too_small_for_an_epoch_time_is_no_date(value: int, hint: str) -> None:
    # It became a moment in 1970, and put the record in a 1970 period of the scores.
    with pytest.raises(DateError, match=hint):
        parse_datetime(value)


def test_the_smallest_epoch_number_read_is_the_same_for_numbers_and_text() -> None:
    assert parse_datetime(100_000_000) == parse_datetime("100000000") == datetime(1973, 3, 3, 9, 46, 40, tzinfo=UTC)
    with pytest.raises(DateError):
        parse_datetime(99_999_999)


def test_a_dotted_date_gets_a_dotted_format_and_a_month_name_a_format_hint() -> None:
    with pytest.raises(DateError, match=r"dotted date .*%d\.%m\.%Y \(day first\)"):
        parse_datetime("07.12.2026")
    assert parse_datetime("07.12.2026", date_format="%d.%m.%Y") == datetime(2026, 12, 7, tzinfo=UTC)
    with pytest.raises(DateError, match=r"'%b %d, %Y' reads 'Dec 7, 2026'"):
        parse_datetime("Dec 7, 2026")


@pytest.mark.parametrize(("text", "hint"), [("46363", "Excel date serial"), ("20261207", "YYYYMMDD")])
def test_a_digit_string_too_small_for_an_epoch_time_gets_the_same_hint(text: str, hint: str) -> None:
    with pytest.raises(DateError, match=hint):
        parse_datetime(text)
