"""``feedback-nlp models``: register, list, show, compare and promote model bundles."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from feedback_nlp.cli.errors import EXIT_REFUSED, CommandError, reports_errors
from feedback_nlp.errors import BundleError, FeedbackNLPError
from feedback_nlp.settings import Settings, get_settings

models_app = typer.Typer(
    help="The model registry: versioned bundles, gold comparisons and guarded promotion (docs/registry.md).",
    no_args_is_help=True,
)

RegistryOpt = Annotated[
    Path | None, typer.Option("--registry", help="Registry folder (default: the registry_dir setting).")
]
GoldOpt = Annotated[
    Path | None,
    typer.Option(
        help="Gold JSONL (text, sentiment, journey_stage, touchpoints); default: gold/dev.jsonl in the data folder."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _registry(path: Path | None):  # noqa: ANN202
    from feedback_nlp.model_registry import ModelRegistry

    return ModelRegistry(path or get_settings().registry_dir)


def _default_gold(gold: Path | None, settings: Settings) -> Path | None:
    if gold is not None:
        return gold
    candidate = Path(settings.data_dir) / "gold" / "dev.jsonl"
    return candidate if candidate.is_file() else None


def _live_ref(registry, settings: Settings) -> str | None:  # noqa: ANN001
    from feedback_nlp.model_registry import live_model

    try:
        live = live_model(registry, settings)
    except FeedbackNLPError:
        return None
    return live.ref if live and live.source == "registry" else None


@models_app.command("register")
@reports_errors
def register(
    path: Annotated[Path, typer.Argument(help="A bundle folder (e.g. one `feedback-nlp train` wrote).")],
    name: Annotated[str | None, typer.Option(help="Registry name (default: the manifest's name).")] = None,
    version: Annotated[str | None, typer.Option(help="Registry version (default: the manifest's version).")] = None,
    by: Annotated[str | None, typer.Option(help="Who registers it (default: the login name).")] = None,
    registry_dir: RegistryOpt = None,
) -> None:
    """Verify a bundle's files against its manifest and copy it into the registry as NAME:VERSION."""
    registry = _registry(registry_dir)
    entry, new = registry.register(path, name=name, version=version, by=by)
    if new:
        typer.echo(f"registered {entry.ref} from {path} ({len(entry.files)} files verified) in {registry.root}")
    else:
        typer.echo(f"{entry.ref} is already registered with these files; nothing changed")


@models_app.command("list")
@reports_errors
def list_models(
    name: Annotated[str | None, typer.Argument(help="Only this model name.")] = None,
    registry_dir: RegistryOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Registered versions, oldest first; marks each name's latest and the live (promoted) one."""
    registry = _registry(registry_dir)
    settings = get_settings()
    entries = registry.entries(name)
    live = _live_ref(registry, settings)
    latest = {e.name: e.ref for e in entries}  # entries are oldest first: the last one wins
    rows = [{**e.to_json(), "ref": e.ref, "latest": latest[e.name] == e.ref, "live": e.ref == live} for e in entries]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo(f"no models registered in {registry.root}")
        return
    for row in rows:
        marks = ",".join(m for m in ("latest", "live") if row[m])
        typer.echo(f"{row['ref']:<40} {row['registered_at']:<28} {row['registered_by']:<16} {marks}")


@models_app.command("show")
@reports_errors
def show(
    ref: Annotated[str, typer.Argument(help="NAME[:VERSION] (no version: the latest).")],
    registry_dir: RegistryOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One version: its registration, manifest summary, cached gold evaluations and promotions."""
    from feedback_nlp.model_registry import GUARDED_METRICS, Evaluator, PromotionLog
    from feedback_nlp.model_registry.evaluation import ordered_metrics
    from feedback_nlp.storage.artifacts import BundleManifest

    registry = _registry(registry_dir)
    settings = get_settings()
    entry = registry.resolve(ref)
    manifest = BundleManifest.read(entry.bundle)
    history = [r for r in PromotionLog(registry.promotions_file).records() if r.get("model") == entry.ref]
    evaluations = Evaluator(registry, settings).cached_for(entry.bundle)
    info: dict[str, Any] = {
        **entry.to_json(),
        "ref": entry.ref,
        "live": _live_ref(registry, settings) == entry.ref,
        "taxonomy": manifest.taxonomy.model_dump(mode="json", exclude_unset=True),
        "encoder": manifest.encoder.model_dump(mode="json", exclude_unset=True),
        "created_at": manifest.created_at,
        "training_gold_metrics": manifest.metrics.get("gold", {}).get("headline"),
        "evaluations": evaluations,
        "promotions": history,
    }
    if as_json:
        typer.echo(json.dumps(info, indent=2))
        return
    typer.echo(f"{entry.ref}{'  (live)' if info['live'] else ''}")
    typer.echo(f"  registered  {entry.registered_at} by {entry.registered_by} from {entry.source}")
    typer.echo(f"  bundle      {entry.bundle} (trained as {entry.source_name}:{entry.source_version})")
    taxonomy = info["taxonomy"] or {}
    typer.echo(f"  taxonomy    {taxonomy.get('name')} v{taxonomy.get('version')}")
    if info["training_gold_metrics"]:
        typer.echo("  gold metrics recorded at training:")
        recorded = info["training_gold_metrics"]
        for metric in ordered_metrics(list(recorded)):
            typer.echo(f"    {metric:<26} {recorded[metric]:.3f}")
    for evaluation in evaluations:
        gold, headline = evaluation["gold"], evaluation["headline"]
        typer.echo(
            f"  evaluated {evaluation['evaluated_at']} on {gold['path']} ({gold['n']} texts): "
            + ", ".join(f"{m} {headline[m]:.3f}" for m in GUARDED_METRICS if m in headline)
        )
    for record in history:
        forced = " (forced)" if record.get("forced") else ""
        typer.echo(
            f"  #{record.get('sequence')} {record.get('outcome')}{forced} {record.get('at')} by "
            f"{record.get('by')}: {record.get('reason')}"
        )


def _target(text: str, registry, settings: Settings) -> tuple[str, Path]:  # noqa: ANN001
    """A bundle to evaluate: ``live``, a bundle folder, or a registry reference."""
    from feedback_nlp.errors import BundleError
    from feedback_nlp.model_registry import live_model
    from feedback_nlp.storage.artifacts import BundleManifest

    if text == "live":
        live = live_model(registry, settings)
        if live is None:
            raise BundleError(
                f"No live model: nothing promoted in {registry.root} and no bundle at {settings.model_dir}."
            )
        return live.ref, live.bundle
    path = Path(text)
    if path.is_dir():
        return f"{BundleManifest.read(path).ref} ({path})", path
    entry = registry.resolve(text)
    return entry.ref, entry.bundle


def _print_table(rows: dict[str, dict[str, float | None]], guarded: tuple[str, ...], tolerance: float) -> None:
    def fmt(value: float | None, sign: bool = False) -> str:
        return "-" if value is None else (f"{value:+.3f}" if sign else f"{value:.3f}")

    for metric, row in rows.items():
        delta = row["delta"]
        flag = ""
        if metric in guarded and delta is not None:
            flag = "worse" if delta < -tolerance else ("better" if delta > tolerance else "")
        typer.echo(f"  {metric:<26} {fmt(row['a']):>7} {fmt(row['b']):>7} {fmt(delta, True):>7}  {flag}")


@models_app.command("compare")
@reports_errors
def compare(
    a: Annotated[str, typer.Argument(help="NAME[:VERSION], a bundle folder, or 'live'.")],
    b: Annotated[str, typer.Argument(help="NAME[:VERSION], a bundle folder, or 'live'.")],
    gold: GoldOpt = None,
    registry_dir: RegistryOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Evaluate A and B on the same gold set; per-task metrics side by side with deltas (B - A).

    Evaluations are cached in the registry, so comparing then promoting evaluates each model once.
    """
    from feedback_nlp.model_registry import GUARDED_METRICS, Evaluator, GoldSet, comparison

    settings = get_settings()
    registry = _registry(registry_dir)
    gold = _default_gold(gold, settings)
    if gold is None:
        raise CommandError("no gold set: pass --gold FILE (the data folder has no gold/dev.jsonl)")
    gold_set = GoldSet.from_path(gold)
    (name_a, bundle_a), (name_b, bundle_b) = _target(a, registry, settings), _target(b, registry, settings)
    evaluator = Evaluator(registry, settings)
    report = comparison(evaluator.evaluate(bundle_a, name_a, gold_set), evaluator.evaluate(bundle_b, name_b, gold_set))
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    typer.echo(f"A = {report['a']}\nB = {report['b']}\non {gold} ({report['gold']['n']} texts)")
    typer.echo(f"  {'metric':<26} {'A':>7} {'B':>7} {'B - A':>7}")
    _print_table(report["headline"], GUARDED_METRICS, settings.promotion_tolerance)
    typer.echo("  by source (B - A): sentiment macro-F1 / stage macro-F1 / touchpoints micro-F1")
    for source, rows in report["by_source"].items():
        deltas = [rows.get(m, {}).get("delta") for m in GUARDED_METRICS]
        typer.echo(f"    {source:<26} " + " / ".join("-" if d is None else f"{d:+.3f}" for d in deltas))


@models_app.command("promote")
@reports_errors
def promote_command(
    ref: Annotated[str, typer.Argument(help="NAME:VERSION to make live (NAME alone: its latest).")],
    reason: Annotated[str, typer.Option(help="Why, for the promotion log (required).")],
    gold: GoldOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Promote even if worse than the live model (logged).")] = False,
    by: Annotated[str | None, typer.Option(help="Who promotes (default: the login name).")] = None,
    tolerance: Annotated[
        float | None,
        typer.Option(min=0.0, max=1.0, help="Allowed drop per guarded metric (default: promotion_tolerance setting)."),
    ] = None,
    registry_dir: RegistryOpt = None,
) -> None:
    """Make a registered version the live model the service serves.

    Refused (exit status 4, logged) when the candidate's sentiment macro-F1, journey-stage
    macro-F1 or touchpoint micro-F1 on the gold set is lower than the live model's by more
    than the tolerance, unless --force. Every attempt is appended to promotions.jsonl.
    """
    from feedback_nlp.model_registry import PromotionRefused, PromotionRule, promote

    settings = get_settings()
    registry = _registry(registry_dir)
    rule = PromotionRule(settings.promotion_tolerance if tolerance is None else tolerance)
    try:
        result = promote(
            registry,
            ref,
            reason=reason,
            settings=settings,
            gold=_default_gold(gold, settings),
            by=by,
            force=force,
            rule=rule,
        )
    except PromotionRefused as exc:
        _print_metrics(exc.record)
        raise CommandError(str(exc), EXIT_REFUSED) from None
    if result.record is None:
        typer.echo(f"{result.candidate.ref} is already live; nothing changed")
        return
    record = result.record
    _print_metrics(record)
    previous = record.get("previous") or {}
    previous = f"{previous.get('model')} from {previous.get('source')}" if previous else "none"
    if record["worse_on"]:
        forced = f" (forced over: {', '.join(record['worse_on'])})"
    else:
        forced = " (forced)" if record["forced"] else ""
    typer.echo(
        f"promoted {record['model']} (was {previous}){forced}: "
        f"logged as #{record['sequence']} in {registry.promotions_file}"
    )
    _warn_topics(result.candidate.bundle)
    typer.echo(
        "A running service switches on POST /v1/models/reload (admin), or by itself with "
        "FEEDBACK_NLP_REGISTRY_POLL_SECONDS set."
    )


def _print_metrics(record: dict[str, Any]) -> None:
    from feedback_nlp.model_registry import GUARDED_METRICS
    from feedback_nlp.model_registry.evaluation import ordered_metrics

    metrics = record.get("metrics")
    if not metrics or not metrics.get("live"):
        return
    rows = {
        name: {"a": metrics["live"][name], "b": metrics["candidate"][name], "delta": metrics["delta"][name]}
        for name in ordered_metrics(list(metrics["candidate"]))
    }
    typer.echo(
        f"A = live {record['previous']['model']} ({record['previous']['source']})\nB = {record['model']}\n"
        f"on {record['gold']['path']} ({record['gold']['n']} texts)"
    )
    typer.echo(f"  {'metric':<26} {'A':>7} {'B':>7} {'B - A':>7}")
    _print_table(rows, tuple(GUARDED_METRICS), float(record["rule"]["tolerance"]))


def _warn_topics(bundle: Path) -> None:
    """The deployed topic model must match the new encoder, or the service cannot attach it."""
    from feedback_nlp.storage.bundle import read_manifest
    from feedback_nlp.topics.deploy import deployed_dir, is_deployed
    from feedback_nlp.topics.embeddings import encoder_fingerprint
    from feedback_nlp.topics.manifest import TopicManifest
    from feedback_nlp.topics.model import MANIFEST

    if not is_deployed():
        return
    try:
        data = json.loads((deployed_dir() / MANIFEST).read_text(encoding="utf-8"))
        topic_manifest = TopicManifest.parse(data if isinstance(data, dict) else {})
    except (OSError, json.JSONDecodeError, BundleError):
        return
    recorded = topic_manifest.encoder
    if recorded and recorded != encoder_fingerprint(read_manifest(bundle)):
        typer.secho(
            f"warning: the deployed topic model ({deployed_dir()}) was fitted on another encoder; the service "
            "will refuse to load this model until you refit it (`feedback-nlp topics fit ... --deploy`).",
            err=True,
            fg=typer.colors.YELLOW,
        )


@models_app.command("log")
@reports_errors
def log(registry_dir: RegistryOpt = None, as_json: JsonOpt = False) -> None:
    """The promotion log: every promotion and refusal, oldest first."""
    from feedback_nlp.model_registry import PromotionLog

    registry = _registry(registry_dir)
    records = PromotionLog(registry.promotions_file).records()
    if as_json:
        typer.echo(json.dumps(records, indent=2))
        return
    if not records:
        typer.echo(f"nothing promoted in {registry.root}; the service serves the model_dir bundle")
    for r in records:
        forced = " forced" if r.get("forced") else ""
        typer.echo(
            f"#{r.get('sequence')} {r.get('at')} {r.get('outcome')}{forced} {r.get('model')} "
            f"(was {(r.get('previous') or {}).get('model')}) by {r.get('by')}: {r.get('reason')}"
        )
