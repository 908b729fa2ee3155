"""The score job: tables from counts, incremental runs equal to a full recount, idempotent reruns."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from scoring_example import EXAMPLE_ROWS, row
from typer.testing import CliRunner

from feedback_nlp.errors import InputError
from feedback_nlp.scoring import job
from feedback_nlp.scoring.frame import records_from_rows
from feedback_nlp.scoring.scores import touchpoint_scores

TABLES = {"touchpoint_scores", "journey_matrix", "trends", "drivers", "alerts", "overall_scores"}


def _rows(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        label = rng.choice(["negative", "neutral", "positive"])
        score = {"negative": -0.7, "neutral": 0.0, "positive": 0.8}[label] + rng.uniform(-0.1, 0.1)
        r = row(
            f"r{i}",
            rng.randint(1, 28),
            label,
            round(score, 4),
            tuple(rng.sample(["delivery", "website", "billing", "in_person"], rng.randint(0, 2))),
            month=rng.choice([3, 4, 5]),
            topic=rng.choice([None, "delivery delay", "refund or return"]),
            nps=rng.choice([None, rng.randint(0, 10)]),
            source=rng.choice(["web", "app"]),
            metadata={"region": rng.choice(["north", "south"])},
        )
        r["pk"] = i + 1
        out.append(r)
    return out


def _read(folder: Path) -> dict[str, pd.DataFrame]:
    return {p.stem: pd.read_parquet(p) for p in sorted(folder.glob("*.parquet"))}


def _assert_same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=False, rtol=0, atol=1e-9, obj=name)


def test_full_run_writes_every_table_as_parquet_and_csv(tmp_path: Path) -> None:
    run = job.run_score_job(EXAMPLE_ROWS, tmp_path / "out", period="week", by=["source", "region"])
    names = {p.stem for p in (tmp_path / "out").glob("*.parquet")}
    assert names == TABLES | {"segment_scores_source", "segment_scores_region"}
    assert names == {p.stem for p in (tmp_path / "out").glob("*.csv")}
    assert run.new_records == len(EXAMPLE_ROWS) == run.total_records


def test_touchpoint_scores_equal_the_direct_computation(tmp_path: Path) -> None:
    rows = _rows(300)
    run = job.run_score_job(rows, tmp_path / "out", period="week")
    direct = touchpoint_scores(records_from_rows(rows), period="week")
    table = run.tables["touchpoint_scores"]
    pd.testing.assert_frame_equal(
        table[direct.columns.tolist()].reset_index(drop=True), direct.reset_index(drop=True), atol=1e-9, rtol=0
    )


def test_incremental_runs_equal_one_full_run_and_rerunning_changes_nothing(tmp_path: Path) -> None:
    rows = _rows(500, seed=3)
    full = job.run_score_job(rows, tmp_path / "full", period="week", by=["region"])
    inc = tmp_path / "inc"
    first = job.run_score_job(rows[:200], inc, period="week", by=["region"], incremental_key="pk")
    assert first.watermark == 200
    state = job.read_state(inc)
    assert state is not None and state["watermark"] == 200
    second = job.run_score_job(rows[200:], inc, period="week", by=["region"], incremental_key="pk")
    assert (second.new_records, second.total_records, second.watermark) == (300, 500, 500)
    _assert_same(_read(tmp_path / "full"), _read(inc))
    again = job.run_score_job([], inc, period="week", by=["region"], incremental_key="pk")
    assert again.new_records == 0 and again.total_records == 500
    _assert_same(_read(tmp_path / "full"), _read(inc))
    assert full.total_records == 500


def test_changing_the_period_recounts_instead_of_mixing(tmp_path: Path) -> None:
    rows = _rows(120, seed=5)
    out = tmp_path / "out"
    job.run_score_job(rows[:60], out, period="week", incremental_key="pk")
    run = job.run_score_job(rows, out, period="month", incremental_key="pk")
    assert run.total_records == 120  # the week counts were not reused
    months = set(pd.read_parquet(out / "touchpoint_scores.parquet")["period"].astype(str))
    assert months <= {"2024-03-01", "2024-04-01", "2024-05-01"}


def test_a_failed_run_leaves_the_previous_tables_whole(tmp_path: Path) -> None:
    out = tmp_path / "out"
    job.run_score_job(_rows(50), out, period="week", incremental_key="pk")
    before = _read(out)
    bad = _rows(10, seed=9)
    for r in bad:
        r["pk"] += 50  # stored after the first run's rows
    bad[5]["sentiment_label"] = "ecstatic"
    with pytest.raises(Exception, match="ecstatic|sentiment"):
        job.run_score_job(bad, out, period="week", incremental_key="pk")
    _assert_same(before, _read(out))


def test_store_tables_replaces_the_scores_tables(db_url: str, tmp_path: Path) -> None:
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(db_url)
    try:
        run = job.run_score_job(_rows(80), tmp_path / "out", period="week")
        job.store_tables(engine, run.tables)
        job.store_tables(engine, run.tables)  # twice: replaced, not appended
        names = set(inspect(engine).get_table_names())
        assert {f"scores_{n}" for n in TABLES} <= names
        with engine.connect() as connection:
            stored = connection.execute(text("SELECT COUNT(*) FROM scores_touchpoint_scores")).scalar_one()
        assert stored == len(run.tables["touchpoint_scores"])
        # A run by a segment, then one without: the segment table of the first run goes too.
        by_kind = job.run_score_job(_rows(80), tmp_path / "by_kind", period="week", by=["kind"])
        job.store_tables(engine, by_kind.tables)
        assert "scores_segment_scores_kind" in set(inspect(engine).get_table_names())
        job.store_tables(engine, run.tables)
        names = set(inspect(engine).get_table_names())
        assert {n for n in names if n.startswith("scores_")} == {f"scores_{n}" for n in run.tables}
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE scoresheet (x INTEGER)"))  # not a scores_ table
        job.store_tables(engine, run.tables)
        assert "scoresheet" in set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_prediction_rows_read_classify_output(tmp_path: Path) -> None:
    path = tmp_path / "pred.jsonl"
    prediction = {
        "id": "a",
        "kind": "review",
        "sentiment": {"label": "negative", "score": -0.6},
        "journey_stage": {"label": "delivery", "confidence": 0.9},
        "touchpoints": [{"label": "delivery", "confidence": 0.8}],
        "segments": [],
        "model_version": "x",
        "created_at": "2024-03-04T10:00:00Z",
    }
    path.write_text(json.dumps(prediction) + "\n\n", encoding="utf-8")
    assert job.is_prediction_file(str(path))
    rows = list(job.prediction_rows(str(path)))
    assert rows[0]["sentiment_label"] == "negative" and rows[0]["journey_stage"] == "delivery"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"kind": "review"}\n', encoding="utf-8")
    with pytest.raises(Exception, match="line 1"):
        list(job.prediction_rows(str(bad)))


def test_cli_score_and_alerts_from_classify_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from feedback_nlp.cli import app
    from feedback_nlp.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite'}")
    get_settings.cache_clear()
    path = tmp_path / "pred.jsonl"
    lines = []
    for r in _rows(60, seed=11):
        lines.append(
            json.dumps(
                {
                    "id": r["id"],
                    "kind": r["kind"],
                    "created_at": r["created_at"].isoformat(),
                    "sentiment": {"label": r["sentiment_label"], "score": r["sentiment_score"]},
                    "journey_stage": {"label": r["journey_stage"], "confidence": 0.9},
                    "touchpoints": r["touchpoints"],
                    "segments": [],
                    "model_version": "x",
                }
            )
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    runner = CliRunner()
    try:
        result = runner.invoke(app, ["score", str(path), "-o", str(tmp_path / "scores"), "--period", "month"])
        assert result.exit_code == 0, result.output
        assert "60 new record(s)" in result.output
        assert (tmp_path / "scores" / "touchpoint_scores.csv").is_file()
        result = runner.invoke(app, ["alerts", str(tmp_path / "scores")])
        assert result.exit_code == 0 and "Traceback" not in result.output
        result = runner.invoke(app, ["score", "-o", str(tmp_path / "x")])
        assert result.exit_code == 1 and "INPUT file or --from-db" in result.output
        result = runner.invoke(app, ["alerts", str(tmp_path / "nowhere")])
        assert result.exit_code == 1 and "run `feedback-nlp score" in result.output
    finally:
        get_settings.cache_clear()


def test_cli_score_from_db_is_incremental(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_pipeline) -> None:  # noqa: ANN001
    from feedback_nlp.cli import app
    from feedback_nlp.settings import get_settings
    from feedback_nlp.storage.db import init_db, make_session_factory
    from feedback_nlp.storage.feedback_repo import ingest
    from feedback_nlp.taxonomy.records import FeedbackRecord

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    engine = init_db(url)
    sessions = make_session_factory(engine)

    def store(start: int, n: int) -> None:
        records = [
            FeedbackRecord(
                id=f"r{i}",
                kind="review",
                text=f"the delivery was late {i}",
                created_at=datetime(2024, 3, 1 + i % 28, tzinfo=UTC),
            )
            for i in range(start, start + n)
        ]
        predictions = fake_pipeline.predict(records)
        with sessions() as session:
            ingest(session, [(r, p, r.text) for r, p in zip(records, predictions, strict=True)], "test")

    runner = CliRunner()
    out = tmp_path / "scores"
    try:
        store(0, 40)
        first = runner.invoke(app, ["score", "--from-db", "-o", str(out)])
        assert first.exit_code == 0, first.output
        assert "40 new record(s) counted, 40 in all" in first.output
        store(40, 25)
        second = runner.invoke(app, ["score", "--from-db", "-o", str(out)])
        assert "25 new record(s) counted, 65 in all" in second.output
        incremental = _read(out)
        full = runner.invoke(app, ["score", "--from-db", "--full", "-o", str(tmp_path / "full")])
        assert "65 new record(s) counted, 65 in all" in full.output
        _assert_same(_read(tmp_path / "full"), incremental)
        again = runner.invoke(app, ["score", "--from-db", "-o", str(out)])
        assert "0 new record(s) counted, 65 in all" in again.output
        _assert_same(incremental, _read(out))
        # --full into the folder of the incremental runs recounts, never adds to the stored counts.
        for _ in range(2):
            recount = runner.invoke(app, ["score", "--from-db", "--full", "-o", str(out)])
            assert "65 new record(s) counted, 65 in all" in recount.output, recount.output
            _assert_same(incremental, _read(out))
    finally:
        engine.dispose()
        get_settings.cache_clear()


@pytest.fixture
def score_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_pipeline) -> Iterator[Any]:  # noqa: ANN001
    """The CLI app, classifying with the fake pipeline into a SQLite database of its own."""
    import feedback_nlp.storage.loading
    from feedback_nlp.cli import app
    from feedback_nlp.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite'}")
    monkeypatch.setattr(feedback_nlp.storage.loading, "load_pipeline", lambda *a, **k: fake_pipeline)
    get_settings.cache_clear()
    try:
        yield app
    finally:
        get_settings.cache_clear()


def test_cli_score_reads_a_twitter_export_and_counts_the_undated_rows(tmp_path: Path, score_cli: Any) -> None:
    # Issue 15: the export's own date spelling, its column name, and a summary of the rows without a date.
    rows = ["tweet_id,text,tweet_created,airline"]
    rows += [
        f"{570306133677760513 + i},the delivery was late {i},2015-02-{10 + i % 15} 11:35:52 -0800,Virgin"
        for i in range(30)
    ]
    rows += ["1,no date here,,Virgin", "2,a bad date,soon,Virgin"]
    path = tmp_path / "Tweets.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = CliRunner().invoke(
        score_cli,
        [
            "score",
            str(path),
            "-o",
            str(tmp_path / "scores"),
            "--kind",
            "social",
            "--id-column",
            "tweet_id",
            "--created-at-column",
            "tweet_created",
            "--on-bad-date",
            "null",
            "--by",
            "airline",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "32 new record(s)" in result.output
    assert "created_at: of 32 record(s), 1 had no created_at (e.g. line 32)" in result.output
    assert "1 had a created_at that could not be read" in result.output
    assert "line 33: tweet_created (created_at): cannot read 'soon'" in result.output


def test_cli_score_counts_the_rows_it_could_not_read_and_says_so(tmp_path: Path, score_cli: Any) -> None:
    from feedback_nlp.cli.errors import EXIT_ROWS_FAILED

    path = tmp_path / "survey.csv"
    path.write_text(
        "id,text,kind,created_at,nps\n1,Delivery was late again,survey,2026-12-01,3\n"
        "2,Love the app,survey,2026-12-02,10\n3,,survey,2026-12-03,10\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(score_cli, ["score", str(path), "-o", str(tmp_path / "scores")])
    missing = CliRunner().invoke(score_cli, ["score", str(tmp_path / "missing.jsonl"), "-o", str(tmp_path / "s2")])
    # The tables are written from the rows that could be read; the status and the summary say one was not.
    assert result.exit_code == EXIT_ROWS_FAILED, result.output
    assert "line 4: text: missing or empty" in result.output
    assert "1 row(s) could not be read and are not counted" in result.output
    assert (tmp_path / "scores" / "overall_scores.csv").is_file()
    # A missing file is an error message, not a traceback.
    assert missing.exit_code != 0 and "input file not found" in missing.output
    assert "Traceback" not in missing.output


def test_score_never_replaces_a_folder_holding_other_files(tmp_path: Path) -> None:
    rows = [row(f"r{i}", 4 + i % 2, "positive", 0.5, ("delivery",)) for i in range(6)]
    mine = tmp_path / "myreports"
    mine.mkdir()
    (mine / "q3_board_deck.txt").write_text("important", encoding="utf-8")
    with pytest.raises(InputError, match=r"already holds other files \(q3_board_deck.txt\)"):
        job.run_score_job(rows, mine, period="week")
    assert (mine / "q3_board_deck.txt").read_text(encoding="utf-8") == "important"
    # An empty folder, a new one, and an earlier run's output are written to.
    for folder in (tmp_path / "empty", tmp_path / "new" / "scores"):
        if folder.name == "empty":
            folder.mkdir()
        job.run_score_job(rows, folder, period="week")
        job.run_score_job(rows, folder, period="week")
        assert (folder / "overall_scores.parquet").is_file()


def test_score_into_the_working_folder_is_written_there(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    rows = [row(f"r{i}", 4, "positive", 0.5, ("delivery",)) for i in range(3)]
    job.run_score_job(rows, ".", period="week")  # was: ValueError, PosixPath('.') has an empty name
    assert (tmp_path / "overall_scores.csv").is_file()
    assert not [p for p in tmp_path.parent.iterdir() if p.name.startswith(f".{tmp_path.name}.")]
