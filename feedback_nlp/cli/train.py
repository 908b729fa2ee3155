"""``feedback-nlp train``, ``evaluate`` and ``card``: build a bundle, measure it, describe it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from feedback_nlp.cli.common import live_bundle, setup_logging
from feedback_nlp.cli.errors import reports_errors
from feedback_nlp.errors import InputError


@reports_errors
def train(
    config: Annotated[Path | None, typer.Option(help="Training config (TOML).")] = Path(
        "training/configs/default.toml"
    ),
    set_: Annotated[list[str] | None, typer.Option("--set", help="Dotted override, e.g. finetune.epochs=0.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose/--quiet")] = True,
) -> None:
    """Train a model bundle from the datasets in the data folder."""
    setup_logging(verbose)
    from feedback_nlp.train.config import load_config
    from feedback_nlp.train.trainer import Trainer

    # A config that is not there is an error: falling back to the built-in defaults silently ran a
    # different recipe (one fine-tuning epoch) and wrote it over models/default.
    cfg = load_config(config, set_)
    result = Trainer(cfg).train()
    gold = result.metrics.get("gold", {}).get("headline")
    typer.echo(f"Wrote {result.bundle}")
    if gold:
        typer.echo(json.dumps(gold, indent=2))
    elif result.metrics.get("gold_skipped"):
        typer.echo(f"No gold-set evaluation: {result.metrics['gold_skipped']}")


@reports_errors
def evaluate(
    gold: Annotated[
        Path,
        typer.Option(
            help="Gold set: JSONL (or .json array, .csv) with text, sentiment, journey_stage and touchpoints "
            "(a list); kind, channel, turns and the other record fields are read as classify reads them."
        ),
    ],
    model: Annotated[
        Path | None, typer.Option(help="Bundle folder (default: the promoted model, else the model_dir setting).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full report as JSON.")] = False,
) -> None:
    """Evaluate a bundle on a labelled gold set (labels checked against the bundle's taxonomy)."""
    setup_logging(False)
    from feedback_nlp.storage.loading import load_pipeline
    from feedback_nlp.train.evaluate import evaluate_gold

    pipeline = load_pipeline(live_bundle(model))
    report = evaluate_gold(pipeline, gold)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    typer.echo(f"model {pipeline.version} on {gold} ({report['sentiment']['n']} texts)")
    # No touchpoint in the gold set or the predictions: its F1 scores are undefined (0.0 in the JSON).
    undefined = (
        {"touchpoints_micro_f1", "touchpoints_macro_f1"} if not report["touchpoints"]["labels_scored"] else set()
    )
    for name, value in report["headline"].items():
        shown = "n/a (no touchpoint in the gold set or the predictions)" if name in undefined else f"{value:.3f}"
        typer.echo(f"  {name:<26} {shown}")
    for column in ("source", "kind"):
        typer.echo(
            f"  by {column} (sentiment F1 / stage F1 / touchpoints micro-F1 / stage none predicted vs labelled):"
        )
        for value, row in report[f"by_{column}"].items():
            typer.echo(
                f"    {value:<26} {row['sentiment_macro_f1']:.3f} / {row['journey_stage_macro_f1']:.3f} / "
                f"{row['touchpoints_micro_f1']:.3f} / {row['none_rate_predicted']:.0%} "
                f"vs {row['none_rate_labelled']:.0%}"
            )


def _read_json(path: Path, what: str) -> Any:  # noqa: ANN401 (JSON as read)
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the {what} {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}, line {exc.lineno}: the {what} is not valid JSON ({exc.msg}, column {exc.colno})"
        ) from None


def _checked(path: Path, data: Any, check: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:  # noqa: ANN401
    """``check`` of ``data``, the JSON read from ``path``, its message prefixed with the file."""
    try:
        return check(data)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None


@reports_errors
def card(
    model: Annotated[
        Path | None, typer.Option(help="Bundle folder (default: the FEEDBACK_NLP_MODEL_DIR setting).")
    ] = None,
    baselines: Annotated[
        Path | None, typer.Option(help="JSON written by benchmarks/baselines.py, shown in the card.")
    ] = None,
    gold: Annotated[
        Path | None,
        typer.Option(
            help="Measure the bundle on this gold file with the current code and show those figures in the card, "
            "named after the file (the manifest keeps the training-time figures)."
        ),
    ] = None,
    speed: Annotated[
        Path | None, typer.Option(help="JSON written by benchmarks/classify_speed.py, shown in the card.")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the card to this file and leave the bundle untouched (needed for a registered version).",
        ),
    ] = None,
) -> None:
    """Re-render a bundle's model card (with fresh baselines or gold-set figures)."""
    from feedback_nlp.settings import get_settings
    from feedback_nlp.storage.loading import load_pipeline
    from feedback_nlp.train.card import baseline_table, refresh_card, registered_version, speed_rows
    from feedback_nlp.train.evaluate import evaluate_gold

    setup_logging(False)
    model = model or Path(get_settings().model_dir)
    # Checked before anything is measured: a registered version's manifest (the card's hash among
    # its files) is its identity in the registry.
    if output is None and registered_version(model):
        raise InputError(
            f"{model} is a registered model version: its manifest must not change (the registry knows it by the "
            "manifest's sha256), and the card is part of it. Write the card elsewhere with --output FILE."
        )
    data = _checked(baselines, _read_json(baselines, "baselines report"), baseline_table) if baselines else None
    speed_report = _read_json(speed, "speed report") if speed else None
    if speed is not None:
        _checked(speed, speed_report, speed_rows)  # before the gold set is measured
    report = evaluate_gold(load_pipeline(model), gold) if gold else None
    try:
        written = refresh_card(model, data, report, speed_report, output=output)
    except OSError as exc:
        raise InputError(f"cannot write the model card for {model}: {exc}") from exc
    typer.echo(f"Wrote {written}")
