"""The Spark job reads dates with the shared parser and honours --date-format / --on-bad-date
(issue 15). Row-level checks: no Spark session needed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

pytest.importorskip("pyarrow")

from feedback_nlp.errors import InputError  # noqa: E402
from feedback_nlp.spark.classify import _ROW_NUMBER, _job, _record, _with_dates  # noqa: E402


def _job_with(date_format: str | None = None, on_bad_date: str | None = None):  # noqa: ANN202
    job = _job("feedback_nlp.storage.loading:load_pipeline", None, 8, "text", "kind", "id", "review")
    return _with_dates(job, date_format, on_bad_date)


def _row(created_at: object) -> dict:
    return {"id": "t1", "text": "late again", "kind": None, "created_at": created_at, _ROW_NUMBER: 0}


def test_spark_rows_read_export_dates() -> None:
    record, problem = _record(_row("2015-02-24 11:35:52 -0800"), _job_with())
    assert problem is None and record is not None
    assert record.created_at == datetime(2015, 2, 24, 19, 35, 52, tzinfo=UTC)


def test_spark_rows_refuse_ambiguous_dates_and_take_a_format() -> None:
    record, problem = _record(_row("02/11/2026"), _job_with())
    assert record is None and "slashed date (ambiguous" in (problem or "")
    record, problem = _record(_row("02/11/2026"), _job_with("%d/%m/%Y"))
    assert record is not None and record.created_at == datetime(2026, 11, 2, tzinfo=UTC)


def test_spark_rows_keep_unreadable_dates_as_null_when_asked() -> None:
    record, problem = _record(_row("soon"), _job_with(on_bad_date="null"))
    assert problem is None and record is not None and record.created_at is None


def test_spark_date_options_are_checked_on_the_driver() -> None:
    with pytest.raises(InputError, match="on_bad_date must be 'error' or 'null'"):
        _job_with(on_bad_date="drop")
    with pytest.raises(InputError, match="strptime format"):
        _job_with("dd/mm/yyyy")
