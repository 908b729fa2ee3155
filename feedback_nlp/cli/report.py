"""``feedback-nlp report``: reports for CX leads."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

import typer

from feedback_nlp.cli.errors import EXIT_ROWS_FAILED, reports_errors
from feedback_nlp.cli.options import InputOptions, require_one_source, with_input_options

report_app = typer.Typer(help="Reports for CX leads (one self-contained file each).", no_args_is_help=True)


@report_app.command("topics")
@reports_errors
@with_input_options
def topics(
    input: Annotated[
        str | None, typer.Argument(help="CSV, Excel, JSONL, JSON array or Parquet feedback with dates (or --from-db).")
    ] = None,
    from_db: Annotated[bool, typer.Option("--from-db", help="Report on the feedback stored by the service.")] = False,
    period: Annotated[Literal["day", "week", "month"], typer.Option(help="Period of the trends.")] = "week",
    start: Annotated[datetime | None, typer.Option("--from", help="First day of the report (inclusive).")] = None,
    end: Annotated[datetime | None, typer.Option("--to", help="End of the report (exclusive).")] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="File to write (default report.FORMAT).")
    ] = None,
    fmt: Annotated[
        Literal["html", "pdf", "png"], typer.Option("--format", help="html, or pdf/png via Chromium.")
    ] = "html",
    topics_dir: Annotated[
        Path | None,
        typer.Option(
            "--topics",
            help="Topic model folder (default: the deployed one; fitted on the input when none is deployed).",
        ),
    ] = None,
    chromium: Annotated[
        Path | None,
        typer.Option("--chromium", help="--format pdf/png: the Chromium or Chrome binary (default: found on PATH)."),
    ] = None,
    *,
    inputs: InputOptions,
    min_topic_size: Annotated[int, typer.Option(min=2, help="When a model is fitted here: smallest topic.")] = 15,
) -> None:
    """Write the topic trend report: top topics, emerging and declining ones, touchpoints, verbatims."""
    from feedback_nlp.reports import build
    from feedback_nlp.reports.chromium import find_chromium
    from feedback_nlp.reports.topic_report import unassigned_share, write_report
    from feedback_nlp.storage.loading import load_pipeline
    from feedback_nlp.topics import deploy
    from feedback_nlp.topics.corpus import corpus_from_db, corpus_from_file
    from feedback_nlp.topics.space import topic_space

    # Everything that can be checked without reading or classifying the feedback is checked first.
    require_one_source(input, from_db)
    build.check_range(start, end)
    if fmt != "html":
        find_chromium(chromium)  # a missing browser fails now, not after the classifying pass
    if input is not None and not from_db:
        build.require_dated_file(input, inputs.read_kwargs())
    pipeline = load_pipeline(topics=False)
    model = None
    if topics_dir is not None:
        model = deploy.load_for(pipeline, topics_dir)
    elif deploy.is_deployed():
        model = deploy.load_for(pipeline)
    if from_db:
        corpus = corpus_from_db(start, end)
    else:
        assert input is not None  # require_one_source: an INPUT file when not --from-db
        # The classifying pass also makes the records' topic vectors, where the encoders share layers.
        space = topic_space(pipeline, model.space_name if model is not None else None)
        corpus = corpus_from_file(input, pipeline, classify=True, space=space, **inputs.read_kwargs())
        for message in corpus.errors[:20]:
            typer.echo(message, err=True)
        if len(corpus.errors) > 20:
            typer.echo(f"... and {len(corpus.errors) - 20} more row(s) that could not be read", err=True)
        if corpus.errors:
            typer.echo(f"{len(corpus.errors)} row(s) could not be read and are not in the report.", err=True)
    build.require_dates(corpus)  # before a topic model is fitted on it
    if model is None:
        typer.echo("no topic model deployed: fitting one on the input", err=True)
        model = build.fit_on(corpus, pipeline, min_topic_size=min_topic_size, progress=True)
    report = build.topic_trend_report(
        corpus,
        pipeline,
        model,
        period=period,
        start=start.isoformat() if start else None,
        end=end.isoformat() if end else None,
        progress=True,
    )
    share = unassigned_share(report)
    if share >= 1.0:
        typer.echo(
            "warning: no text in the report was assigned to a topic (100% unassigned), so it shows no topics, "
            "touchpoints or trends; the topic model does not fit this feedback: fit one on it with "
            "`feedback-nlp topics fit`, or give more feedback.",
            err=True,
        )
    elif share >= UNASSIGNED_WARNING:
        typer.echo(
            f"warning: {share:.0%} of the texts were assigned to no topic; the report's topics cover only "
            f"{1 - share:.0%} of the feedback (refit the topic model on feedback like this one).",
            err=True,
        )
    path = write_report(report, output or build.default_output(fmt), fmt=fmt, chromium_path=chromium)
    typer.echo(f"wrote {path}", err=True)
    if corpus.errors:  # written, as classify writes what it could: the status says rows were left out
        raise typer.Exit(EXIT_ROWS_FAILED)


#: Above this share of unassigned texts the command warns that the topics cover little of the feedback.
UNASSIGNED_WARNING = 0.5
