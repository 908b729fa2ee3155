"""Which training recipe holds up on unseen sources: heads only, or fine-tuning on the corpus too?

    python benchmarks/corpus_recipes.py [--recipes heads,finetune] [--folds 0,1,2] [--max-examples 8000]

Fine-tuning per held-out source (12 trainings) does not fit 2 CPU cores, so the corpus's 12
sources are split into 3 folds of 4, each mixing the four kinds; every fold trains with the real
trainer (``training/configs/default.toml``, ``data.exclude_sources`` = the fold, which leaves
the fold's corpus, native and mapped rows all out) and predicts the fold's corpus texts through
the full pipeline. Holding out 4 sources at once is harder than leave-one-source-out.

- ``heads``: the default recipe: the base bundle's fine-tuned layers, new heads;
- ``finetune``: the same, then the top 3 layers fine-tuned further on the table (corpus rows
  seen 3x as often), then new heads.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import command_line, load_average, machine_info, md_header, md_table, now_utc, publish  # noqa: E402
from corpus_generalisation import records_of, scores  # noqa: E402

from feedback_nlp.corpus.annotations import load_cx_corpus  # noqa: E402
from feedback_nlp.settings import get_settings  # noqa: E402
from feedback_nlp.storage.model import load_bundle  # noqa: E402
from feedback_nlp.train.config import load_config  # noqa: E402
from feedback_nlp.train.trainer import Trainer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FOLDS = [
    ["brand_support_tweets", "nhs_patient_surveys", "multidogo_chats", "womens_clothing_reviews"],
    ["brand_complaint_tweets", "helpdesk_csat_survey", "dstc11_call_utterances", "neobank_app_reviews"],
    ["tweeteval_sentiment", "banking77", "bitext_support", "mams"],
]


def run_fold(recipe: str, fold: list[str], base: Path, max_examples: int, out: Path) -> dict[str, Any]:
    overrides = [
        f"data.exclude_sources={fold!r}".replace("'", '"'),
        f"paths.output={out.as_posix()!r}".replace("'", '"'),
        f"finetune.from_bundle={base.as_posix()!r}".replace("'", '"'),
    ]
    if recipe == "finetune":
        overrides += ["finetune.epochs=1.0", f"finetune.max_examples={max_examples}", "finetune.learning_rate=3e-5"]
    config = load_config(ROOT / "training" / "configs" / "default.toml", overrides)
    started = time.perf_counter()
    result = Trainer(config).train()
    seconds = time.perf_counter() - started
    pipeline = load_bundle(result.bundle)
    corpus = load_cx_corpus(Path(get_settings().data_dir)).frame
    held = corpus[corpus["source"].isin(fold)].reset_index(drop=True)
    predictions = pipeline.predict(records_of(held))
    taxonomy = pipeline.taxonomy
    report = {"all": scores(held, predictions, taxonomy.stage_labels, taxonomy.touchpoint_labels), "by_source": {}}
    for source, group in held.groupby("source"):
        report["by_source"][source] = scores(
            group, [predictions[i] for i in group.index], taxonomy.stage_labels, taxonomy.touchpoint_labels
        )
    report["train_seconds"] = round(seconds, 1)
    report["gold"] = result.metrics.get("gold", {}).get("headline")
    return report


def render(result: dict[str, Any]) -> list[str]:
    lines = md_header("Training recipes on held-out sources (3 folds of 4 sources)", result)
    rows = []
    for recipe, folds in result["recipes"].items():
        for fold, report in folds.items():
            a = report["all"]
            rows.append(
                [
                    recipe,
                    fold,
                    a["n"],
                    a["sentiment_macro_f1"],
                    a["stage_macro_f1"],
                    a["touchpoints_micro_f1"],
                    a["sentiment_ece"],
                    report["train_seconds"],
                ]
            )
    lines += md_table(
        [
            "recipe",
            "held-out fold",
            "texts",
            "sentiment F1",
            "stage F1",
            "touchpoints micro-F1",
            "sentiment ECE",
            "train s",
        ],
        rows,
    )
    for recipe, folds in result["recipes"].items():
        lines += ["", f"**{recipe}**, by held-out source:", ""]
        lines += md_table(
            ["source", "n", "sentiment F1", "stage F1", "touchpoints micro-F1", "none predicted", "none annotated"],
            [
                [
                    s,
                    v["n"],
                    v["sentiment_macro_f1"],
                    v["stage_macro_f1"],
                    v["touchpoints_micro_f1"],
                    v["none_rate_predicted"],
                    v["none_rate_annotated"],
                ]
                for report in folds.values()
                for s, v in report["by_source"].items()
            ],
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", default="heads,finetune")
    parser.add_argument("--folds", default="0,1,2")
    parser.add_argument("--base", type=Path, default=ROOT / "models" / "default")
    parser.add_argument("--max-examples", type=int, default=8000)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks")
    args = parser.parse_args()
    result: dict[str, Any] = {
        "date": now_utc(),
        "machine": machine_info(),
        "load_average_start": load_average(),
        "command": command_line(),
        "folds": FOLDS,
        "recipes": {},
    }
    with tempfile.TemporaryDirectory() as scratch:
        for recipe in args.recipes.split(","):
            result["recipes"][recipe] = {}
            for index in (int(i) for i in args.folds.split(",")):
                fold = FOLDS[index]
                report = run_fold(recipe, fold, args.base, args.max_examples, Path(scratch) / f"{recipe}-{index}")
                result["recipes"][recipe]["+".join(fold)] = report
                print(f"{recipe} fold {index}: {report['all']}", file=sys.stderr)
    publish("corpus_recipes", args.out, result, render)


if __name__ == "__main__":
    main()
