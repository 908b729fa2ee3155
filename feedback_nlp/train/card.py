"""The model card: a README.md generated from the bundle manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
    "brand_support_tweets": "Customer Support on Twitter samples: no licence file, corpus published for non-commercial use (CC BY-NC-SA 4.0 as listed by its publisher); IBM part Apache-2.0",
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


def _per_label_table(report: dict[str, Any]) -> list[str]:
    lines = ["| label | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for label, row in report["per_label"].items():
        lines.append(
            f"| {label} | {_pct(row['precision'])} | {_pct(row['recall'])} | {_pct(row['f1'])} | {row['support']} |"
        )
    return lines


def render_card(manifest: dict[str, Any]) -> str:
    """Render the model card for a bundle manifest."""
    metrics = manifest.get("metrics", {})
    gold = metrics.get("gold")
    held = metrics.get("held_out", {})
    enc = manifest["encoder"]
    lines = [
        f"# Model card: {manifest['name']}:{manifest['version']}",
        "",
        "Classifies customer-experience feedback by sentiment (negative/neutral/positive with a score),",
        f"journey stage ({len(manifest['labels']['journey_stage'])} labels) and touchpoints "
        f"({len(manifest['labels']['touchpoints'])} labels, multi-label), per text and per segment.",
        "",
        "## Model",
        f"- Encoder: all-MiniLM-L6-v2 (`{enc['location']}`, weights sha256 `{enc['sha256']}`),",
        f"  top {enc['fine_tuned_layers']} layer(s) fine-tuned on all three tasks (shipped as float16 deltas"
        + (f"; started from `{enc['layers_from']}`" if enc.get("layers_from") else "") + "),",
        f"  {enc['max_seq_length']} tokens per text or segment.",
        "- Heads: multinomial logistic regression (sentiment, journey stage) with temperature calibration;",
        "  one-vs-rest logistic regression over the embedding plus keyword hits (touchpoints), with",
        "  per-label thresholds tuned on held-out data.",
        f"- Taxonomy: {manifest['taxonomy']['name']} v{manifest['taxonomy']['version']} "
        f"(fingerprint `{manifest['taxonomy']['fingerprint']}`).",
        "",
        "## Training data",
        "The annotated CX corpus (`annotations/cx_corpus.jsonl`: texts of 12 shared sources labelled",
        "by the team's annotators against the guide, when the config uses it) is the core; the new sets' own labels",
        "(complaint flags, star ratings, survey sentiment) add sentiment; older sources' native labels",
        "were mapped onto the taxonomy with the reviewed tables in `feedback_nlp/train/mappings/`,",
        "channel touchpoints there from keyword weak supervision. Texts of the gold set were removed",
        "before training.",
        "",
        "| dataset | rows | gold texts removed | used | licence |",
        "|---|---|---|---|---|",
    ]
    for source, info in manifest.get("data", {}).items():
        dataset = source.split(" ")[0]
        lines.append(
            f"| {source} | {info.get('rows', '-')} | {info.get('gold_removed', '-')} | {info.get('used', '-')} | "
            f"{LICENCES.get(dataset, 'see SOURCE.txt')} |"
        )
    if any(source.split(" ")[0] in RESTRICTED for source in manifest.get("data", {})):
        lines += [
            "",
            "Some sources above carry no licence or a non-commercial one (see their `SOURCE.txt`): check",
            "them before using this model commercially, or retrain without them (`data.native_sources`,",
            "and the corpus rows of those sources through `data.exclude_sources`).",
        ]
    if gold:
        h = gold["headline"]
        lines += [
            "",
            "## Results on the gold set (`shared/data/gold/dev.jsonl`)",
            "",
            "| task | metric | value |",
            "|---|---|---|",
            f"| sentiment | macro-F1 | {_pct(h['sentiment_macro_f1'])} |",
            f"| sentiment | accuracy | {_pct(h['sentiment_accuracy'])} |",
            f"| journey stage | macro-F1 | {_pct(h['journey_stage_macro_f1'])} |",
            f"| journey stage | accuracy | {_pct(h['journey_stage_accuracy'])} |",
            f"| touchpoints | micro-F1 | {_pct(h['touchpoints_micro_f1'])} |",
            f"| touchpoints | macro-F1 | {_pct(h['touchpoints_macro_f1'])} |",
            "",
            "The gold set is used for model selection, so these figures are optimistic for new sources;",
            "see `docs/results.md` for leave-one-source-out figures.",
            "",
            "### By source",
            "",
            "| source | sentiment macro-F1 | stage macro-F1 | touchpoints micro-F1 |",
            "|---|---|---|---|",
        ]
        for source, row in gold["by_source"].items():
            lines.append(
                f"| {source} | {_pct(row['sentiment_macro_f1'])} | {_pct(row['journey_stage_macro_f1'])} | "
                f"{_pct(row['touchpoints_micro_f1'])} |"
            )
        for task in ("sentiment", "journey_stage", "touchpoints"):
            lines += ["", f"### {task.replace('_', ' ')} per label", "", *_per_label_table(gold[task])]
    baselines = manifest.get("baselines")
    if baselines:
        lines += [
            "",
            "## Against simple baselines on the same gold set",
            "",
            f"Measured by `benchmarks/baselines.py` ({baselines.get('measured', 'date not recorded')}).",
            "",
            "| system | task | metric | value |",
            "|---|---|---|---|",
        ]
        for row in baselines.get("rows", []):
            lines.append(f"| {row['baseline']} | {row['task']} | {row['metric']} | {_pct(row['value'])} |")
    speed = manifest.get("speed")
    if speed:
        lines += [
            "",
            "## Speed and memory",
            "",
            f"Measured by `benchmarks/classify_speed.py` ({speed.get('measured', 'date not recorded')}), all heads and segments.",
            "",
            "| measure | value |",
            "|---|---|",
            *[f"| {row['measure']} | {row['value']} |" for row in speed.get("rows", [])],
        ]
    if held.get("by_source"):
        lines += [
            "",
            "## Held-out split of the training sets (sentiment)",
            "",
            "| source | n | macro-F1 | accuracy | macro-recall |",
            "|---|---|---|---|---|",
        ]
        for source, row in held["by_source"].items():
            lines.append(
                f"| {source} | {row['n']} | {_pct(row['macro_f1'])} | {_pct(row['accuracy'])} | {_pct(row['macro_recall'])} |"
            )
    lines += [
        "",
        "## Caveats",
        "- Trained on English text from banking, e-commerce clothing, restaurants, hotels, consumer finance",
        "  and general tweets; other industries and languages are out of domain.",
        "- Journey stage and touchpoints are learned from mapped intents and keyword rules, not from",
        "  hand labels; rare stages (awareness, retention) and touchpoints (chat, email, social_media) are weakest.",
        "- Bitext texts are machine-generated; CFPB narratives mask personal data as XXXX.",
        "",
        "## Library versions",
        "",
        *[f"- {name}: {version}" for name, version in manifest.get("packages", {}).items()],
        "",
    ]
    return "\n".join(lines)


def speed_rows(report: dict[str, Any]) -> dict[str, Any]:
    """The card's speed table from the JSON that ``benchmarks/classify_speed.py`` writes."""
    machine = report.get("machine", {})
    rows = []
    for corpus, info in report.get("in_process", {}).get("corpora", {}).items():
        rows.append({"measure": f"in process, {corpus} ({info['mean_chars']:.0f} chars), texts/s",
                     "value": info["pipeline"]["texts_per_s"]})
    for corpus, info in report.get("cli", {}).items():
        if isinstance(info, dict) and "end_to_end_texts_per_s" in info:
            rows.append({"measure": f"`feedback-nlp classify`, {info['texts']} {corpus}, end to end, texts/s",
                         "value": info["end_to_end_texts_per_s"]})
            rows.append({"measure": f"`feedback-nlp classify`, {corpus}, peak RSS MiB", "value": info["run"]["maxrss_mib"]})
    measured = f"{report.get('date', '')[:10]}, {machine.get('nproc', '?')} cores of {machine.get('cpu_model', '?')}"
    return {"measured": measured, "rows": rows}


def refresh_card(
    folder: Path,
    baselines: dict[str, Any] | None = None,
    gold: dict[str, Any] | None = None,
    speed: dict[str, Any] | None = None,
) -> None:
    """Re-render a bundle's model card and re-seal its manifest.

    Args:
        folder: the bundle.
        baselines: figures from ``benchmarks/baselines.py`` to show beside the model's.
        gold: a fresh gold-set report (``evaluate_gold``) measured with the current code,
            replacing the one recorded at training time.

    Only the card and the manifest change; every other file's hash is checked first.
    """
    import hashlib
    import json

    from feedback_nlp.storage.bundle import MANIFEST, read_manifest

    manifest = read_manifest(folder)
    if baselines is not None:
        manifest["baselines"] = baselines
    if gold is not None:
        manifest.setdefault("metrics", {})["gold"] = gold
    if speed is not None:
        manifest["speed"] = speed_rows(speed)
    card = render_card(manifest)
    (folder / "README.md").write_text(card, encoding="utf-8")
    manifest["files"]["README.md"] = hashlib.sha256(card.encode("utf-8")).hexdigest()
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
