"""Reference baselines on the gold set (``shared/data/gold/dev.jsonl``), computed here.

- **VADER** (``vaderSentiment==3.3.2``): compound >= 0.05 positive, <= -0.05 negative,
  else neutral. Sentiment macro-F1 and accuracy.
- **Frozen MiniLM + logistic regression**: all-MiniLM-L6-v2 embeddings (no fine-tuning),
  scikit-learn ``LogisticRegression`` trained on TweetEval (val + test) and 8000 women's
  clothing reviews (rating 1-2 negative, 4-5 positive, 3 by Recommended IND; sampled with
  seed 0). Gold texts are left out of both by :func:`feedback_nlp.train.data.gold_key`.
  Sentiment macro-F1 and accuracy.
- **Similarity to label descriptions**: cosine between each gold text's embedding and each
  journey-stage description of the default taxonomy; the closest stage wins. Journey-stage
  macro-F1 and accuracy.
- **Always ``product``**: every text gets the touchpoint ``product``. Touchpoints micro-F1
  (and macro-F1).

Metrics come from :mod:`feedback_nlp.train.metrics` (macro over the labels present in gold
or predictions), the same functions ``feedback-nlp evaluate`` uses. Baselines read the raw
gold text (no redaction or normalisation). If the model bundle exists, its own gold figures
(``evaluate_gold(load_pipeline(), gold)``) are added as the last rows.

Writes ``docs/benchmarks/baselines.json`` (its ``measured`` and ``rows`` keys are what
``feedback-nlp card --baselines`` shows in the model card) and ``docs/benchmarks/baselines.md``.

    python benchmarks/baselines.py
    feedback-nlp card --baselines docs/benchmarks/baselines.json   # into the model card
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    DEFAULT_OUT_DIR,
    Timer,
    command_line,
    fmt_load,
    load_average,
    machine_info,
    md_header,
    md_table,
    now_utc,
    publish,
)

NAME = "baselines"

#: VADER's usual cut-offs on the compound score.
VADER_THRESHOLD = 0.05

#: TweetEval's label ids (``tweeteval_sentiment/mapping.txt``).
TWEETEVAL_LABELS = {"0": "negative", "1": "neutral", "2": "positive"}


# --------------------------------------------------------------------------- baselines


def vader_labels(texts: Sequence[str]) -> list[str]:
    """VADER's compound score, cut at +-0.05, as negative/neutral/positive."""
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError as exc:
        raise SystemExit("error: VADER is not installed; `pip install vaderSentiment==3.3.2` into the venv.") from exc

    analyzer = SentimentIntensityAnalyzer()
    labels = []
    for text in texts:
        compound = analyzer.polarity_scores(text)["compound"]
        if compound >= VADER_THRESHOLD:
            labels.append("positive")
        elif compound <= -VADER_THRESHOLD:
            labels.append("negative")
        else:
            labels.append("neutral")
    return labels


def review_sentiment(rating: int, recommended: int) -> str:
    """Women's clothing reviews: 1-2 stars negative, 4-5 positive, 3 by Recommended IND."""
    if rating <= 2:
        return "negative"
    if rating >= 4:
        return "positive"
    return "positive" if recommended == 1 else "negative"


def sentiment_training_set(
    data_dir: Path, gold_texts: Sequence[str], n_reviews: int, seed: int
) -> tuple[pd.DataFrame, dict[str, int]]:
    """TweetEval val+test and ``n_reviews`` sampled reviews, without gold texts.

    Returns:
        The table (text, sentiment, source) and, per source, how many gold texts were removed.
    """
    from feedback_nlp.train.data import gold_key
    from feedback_nlp.train.datasets import load_tweeteval, load_womens_clothing

    keys = {gold_key(t) for t in gold_texts}
    tweets = load_tweeteval(data_dir)
    tweets = tweets.assign(sentiment=tweets["native_label"].map(TWEETEVAL_LABELS))
    reviews = load_womens_clothing(data_dir)
    reviews = reviews.assign(
        sentiment=[review_sentiment(r, c) for r, c in zip(reviews["rating"], reviews["recommended"], strict=True)]
    )
    parts, removed = [], {}
    for frame in (tweets, reviews):
        kept = frame[~frame["text"].map(gold_key).isin(keys)]
        removed[str(frame["source"].iloc[0])] = len(frame) - len(kept)
        parts.append(kept)
    tweets, reviews = parts
    if len(reviews) > n_reviews:
        reviews = reviews.sample(n=n_reviews, random_state=seed)
    table = pd.concat([tweets, reviews], ignore_index=True)[["text", "sentiment", "source"]]
    if table["sentiment"].isna().any():
        raise SystemExit("error: unmapped TweetEval labels; expected 0/1/2")
    return table, removed


def row(baseline: str, task: str, metric: str, value: float) -> dict[str, Any]:
    """One line of the results table."""
    return {"baseline": baseline, "task": task, "metric": metric, "value": round(float(value), 4)}


def by_source(gold: pd.DataFrame, predicted: Sequence[str]) -> dict[str, float]:
    """Sentiment macro-F1 per gold source."""
    from feedback_nlp.taxonomy.labels import SENTIMENT_LABELS
    from feedback_nlp.train.metrics import single_label_report

    frame = gold.assign(predicted=list(predicted))
    return {
        str(source): round(
            single_label_report(list(rows["sentiment"]), list(rows["predicted"]), SENTIMENT_LABELS)["macro_f1"], 4
        )
        for source, rows in frame.groupby("source")
    }


# --------------------------------------------------------------------------- report


def render(result: dict[str, Any]) -> list[str]:
    """The Markdown report."""
    lines = md_header("Baselines on the gold set", result)
    info = result["inputs"]
    lines += [
        f"- Gold: `{info['gold']}` ({info['gold_rows']} texts)",
        f"- Logistic-regression training set: {info['train_rows']} texts "
        f"({', '.join(f'{k} {v}' for k, v in info['train_by_source'].items())}); "
        f"gold texts removed first: {', '.join(f'{k} {v}' for k, v in info['gold_removed'].items())}; "
        "label mix "
        f"{', '.join(f'{k} {v}' for k, v in info['train_by_label'].items())}",
        f"- Encoder: `{info['encoder']}` frozen, {info['max_seq_length']} tokens, raw gold text",
    ]
    if result.get("pipeline_note"):
        lines += [f"- Pipeline rows: {result['pipeline_note']}"]
    lines += ["", "## Results", ""]
    lines += md_table(
        ["baseline", "task", "metric", "value"],
        [[r["baseline"], r["task"], r["metric"], f"{r['value']:.3f}"] for r in result["rows"]],
    )
    sources = result["sentiment_macro_f1_by_source"]
    systems = list(sources)
    names = sorted({s for per in sources.values() for s in per})
    lines += ["", "## Sentiment macro-F1 by gold source", ""]
    lines += md_table(
        ["source", *systems],
        [[name, *(f"{sources[s].get(name, float('nan')):.3f}" for s in systems)] for name in names],
    )
    lines += ["", "## Timings", ""]
    lines += md_table(
        ["step", "wall s", "CPU s / wall s", "load 1-min before → after"],
        [
            [step, f"{t['wall_s']:.1f}", f"{t['cpu_utilisation']:.2f}", fmt_load(t["load_before"], t["load_after"])]
            for step, t in result["timings"].items()
        ],
    )
    lines += [
        "",
        "Macro-F1 averages over the labels present in gold or predictions "
        "(`feedback_nlp.train.metrics`). Timings are wall-clock on a shared 2-core machine and "
        "only say how long the run took; they are not throughput figures.",
    ]
    return lines


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Writes OUT_DIR/baselines.json and OUT_DIR/baselines.md.",
    )
    parser.add_argument(
        "--gold", type=Path, default=None, help="gold JSONL (default: DATA_DIR/gold/dev.jsonl from the settings)"
    )
    parser.add_argument(
        "--model",
        type=Path,
        default=None,
        help="bundle whose gold figures are added (default: the model_dir setting, "
        "models/default; skipped if it has no manifest.json)",
    )
    parser.add_argument("--no-pipeline", action="store_true", help="baselines only, no pipeline rows")
    parser.add_argument("--reviews", type=int, default=8000, help="reviews sampled for the LR (default 8000)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the review sample (default 0)")
    parser.add_argument("--C", type=float, default=1.0, help="inverse L2 strength of the LR (default 1.0)")
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR, help="where the result files go")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    import logging

    logging.getLogger("transformers").setLevel(logging.ERROR)
    logging.getLogger("sentence_transformers").setLevel(logging.ERROR)

    from sklearn.linear_model import LogisticRegression

    from feedback_nlp.encoders.minilm import SentenceEncoder
    from feedback_nlp.settings import get_settings
    from feedback_nlp.taxonomy.labels import SENTIMENT_LABELS, Taxonomy
    from feedback_nlp.train.datasets import load_gold
    from feedback_nlp.train.evaluate import prepare_gold
    from feedback_nlp.train.metrics import multi_label_report, single_label_report

    settings = get_settings()
    gold_path = args.gold or settings.data_dir / "gold" / "dev.jsonl"
    taxonomy = Taxonomy.default()
    gold = prepare_gold(load_gold(gold_path), gold_path, taxonomy=taxonomy)
    texts = list(gold["text"])
    result: dict[str, Any] = {
        "benchmark": NAME,
        "date": now_utc(),
        "command": command_line(),
        "load_average_start": load_average(),
        "machine": machine_info(),
        "timings": {},
    }
    rows: list[dict[str, Any]] = []
    reports: dict[str, Any] = {}
    per_source: dict[str, dict[str, float]] = {}

    # VADER.
    with Timer() as t:
        vader = vader_labels(texts)
    result["timings"]["VADER on gold"] = t.span.as_dict()
    report = single_label_report(list(gold["sentiment"]), vader, SENTIMENT_LABELS)
    reports["vader_sentiment"] = report
    per_source["VADER"] = by_source(gold, vader)
    rows += [
        row("VADER (compound ±0.05)", "sentiment", "macro-F1", report["macro_f1"]),
        row("VADER (compound ±0.05)", "sentiment", "accuracy", report["accuracy"]),
    ]

    # Frozen MiniLM + logistic regression.
    train, removed = sentiment_training_set(settings.data_dir, texts, args.reviews, args.seed)
    with Timer() as t:
        encoder = SentenceEncoder(
            settings.encoder,
            expected_sha256=settings.encoder_sha256 or None,
            max_seq_length=settings.max_seq_length,
            batch_size=settings.pass_size(),
        )
    result["timings"]["load encoder"] = t.span.as_dict()
    with Timer() as t:
        X_train = encoder.encode(list(train["text"]))
    result["timings"][f"encode {len(train)} training texts"] = t.span.as_dict()
    with Timer() as t:
        X_gold = encoder.encode(texts)
    result["timings"][f"encode {len(texts)} gold texts"] = t.span.as_dict()
    with Timer() as t:
        lr = LogisticRegression(C=args.C, max_iter=2000, random_state=0).fit(X_train, train["sentiment"])
    result["timings"]["fit logistic regression"] = t.span.as_dict()
    lr_labels = [str(x) for x in lr.predict(X_gold)]
    report = single_label_report(list(gold["sentiment"]), lr_labels, SENTIMENT_LABELS)
    reports["minilm_lr_sentiment"] = report
    name = "Frozen MiniLM + LR (TweetEval + reviews)"
    per_source["Frozen MiniLM + LR"] = by_source(gold, lr_labels)
    rows += [
        row(name, "sentiment", "macro-F1", report["macro_f1"]),
        row(name, "sentiment", "accuracy", report["accuracy"]),
    ]

    # Similarity to the journey-stage descriptions.
    stages = taxonomy.stage_labels
    descriptions = encoder.encode([taxonomy.journey_stages[s] for s in stages])
    similarity = X_gold @ descriptions.T  # both L2-normalised: cosine
    stage_labels = [stages[i] for i in np.argmax(similarity, axis=1)]
    report = single_label_report(list(gold["journey_stage"]), stage_labels, stages)
    reports["description_similarity_stage"] = report
    name = "Similarity to stage descriptions (frozen MiniLM)"
    rows += [
        row(name, "journey stage", "macro-F1", report["macro_f1"]),
        row(name, "journey stage", "accuracy", report["accuracy"]),
    ]

    # Always "product".
    report = multi_label_report(list(gold["touchpoints"]), [["product"]] * len(gold), taxonomy.touchpoint_labels)
    reports["always_product_touchpoints"] = report
    rows += [
        row("Always `product`", "touchpoints", "micro-F1", report["micro_f1"]),
        row("Always `product`", "touchpoints", "macro-F1", report["macro_f1"]),
    ]

    # This pipeline, for comparison.
    model = args.model or settings.model_dir
    if args.no_pipeline:
        result["pipeline_note"] = "left out (--no-pipeline)"
    elif not (model / "manifest.json").is_file():
        result["pipeline_note"] = f"left out: {model}/manifest.json does not exist"
    else:
        from feedback_nlp.pipeline import load_pipeline
        from feedback_nlp.train.evaluate import evaluate_gold

        with Timer() as t:
            pipeline = load_pipeline(model)
            evaluation = evaluate_gold(pipeline, gold_path)
        result["timings"]["load pipeline + evaluate_gold"] = t.span.as_dict()
        reports["pipeline"] = {k: evaluation[k] for k in ("sentiment", "journey_stage", "touchpoints")}
        h = evaluation["headline"]
        name = f"This pipeline ({pipeline.version})"
        per_source["This pipeline"] = {s: round(v["sentiment_macro_f1"], 4) for s, v in evaluation["by_source"].items()}
        rows += [
            row(name, "sentiment", "macro-F1", h["sentiment_macro_f1"]),
            row(name, "sentiment", "accuracy", h["sentiment_accuracy"]),
            row(name, "journey stage", "macro-F1", h["journey_stage_macro_f1"]),
            row(name, "journey stage", "accuracy", h["journey_stage_accuracy"]),
            row(name, "touchpoints", "micro-F1", h["touchpoints_micro_f1"]),
            row(name, "touchpoints", "macro-F1", h["touchpoints_macro_f1"]),
        ]
        result["pipeline_note"] = f"`{model}` ({pipeline.version}) through `evaluate_gold`, full prediction path"

    m = result["machine"]
    result["measured"] = f"{result['date'][:10]}, {m['nproc']} cores of {m['cpu_model']}"
    result["rows"] = rows
    result["sentiment_macro_f1_by_source"] = per_source
    result["inputs"] = {
        "gold": str(gold_path),
        "gold_rows": len(gold),
        "train_rows": len(train),
        "train_by_source": {str(k): int(v) for k, v in train["source"].value_counts().items()},
        "train_by_label": {str(k): int(v) for k, v in train["sentiment"].value_counts().sort_index().items()},
        "gold_removed": removed,
        "encoder": settings.encoder,
        "max_seq_length": settings.max_seq_length,
        "reviews_sampled": args.reviews,
        "seed": args.seed,
        "lr": {"C": args.C, "max_iter": 2000, "class_weight": None},
        "stage_descriptions": dict(taxonomy.journey_stages),
    }
    result["reports"] = reports
    result["load_average_end"] = load_average()
    publish(NAME, args.out_dir, result, render)
    return result


if __name__ == "__main__":
    main()
