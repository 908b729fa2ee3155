"""``feedback-nlp score`` and ``feedback-nlp alerts``: the experience-score job and its alerts."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from feedback_nlp.cli.errors import EXIT_ROWS_FAILED, CommandError, reports_errors
from feedback_nlp.cli.options import InputOptions, require_one_source, with_input_options
from feedback_nlp.dates import DateTally

PeriodOpt = Annotated[Literal["day", "week", "month"], typer.Option(help="Period of scores, trends and alerts.")]


def _classified_rows(path: str, options: InputOptions, dates: DateTally, failed: list[str]) -> Iterator[dict[str, Any]]:
    """Raw feedback from a file, classified here, as records-frame rows; bad rows reported on stderr.

    ``dates`` counts the records without a usable created_at (left out of period breakdowns);
    ``failed`` gets where each row that could not be read is.
    """
    from tqdm import tqdm

    from feedback_nlp.fileio import read_records
    from feedback_nlp.storage.loading import load_pipeline
    from feedback_nlp.taxonomy.records import FeedbackRecord

    pipeline = load_pipeline()
    batch: list[FeedbackRecord] = []
    results = read_records(path, **options.read_kwargs())
    # The scoring bar moves per 20,000 rows counted; this one shows the classifying before that.
    bar = tqdm(desc="reading and classifying", unit="rec", file=sys.stderr)

    def flush() -> Iterator[dict[str, Any]]:
        predictions = pipeline.predict(batch)
        bar.update(len(batch))
        for record, prediction in zip(batch, predictions, strict=True):
            yield {
                "id": record.id,
                "source": record.source,
                "kind": str(record.kind),
                "created_at": record.created_at,
                "rating": record.rating,
                "nps": record.nps,
                "metadata": record.metadata,
                "sentiment_label": prediction.sentiment.label,
                "sentiment_score": prediction.sentiment.score,
                "journey_stage": prediction.journey_stage.label,
                "touchpoints": [t.model_dump() for t in prediction.touchpoints],
                "segments": [s.model_dump() for s in prediction.segments],
                "topic": prediction.topic.model_dump() if prediction.topic else None,
            }
        batch.clear()

    for result in results:
        if result.error is not None:
            typer.echo(f"{result.where}: {result.error}", err=True)
            failed.append(result.where)
            continue
        assert result.record is not None
        dates.add(result.line, result.record.created_at, problem=result.bad_date)
        batch.append(result.record)
        if len(batch) >= 256:
            yield from flush()
    if batch:
        yield from flush()
    bar.close()


def _tallied(rows: Iterable[dict[str, Any]], dates: DateTally) -> Iterator[dict[str, Any]]:
    """``rows``, with each one's created_at counted in ``dates``."""
    for number, row in enumerate(rows, start=1):
        dates.add(row.get("id") or number, row.get("created_at"))
        yield row


@reports_errors
@with_input_options
def score(
    input: Annotated[
        str | None,
        typer.Argument(
            help="Raw feedback (CSV/JSONL/Parquet, classified here) or the "
            "JSONL of `feedback-nlp classify`; or use --from-db."
        ),
    ] = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for the tables (Parquet and CSV).")] = Path(
        "scores"
    ),
    from_db: Annotated[
        bool,
        typer.Option(
            "--from-db",
            help="Score the predictions stored by the service (incremental: only records stored since the last run).",
        ),
    ] = False,
    period: PeriodOpt = "week",
    by: Annotated[str, typer.Option(help="Comma-separated segment fields: source, kind or metadata keys.")] = "",
    full: Annotated[bool, typer.Option("--full", help="--from-db: recount everything, not just new records.")] = False,
    min_volume: Annotated[int, typer.Option(min=1, help="Volumes below this are flagged low_volume.")] = 30,
    *,
    inputs: InputOptions,
) -> None:
    """Per-touchpoint scores, the journey matrix, trends, drivers and alerts, as tables.

    Writes touchpoint_scores, journey_matrix, trends, drivers, alerts, overall_scores and one
    segment_scores_FIELD per --by field to the output folder (.parquet and .csv) and to the
    database (tables scores_*). Formulas: docs/scores.md.
    """
    from tqdm import tqdm

    from feedback_nlp.scoring import job
    from feedback_nlp.scoring.watermark import ResumePoint
    from feedback_nlp.settings import get_settings
    from feedback_nlp.storage.db import init_db

    require_one_source(input, from_db)
    from feedback_nlp.storage.artifacts import check_replaceable

    check_replaceable(output, job.STATE_DIR, "score tables")  # before any record is classified
    fields = [f.strip() for f in by.split(",") if f.strip()]
    dates = DateTally()
    failed: list[str] = []
    engine = init_db(get_settings().database_url)
    bar = tqdm(unit="rec", desc="scoring", file=sys.stderr)
    if from_db:
        state = None if full else job.read_state(output)
        database = job.database_identity(engine.url)
        stored_source = state.get("source") if state else None
        same_database = stored_source in (None, database)
        if not same_database:
            typer.echo(
                f"{output} holds counts of another database ({stored_source}); counting every "
                f"record of {database} instead",
                err=True,
            )
        usable = state and same_database and state["period"] == period and list(state["by"]) == fields
        resume = ResumePoint.from_state(state if usable else None)
        rows = _tallied(job.stored_rows(resume.watermark, gaps=resume.gap_ranges), dates)
        run = job.run_score_job(
            rows,
            output,
            period=period,
            by=fields,
            incremental_key="pk",
            min_volume=min_volume,
            store=lambda t: job.store_tables(engine, t),
            progress=bar.update,
            full=not usable,
            source=database,
        )
    else:
        assert input is not None  # require_one_source: an INPUT file when not --from-db
        rows = (
            _tallied(job.prediction_rows(input), dates)
            if job.is_prediction_file(input)
            else _classified_rows(input, inputs, dates, failed)
        )
        run = job.run_score_job(
            rows,
            output,
            period=period,
            by=fields,
            min_volume=min_volume,
            store=lambda t: job.store_tables(engine, t),
            progress=bar.update,
        )
    bar.close()
    engine.dispose()
    if dates.undated:
        typer.echo(
            f"created_at: {dates.describe()}; those records count in the journey matrix and the "
            f"drivers, but not in the tables by {period} (touchpoint and overall scores, topics, "
            "segments, trends and alerts): give them a created_at (--created-at-column) to count them there",
            err=True,
        )
    alerts = run.tables["alerts"]
    typer.echo(
        f"{run.new_records} new record(s) counted, {run.total_records} in all; wrote {output} "
        f"({len(run.tables)} tables; {len(alerts)} alert(s))",
        err=True,
    )
    if failed:
        typer.echo(f"{len(failed)} row(s) could not be read and are not counted (listed above).", err=True)
        raise typer.Exit(EXIT_ROWS_FAILED)


@reports_errors
def alerts(
    scores_dir: Annotated[Path, typer.Argument(help="Output folder of `feedback-nlp score`.")] = Path("scores"),
    as_json: Annotated[bool, typer.Option("--json", help="Print the alerts as JSON lines.")] = False,
) -> None:
    """List the alerts of the last score run: touchpoint scores dropping, topic volumes spiking."""
    import pandas as pd

    path = scores_dir / "alerts.parquet"
    if not path.is_file():
        raise CommandError(f"no alerts table at {path}; run `feedback-nlp score ... -o {scores_dir}` first")
    table = pd.read_parquet(path)
    if as_json:
        sys.stdout.write(table.to_json(orient="records", lines=True, date_format="iso"))
        return
    if table.empty:
        typer.echo(
            "no alerts: no touchpoint score or topic volume went outside its control limits. A series is "
            "only checked with at least 2 earlier periods of data (a touchpoint score also with 30 "
            "mentions in them); with less history nothing is checked (docs/scores.md, section 7)"
        )
        return
    for row in table.itertuples():
        typer.echo(f"[{row.severity}] {row.period} {row.kind}: {row.message}")
