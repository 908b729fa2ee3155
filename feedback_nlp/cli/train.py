"""``feedback-nlp train``, ``evaluate`` and ``card``: build a bundle, measure it, describe it."""

from __future__ import annotations

import json
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


@reports_errors
def evaluate(
    gold: Annotated[Path, typer.Option(help="Gold JSONL: text, sentiment, journey_stage, touchpoints.")],
    model: Annotated[
        Path | None, typer.Option(help="Bundle folder (default: the promoted model, else the model_dir setting).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full report as JSON.")] = False,
) -> None:
    """Evaluate a bundle on a labelled gold set."""
    setup_logging(False)
    from feedback_nlp.storage.loading import load_pipeline
    from feedback_nlp.train.evaluate import evaluate_gold

    pipeline = load_pipeline(live_bundle(model))
    report = evaluate_gold(pipeline, gold)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    typer.echo(f"model {pipeline.version} on {gold} ({report['sentiment']['n']} texts)")
    for name, value in report["headline"].items():
        typer.echo(f"  {name:<26} {value:.3f}")
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


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc


@reports_errors
def card(
    model: Annotated[
        Path | None, typer.Option(help="Bundle folder (default: the FEEDBACK_NLP_MODEL_DIR setting).")
    ] = None,
    baselines: Annotated[
        Path | None, typer.Option(help="JSON written by benchmarks/baselines.py, shown in the card.")
    ] = None,
    gold: Annotated[Path | None, typer.Option(help="Re-measure the gold-set figures with the current code.")] = None,
    speed: Annotated[
        Path | None, typer.Option(help="JSON written by benchmarks/classify_speed.py, shown in the card.")
    ] = None,
) -> None:
    """Re-render a bundle's model card (with fresh baselines or gold-set figures)."""
    from feedback_nlp.settings import get_settings
    from feedback_nlp.storage.loading import load_pipeline
    from feedback_nlp.train.card import refresh_card
    from feedback_nlp.train.evaluate import evaluate_gold

    setup_logging(False)
    model = model or Path(get_settings().model_dir)
    data = _read_json(baselines) if baselines else None
    if data is not None:  # the card needs the table, not the benchmark's full reports
        data = {"measured": data.get("measured"), "rows": data.get("rows", [])}
    report = evaluate_gold(load_pipeline(model), gold) if gold else None
    speed_report = _read_json(speed) if speed else None
    try:
        refresh_card(model, data, report, speed_report)
    except OSError as exc:
        raise InputError(f"cannot write the model card in {model}: {exc}") from exc
    typer.echo(f"Wrote {model / 'README.md'}")
