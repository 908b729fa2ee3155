"""Leave-one-source-out over the annotated CX corpus: how the heads do on a source they never saw.

    python benchmarks/corpus_generalisation.py [--base models/default] [--variants all]

For every corpus source, the heads are trained on every row *not* from that dataset (its corpus
rows, its native-label rows and its mapped rows all left out) and predict that source's corpus
texts through the full pipeline (segments included). Variants choose what the heads learn from:

- ``mapped``: the older sources through the mapping tables only (what the shipped heads learned);
- ``corpus``: the annotated corpus only;
- ``corpus+native``: the corpus and the new sets' own sentiment labels;
- ``default``: corpus + native + mapped (``training/configs/default.toml``).

When the corpus holds more than one labelling round, each variant is also summarised on the
texts of the earlier rounds alone (``VARIANT, round-1 texts``, ``VARIANT, rounds 1-2 texts``):
the held-out texts of the runs made before the later rounds, so old and new runs compare on the
same texts.

The encoder is the ``--base`` bundle's: MiniLM with top layers fine-tuned on the mapped sources.
It never saw the seven new sources; for the five older ones (banking77, bitext_support, mams,
tweeteval_sentiment, womens_clothing_reviews) it saw their texts, with mapped labels, during
fine-tuning, so those rows of the table are slightly optimistic (said in the report).

Also reported: per kind and per industry (each text predicted by the fold that left its source
out), the rate of stage ``none`` per source against the annotated rate, and the expected
calibration error of sentiment and stage confidences (15 equal-width bins).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import command_line, load_average, machine_info, md_header, md_table, now_utc, publish  # noqa: E402

from feedback_nlp.pipeline import FeedbackPipeline, load_pipeline  # noqa: E402
from feedback_nlp.settings import get_settings  # noqa: E402
from feedback_nlp.taxonomy.records import FeedbackKind, FeedbackRecord  # noqa: E402
from feedback_nlp.topics.embeddings import EmbeddingCache, encoder_fingerprint  # noqa: E402
from feedback_nlp.train.config import load_config  # noqa: E402
from feedback_nlp.train.metrics import expected_calibration_error, multi_label_report, single_label_report  # noqa: E402
from feedback_nlp.train.trainer import Trainer, encoder_inputs, fit_heads, head_inputs  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {
    "mapped": {"mapped"},
    "corpus": {"corpus"},
    "corpus+native": {"corpus", "native"},
    "default": {"corpus", "native", "mapped", "augmented"},
}
SENTIMENT = ["negative", "neutral", "positive"]
#: Config overrides for every fold (``--set section.key=value``), to compare head settings.
OVERRIDES: list[str] = []


def scores(rows: pd.DataFrame, predictions: list[Any], stages: list[str], touchpoints: list[str]) -> dict[str, Any]:
    sentiment = single_label_report(list(rows["sentiment"]), [p.sentiment.label for p in predictions], SENTIMENT)
    stage = single_label_report(list(rows["journey_stage"]), [p.journey_stage.label for p in predictions], stages)
    tps = multi_label_report(
        list(rows["touchpoints"]), [[t.label for t in p.touchpoints] for p in predictions], touchpoints
    )
    sent_conf = np.array([max(p.sentiment.probabilities.values()) for p in predictions])
    sent_ok = np.array([p.sentiment.label == y for p, y in zip(predictions, rows["sentiment"], strict=True)])
    stage_conf = np.array([p.journey_stage.confidence for p in predictions])
    stage_ok = np.array([p.journey_stage.label == y for p, y in zip(predictions, rows["journey_stage"], strict=True)])
    return {
        "n": len(rows),
        "sentiment_macro_f1": round(sentiment["macro_f1"], 4),
        "sentiment_accuracy": round(sentiment["accuracy"], 4),
        "stage_macro_f1": round(stage["macro_f1"], 4),
        "stage_accuracy": round(stage["accuracy"], 4),
        "touchpoints_micro_f1": round(tps["micro_f1"], 4),
        "none_rate_predicted": round(float(np.mean([p.journey_stage.label == "none" for p in predictions])), 4),
        "none_rate_annotated": round(float((rows["journey_stage"] == "none").mean()), 4),
        "sentiment_ece": round(expected_calibration_error(sent_conf, sent_ok), 4),
        "stage_ece": round(expected_calibration_error(stage_conf, stage_ok), 4),
    }


def records_of(rows: pd.DataFrame) -> list[FeedbackRecord]:
    """The corpus rows as records; a transcript carries its source's channel (phone, chat), as a
    contact-centre export would."""
    channels = rows["channel"] if "channel" in rows else [""] * len(rows)
    return [
        FeedbackRecord(kind=FeedbackKind(k), text=t, channel=c or None)
        for t, k, c in zip(rows["text"], rows["kind"], channels, strict=True)
    ]


def run(base: Path, variants: list[str], cache: Path) -> dict[str, Any]:
    config = load_config(ROOT / "training" / "configs" / "default.toml", OVERRIDES)
    trainer = Trainer(config)
    table = trainer.training_table()
    # What the held-out texts are scored against: the annotations as labelled. The training table
    # may leave a transcript's declared channel unknown to the heads (data.channel_from_record);
    # the annotators' `phone` for a call and `chat` for a chat still count.
    annotated = Trainer(
        load_config(ROOT / "training" / "configs" / "default.toml", [*OVERRIDES, "data.channel_from_record=false"])
    )
    annotated_touchpoints = annotated.training_table().touchpoints
    pipeline = load_pipeline(base, topics=False, lanes=1).pipeline
    taxonomy = pipeline.taxonomy
    texts = encoder_inputs(table.frame)
    started = time.perf_counter()
    store = EmbeddingCache(cache / "embeddings.sqlite", encoder_fingerprint(pipeline.manifest))
    X = store.embed(texts, pipeline.embed)
    X_tp, X_stage = head_inputs(X, texts, config, taxonomy)
    embed_s = time.perf_counter() - started

    frame = table.frame
    corpus_rows = frame[frame["origin"] == "corpus"].copy()
    corpus_rows["channel"] = corpus_rows["channel"].fillna("") if "channel" in corpus_rows else ""
    labels = table.touchpoint_labels
    corpus_rows["touchpoints"] = [
        [labels[j] for j in np.flatnonzero(annotated_touchpoints[i] == 1)] for i in corpus_rows.index
    ]
    sources = sorted(corpus_rows["source"].unique())
    result: dict[str, Any] = {
        "variants": {},
        "embed_seconds": round(embed_s, 1),
        "table_rows": frame.groupby("origin").size().to_dict(),
    }

    # The shipped heads, untouched, on every corpus text (they never trained on the corpus).
    shipped = pipeline.predict(records_of(corpus_rows))
    result["variants"]["shipped (before)"] = summarise(corpus_rows, shipped, sources, taxonomy)

    for variant in variants:
        origins = VARIANTS[variant]
        predictions: dict[int, Any] = {}
        for source in sources:
            keep = frame["origin"].isin(origins).to_numpy() & (frame["source"] != source).to_numpy()
            fold = table.select(keep)
            if not (fold.frame["split"] == "eval").any():  # no corpus rows: calibrate on a share of the rest
                rng = np.random.default_rng(config.seed)
                fold.frame["split"] = np.where(rng.random(len(fold.frame)) < 0.15, "eval", "train")
            fold_texts = [text for text, kept in zip(texts, keep, strict=True) if kept]
            heads, _ = fit_heads(
                X[keep], X_tp[keep], fold, config, taxonomy.stage_labels, X_stage[keep], texts=fold_texts
            )
            model = FeedbackPipeline(pipeline.encoder, heads, taxonomy, version=f"loso-{variant}-{source}")
            held = corpus_rows[corpus_rows["source"] == source]
            for index, prediction in zip(held.index, model.predict(records_of(held)), strict=True):
                predictions[index] = prediction
            print(f"{variant}: {source} done", file=sys.stderr)
        ordered = [predictions[i] for i in corpus_rows.index]
        result["variants"][variant] = summarise(corpus_rows, ordered, sources, taxonomy)
        last_round = int(corpus_rows["round"].max()) if "round" in corpus_rows else 1
        for upto in range(1, last_round):
            # The texts of the earlier labelling rounds alone: the held-out sets earlier runs measured.
            earlier = (corpus_rows["round"] <= upto).to_numpy()
            name = "round-1 texts" if upto == 1 else f"rounds 1-{upto} texts"
            result["variants"][f"{variant}, {name}"] = summarise(
                corpus_rows[earlier], [p for p, keep in zip(ordered, earlier, strict=True) if keep], sources, taxonomy
            )
    return result


def summarise(rows: pd.DataFrame, predictions: list[Any], sources: list[str], taxonomy: Any) -> dict[str, Any]:
    stages, touchpoints = taxonomy.stage_labels, taxonomy.touchpoint_labels
    rows = rows.reset_index(drop=True)
    out: dict[str, Any] = {"all": scores(rows, predictions, stages, touchpoints)}
    for column in ("source", "kind", "industry"):
        out[f"by_{column}"] = {
            str(value): scores(group, [predictions[i] for i in group.index], stages, touchpoints)
            for value, group in rows.groupby(column)
        }
    by_source = out["by_source"]
    sources = [s for s in sources if s in by_source]  # an earlier round may lack a later source
    out["mean_over_sources"] = {
        key: round(float(np.mean([by_source[s][key] for s in sources])), 4)
        for key in ("sentiment_macro_f1", "stage_macro_f1", "touchpoints_micro_f1", "sentiment_ece", "stage_ece")
    }
    out["worst_source_sentiment"] = min(sources, key=lambda s: by_source[s]["sentiment_macro_f1"])
    out["max_none_gap"] = round(
        max(abs(by_source[s]["none_rate_predicted"] - by_source[s]["none_rate_annotated"]) for s in sources), 4
    )
    return out


def render(result: dict[str, Any]) -> list[str]:
    lines = md_header("Leave-one-source-out over the annotated CX corpus", result)
    lines += ["", "Mean over sources (each source predicted by heads that never saw it):", ""]
    lines += md_table(
        [
            "heads trained on",
            "sentiment macro-F1",
            "stage macro-F1",
            "touchpoints micro-F1",
            "sentiment ECE",
            "stage ECE",
            "worst source (sentiment)",
            "max none-rate gap",
        ],
        [
            [
                name,
                v["mean_over_sources"]["sentiment_macro_f1"],
                v["mean_over_sources"]["stage_macro_f1"],
                v["mean_over_sources"]["touchpoints_micro_f1"],
                v["mean_over_sources"]["sentiment_ece"],
                v["mean_over_sources"]["stage_ece"],
                f"{v['worst_source_sentiment']} ({v['by_source'][v['worst_source_sentiment']]['sentiment_macro_f1']})",
                v["max_none_gap"],
            ]
            for name, v in result["variants"].items()
        ],
    )
    for name, variant in result["variants"].items():
        for column in ("source", "kind", "industry"):
            lines += ["", f"**{name}**, by {column}:", ""]
            lines += md_table(
                [
                    column,
                    "n",
                    "sentiment F1",
                    "stage F1",
                    "touchpoints micro-F1",
                    "none predicted",
                    "none annotated",
                    "sentiment ECE",
                ],
                [
                    [
                        key,
                        v["n"],
                        v["sentiment_macro_f1"],
                        v["stage_macro_f1"],
                        v["touchpoints_micro_f1"],
                        v["none_rate_predicted"],
                        v["none_rate_annotated"],
                        v["sentiment_ece"],
                    ]
                    for key, v in variant[f"by_{column}"].items()
                ],
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, default=ROOT / "models" / "default")
    parser.add_argument("--variants", default="mapped,corpus,corpus+native,default")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        help="a training-config override for every fold, e.g. heads.C_stage=0.5",
    )
    args = parser.parse_args()
    OVERRIDES.extend(args.overrides)
    variants = [v for v in args.variants.split(",") if v]
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variant(s) {sorted(unknown)}; expected some of {sorted(VARIANTS)}")
    started = time.perf_counter()
    result = {
        "date": now_utc(),
        "machine": machine_info(),
        "load_average_start": load_average(),
        "command": command_line(),
        "base": str(args.base),
        "overrides": args.overrides,
    }
    result.update(run(args.base, variants, Path(get_settings().cache_dir)))
    result["seconds"] = round(time.perf_counter() - started, 1)
    publish("corpus_generalisation", args.out, result, render)


if __name__ == "__main__":
    main()
