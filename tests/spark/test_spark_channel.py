"""The Spark job's --channel: the channel of rows that give none, as `feedback-nlp classify` reads
it. Row-level checks: no Spark session needed."""

from __future__ import annotations

import pytest

pytest.importorskip("pyarrow")

from feedback_nlp.errors import InputError  # noqa: E402
from feedback_nlp.spark.classify import _ROW_NUMBER, _job, _record, _with_channel  # noqa: E402


def _chat_job(channel: str | None):  # noqa: ANN202
    job = _job("feedback_nlp.storage.loading:load_pipeline", None, 8, "text", "kind", "id", "transcript")
    return _with_channel(job, channel)


def _row(channel: str | None) -> dict:
    return {"id": "c1", "text": "Customer: my order never came", "kind": None, "channel": channel, _ROW_NUMBER: 0}


def test_spark_rows_without_a_channel_take_the_given_one() -> None:
    job = _chat_job(" chat ")
    assert [_record(_row(channel), job)[0].channel for channel in (None, "", "phone")] == ["chat", "chat", "phone"]
    record, problem = _record(_row(None), _chat_job(None))
    assert problem is None and record is not None and record.channel is None


def test_spark_channel_must_not_be_empty() -> None:
    with pytest.raises(InputError, match="--channel must not be empty"):
        _chat_job("  ")
