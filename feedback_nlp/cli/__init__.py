"""The ``feedback-nlp`` command line: train, evaluate, classify."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from feedback_nlp import input_options as opt
from feedback_nlp.errors import FeedbackNLPError
from feedback_nlp.settings import get_settings

app = typer.Typer(
    name="feedback-nlp",
    help="Sentiment, journey stage and touchpoints for customer-experience feedback.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

#: Exit status when some input rows could not be classified (the others were written).
EXIT_ROWS_FAILED = 3


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Library chatter (transformers, sentence-transformers) stays out of the user's way.
    for name in ("transformers", "sentence_transformers", "httpx", "huggingface_hub"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _live_bundle(model: Path | None) -> Path | None:
    """The bundle a command classifies with: ``--model``, else the registry's promoted model,
    else the ``model_dir`` setting (``None`` lets :func:`load_pipeline` use it)."""
    if model is not None:
        return model
    from feedback_nlp.model_registry import ModelRegistry, live_model

    settings = get_settings()
    live = live_model(ModelRegistry(settings.registry_dir), settings)
    if live is not None and live.source == "registry":
        logging.getLogger(__name__).info("Using the promoted model %s (%s)", live.ref, live.bundle)
        return live.bundle
    return None


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code)


@app.command()
def train(
    config: Annotated[Path | None, typer.Option(help="Training config (TOML).")] = Path(
        "training/configs/default.toml"
    ),
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Dotted override, e.g. finetune.epochs=0.")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose/--quiet")] = True,
) -> None:
    """Train a model bundle from the datasets in the data folder."""
    _setup_logging(verbose)
    from feedback_nlp.train.config import load_config
    from feedback_nlp.train.trainer import Trainer

    try:
        cfg = load_config(config if config and config.exists() else None, set_)
        result = Trainer(cfg).train()
    except FeedbackNLPError as exc:
        raise _fail(str(exc)) from None
    gold = result.metrics.get("gold", {}).get("headline")
    typer.echo(f"Wrote {result.bundle}")
    if gold:
        typer.echo(json.dumps(gold, indent=2))


@app.command()
def evaluate(
    gold: Annotated[Path, typer.Option(help="Gold JSONL: text, sentiment, journey_stage, touchpoints.")],
    model: Annotated[Path | None, typer.Option(help="Bundle folder (default: the promoted model, else the model_dir setting).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full report as JSON.")] = False,
) -> None:
    """Evaluate a bundle on a labelled gold set."""
    _setup_logging(False)
    from feedback_nlp.storage.loading import load_pipeline
    from feedback_nlp.train.evaluate import evaluate_gold

    try:
        pipeline = load_pipeline(_live_bundle(model))
        report = evaluate_gold(pipeline, gold)
    except FeedbackNLPError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    typer.echo(f"model {pipeline.version} on {gold} ({report['sentiment']['n']} texts)")
    for name, value in report["headline"].items():
        typer.echo(f"  {name:<26} {value:.3f}")
    for column in ("source", "kind"):
        typer.echo(f"  by {column} (sentiment F1 / stage F1 / touchpoints micro-F1 / stage none predicted vs labelled):")
        for value, row in report[f"by_{column}"].items():
            typer.echo(
                f"    {value:<26} {row['sentiment_macro_f1']:.3f} / {row['journey_stage_macro_f1']:.3f} / "
                f"{row['touchpoints_micro_f1']:.3f} / {row['none_rate_predicted']:.0%} vs {row['none_rate_labelled']:.0%}"
            )


def _batches(rows: Iterator[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _count_rows(source: str, skip_rows: int = 0) -> int | None:
    """Rows in the input for the progress bar (None for stdin and Excel)."""
    if source == "-":
        return None
    path = Path(source)
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    if path.suffix.lower() == ".xlsx":
        return None
    with path.open("rb") as handle:
        lines = sum(1 for _ in handle)
    return max(lines - 1 - skip_rows, 0) if path.suffix.lower() == ".csv" else lines


@app.command()
def classify(
    input: Annotated[str, typer.Argument(help="CSV, Excel (.xlsx), JSONL or Parquet file; '-' reads JSONL from stdin.")],
    output: Annotated[str | None, typer.Option("-o", "--output", help="JSONL output (default: stdout).")] = None,
    kind: opt.Kind = None,
    text_column: opt.TextColumn = "text",
    id_column: opt.IdColumn = "id",
    created_at_column: opt.CreatedAtColumn = None,
    kind_column: opt.KindColumn = None,
    rating_column: opt.RatingColumn = None,
    nps_column: opt.NpsColumn = None,
    source_column: opt.SourceColumn = None,
    skip_rows: opt.SkipRows = 0,
    date_format: opt.DateFormat = None,
    on_bad_date: opt.OnBadDate = None,
    model: Annotated[Path | None, typer.Option(help="Bundle folder (default: the promoted model, else the model_dir setting).")] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=4096, help="Records per encoder batch.")] = 256,
    progress: Annotated[bool, typer.Option("--progress/--no-progress")] = True,
) -> None:
    """Classify feedback records and write the output contract as JSONL.

    Bad rows (no text, unknown kind, invalid JSON, a date that cannot be read) are reported on
    stderr with their line number and skipped; the rest is still written, and the exit status is 3.
    Columns other than the mapped ones are kept as metadata.
    """
    _setup_logging(False)
    from tqdm import tqdm

    from feedback_nlp.fileio import open_output, read_records, write_jsonl
    from feedback_nlp.storage.loading import load_pipeline

    options = opt.InputOptions(kind, text_column, id_column, created_at_column, kind_column, rating_column,
                               nps_column, source_column, skip_rows, date_format, on_bad_date)
    try:
        rows = read_records(input, **options.read_kwargs())
        pipeline = load_pipeline(_live_bundle(model))
        total = _count_rows(input, skip_rows) if progress else None
        failed = written = 0
        bar = tqdm(total=total, unit="rec", desc="classifying", disable=not progress, file=sys.stderr)
        with open_output(output) as out:
            for batch in _batches(rows, batch_size):
                good = []
                for row in batch:
                    if row.error is not None:
                        failed += 1
                        typer.echo(f"line {row.line}: {row.error}", err=True)
                    else:
                        good.append(row.record)
                written += write_jsonl(pipeline.predict(good), out)
                out.flush()
                bar.update(len(batch))
        bar.close()
    except FeedbackNLPError as exc:
        raise _fail(str(exc)) from None
    except BrokenPipeError:
        raise typer.Exit(0) from None
    if failed:
        typer.echo(f"{failed} row(s) failed, {written} classified.", err=True)
        raise typer.Exit(EXIT_ROWS_FAILED)


@app.command()
def card(
    model: Annotated[Path, typer.Option(help="Bundle folder.")] = Path("models/default"),
    baselines: Annotated[
        Path | None, typer.Option(help="JSON written by benchmarks/baselines.py, shown in the card.")
    ] = None,
    gold: Annotated[
        Path | None, typer.Option(help="Re-measure the gold-set figures with the current code.")
    ] = None,
    speed: Annotated[
        Path | None, typer.Option(help="JSON written by benchmarks/classify_speed.py, shown in the card.")
    ] = None,
) -> None:
    """Re-render a bundle's model card (with fresh baselines or gold-set figures)."""
    from feedback_nlp.storage.loading import load_pipeline
    from feedback_nlp.train.card import refresh_card
    from feedback_nlp.train.evaluate import evaluate_gold

    _setup_logging(False)
    try:
        data = json.loads(baselines.read_text(encoding="utf-8")) if baselines else None
        if data is not None:  # the card needs the table, not the benchmark's full reports
            data = {"measured": data.get("measured"), "rows": data.get("rows", [])}
        report = evaluate_gold(load_pipeline(model), gold) if gold else None
        speed_report = json.loads(speed.read_text(encoding="utf-8")) if speed else None
        refresh_card(model, data, report, speed_report)
    except (OSError, json.JSONDecodeError) as exc:
        raise _fail(f"cannot read {baselines}: {exc}") from None
    except FeedbackNLPError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"Wrote {model / 'README.md'}")


from feedback_nlp.topics.cli import topics_app  # noqa: E402

app.add_typer(topics_app, name="topics")

from feedback_nlp.reports.cli import report_app  # noqa: E402

app.add_typer(report_app, name="report")

from feedback_nlp.model_registry.cli import models_app  # noqa: E402

app.add_typer(models_app, name="models")

from feedback_nlp.scoring.cli import alerts as alerts_command, score as score_command  # noqa: E402

app.command("score")(score_command)
app.command("alerts")(alerts_command)

from feedback_nlp.spark.cli import spark_app  # noqa: E402

app.add_typer(spark_app, name="spark")

from feedback_nlp.custom.cli import taxonomy_app  # noqa: E402
from feedback_nlp.labelling.cli import label_app  # noqa: E402

app.add_typer(taxonomy_app, name="taxonomy")
app.add_typer(label_app, name="label")

keys_app = typer.Typer(help="Manage API keys (stored as hashes in the service database).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


def _sessions():  # noqa: ANN202
    from feedback_nlp.storage.db import init_db, make_session_factory

    return make_session_factory(init_db(get_settings().database_url))


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="Who uses the key, e.g. survey-tool.")],
    scopes: Annotated[str, typer.Option(help="Comma-separated: classify, ingest, read, admin.")] = "classify",
) -> None:
    """Create a key and print it once; only its hash is stored."""
    from feedback_nlp.storage.keys_repo import create_key

    try:
        with _sessions()() as session:
            created = create_key(session, name, scopes)
    except FeedbackNLPError as exc:
        raise _fail(str(exc)) from None
    typer.echo(created.plaintext)
    typer.echo(f"key {created.info.id} ({created.info.prefix}...) scopes {','.join(created.info.scopes)}: "
               "store it now, it cannot be shown again", err=True)


@keys_app.command("list")
def keys_list() -> None:
    """List keys (id, prefix, name, scopes, state); never the keys themselves."""
    from feedback_nlp.storage.keys_repo import list_keys

    with _sessions()() as session:
        for key in list_keys(session):
            state = "active" if key.active else f"revoked {key.revoked_at:%Y-%m-%d}"
            typer.echo(f"{key.id}\t{key.prefix}...\t{key.name}\t{','.join(key.scopes)}\t{state}")


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[int, typer.Argument(help="The key's id (see `keys list`).")]) -> None:
    """Revoke a key; the service refuses it within seconds."""
    from feedback_nlp.storage.keys_repo import revoke_key

    try:
        with _sessions()() as session:
            key = revoke_key(session, key_id)
    except FeedbackNLPError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"revoked key {key.id} ({key.prefix}...)")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="PORT", help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (each loads the model).")] = 1,
    create_key: Annotated[
        bool, typer.Option("--create-key", help="Create a key with every scope but admin and print it.")
    ] = False,
) -> None:
    """Serve the HTTP API with uvicorn (JSON logs on stderr)."""
    import uvicorn

    from feedback_nlp.logs import configure_logging

    if create_key:
        from feedback_nlp.storage.keys_repo import create_key as make_key

        with _sessions()() as session:
            created = make_key(session, "local", "classify,ingest,read")
        typer.echo(f"API key (classify, ingest, read): {created.plaintext}", err=True)
    configure_logging("INFO")
    uvicorn.run(
        "api.main:app", host=host, port=port, workers=workers, log_config=None, access_log=False
    )


@app.command()
def info() -> None:
    """Show the settings and the loaded bundle's manifest summary."""
    from feedback_nlp.storage.bundle import read_manifest

    settings = get_settings()
    typer.echo(json.dumps(json.loads(settings.model_dump_json()), indent=2))
    try:
        manifest = read_manifest(settings.model_dir)
    except FeedbackNLPError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"bundle {manifest['name']}:{manifest['version']} taxonomy v{manifest['taxonomy']['version']}")


def main() -> None:  # pragma: no cover - console entry
    """Entry point for ``python -m feedback_nlp``."""
    app()
