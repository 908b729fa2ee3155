"""``feedback-nlp spark classify`` and ``feedback-nlp spark score``: the Spark jobs from the shell.

Both wrap :mod:`feedback_nlp.spark` functions; under ``spark-submit`` leave ``--master`` out and
the session is the one the submission configured (``docs/scale.md``).
"""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from feedback_nlp.cli.errors import EXIT_ROWS_FAILED, reports_errors
from feedback_nlp.cli.options import ChannelColumn, CreatedAtColumn, NpsColumn, RatingColumn, SourceColumn, TurnSpeaker

spark_app = typer.Typer(
    help="Classify and score Parquet datasets on Apache Spark (local mode or a cluster; docs/scale.md).",
    no_args_is_help=True,
)

MasterOpt = Annotated[
    str | None,
    typer.Option(
        help="Spark master: local[2], yarn, spark://host:7077... Default: what spark-submit set, else local[*]."
    ),
]


@spark_app.command("classify")
@reports_errors
def classify(
    input: Annotated[str, typer.Argument(help="Parquet file or folder of raw feedback (any Hadoop path).")],
    output: Annotated[str, typer.Argument(help="Folder for the predictions (Parquet); rejected rows go to _errors/.")],
    model_dir: Annotated[
        str | None, typer.Option(help="Bundle folder as the executors see it (default: their FEEDBACK_NLP_MODEL_DIR).")
    ] = None,
    kind: Annotated[
        str | None, typer.Option(help="Kind for rows without one (survey, review, social, transcript).")
    ] = None,
    text_column: Annotated[str, typer.Option(help="Column holding the text.")] = "text",
    kind_column: Annotated[str, typer.Option(help="Column holding the kind.")] = "kind",
    id_column: Annotated[str, typer.Option(help="Column holding the record id.")] = "id",
    batch_size: Annotated[int, typer.Option(min=1, help="Records per pipeline call on an executor.")] = 256,
    partitions: Annotated[
        int | None, typer.Option(min=1, help="Spread rows over this many tasks (2-4 x the cluster's cores).")
    ] = None,
    loader: Annotated[
        str,
        typer.Option(
            help="module:function the executors call with the model dir to get a "
            "pipeline (ship custom modules with --py-files)."
        ),
    ] = "",
    date_format: Annotated[
        str | None, typer.Option(help="strptime format for slashed dates (%d/%m/%Y or %m/%d/%Y).")
    ] = None,
    on_bad_date: Annotated[
        str | None,
        typer.Option(help="An unreadable created_at: 'error' rejects the row, 'null' keeps it without a date."),
    ] = None,
    channel: Annotated[
        str | None,
        typer.Option(
            help="Channel for rows without one, e.g. chat: a transcript's declared channel gives its touchpoint."
        ),
    ] = None,
    created_at_column: CreatedAtColumn = None,
    rating_column: RatingColumn = None,
    nps_column: NpsColumn = None,
    source_column: SourceColumn = None,
    channel_column: ChannelColumn = None,
    turns_column: Annotated[
        str | None,
        typer.Option(
            help="List column holding a transcript's turns (default: turns); the text column may then be absent.",
            rich_help_panel="Input columns and dates",
        ),
    ] = None,
    turn_speaker: TurnSpeaker = None,
    master: MasterOpt = None,
) -> None:
    """Classify every row of a Parquet dataset on Spark, the pipeline loaded once per executor process.

    A local OUTPUT folder must be absent, empty or an earlier output of this command (it holds
    _errors/), and is replaced only once the job succeeded. Rejected rows are written to
    OUTPUT/_errors/ with their reasons, and the exit status is then 3.
    """
    from feedback_nlp.spark import classify_dataset, spark_session
    from feedback_nlp.spark.classify import DEFAULT_LOADER

    columns = {
        "created_at": created_at_column,
        "rating": rating_column,
        "nps": nps_column,
        "source": source_column,
        "channel": channel_column,
        "turns": turns_column,
    }
    spark = spark_session(master)
    result = classify_dataset(
        spark,
        input,
        output,
        model_dir=model_dir,
        batch_size=batch_size,
        text_column=text_column,
        kind_column=kind_column,
        id_column=id_column,
        default_kind=kind,
        partitions=partitions,
        loader=loader or DEFAULT_LOADER,
        date_format=date_format,
        on_bad_date=on_bad_date,
        default_channel=channel,
        columns={name: column for name, column in columns.items() if column},
        progress=_echo,
        turn_speaker=turn_speaker,
    )
    typer.echo(f"{result.predictions} prediction(s) written to {result.output}", err=True)
    if result.errors:  # written, as `feedback-nlp classify` writes what it could: the status says rows failed
        typer.echo(f"{result.errors} row(s) rejected, with reasons, in {result.errors_path}", err=True)
        typer.echo(f"{result.errors} row(s) failed, {result.predictions} classified.", err=True)
        raise typer.Exit(EXIT_ROWS_FAILED)


@spark_app.command("score")
@reports_errors
def score(
    input: Annotated[str, typer.Argument(help="Predictions in the records layout (the output of `spark classify`).")],
    output: Annotated[str, typer.Argument(help="Folder on the driver for the score tables (Parquet and CSV).")],
    period: Annotated[
        Literal["day", "week", "month"], typer.Option(help="Period of scores, trends and alerts.")
    ] = "week",
    by: Annotated[
        str,
        typer.Option(help="Comma-separated segment fields: source, kind, journey_stage, topic_label or metadata keys."),
    ] = "",
    min_volume: Annotated[int, typer.Option(min=1, help="Volumes below this are flagged low_volume.")] = 30,
    master: MasterOpt = None,
) -> None:
    """The tables of `feedback-nlp score`, counted on Spark with the same definitions (docs/scores.md).

    OUTPUT must be absent, empty or an earlier score output (it holds _state/); it is replaced
    once every table is written.
    """
    from feedback_nlp.dates import DateTally
    from feedback_nlp.spark import score_dataset, spark_session

    fields = [f.strip() for f in by.split(",") if f.strip()]
    dates = DateTally()
    spark = spark_session(master)
    tables = score_dataset(
        spark, input, output, period=period, by=fields, min_volume=min_volume, dates=dates, progress=_echo
    )
    if dates.undated:
        typer.echo(
            f"created_at: {dates.describe()}; those records count in the journey matrix and the "
            f"drivers, but not in the tables by {period} (touchpoint and overall scores, topics, "
            "segments, trends and alerts): give them a created_at (spark classify --created-at-column) "
            "to count them there",
            err=True,
        )
    typer.echo(f"wrote {output} ({len(tables)} tables; {len(tables.get('alerts', []))} alert(s))", err=True)


def _echo(line: str) -> None:
    """A job's stage, on stderr."""
    typer.echo(line, err=True)
