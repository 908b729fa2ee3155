"""``feedback-nlp taxonomy``: fit a classifier for a custom taxonomy and classify with it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from feedback_nlp.cli.common import setup_logging
from feedback_nlp.cli.errors import EXIT_ROWS_FAILED, reports_errors
from feedback_nlp.cli.options import IdColumn, Kind, TextColumn

taxonomy_app = typer.Typer(
    help="Custom taxonomies: a classifier from label descriptions (zero-shot) or a few examples (few-shot).",
    no_args_is_help=True,
)


@taxonomy_app.command("fit")
@reports_errors
def fit(
    spec: Annotated[Path, typer.Argument(help="Taxonomy spec YAML: labels with descriptions (and optional examples).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder to write the classifier to.")] = Path(
        "custom-classifier"
    ),
    examples: Annotated[
        Path | None,
        typer.Option(
            help="Labelled examples: CSV/JSONL/Parquet with text and label "
            "columns (e.g. from `label import`). None: zero-shot."
        ),
    ] = None,
    text_column: Annotated[str, typer.Option(help="Examples: the text column.")] = "text",
    label_column: Annotated[str, typer.Option(help="Examples: the label column.")] = "label",
    contrastive: Annotated[
        bool,
        typer.Option(
            "--contrastive",
            help="SetFit-style contrastive fine-tuning of the encoder's top layers first (minutes on a CPU).",
        ),
    ] = False,
    steps: Annotated[int, typer.Option(min=1, help="--contrastive: optimiser steps.")] = 30,
    layers: Annotated[int, typer.Option(min=1, max=6, help="--contrastive: top encoder layers that learn.")] = 3,
    unlabelled: Annotated[
        Path | None,
        typer.Option(
            help="Zero-shot: unlabelled texts of the task (CSV/JSONL/Parquet) to centre each label's similarity over."
        ),
    ] = None,
    C: Annotated[float, typer.Option("--C", min=1e-6, help="Few-shot: inverse regularisation strength.")] = 10.0,
    seed: Annotated[int, typer.Option(help="Seeds the fits.")] = 0,
) -> None:
    """Fit a classifier for SPEC and write it to DIR (zero-shot without examples)."""
    from feedback_nlp.custom.classifier import FitOptions, fit_custom_taxonomy, fit_summary
    from feedback_nlp.custom.contrastive import ContrastiveOptions
    from feedback_nlp.custom.spec import load_spec, read_examples

    setup_logging(True)
    taxonomy = load_spec(spec)
    labelled = (
        read_examples(examples, taxonomy, text_column=text_column, label_column=label_column)
        if examples is not None
        else None
    )
    reference = _texts(unlabelled, text_column) if unlabelled is not None else None
    options = FitOptions(
        C=C, seed=seed, contrastive=ContrastiveOptions(layers=layers, steps=steps) if contrastive else None
    )
    import feedback_nlp.custom.classifier as classifier_module

    classifier = fit_custom_taxonomy(
        taxonomy, labelled, options=options, unlabelled=reference, encoder=classifier_module.default_encoder()
    )
    classifier.save(output)
    typer.echo(json.dumps(fit_summary(classifier), indent=2))
    typer.echo(f"wrote {output} ({classifier.method})", err=True)


def _texts(path: Path, text_column: str) -> list[str]:
    from feedback_nlp.custom.spec import read_table
    from feedback_nlp.errors import InputError

    table = read_table(path)
    if text_column not in table.columns:
        raise InputError(f"{path} has no column {text_column!r}; its columns are {list(table.columns)}.")
    return [t for t in table[text_column].astype(str) if t.strip()]


@taxonomy_app.command("predict")
@reports_errors
def predict(
    classifier: Annotated[Path, typer.Argument(help="Classifier folder written by `taxonomy fit`.")],
    input: Annotated[
        str, typer.Argument(help="Feedback to classify: CSV, JSONL or Parquet; '-' reads JSONL from stdin.")
    ],
    output: Annotated[str | None, typer.Option("-o", "--output", help="JSONL output (default: stdout).")] = None,
    kind: Kind = None,
    text_column: TextColumn = "text",
    id_column: IdColumn = "id",
    top: Annotated[int, typer.Option(min=1, help="Probabilities written for the N most probable labels.")] = 3,
) -> None:
    """Classify feedback with a custom classifier: one JSON line per record (id, label, confidence, top labels)."""
    import numpy as np

    from feedback_nlp.custom.classifier import load_custom_classifier
    from feedback_nlp.fileio import open_output, read_records, write_jsonl
    from feedback_nlp.text import prepare_inputs

    model = load_custom_classifier(classifier)
    good, failed = [], 0
    for row in read_records(input, kind=kind, text_column=text_column, id_column=id_column):
        if row.record is None:
            failed += 1
            typer.echo(f"{row.where}: {row.error}", err=True)
        else:
            good.append((row.line, row.record))
    inputs = prepare_inputs([r for _, r in good]).encoder_inputs
    proba = model.proba_from_embeddings(model.encoder.encode(inputs)) if inputs else np.zeros((0, len(model.labels)))
    rows = []
    for (line, record), p in zip(good, proba, strict=True):
        order = np.argsort(-p)[:top]
        rows.append(
            {
                "id": record.id or str(line),
                "label": model.labels[int(order[0])],
                "confidence": round(float(p[order[0]]), 4),
                "top": {model.labels[int(j)]: round(float(p[j]), 4) for j in order},
                "model_version": model.version,
            }
        )
    with open_output(output) as out:
        write_jsonl(rows, out)
    if failed:
        typer.echo(f"{failed} row(s) failed, {len(rows)} classified.", err=True)
        raise typer.Exit(EXIT_ROWS_FAILED)


@taxonomy_app.command("show")
@reports_errors
def show(classifier: Annotated[Path, typer.Argument(help="Classifier folder.")]) -> None:
    """Print a classifier's manifest summary: labels, method, examples per label."""
    from feedback_nlp.custom.classifier import ClassifierManifest

    manifest = ClassifierManifest.read(classifier).to_json()
    keys = ("name", "version", "method", "labels", "examples", "temperature", "taxonomy", "encoder")
    json.dump({k: manifest.get(k) for k in keys}, sys.stdout, indent=2)
    sys.stdout.write("\n")
