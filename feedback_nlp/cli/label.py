"""``feedback-nlp label``: pick texts worth labelling, and read the labels back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from feedback_nlp.cli.errors import CommandError, reports_errors
from feedback_nlp.cli.options import IdColumn, Kind, TextColumn

label_app = typer.Typer(
    help="Labelling round-trip: export the most informative texts to Label Studio / Argilla / CSV, "
    "import the labels back for retraining.",
    no_args_is_help=True,
)


def _read_input(
    input: str, kind: str | None, text_column: str, id_column: str
) -> tuple[list[str], list[str], list[str], list[str]]:
    """(ids, kinds, redacted customer texts, encoder inputs) of the good rows; bad rows are reported."""
    from feedback_nlp.fileio import read_records
    from feedback_nlp.text import prepare_inputs

    records, failed = [], 0
    for row in read_records(input, kind=kind, text_column=text_column, id_column=id_column):
        if row.record is None:
            failed += 1
            if failed <= 20:
                typer.echo(f"{row.where}: {row.error}", err=True)
            continue
        records.append((row.line, row.record))
    if failed:
        typer.echo(f"{failed} bad row(s) skipped", err=True)
    prepared = prepare_inputs([r for _, r in records])
    ids = [r.id or str(line) for line, r in records]
    texts, inputs = prepared.texts, prepared.encoder_inputs
    return ids, [str(r.kind) for _, r in records], texts, inputs


def _embed(model: Any, inputs: list[str], cache: bool) -> np.ndarray:
    if not inputs:
        return np.zeros((0, 0), dtype=np.float32)
    if not cache:
        return np.asarray(model.embed(inputs), dtype=np.float32)
    from feedback_nlp.settings import get_settings
    from feedback_nlp.topics.embeddings import EmbeddingCache

    store = EmbeddingCache(Path(get_settings().cache_dir) / "embeddings.sqlite", model.fingerprint)
    return store.embed(inputs, model.embed)


def _suggestions(proba: np.ndarray, labels: list[str], thresholds: np.ndarray | None) -> list[tuple[list[str], float]]:
    out = []
    for row in proba:
        if thresholds is None:
            best = int(row.argmax())
            out.append(([labels[best]], float(row[best])))
        else:
            chosen = [labels[j] for j in np.argsort(-row) if row[j] >= thresholds[j]]
            out.append((chosen, float(row.max())))
    return out


@label_app.command("export")
@reports_errors
def export(
    input: Annotated[str, typer.Argument(help="Unlabelled feedback: CSV, JSONL or Parquet.")],
    n: Annotated[int, typer.Option("-n", "--n", min=1, help="How many texts to pick.")] = 50,
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for the batch files.")] = Path("to_label"),
    task: Annotated[
        str, typer.Option(help="sentiment, journey_stage or touchpoints (ignored with --classifier).")
    ] = "journey_stage",
    classifier: Annotated[Path | None, typer.Option(help="A custom taxonomy classifier (taxonomy fit -o DIR).")] = None,
    model: Annotated[
        Path | None, typer.Option(help="Pipeline bundle for the default tasks (default: model_dir).")
    ] = None,
    labelled: Annotated[
        Path | None,
        typer.Option(
            help="CSV of texts already labelled (a `text` column): never picked again, "
            "and near-duplicates of them skipped."
        ),
    ] = None,
    strategy: Annotated[
        str, typer.Option(help="diverse (uncertain + spread out), uncertain (lowest confidence) or random.")
    ] = "diverse",
    prefilter: Annotated[
        float, typer.Option(min=1.0, help="diverse: uncertain candidates kept, as a multiple of N.")
    ] = 10.0,
    kind: Kind = None,
    text_column: TextColumn = "text",
    id_column: IdColumn = "id",
    seed: Annotated[int, typer.Option(help="Seeds the clustering and random picks.")] = 0,
    cache: Annotated[bool, typer.Option("--cache/--no-cache", help="Reuse embeddings cached under cache_dir.")] = True,
) -> None:
    """Pick the N most informative unlabelled texts and write CSV, Label Studio and Argilla files."""
    from feedback_nlp.labelling.export_formats import BatchItem, write_batch
    from feedback_nlp.labelling.select import Selection, select_for_labelling, uncertainty
    from feedback_nlp.labelling.tasks import custom_task, default_task

    if strategy not in ("diverse", "uncertain", "random"):
        raise CommandError(f"--strategy must be diverse, uncertain or random, got {strategy!r}")
    if classifier is not None:
        task_model = custom_task(classifier)
    else:
        from feedback_nlp.storage import loading

        task_model = default_task(loading.load_pipeline(model, topics=False), task)
    ids, kinds, texts, inputs = _read_input(input, kind, text_column, id_column)
    already = _labelled_texts(labelled)
    keep = [i for i, t in enumerate(texts) if t not in already]
    ids, kinds = [ids[i] for i in keep], [kinds[i] for i in keep]
    texts, inputs = [texts[i] for i in keep], [inputs[i] for i in keep]
    if not texts:
        raise CommandError(f"{input} has no unlabelled text left to pick from")
    typer.echo(f"scoring {len(texts)} texts for {task_model.info.task} ...", err=True)
    X = _embed(task_model, inputs, cache)
    proba = task_model.proba(X, inputs)
    multi = task_model.info.multi_label
    if strategy == "random":
        rows = np.random.default_rng(seed).permutation(len(texts))[:n]
        scores = uncertainty(proba, multi_label=multi, thresholds=task_model.thresholds)
        picked = Selection(rows, scores[rows], np.full(len(rows), -1), len(texts), 0)
    else:
        from feedback_nlp.text import prepare_texts

        labelled_X = _embed(task_model, prepare_texts(already, ["survey"] * len(already)), cache) if already else None
        picked = select_for_labelling(
            X,
            proba,
            n,
            multi_label=multi,
            thresholds=task_model.thresholds,
            prefilter=prefilter if strategy == "diverse" else 1.0,
            labelled_X=labelled_X,
            seed=seed,
        )
    guesses = _suggestions(proba[picked.indices], task_model.info.labels, task_model.thresholds)
    items = [
        BatchItem(rank + 1, ids[row], texts[row], guess, conf, float(u), kinds[row])
        for rank, (row, (guess, conf), u) in enumerate(zip(picked.indices, guesses, picked.uncertainty, strict=True))
    ]
    extra = {
        "input": str(input),
        "pool": len(texts),
        "strategy": strategy,
        "prefilter": prefilter,
        "seed": seed,
        "candidates": picked.candidates,
        "skipped_duplicates": picked.skipped_duplicates,
    }
    paths = write_batch(output, items, task_model.info, extra)
    typer.echo(
        f"picked {len(items)} of {len(texts)} texts ({strategy}); wrote "
        + ", ".join(p.name for p in paths.values())
        + f" to {output}",
        err=True,
    )


def _labelled_texts(path: Path | None) -> set[str]:
    if path is None:
        return set()
    from feedback_nlp.errors import InputError
    from feedback_nlp.storage.artifacts import read_table

    frame = read_table(path, what="Labelled file")
    if "text" not in frame.columns:
        raise InputError(
            f"{path} has no 'text' column (columns: {list(frame.columns)}); give the CSV "
            "`feedback-nlp label import` wrote."
        )
    return set(frame["text"].astype(str))


def _allowed(task: str, spec: Path | None, classifier: Path | None) -> list[str] | None:
    from feedback_nlp.labelling.tasks import DEFAULT_TASKS

    if spec is not None or classifier is not None:
        from feedback_nlp.custom.spec import load_spec

        return load_spec(spec if spec is not None else classifier / "taxonomy.yaml").label_names  # type: ignore[operator]
    name = DEFAULT_TASKS.get(task)
    if name is None:
        return None
    from feedback_nlp.settings import get_settings
    from feedback_nlp.taxonomy.labels import SENTIMENT_LABELS, load_taxonomy

    taxonomy = load_taxonomy(get_settings().taxonomy_path)
    return {
        "sentiment": list(SENTIMENT_LABELS),
        "journey_stage": taxonomy.stage_labels,
        "touchpoints": taxonomy.touchpoint_labels,
    }[name]


@label_app.command("import")
@reports_errors
def import_(
    file: Annotated[
        Path,
        typer.Argument(
            help="A Label Studio JSON / JSON-MIN / CSV export, an Argilla export "
            "(records.json or flat JSON/JSONL), or a CSV with text and label columns."
        ),
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="The normalised labelled CSV.")] = Path("labels.csv"),
    task: Annotated[str | None, typer.Option(help="Task of the labels (default: the one the export carries).")] = None,
    spec: Annotated[Path | None, typer.Option(help="Custom taxonomy spec: labels are checked against it.")] = None,
    classifier: Annotated[
        Path | None, typer.Option(help="Custom classifier folder: labels are checked against it.")
    ] = None,
    multi_label: Annotated[
        bool | None,
        typer.Option("--multi-label/--single-label", help="Several labels per text (default: only for touchpoints)."),
    ] = None,
    text_column: Annotated[str, typer.Option(help="Text key, field or column.")] = "text",
    label_column: Annotated[
        str, typer.Option(help="Question name (Label Studio from_name, Argilla question) or column.")
    ] = "label",
    id_column: Annotated[str, typer.Option(help="Id column of flat rows.")] = "id",
) -> None:
    """Read labels from a labelling tool into a CSV for `taxonomy fit --examples` (custom tasks) or
    heads-only retraining (default tasks: `feedback_nlp.train.retrain.read_labelled`, docs/labelling.md)."""
    from feedback_nlp.labelling.import_formats import read_labels, validate_labels

    result = read_labels(
        file,
        task=task,
        multi_label=multi_label,
        text_column=text_column,
        label_column=label_column,
        id_column=id_column,
    )
    allowed = _allowed(result.task, spec, classifier)
    if allowed is not None:
        validate_labels(result, allowed, str(file))
    output.parent.mkdir(parents=True, exist_ok=True)
    result.frame.to_csv(output, index=False)
    typer.echo(f"{result.summary()}; task {result.task}; wrote {output}", err=True)
    counts = result.frame["label"].str.split("|").explode().value_counts().to_dict() if len(result.frame) else {}
    typer.echo(json.dumps({"task": result.task, "labels": counts}, indent=2))
