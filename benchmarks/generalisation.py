"""Leave-one-source-out: how well do the models do on a source they never saw?

The gold set names six sources. For each, we train on every *other* source (fine-tuning and
heads alike) and score the gold texts of the held-out one; "ALL" trains on everything. This
is how model choices (frozen vs fine-tuned, how many layers) were made, since the models are
also measured on sources we never see.

Two steps, so the heavy one can run on a machine with a GPU that has no copy of the data:

    python benchmarks/generalisation.py prepare --out .gpu/loso        # here: tables as Parquet
    python benchmarks/generalisation.py run --table .gpu/loso --configs frozen,ft3 \
        --holdout ALL,cfpb_complaints,mams --encoder PATH --device cuda  # anywhere with torch

``run`` writes ``results.json`` and a Markdown table into ``--table`` (or ``--out``).
Inputs are the raw texts (no redaction or normalisation), so absolute figures differ slightly
from ``feedback-nlp evaluate``; the comparison between configurations is what it is for.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

SENTIMENT = ["negative", "neutral", "positive"]
GOLD_SOURCE = {"banking77": "banking77_nlupp", "nlupp_banking": "banking77_nlupp", "nlupp_hotels": "banking77_nlupp"}
CONFIGS = {
    "frozen": {"layers": 0},
    "ft2": {"layers": 2, "epochs": 1.0, "lr": 5e-5, "n": 24000},
    "ft3": {"layers": 3, "epochs": 1.0, "lr": 5e-5, "n": 24000},
    "ft6": {"layers": 6, "epochs": 1.0, "lr": 3e-5, "n": 24000},
    "ft3x2": {"layers": 3, "epochs": 2.0, "lr": 5e-5, "n": 24000},
    "ft3lr": {"layers": 3, "epochs": 1.0, "lr": 1e-4, "n": 24000},
}


def prepare(out: Path) -> None:
    """Write the training table, the gold set and the label lists as files."""
    from feedback_nlp.settings import get_settings
    from feedback_nlp.taxonomy import Taxonomy
    from feedback_nlp.train.config import DataConfig
    from feedback_nlp.train.data import build_training_table
    from feedback_nlp.train.datasets import load_gold

    data_dir = get_settings().data_dir
    taxonomy = Taxonomy.default()
    cfg = DataConfig()
    table = build_training_table(
        data_dir,
        taxonomy,
        sources=cfg.sources,
        max_per_source=cfg.max_per_source,
        eval_fraction=cfg.eval_fraction,
        gold_path=data_dir / "gold" / "dev.jsonl",
    )
    frame = table.frame.copy()
    gold = load_gold(data_dir / "gold" / "dev.jsonl")
    for j, label in enumerate(table.touchpoint_labels):
        frame[f"tp_{label}"] = table.touchpoints[:, j]
    out.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(out / "table.parquet")
    gold.to_parquet(out / "gold.parquet")
    (out / "labels.json").write_text(
        json.dumps(
            {
                "stages": taxonomy.stage_labels,
                "touchpoints": table.touchpoint_labels,
                "keywords": {label: taxonomy.touchpoints[label].keywords for label in table.touchpoint_labels},
            }
        ),
        encoding="utf-8",
    )
    print(f"wrote {len(frame)} training rows and {len(gold)} gold rows to {out}")


class _Encoder:
    def __init__(self, path: str, device: str) -> None:
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(path, device=device)
        self.model.float()
        self.model.max_seq_length = 128
        self.device = device

    def encode(self, texts: list[str]) -> np.ndarray:
        self.model.to(self.device)
        return self.model.encode(texts, batch_size=128, normalize_embeddings=True, convert_to_numpy=True)


def _keyword_features(texts: list[str], keywords: dict[str, list[str]]) -> np.ndarray:
    import re

    patterns = [
        re.compile(
            r"\b(?:" + "|".join(sorted(map(re.escape, (k.lower() for k in kws)), key=len, reverse=True)) + r")\b"
        )
        for kws in keywords.values()
    ]
    return np.array([[1.0 if p.search(t.lower()) else 0.0 for p in patterns] for t in texts], dtype=np.float32)


def run_one(name: str, holdout: str | None, folder: Path, encoder_path: str, device: str) -> dict[str, float]:
    """Train config ``name`` without source ``holdout``; score that source's gold texts."""
    from feedback_nlp.encoders.finetune import MultiTaskTargets, finetune_top_layers
    from feedback_nlp.heads.linear import MultiLabelHead, SoftmaxHead
    from feedback_nlp.train.metrics import multi_label_report, single_label_report

    cfg = CONFIGS[name]
    start = time.time()
    labels = json.loads((folder / "labels.json").read_text(encoding="utf-8"))
    frame = pd.read_parquet(folder / "table.parquet")
    gold = pd.read_parquet(folder / "gold.parquet")
    tps = labels["touchpoints"]
    Y = frame[[f"tp_{label}" for label in tps]].to_numpy(np.float32)
    keep = (frame["source"].map(lambda s: GOLD_SOURCE.get(s, s)) != holdout).to_numpy()
    train = keep & (frame["split"] == "train").to_numpy()
    held = keep & (frame["split"] == "eval").to_numpy()
    encoder = _Encoder(encoder_path, device)
    if cfg["layers"]:
        rows = np.random.default_rng(42).permutation(np.flatnonzero(train))[: cfg["n"]]
        s_idx = {label: i for i, label in enumerate(SENTIMENT)}
        t_idx = {label: i for i, label in enumerate(labels["stages"])}
        targets = MultiTaskTargets(
            np.array([s_idx.get(v, -1) if v else -1 for v in frame["sentiment"].to_numpy()[rows]]),
            np.array([t_idx.get(v, -1) if v else -1 for v in frame["journey_stage"].to_numpy()[rows]]),
            Y[rows],
        )
        finetune_top_layers(
            encoder,
            frame["text"].to_numpy()[rows].tolist(),
            targets,
            n_sentiment=3,
            n_stage=len(labels["stages"]),
            layers=cfg["layers"],
            epochs=cfg["epochs"],
            learning_rate=cfg["lr"],
            device=device,
            progress=False,
        )
    X = encoder.encode(frame["text"].tolist())
    gold_mask = (gold["source"] == holdout).to_numpy() if holdout else np.ones(len(gold), bool)
    Xg = encoder.encode(gold["text"][gold_mask].tolist())
    result: dict[str, float] = {}
    for task, column, names in (
        ("sentiment", "sentiment", SENTIMENT),
        ("journey_stage", "journey_stage", labels["stages"]),
    ):
        known = frame[column].notna().to_numpy()
        head = SoftmaxHead().fit(X[train & known], frame[column][train & known].tolist())
        report = single_label_report(gold[column][gold_mask].tolist(), head.predict(Xg).tolist(), names)
        result[f"{task}_macro_f1"] = round(report["macro_f1"], 3)
        result[f"{task}_accuracy"] = round(report["accuracy"], 3)
    A = np.hstack([X, _keyword_features(frame["text"].tolist(), labels["keywords"])])
    B = np.hstack([Xg, _keyword_features(gold["text"][gold_mask].tolist(), labels["keywords"])])
    head = MultiLabelHead().fit(A[train], Y[train], tps).tune_thresholds(A[held], Y[held])
    predicted = [[tps[j] for j in np.flatnonzero(row)] for row in head.predict(B)]
    result["touchpoints_micro_f1"] = round(
        multi_label_report(gold["touchpoints"][gold_mask].map(list).tolist(), predicted, tps)["micro_f1"], 3
    )
    result["n_gold"] = int(gold_mask.sum())
    result["seconds"] = round(time.time() - start)
    return result


def _markdown(results: dict[str, dict[str, float]]) -> str:
    lines = [
        "| config | held-out source | n | sentiment macro-F1 | sentiment acc | stage macro-F1 | stage acc "
        "| touchpoints micro-F1 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, r in results.items():
        config, holdout = key.split("/")
        lines.append(
            f"| {config} | {holdout} | {r['n_gold']} | {r['sentiment_macro_f1']} | {r['sentiment_accuracy']} | "
            f"{r['journey_stage_macro_f1']} | {r['journey_stage_accuracy']} | {r['touchpoints_micro_f1']} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="write the tables for `run`")
    p.add_argument("--out", type=Path, required=True)
    r = sub.add_parser("run", help="train and score each configuration and held-out source")
    r.add_argument("--table", type=Path, required=True)
    r.add_argument("--configs", default="frozen,ft3")
    r.add_argument("--holdout", default="ALL")
    r.add_argument("--encoder", required=True, help="folder of all-MiniLM-L6-v2")
    r.add_argument("--device", default="cpu")
    r.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.command == "prepare":
        prepare(args.out)
        return
    out = args.out or args.table
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, float]] = {}
    for name in args.configs.split(","):
        for holdout in args.holdout.split(","):
            result = run_one(name, None if holdout == "ALL" else holdout, args.table, args.encoder, args.device)
            results[f"{name}/{holdout}"] = result
            print(name, holdout, result, flush=True)
            (out / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
            (out / "results.md").write_text(_markdown(results), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
