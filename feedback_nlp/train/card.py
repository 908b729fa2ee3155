"""The model card: a README.md generated from the bundle manifest."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jinja2

from feedback_nlp.errors import InputError

#: The card's text, in ``feedback_nlp/train/templates/`` (package data).
CARD_TEMPLATE = "model_card.md.j2"

#: Dataset licences, as recorded in shared/data/*/SOURCE.txt.
LICENCES = {
    "tweeteval_sentiment": "TweetEval (SemEval-2017 4A): released without restrictions; Twitter terms apply",
    "womens_clothing_reviews": "Women's E-Commerce Clothing Reviews: CC0 (as listed by its publisher)",
    "mams": "MAMS (EMNLP 2019): Apache-2.0",
    "banking77": "BANKING77 (PolyAI): CC BY 4.0",
    "nlupp_banking": "NLU++ banking (PolyAI): CC BY 4.0",
    "nlupp_hotels": "NLU++ hotels (PolyAI): CC BY 4.0",
    "bitext_support": "Bitext customer support (synthetic): CDLA-Sharing-1.0",
    "cfpb_complaints": "CFPB Consumer Complaint Database: US government data",
    "brand_support_tweets": (
        "Customer Support on Twitter samples: no licence file, corpus published for non-commercial use "
        "(CC BY-NC-SA 4.0 as listed by its publisher); IBM part Apache-2.0"
    ),
    "brand_complaint_tweets": "Complaints in social media (ACL 2019): no licence stated, research release",
    "neobank_app_reviews": "App Store reviews of four banks: no licence stated",
    "multidogo_chats": "MultiDoGO (Amazon): CDLA-Permissive-1.0",
    "dstc11_call_utterances": "DSTC11 track 2 (Amazon): CDLA-Permissive-2.0",
    "nhs_patient_surveys": "NHS Friends and Family Test (pxtextmining): MIT",
    "helpdesk_csat_survey": "IT help-desk survey comments: no licence stated",
    "cx_corpus": "this project's labels (Apache-2.0) over the texts of the sources it draws from; their licences apply",
}
#: Sources whose licence restricts commercial use or is not stated: a card says so.
RESTRICTED = ("brand_support_tweets", "brand_complaint_tweets", "neobank_app_reviews", "helpdesk_csat_survey")


def _pct(value: float) -> str:
    return f"{value:.3f}"


@functools.cache
def _template() -> jinja2.Template:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("feedback_nlp.train", "templates"),
        autoescape=False,  # Markdown: the card shows names and licences as written
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["pct"] = _pct
    return environment.get_template(CARD_TEMPLATE)


def render_card(manifest: dict[str, Any], *, gold: dict[str, Any] | None = None) -> str:
    """Render the model card (a bundle's README.md) for a bundle manifest.

    The text is ``templates/model_card.md.j2``; sections whose figures the manifest lacks (gold
    results, baselines, speed, held-out scores) are left out.

    Args:
        manifest: the bundle's manifest, as JSON.
        gold: a gold-set report (``evaluate_gold``) measured after training, shown instead of the
            one the manifest recorded at training time (which stays in the manifest).
    """
    metrics = manifest.get("metrics", {})
    data = manifest.get("data", {})
    data_rows = [
        {
            "source": source,
            "rows": info.get("rows", "-"),
            "gold_removed": info.get("gold_removed", "-"),
            "used": info.get("used", "-"),
            "licence": LICENCES.get(source.split(" ")[0], "see SOURCE.txt"),
        }
        for source, info in data.items()
    ]
    report = gold if gold is not None else metrics.get("gold")
    return _template().render(
        manifest=manifest,
        encoder=manifest["encoder"],
        layers_from=manifest["encoder"].get("layers_from"),
        heads_config=manifest.get("config", {}).get("heads", {}),
        data_rows=data_rows,
        restricted=any(source.split(" ")[0] in RESTRICTED for source in data),
        gold=report,
        gold_file=_gold_file(report),
        gold_remeasured=gold is not None,
        gold_skipped=metrics.get("gold_skipped") if report is None else None,
        held_out_by_source=metrics.get("held_out", {}).get("by_source"),
        segment_pairs=_count(metrics.get("held_out", {}).get("segment_heads", {}).get("pairs")),
        baselines=manifest.get("baselines"),
        speed=manifest.get("speed"),
        packages=manifest.get("packages", {}),
    )


def _gold_file(report: dict[str, Any] | None) -> str:
    """How the card's heading names the gold file: ``dev.jsonl``, 540 texts; the shared gold set
    for reports that do not say (bundles trained before reports named their file)."""
    info = (report or {}).get("gold_file")
    if not isinstance(info, dict):
        return "`shared/data/gold/dev.jsonl`"
    return f"`{info.get('name', '?')}`, {info.get('rows', '?')} texts"


def _count(value: int | None) -> str:
    """``12,000 `` for a count, nothing when there is none (so the sentence still reads)."""
    return f"{value:,} " if value else ""


def speed_rows(report: dict[str, Any]) -> dict[str, Any]:
    """The card's speed table from the JSON that ``benchmarks/classify_speed.py`` writes.

    Raises:
        InputError: ``report`` is not that JSON (not an object, or no measurement in it).
    """
    if not isinstance(report, dict):
        raise InputError(
            f"the speed report must be the JSON object benchmarks/classify_speed.py writes (keys date, machine, "
            f"in_process, cli), got {_json_type(report)}"
        )
    machine = report.get("machine", {})
    rows = []
    try:
        for corpus, info in report.get("in_process", {}).get("corpora", {}).items():
            rows.append(
                {
                    "measure": f"in process, {corpus} ({info['mean_chars']:.0f} chars), texts/s",
                    "value": info["pipeline"]["texts_per_s"],
                }
            )
        for corpus, info in report.get("cli", {}).items():
            if isinstance(info, dict) and "end_to_end_texts_per_s" in info:
                rows.append(
                    {
                        "measure": f"`feedback-nlp classify`, {info['texts']} {corpus}, end to end, texts/s",
                        "value": info["end_to_end_texts_per_s"],
                    }
                )
                rows.append(
                    {"measure": f"`feedback-nlp classify`, {corpus}, peak RSS MiB", "value": info["run"]["maxrss_mib"]}
                )
        measured = (
            f"{str(report.get('date', ''))[:10]}, {machine.get('nproc', '?')} cores of {machine.get('cpu_model', '?')}"
        )
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise InputError(
            f"the speed report is not in the shape benchmarks/classify_speed.py writes ({type(exc).__name__}: {exc}); "
            "give the JSON file that script wrote"
        ) from None
    if not rows:
        raise InputError(
            "the speed report holds no measurement (no in_process.corpora and no cli runs); found the keys "
            f"{sorted(map(str, report))}: give the JSON file benchmarks/classify_speed.py wrote"
        )
    return {"measured": measured, "rows": rows}


#: The columns of a row of the baselines table (``benchmarks/baselines.py``).
BASELINE_COLUMNS = ("baseline", "task", "metric", "value")


def baseline_table(report: Any) -> dict[str, Any]:  # noqa: ANN401 (JSON as read)
    """The card's baselines table (``measured`` and ``rows``) from the JSON ``benchmarks/baselines.py`` writes.

    Raises:
        InputError: ``report`` is not that JSON: not an object, no ``rows`` list, or a row without
            a baseline, task, metric and numeric value.
    """
    shape = "an object with 'rows': [{baseline, task, metric, value}, ...] and 'measured'"
    if not isinstance(report, dict):
        raise InputError(
            f"the baselines report must be the JSON benchmarks/baselines.py writes ({shape}), got {_json_type(report)}"
        )
    rows = report.get("rows")
    if not isinstance(rows, list) or not rows:
        raise InputError(
            f"the baselines report has no 'rows' list (found the keys {sorted(map(str, report))}); expected {shape}, "
            "as benchmarks/baselines.py writes it"
        )
    for i, row in enumerate(rows, start=1):
        lacking = [c for c in BASELINE_COLUMNS if not isinstance(row, dict) or c not in row]
        if lacking:
            raise InputError(f"the baselines report's row {i} lacks {lacking}; each row needs {list(BASELINE_COLUMNS)}")
        value = row["value"]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InputError(f"the baselines report's row {i} has the value {value!r}; expected a number")
    measured = report.get("measured")
    if measured is not None and not isinstance(measured, str):
        raise InputError(f"the baselines report's 'measured' is {measured!r}; expected a string such as a date")
    return {"measured": measured, "rows": [{c: row[c] for c in BASELINE_COLUMNS} for row in rows]}


def _json_type(value: Any) -> str:  # noqa: ANN401 (JSON as read)
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def registered_version(folder: Path) -> bool:
    """Whether ``folder`` is a registered version's bundle (``<registry>/models/NAME/VERSION/bundle``),
    which the registry keys by its manifest's hash: it must not change."""
    from feedback_nlp.model_registry.store import BUNDLE_DIR, ENTRY_FILE

    resolved = folder.resolve()
    return resolved.name == BUNDLE_DIR and (resolved.parent / ENTRY_FILE).is_file()


def refresh_card(
    folder: Path,
    baselines: dict[str, Any] | None = None,
    gold: dict[str, Any] | None = None,
    speed: dict[str, Any] | None = None,
    *,
    output: Path | None = None,
) -> Path:
    """Re-render a bundle's model card; return where it was written.

    Args:
        folder: the bundle.
        baselines: the baselines table (:func:`baseline_table`) to show beside the model's figures.
        gold: a fresh gold-set report (``evaluate_gold``, which names its file), shown in the card
            instead of the training-time figures; the manifest keeps those.
        speed: the JSON ``benchmarks/classify_speed.py`` wrote.
        output: write the card to this file and leave the bundle untouched; None writes the
            bundle's README.md and re-seals its manifest with the card's hash (and the baselines
            and speed figures, so a later re-render keeps them).

    Raises:
        InputError: ``output`` is None and ``folder`` is a registered version (:func:`registered_version`).
    """
    from feedback_nlp.storage.artifacts import BundleManifest, sha256_text

    manifest = BundleManifest.read(folder).to_json()
    if baselines is not None:
        manifest["baselines"] = baselines
    if speed is not None:
        manifest["speed"] = speed_rows(speed)
    card = render_card(manifest, gold=gold)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(card, encoding="utf-8")
        return output
    if registered_version(folder):
        raise InputError(
            f"{folder} is a registered model version: its manifest must not change (the registry knows it by the "
            "manifest's sha256), and the card is part of it. Write the card elsewhere with --output FILE."
        )
    (folder / "README.md").write_text(card, encoding="utf-8")
    manifest["files"]["README.md"] = sha256_text(card)
    BundleManifest.parse(manifest).write(folder)
    return folder / "README.md"
