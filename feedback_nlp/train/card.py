"""The model card: a README.md generated from the bundle manifest."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jinja2

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


def render_card(manifest: dict[str, Any]) -> str:
    """Render the model card (a bundle's README.md) for a bundle manifest.

    The text is ``templates/model_card.md.j2``; sections whose figures the manifest lacks (gold
    results, baselines, speed, held-out scores) are left out.
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
    return _template().render(
        manifest=manifest,
        encoder=manifest["encoder"],
        layers_from=manifest["encoder"].get("layers_from"),
        heads_config=manifest.get("config", {}).get("heads", {}),
        data_rows=data_rows,
        restricted=any(source.split(" ")[0] in RESTRICTED for source in data),
        gold=metrics.get("gold"),
        held_out_by_source=metrics.get("held_out", {}).get("by_source"),
        segment_pairs=_count(metrics.get("held_out", {}).get("segment_heads", {}).get("pairs")),
        baselines=manifest.get("baselines"),
        speed=manifest.get("speed"),
        packages=manifest.get("packages", {}),
    )


def _count(value: int | None) -> str:
    """``12,000 `` for a count, nothing when there is none (so the sentence still reads)."""
    return f"{value:,} " if value else ""


def speed_rows(report: dict[str, Any]) -> dict[str, Any]:
    """The card's speed table from the JSON that ``benchmarks/classify_speed.py`` writes."""
    machine = report.get("machine", {})
    rows = []
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
    from feedback_nlp.storage.artifacts import BundleManifest, sha256_text

    manifest = BundleManifest.read(folder).to_json()
    if baselines is not None:
        manifest["baselines"] = baselines
    if gold is not None:
        manifest.setdefault("metrics", {})["gold"] = gold
    if speed is not None:
        manifest["speed"] = speed_rows(speed)
    card = render_card(manifest)
    (folder / "README.md").write_text(card, encoding="utf-8")
    manifest["files"]["README.md"] = sha256_text(card)
    BundleManifest.parse(manifest).write(folder)
