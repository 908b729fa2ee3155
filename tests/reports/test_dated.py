"""Reports that need dates say how many records lacked one and why (issue 15): they never claim the
column is missing when it is there."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from feedback_nlp.dates import DateTally
from feedback_nlp.errors import InputError
from feedback_nlp.reports.build import dated


def _frame(times: list) -> pd.DataFrame:
    return pd.DataFrame({"id": [str(i) for i in range(len(times))], "created_at": pd.to_datetime(times, utc=True)})


def test_no_usable_date_names_the_counts_the_examples_and_the_options() -> None:
    tally = DateTally()
    tally.add(2, None)
    tally.add(3, None, problem="tweet_created (created_at): cannot read 'soon' as a date")
    with pytest.raises(InputError) as caught:
        dated(_frame([None, None]), dates=tally)
    message = str(caught.value)
    assert "None of the records has a created_at" not in message
    assert "of 2 record(s), 1 had no created_at (e.g. line 2)" in message
    assert "1 had a created_at that could not be read" in message and "line 3: tweet_created" in message
    assert "--created-at-column" in message and "--date-format" in message


def test_some_undated_records_are_left_out_with_a_warning_that_counts_them() -> None:
    warnings: list[str] = []
    tally = DateTally()
    tally.add(2, datetime(2026, 1, 1, tzinfo=UTC))
    tally.add(3, None)
    frame = dated(_frame([datetime(2026, 1, 1, tzinfo=UTC), None]), warnings.append, tally)
    assert len(frame) == 1
    assert warnings == [
        "1 record(s) without a usable created_at left out of the report: "
        "of 2 record(s), 1 had no created_at (e.g. line 3)"
    ]


def test_without_a_tally_the_counts_come_from_the_frame() -> None:
    with pytest.raises(InputError, match=r"of 1 record\(s\), 1 had no created_at\."):
        dated(_frame([None]))
