"""``feedback-nlp classify``: the output contract for every record of a file, as JSONL."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from feedback_nlp.cli.common import live_bundle, setup_logging
from feedback_nlp.cli.errors import EXIT_ROWS_FAILED, reports_errors
from feedback_nlp.cli.options import InputOptions, with_input_options


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
    """Rows in the input for the progress bar (None for stdin, Excel and JSON arrays): lines, so at most the
    records (a CSV text with line breaks is one record on several lines)."""
    if source == "-":
        return None
    path = Path(source)
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    if path.suffix.lower() in (".xlsx", ".json"):
        return None
    with path.open("rb") as handle:
        lines = sum(1 for _ in handle)
    return max(lines - 1 - skip_rows, 0) if path.suffix.lower() in (".csv", ".tsv") else lines


@reports_errors
@with_input_options
def classify(
    input: Annotated[
        str, typer.Argument(help="CSV, Excel (.xlsx), JSONL, JSON array or Parquet file; '-' reads JSONL from stdin.")
    ],
    output: Annotated[str | None, typer.Option("-o", "--output", help="JSONL output (default: stdout).")] = None,
    *,
    inputs: InputOptions,
    model: Annotated[
        Path | None, typer.Option(help="Bundle folder (default: the promoted model, else the model_dir setting).")
    ] = None,
    batch_size: Annotated[
        int,
        typer.Option(
            min=1,
            max=4096,
            help="Records per predict call (the encoder's own pass size is the FEEDBACK_NLP_BATCH_SIZE setting).",
        ),
    ] = 256,
    progress: Annotated[bool, typer.Option("--progress/--no-progress")] = True,
) -> None:
    """Classify feedback records and write the output contract as JSONL.

    Bad rows (no text, unknown kind, invalid JSON, a date that cannot be read) are reported on
    stderr with their line number and skipped; the rest is still written, and the exit status is 3.
    Columns other than the mapped ones are kept as metadata.
    """
    setup_logging(False)
    from tqdm import tqdm

    from feedback_nlp.fileio import open_output, read_records, write_jsonl
    from feedback_nlp.storage.loading import load_pipeline

    rows = read_records(input, **inputs.read_kwargs())
    pipeline = load_pipeline(live_bundle(model))
    total = _count_rows(input, inputs.skip_rows) if progress else None
    failed = written = 0
    bar = tqdm(total=total, unit="rec", desc="classifying", disable=not progress, file=sys.stderr)
    with open_output(output) as out:
        for batch in _batches(rows, batch_size):
            good = []
            for row in batch:
                if row.error is not None:
                    failed += 1
                    typer.echo(f"{row.where}: {row.error}", err=True)
                else:
                    good.append(row.record)
            written += write_jsonl(pipeline.predict(good), out)
            out.flush()
            bar.update(len(batch))
    if bar.total is not None and bar.n != bar.total:
        # The total counted lines: quoted fields that span lines make fewer records. End at 100%.
        bar.total = bar.n
        bar.refresh()
    bar.close()
    if failed:
        typer.echo(f"{failed} row(s) failed, {written} classified.", err=True)
        raise typer.Exit(EXIT_ROWS_FAILED)
    if not written:  # a header-only CSV, an empty array: say so rather than write nothing in silence
        hint = " (standard input is read as JSON Lines)" if str(input) == "-" else ""
        typer.echo(f"{input} holds no records: nothing was classified{hint}.", err=True)
