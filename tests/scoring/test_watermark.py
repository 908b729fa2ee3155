"""Incremental runs over the database: keys committed late (below the watermark) are still counted, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from test_job import _assert_same, _read, _rows
from typer.testing import CliRunner

from feedback_nlp.scoring import job
from feedback_nlp.scoring.watermark import GAP_HORIZON, ResumePoint

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)


def test_keys_skipped_become_gaps_and_are_counted_once_when_they_arrive() -> None:
    resume = ResumePoint()
    assert resume.advance([2, 3, 6], NOW) == [2, 3, 6]
    assert resume.watermark == 6
    assert resume.gap_ranges == [(1, 1), (4, 5)]
    # The next run reads the gaps again: 4 arrived late, 3 is read again but counted already.
    assert resume.advance([3, 4, 7], NOW) == [4, 7]
    assert resume.gap_ranges == [(1, 1), (5, 5)]
    assert resume.watermark == 7


def test_gaps_are_dropped_once_older_than_the_horizon() -> None:
    resume = ResumePoint()
    resume.advance([5], NOW)
    resume.expire(NOW + GAP_HORIZON / 2)
    assert resume.gap_ranges == [(1, 4)]
    resume.expire(NOW + GAP_HORIZON + timedelta(seconds=1))
    assert resume.gap_ranges == []


def test_the_resume_point_round_trips_through_the_state() -> None:
    resume = ResumePoint()
    resume.advance([3, 9], NOW)
    again = ResumePoint.from_state(resume.to_state())
    assert (again.watermark, again.gap_ranges) == (9, [(1, 2), (4, 8)])


def test_a_late_commit_below_the_watermark_counts_in_the_next_run(tmp_path: Path) -> None:
    rows = _rows(60, seed=5)
    late = rows[29]  # pk 30: written before pk 31.. but committed after the first run
    job.run_score_job(rows, tmp_path / "full", period="week", incremental_key="pk")
    inc = tmp_path / "inc"
    first = job.run_score_job(rows[:29] + rows[30:40], inc, period="week", incremental_key="pk")
    assert (first.new_records, first.watermark) == (39, 40)
    assert job.read_state(inc)["gaps"][0]["low"] == 30
    # The next run's query returns the gap's key and the keys after the watermark, in key order.
    second = job.run_score_job([late, *rows[40:]], inc, period="week", incremental_key="pk")
    assert (second.new_records, second.total_records) == (21, 60)
    _assert_same(_read(tmp_path / "full"), _read(inc))


@pytest.mark.parametrize("field", ["period", "id", "rating", "sentiment_from", "n_positive"])
def test_segmenting_by_a_column_of_the_tables_is_refused(tmp_path: Path, field: str) -> None:
    """The same rule as Spark's (tests/spark/test_spark_keys.py): the engines agree on what --by takes."""
    from feedback_nlp.errors import InputError

    with pytest.raises(InputError, match=f"cannot segment by '{field}'.*--by takes source, kind"):
        job.run_score_job(_rows(5), tmp_path / "out", period="week", by=[field])


# The db_url fixture on PostgreSQL only: it empties the session's database after the test.
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_cli_counts_a_record_committed_after_a_later_one_on_postgresql(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_pipeline
) -> None:  # noqa: ANN001
    """A slow ingest takes key N, a fast one commits N+1, a run reads N+1; N commits after it."""
    from feedback_nlp.cli import app
    from feedback_nlp.settings import get_settings
    from feedback_nlp.storage import feedback_repo
    from feedback_nlp.storage.db import init_db, make_session_factory
    from feedback_nlp.taxonomy.records import FeedbackRecord

    postgres_url = db_url
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    get_settings.cache_clear()
    engine = init_db(postgres_url)
    sessions = make_session_factory(engine)
    records = [
        FeedbackRecord(id=f"late-{i}", kind="review", text=text, created_at=datetime(2024, 3, 4, 10 + i, tzinfo=UTC))
        for i, text in enumerate(["The app keeps crashing.", "Delivery was late."])
    ]
    predictions = fake_pipeline.predict(records)
    runner = CliRunner()
    out = tmp_path / "scores"
    slow = sessions()
    try:
        item = feedback_repo.IngestItem(records[0], predictions[0], records[0].text)
        feedback_repo._ingest_once(slow, [feedback_repo._prepare(0, item, "test", datetime.now(UTC))])
        with sessions() as fast:
            feedback_repo.ingest(fast, [(records[1], predictions[1], records[1].text)], "test")
        first = runner.invoke(app, ["score", "--from-db", "-o", str(out)])
        assert "1 new record(s) counted, 1 in all" in first.output, first.output
        slow.commit()
        second = runner.invoke(app, ["score", "--from-db", "-o", str(out)])
        assert "1 new record(s) counted, 2 in all" in second.output, second.output
        third = runner.invoke(app, ["score", "--from-db", "-o", str(out)])
        assert "0 new record(s) counted, 2 in all" in third.output, third.output
        overall = pd.read_parquet(out / "overall_scores.parquet")
        assert int(overall["volume"].sum()) == 2
    finally:
        slow.close()
        engine.dispose()
        get_settings.cache_clear()


def test_cli_recounts_when_the_database_changed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_pipeline) -> None:  # noqa: ANN001
    from feedback_nlp.cli import app
    from feedback_nlp.settings import get_settings
    from feedback_nlp.storage.db import init_db, make_session_factory
    from feedback_nlp.storage.feedback_repo import ingest
    from feedback_nlp.taxonomy.records import FeedbackRecord

    runner = CliRunner()
    out = tmp_path / "scores"
    try:
        for name, n in (("one", 3), ("two", 5)):
            url = f"sqlite:///{tmp_path / name}.db"
            monkeypatch.setenv("DATABASE_URL", url)
            get_settings.cache_clear()
            engine = init_db(url)
            records = [
                FeedbackRecord(
                    id=f"{name}{i}",
                    kind="review",
                    text=f"late delivery {i}",
                    created_at=datetime(2024, 3, 1, tzinfo=UTC),
                )
                for i in range(n)
            ]
            with make_session_factory(engine)() as session:
                ingest(
                    session, [(r, p, r.text) for r, p in zip(records, fake_pipeline.predict(records), strict=True)], "t"
                )
            engine.dispose()
            result = runner.invoke(app, ["score", "--from-db", "-o", str(out)])
            assert f"{n} new record(s) counted, {n} in all" in result.output, result.output
        assert "holds counts of another database" in result.output
    finally:
        get_settings.cache_clear()
