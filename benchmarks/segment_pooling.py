"""Segment accuracy and classify speed: segments encoded on their own vs pooled from the text's pass.

    python benchmarks/segment_pooling.py BUNDLE [BUNDLE ...] [--pairs 2000] [--pairings 3] [--name segment_pooling]

No feedback set labels segments, so this one makes them: two labelled one-segment texts of the
annotated corpus's held-out split (never trained on; the split training draws with the default
config's seed), from the same source, are joined into one two-segment record, and each segment's
gold labels are its own text's. Only records the pipeline splits back into exactly those two
parts count. Each bundle classifies the same records through its full pipeline (its own
``segment_vectors``); reported per bundle: segment sentiment macro-F1 and accuracy, segment
touchpoints micro-F1 (the joined record's own labels are not scored: it has no single gold
label), and records/s over the same records and over TweetEval tweets (one timed pass each, bundle
after bundle: for a speed comparison use ``bundle_speed_ab.py``, which takes turns). A second
table holds sources out (:func:`by_held_out_source`).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import command_line, load_average, machine_info, md_header, md_table, now_utc, publish  # noqa: E402
from sklearn.metrics import f1_score  # noqa: E402

from feedback_nlp.settings import get_settings  # noqa: E402
from feedback_nlp.storage.loading import load_pipeline  # noqa: E402
from feedback_nlp.taxonomy.labels import SENTIMENT_LABELS, load_taxonomy  # noqa: E402
from feedback_nlp.taxonomy.records import FeedbackRecord  # noqa: E402
from feedback_nlp.text import make_nlp, redacted_customer_texts, segment_texts  # noqa: E402
from feedback_nlp.train.config import load_config  # noqa: E402
from feedback_nlp.train.corpus_data import corpus_table  # noqa: E402
from feedback_nlp.train.datasets import load_tweeteval  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def segment_gold(n_pairs: int, pairings: int, seed: int = 0) -> tuple[list[FeedbackRecord], list[list[dict[str, Any]]]]:
    """Two-segment records made of held-out corpus texts, and each segment's gold labels."""
    settings = get_settings()
    config = load_config(ROOT / "training" / "configs" / "default.toml", [])
    table = corpus_table(
        Path(settings.data_dir),
        load_taxonomy(settings.taxonomy_path),
        weight=1.0,
        eval_fraction=config.data.eval_fraction,
        seed=config.seed,
    )
    frame = table.frame
    held = np.flatnonzero((frame["split"] == "eval").to_numpy())
    records = [FeedbackRecord(kind=frame["kind"][i], text=frame["text"][i]) for i in held]
    nlp = make_nlp()
    texts = redacted_customer_texts(records)
    single = [i for i, found in zip(held, segment_texts(nlp, texts), strict=True) if len(found) == 1]
    rng = np.random.default_rng(seed)
    by_source: dict[str, list[int]] = {}
    for i in single:
        by_source.setdefault(str(frame["source"][i]), []).append(int(i))
    candidates = []
    for _ in range(pairings):  # each text takes part this many times, each time with another partner
        for rows in by_source.values():
            order = list(rng.permutation(rows))
            candidates += list(zip(order[0::2], order[1::2], strict=False))
    candidates = list(dict.fromkeys(candidates))
    candidates = [candidates[k] for k in rng.permutation(len(candidates))]
    joined, parts, halves = [], [], []
    for a, b in candidates:
        first = str(frame["text"][a]).strip()
        first = first if first.endswith((".", "!", "?")) else f"{first}."
        second = str(frame["text"][b]).strip()
        joined.append(FeedbackRecord(kind=frame["kind"][a], text=f"{first} {second}"))
        parts.append((a, b))
        halves.append(redacted_customer_texts([FeedbackRecord(kind="review", text=t) for t in (first, second)]))
    split = segment_texts(nlp, redacted_customer_texts(joined))
    out_records, gold = [], []
    for record, (a, b), found, half in zip(joined, parts, split, halves, strict=True):
        # Only records split back into exactly the two texts they were made of.
        if [segment.text.strip() for segment in found] != [h.strip() for h in half] or len(out_records) >= n_pairs:
            continue
        out_records.append(record)
        gold.append([{"sentiment": frame["sentiment"][i], "touchpoints": _touchpoints(table, i)} for i in (a, b)])
    return out_records, gold


def by_held_out_source(
    bundle: Path, folds: int = 3, seed: int = 0, fold_seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
) -> dict[str, Any]:
    """Segments of sources no head saw: heads fitted on pairs of the other sources only.

    Every one-segment corpus text is paired within its source; the sources are split into
    ``folds`` groups, and for each group a sentiment and a touchpoint head are fitted on the
    other groups' segment vectors (pooled in context, or each segment encoded on its own) and
    scored on the group's; figures are the mean over ``fold_seeds`` draws of the groups. The
    encoder is the bundle's; only these fresh heads differ.
    """
    from feedback_nlp.heads.linear import MultiLabelHead, SoftmaxHead
    from feedback_nlp.taxonomy.keywords import KeywordMatcher
    from feedback_nlp.text import encoder_input

    settings = get_settings()
    taxonomy = load_taxonomy(settings.taxonomy_path)
    table = corpus_table(Path(settings.data_dir), taxonomy, weight=1.0, eval_fraction=0.15, seed=0)
    frame = table.frame
    records = [FeedbackRecord(kind=k, text=t) for k, t in zip(frame["kind"], frame["text"], strict=True)]
    texts = redacted_customer_texts(records)
    single = [i for i, found in enumerate(segment_texts(make_nlp(), texts)) if len(found) == 1]
    rng = np.random.default_rng(seed)
    by_source: dict[str, list[int]] = {}
    for i in single:
        by_source.setdefault(str(frame["source"][i]), []).append(i)
    pairs = []
    for rows in by_source.values():
        order = list(rng.permutation(rows))
        pairs += list(zip(order[0::2], order[1::2], strict=False))
    segmented = []
    for a, b in pairs:
        first = encoder_input(texts[a]).rstrip()
        segmented.append([first if first.endswith((".", "!", "?")) else f"{first}.", encoder_input(texts[b])])
    parts = [i for pair in pairs for i in pair]
    flat = [segment for pair in segmented for segment in pair]
    pipeline = load_pipeline(bundle, topics=False).pipeline
    vectors = {
        "separate": pipeline.encoder.encode(flat),
        "pooled": pipeline.encoder.encode_segmented(segmented).segments,
    }
    keywords = KeywordMatcher(taxonomy).features(flat)
    sources = np.array([str(frame["source"][i]) for i in parts])
    y_sent = np.array([frame["sentiment"][i] for i in parts])
    Y = table.touchpoints[parts]
    names = sorted(by_source)
    out: dict[str, Any] = {"segments": len(flat), "sources": len(names), "folds": folds, "fold_seeds": list(fold_seeds)}
    for name, X in vectors.items():
        X_tp = np.hstack([X, keywords])
        runs = []
        for fold_seed in fold_seeds:  # which sources share a fold moves the figures: several draws
            order = [names[k] for k in np.random.default_rng(fold_seed).permutation(len(names))]
            p_sent = np.empty(len(flat), dtype=object)
            p_tp = np.zeros(Y.shape, dtype=int)
            for group in (set(order[k::folds]) for k in range(folds)):
                test = np.isin(sources, list(group))
                head = SoftmaxHead(C=1.0, class_weight=None).fit(
                    X[~test], y_sent[~test], classes=list(SENTIMENT_LABELS)
                )
                p_sent[test] = head.predict(X[test])
                multi = MultiLabelHead(C=1.0).fit(X_tp[~test], Y[~test], table.touchpoint_labels)
                p_tp[test] = multi.predict(X_tp[test])
            runs.append(
                (
                    float(f1_score(y_sent, p_sent.astype(str), average="macro")),
                    float(f1_score((Y == 1).astype(int), p_tp, average="micro", zero_division=0)),
                )
            )
        out[name] = {
            "sentiment_macro_f1": round(float(np.mean([r[0] for r in runs])), 4),
            "touchpoints_micro_f1": round(float(np.mean([r[1] for r in runs])), 4),
            "runs": [[round(a, 4), round(b, 4)] for a, b in runs],
        }
    return out


def _touchpoints(table: Any, row: int) -> set[str]:
    return {label for label, value in zip(table.touchpoint_labels, table.touchpoints[row], strict=True) if value == 1}


def score(
    bundle: Path, records: list[FeedbackRecord], gold: list[list[dict[str, Any]]], tweets: list[FeedbackRecord]
) -> dict[str, Any]:
    pipeline = load_pipeline(bundle, topics=False)
    pipeline.predict(records[:200])  # warm-up
    started = time.perf_counter()
    predictions = [p for i in range(0, len(records), 256) for p in pipeline.predict(records[i : i + 256])]
    pairs_rate = len(records) / (time.perf_counter() - started)
    started = time.perf_counter()
    for i in range(0, len(tweets), 256):
        pipeline.predict(tweets[i : i + 256])
    tweets_rate = len(tweets) / (time.perf_counter() - started)
    labels = list(pipeline.taxonomy.touchpoint_labels)
    y_sent, p_sent, y_tp, p_tp = [], [], [], []
    for prediction, wanted in zip(predictions, gold, strict=True):
        for segment, truth in zip(prediction.segments, wanted, strict=True):
            y_sent.append(truth["sentiment"])
            p_sent.append(segment.sentiment.label)
            y_tp.append([int(label in truth["touchpoints"]) for label in labels])
            p_tp.append([int(label in {t.label for t in segment.touchpoints}) for label in labels])
    return {
        "bundle": str(bundle),
        "version": pipeline.version,
        "segment_vectors": pipeline.pipeline.segment_vectors,
        "segments": len(y_sent),
        "sentiment_macro_f1": round(float(f1_score(y_sent, p_sent, labels=list(SENTIMENT_LABELS), average="macro")), 4),
        "sentiment_accuracy": round(float(np.mean(np.array(y_sent) == np.array(p_sent))), 4),
        "touchpoints_micro_f1": round(
            float(f1_score(np.array(y_tp), np.array(p_tp), average="micro", zero_division=0)), 4
        ),
        "pairs_records_per_s": round(pairs_rate, 1),
        "tweets_records_per_s": round(tweets_rate, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundles", type=Path, nargs="+")
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--pairings", type=int, default=3, help="pairs each held-out text takes part in")
    parser.add_argument("--tweets", type=int, default=2000)
    parser.add_argument("--name", default="segment_pooling")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks")
    args = parser.parse_args()
    result: dict[str, Any] = {
        "date": now_utc(),
        "machine": machine_info(),
        "load_average_start": load_average(),
        "command": command_line(),
    }
    records, gold = segment_gold(args.pairs, args.pairings)
    tweets = [
        FeedbackRecord(kind="social", text=t)
        for t in load_tweeteval(Path(get_settings().data_dir)).sample(n=args.tweets, random_state=0)["text"]
    ]
    result["pairs"] = len(records)
    result["bundles"] = [score(bundle, records, gold, tweets) for bundle in args.bundles]
    result["held_out_sources"] = by_held_out_source(args.bundles[0])
    result["load_average_end"] = load_average()

    def render(r: dict[str, Any]) -> list[str]:
        lines = md_header("Segments: encoded on their own vs pooled from the text's pass", r)
        lines += md_table(
            [
                "bundle",
                "segment vectors",
                "segment sentiment macro-F1",
                "accuracy",
                "segment touchpoints micro-F1",
                "two-segment records/s",
                "tweets/s",
            ],
            [
                [
                    b["version"],
                    b["segment_vectors"],
                    b["sentiment_macro_f1"],
                    b["sentiment_accuracy"],
                    b["touchpoints_micro_f1"],
                    b["pairs_records_per_s"],
                    b["tweets_records_per_s"],
                ]
                for b in r["bundles"]
            ],
        )
        lines += [
            "",
            f"{r['pairs']} two-segment records ({2 * r['pairs']} segments) joined from pairs of one-segment "
            "texts of the annotated corpus's held-out split, same source, each text in up to "
            f"{args.pairings} pairs; gold = each part's own labels. "
            f"Load average at the end {r['load_average_end']}.",
            "",
            "**Sources no head saw** (the first bundle's encoder; fresh heads fitted on segment vectors of "
            f"the other sources only, {r['held_out_sources']['folds']} folds of sources, mean of "
            f"{len(r['held_out_sources']['fold_seeds'])} draws of the folds, "
            f"{r['held_out_sources']['segments']} segments from {r['held_out_sources']['sources']} sources):",
            "",
        ]
        held = r["held_out_sources"]
        lines += md_table(
            ["segment vectors", "segment sentiment macro-F1", "segment touchpoints micro-F1"],
            [
                [name, held[name]["sentiment_macro_f1"], held[name]["touchpoints_micro_f1"]]
                for name in ("separate", "pooled")
            ],
        )
        return lines

    publish(args.name, args.out, result, render)


if __name__ == "__main__":
    main()
