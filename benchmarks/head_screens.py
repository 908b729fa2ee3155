"""Quick screens of head variants: leave one corpus source out, text level, over cached embeddings.

    python benchmarks/head_screens.py [--base models/default] [--screens stage,touchpoints]

A cheaper stand-in for ``benchmarks/corpus_generalisation.py`` when only a head changes: the
default recipe's training table is embedded once (through the embedding cache), and for each
corpus source the heads are fitted on every row not from it and predict its corpus texts from
their whole-text vectors (no segments; a transcript's declared channel is added to its predicted
touchpoints, as serving does). Reported, pooled over the held-out texts and as a mean over sources:

- ``stage``: the stage head with the data's priors, fully balanced or square-root balanced weights
  (``none`` kept at 1), with and without the taxonomy's stage cues, and with the sentiment
  directions projected out of its input;
- ``touchpoints``: the touchpoint head trained on the channels as annotated, or with a transcript's
  declared channel left unknown unless its text names it (``data.channel_from_record``).

The figures in ``docs/results.md`` ("Stage cues and weights", "Channel touchpoints from the
record") came from this screen before the full benchmark confirmed them.
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

from feedback_nlp.heads.linear import MultiLabelHead, SoftmaxHead  # noqa: E402
from feedback_nlp.pipeline import load_pipeline  # noqa: E402
from feedback_nlp.settings import get_settings  # noqa: E402
from feedback_nlp.taxonomy.keywords import KeywordMatcher  # noqa: E402
from feedback_nlp.taxonomy.labels import NO_STAGE, SENTIMENT_LABELS  # noqa: E402
from feedback_nlp.topics.embeddings import EmbeddingCache, encoder_fingerprint  # noqa: E402
from feedback_nlp.train.config import load_config  # noqa: E402
from feedback_nlp.train.corpus_data import channel_from_record  # noqa: E402
from feedback_nlp.train.heads_fit import stage_class_factors  # noqa: E402
from feedback_nlp.train.metrics import multi_label_report, single_label_report  # noqa: E402
from feedback_nlp.train.trainer import Trainer, encoder_inputs  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
#: name: (class weights, stage cues, sentiment directions projected out)
STAGE_VARIANTS = {
    "data priors": (None, False, False),
    "fully balanced, none at 1": ("balanced", False, False),
    "square-root balanced, none at 1": ("sqrt", False, False),
    "priors + stage cues": (None, True, False),
    "square-root balanced + stage cues": ("sqrt", True, False),
    "priors, sentiment directions projected out": (None, False, True),
}


def screen_stage(data: dict[str, Any]) -> dict[str, Any]:
    frame, X, cues, stages = data["frame"], data["X"], data["cues"], data["stages"]
    source, split, weight = data["source"], data["split"], data["weight"]
    stage, sentiment = frame["journey_stage"].to_numpy(object), frame["sentiment"].to_numpy(object)
    out: dict[str, Any] = {}
    for name, (weights, with_cues, project) in STAGE_VARIANTS.items():
        truth: list[str] = []
        predicted: list[str] = []
        per_source: dict[str, float] = {}
        none_gap = 0.0
        for held in data["sources"]:
            keep, test = source != held, data["corpus"] & (source == held)
            F = X
            if project:
                rows = keep & pd.notna(sentiment) & (split == "train")
                head = SoftmaxHead(C=1.0, random_state=42).fit(
                    X[rows], sentiment[rows].astype(str).tolist(), weight[rows], classes=list(SENTIMENT_LABELS)
                )
                basis, _ = np.linalg.qr(head.coef_.T)
                F = X - (X @ basis) @ basis.T
            if with_cues:
                F = np.hstack([F, cues])
            rows = keep & pd.notna(stage) & (split == "train")
            y = stage[rows].astype(str)
            w = weight[rows] * (stage_class_factors(y, 1.0 if weights == "balanced" else 0.5) if weights else 1.0)
            head = SoftmaxHead(C=1.0, class_weight=None, random_state=42).fit(F[rows], y.tolist(), w, classes=stages)
            got, want = head.predict(F[test]).tolist(), stage[test].tolist()
            per_source[held] = single_label_report(want, got, stages)["macro_f1"]
            none_gap = max(none_gap, abs(np.mean(np.array(got) == NO_STAGE) - np.mean(np.array(want) == NO_STAGE)))
            truth += want
            predicted += got
        report = single_label_report(truth, predicted, stages)
        out[name] = {
            "pooled_macro_f1": round(report["macro_f1"], 4),
            "accuracy": round(report["accuracy"], 4),
            "mean_over_sources": round(float(np.mean(list(per_source.values()))), 4),
            "none_predicted": round(float(np.mean(np.array(predicted) == NO_STAGE)), 4),
            "max_none_gap": round(float(none_gap), 4),
        }
        print(f"stage: {name} done", file=sys.stderr)
    return out


def screen_touchpoints(data: dict[str, Any]) -> dict[str, Any]:
    X_tp, labels = data["X_tp"], data["touchpoint_labels"]
    source, split, weight, channel = data["source"], data["split"], data["weight"], data["channel"]
    annotated = data["touchpoints"]
    left_to_record = data["touchpoints_channel_from_record"]
    out: dict[str, Any] = {}
    for name, targets in (("channels as annotated", annotated), ("channel left to the record", left_to_record)):
        truth, predicted, per_source = [], [], {}
        for held in data["sources"]:
            keep, test = source != held, data["corpus"] & (source == held)
            train, calibrate = keep & (split == "train"), keep & (split == "eval")
            head = MultiLabelHead(C=1.0, random_state=42).fit(X_tp[train], targets[train], labels, weight[train])
            head.tune_thresholds(X_tp[calibrate], targets[calibrate])
            P = head.predict(X_tp[test]).copy()
            for row, declared in enumerate(channel[test]):
                if declared in labels:
                    P[row, labels.index(declared)] = 1
            want = [[labels[j] for j in np.flatnonzero(y == 1)] for y in annotated[test]]
            got = [[labels[j] for j in np.flatnonzero(p == 1)] for p in P]
            per_source[held] = multi_label_report(want, got, labels)["micro_f1"]
            truth += want
            predicted += got
        out[name] = {
            "pooled_micro_f1": round(multi_label_report(truth, predicted, labels)["micro_f1"], 4),
            "mean_over_sources": round(float(np.mean(list(per_source.values()))), 4),
            "by_source": {k: round(v, 4) for k, v in per_source.items()},
        }
        print(f"touchpoints: {name} done", file=sys.stderr)
    return out


def prepare(base: Path, cache: Path) -> dict[str, Any]:
    """The default recipe's training table, its embeddings and the inputs every screen reads."""
    config = load_config(ROOT / "training" / "configs" / "default.toml", ["data.channel_from_record=false"])
    trainer = Trainer(config)
    table = trainer.training_table()
    pipeline = load_pipeline(base, topics=False, lanes=1).pipeline
    taxonomy = pipeline.taxonomy
    texts = encoder_inputs(table.frame)
    X = EmbeddingCache(cache / "embeddings.sqlite", encoder_fingerprint(pipeline.manifest)).embed(texts, pipeline.embed)
    frame = table.frame
    corpus_only = table.select((frame["origin"] == "corpus").to_numpy())
    return {
        "frame": frame,
        "X": X,
        "X_tp": np.hstack([X, KeywordMatcher(taxonomy).features(texts)]),
        "cues": KeywordMatcher.stage_cues(taxonomy).features(texts),
        "stages": taxonomy.stage_labels,
        "touchpoint_labels": table.touchpoint_labels,
        "touchpoints": table.touchpoints,
        # The channel rule over the table: only the corpus's call and chat rows (and their
        # invariance copies) declare a channel.
        "touchpoints_channel_from_record": channel_from_record(table, taxonomy).touchpoints,
        "source": frame["source"].to_numpy(),
        "split": frame["split"].to_numpy(),
        "weight": frame["weight"].to_numpy(dtype=float),
        "channel": frame["channel"].fillna("").to_numpy() if "channel" in frame else np.full(len(frame), ""),
        "corpus": (frame["origin"] == "corpus").to_numpy(),
        "sources": sorted(corpus_only.frame["source"].unique()),
    }


def render(result: dict[str, Any]) -> list[str]:
    lines = md_header("Head screens: leave one corpus source out, text level", result)
    if "stage" in result:
        lines += ["", "Stage head (pooled over the held-out corpus texts):", ""]
        lines += md_table(
            ["stage head", "pooled macro-F1", "accuracy", "mean over sources", "none predicted", "max none gap"],
            [
                [k, v["pooled_macro_f1"], v["accuracy"], v["mean_over_sources"], v["none_predicted"], v["max_none_gap"]]
                for k, v in result["stage"].items()
            ],
        )
    if "touchpoints" in result:
        lines += ["", "Touchpoint head (declared channels added, as serving does):", ""]
        lines += md_table(
            ["touchpoint head trained on", "pooled micro-F1", "mean over sources"],
            [[k, v["pooled_micro_f1"], v["mean_over_sources"]] for k, v in result["touchpoints"].items()],
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, default=ROOT / "models" / "default")
    parser.add_argument("--screens", default="stage,touchpoints")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks")
    args = parser.parse_args()
    screens = {"stage": screen_stage, "touchpoints": screen_touchpoints}
    chosen = [s for s in args.screens.split(",") if s]
    unknown = set(chosen) - set(screens)
    if unknown:
        parser.error(f"unknown screen(s) {sorted(unknown)}; expected some of {sorted(screens)}")
    started = time.perf_counter()
    result: dict[str, Any] = {
        "date": now_utc(),
        "machine": machine_info(),
        "load_average_start": load_average(),
        "command": command_line(),
        "base": str(args.base),
    }
    data = prepare(args.base, Path(get_settings().cache_dir))
    for name in chosen:
        result[name] = screens[name](data)
    result["seconds"] = round(time.perf_counter() - started, 1)
    publish("head_screens", args.out, result, render)


if __name__ == "__main__":
    main()
