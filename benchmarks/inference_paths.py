"""The PyTorch inference paths side by side: Hugging Face forward, fused fast path, lanes.

One process loads ``models/default`` with the ``torch`` backend (the ``auto`` default on a CPU
with bfloat16) and switches between three configurations of the same pipeline:

- ``hf``: the Hugging Face model's own forward pass, one lane (what shipped before the fast path);
- ``fast``: PyTorch's fused transformer layers (:mod:`feedback_nlp.encoders.fastpath`), one lane;
- ``fast+lanes``: the fast path with one single-threaded lane per usable core for large calls
  (:mod:`feedback_nlp.lanes`; calls under 128 records stay on one lane, so it equals ``fast``
  for small batches and is only timed on the large one).

For each, round after round (the configurations taking turns, so a burst of load from elsewhere
hits every configuration once), it times ``predict`` on tweet-length texts in calls of 1 record
(a request with batching off), 8 records (a service micro-batch under 16 clients) and
``--batch-size`` records (a bulk job); the median round counts. It then runs the gold set
through ``hf`` and ``fast`` in float32 and in the CPU's precision, and counts how many tweets'
labels change against ``hf`` float32. Last, it times calls of ``--batch-size`` records with at
most 32, 64 or 128 texts per encoder pass (``--pass-sizes``), on the fast path and on ONNX
Runtime float32, which is what ``FEEDBACK_NLP_BATCH_SIZE``'s default is chosen from.

    python benchmarks/inference_paths.py               # 2000 tweets, 5 rounds
    python benchmarks/inference_paths.py --n 500 --rounds 2
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    DEFAULT_OUT_DIR,
    command_line,
    load_average,
    machine_info,
    md_header,
    md_table,
    now_utc,
    publish,
)

NAME = "inference_paths"
SMALL_CALLS = (1, 8)


def _configure(predictor: Any, config: str, lanes: int) -> None:
    """Set the encoder's path and the lanes of ``predictor`` (a ParallelPredictor) for ``config``."""
    predictor.encoder.use_fast_path(config != "hf")
    predictor.close()  # the next large call copies the changed encoder afresh
    predictor.lanes = lanes if config == "fast+lanes" else 1


def _time_calls(pipeline: Any, records: list[Any], size: int) -> float:
    """Records per second for ``predict`` in calls of ``size`` records."""
    pipeline.predict(records[:size])  # warm: builds the fast path or the lanes once
    started = time.perf_counter()
    for start in range(0, len(records), size):
        pipeline.predict(records[start : start + size])
    return len(records) / (time.perf_counter() - started)


def _labels(predictions: Sequence[Any]) -> list[tuple[Any, ...]]:
    return [
        (
            p.sentiment.label,
            p.journey_stage.label,
            tuple(sorted(t.label for t in p.touchpoints)),
            tuple(s.sentiment.label for s in p.segments),
        )
        for p in predictions
    ]


def _pass_sizes(args: argparse.Namespace, pipeline: Any, records: list[Any], lanes: int) -> dict[str, dict[str, float]]:
    """Records/s in calls of ``--batch-size`` by most texts per encoder pass, for the fast path
    (one lane and ``lanes``) and for ONNX Runtime float32 (median of ``--rounds``)."""
    from feedback_nlp.settings import Settings
    from feedback_nlp.storage.model import load_bundle

    onnx = load_bundle(args.model, Settings(encoder_backend="onnx"))
    configs = {"fast": pipeline, "fast+lanes": pipeline, "onnx": onnx}
    runs: dict[str, dict[str, list[float]]] = {}
    original = pipeline.encoder.batch_size
    for _ in range(args.rounds):
        for name, subject in configs.items():
            if subject is pipeline:
                _configure(pipeline, name, lanes)
            subject.predict(records[: args.batch_size])  # builds the lanes, if any
            for size in args.pass_sizes:
                subject.encoder.batch_size = size
                for lane in getattr(subject, "lane_pipelines", []):
                    lane.encoder.batch_size = size
                runs.setdefault(name, {}).setdefault(str(size), []).append(
                    _time_calls(subject, records, args.batch_size)
                )
    pipeline.encoder.batch_size = original
    return {name: {size: statistics.median(v) for size, v in by.items()} for name, by in runs.items()}


def measure(args: argparse.Namespace, texts: list[str]) -> dict[str, Any]:
    os.environ["FEEDBACK_NLP_ENCODER_BACKEND"] = "torch"
    from feedback_nlp.lanes import auto_lanes
    from feedback_nlp.pipeline import load_pipeline
    from feedback_nlp.taxonomy.records import FeedbackRecord
    from feedback_nlp.train.evaluate import evaluate_gold

    pipeline = load_pipeline(args.model, topics=False)
    lanes = auto_lanes(pipeline.encoder)
    precision = pipeline.encoder.precision
    records = [FeedbackRecord(kind="social", text=t) for t in texts]
    small = records[: max(len(records) // 4, 64)]
    speed: dict[str, dict[str, list[float]]] = {}
    for round_ in range(args.rounds):
        for config in ("hf", "fast", "fast+lanes"):
            _configure(pipeline, config, lanes)
            runs = speed.setdefault(config, {})
            if config != "fast+lanes":
                for size in SMALL_CALLS:
                    runs.setdefault(str(size), []).append(_time_calls(pipeline, small, size))
            runs.setdefault(str(args.batch_size), []).append(_time_calls(pipeline, records, args.batch_size))
        print(f"round {round_ + 1}/{args.rounds} done", file=sys.stderr, flush=True)

    passes = _pass_sizes(args, pipeline, records, lanes)

    quality: dict[str, Any] = {}
    reference_labels = None
    for chosen in dict.fromkeys(("float32", precision)):
        pipeline.encoder.set_precision(chosen)
        for config in ("hf", "fast"):
            _configure(pipeline, config, lanes)
            name = f"{config} {chosen}"
            labels = _labels(pipeline.predict(records))
            reference_labels = reference_labels or labels
            changed = [sum(a[k] != b[k] for a, b in zip(reference_labels, labels, strict=True)) for k in range(4)]
            quality[name] = {
                "gold": evaluate_gold(pipeline, args.gold)["headline"] if args.gold.is_file() else None,
                "changed_vs_hf_float32": dict(
                    zip(("sentiment", "stage", "touchpoints", "segment_sentiments"), changed, strict=True)
                ),
            }
    return {
        "precision": precision,
        "lanes": lanes,
        "pass_sizes": passes,
        "speed": {c: {size: statistics.median(v) for size, v in runs.items()} for c, runs in speed.items()},
        "speed_rounds": speed,
        "quality": quality,
    }


def render(result: dict[str, Any]) -> list[str]:
    s, m = result["settings"], result["measured"]
    sizes = [str(x) for x in SMALL_CALLS] + [str(s["batch_size"])]
    lines = md_header("Inference paths: Hugging Face forward, fused fast path, lanes", result)
    lines += [
        f"- {s['n']} tweets ({s['texts_origin']}); calls of 1 and 8 records on the first {s['small_n']}; "
        f"{s['rounds']} rounds, configurations in turn, median round; encoder precision "
        f"{m['precision']}; lanes: {m['lanes']}",
        "",
        "## Records per second by call size",
        "",
    ]
    rows = []
    for config, by_size in m["speed"].items():
        rows.append([config] + [f"{by_size[size]:.1f}" if size in by_size else "(as fast)" for size in sizes])
    lines += md_table(["configuration"] + [f"calls of {size}" for size in sizes], rows)
    hf = m["speed"]["hf"]
    lines += [
        "",
        "Against `hf`: "
        + "; ".join(
            f"{config} x{by_size[size] / hf[size]:.2f} at {size}"
            for config, by_size in m["speed"].items()
            if config != "hf"
            for size in sizes
            if size in by_size
        ),
        "",
        "## Gold metrics and label changes",
        "",
    ]
    rows = []
    for name, q in m["quality"].items():
        gold = q["gold"] or {}
        changed = q["changed_vs_hf_float32"]
        rows.append(
            [name]
            + [
                f"{gold[k]:.4f}" if k in gold else "-"
                for k in ("sentiment_macro_f1", "journey_stage_macro_f1", "touchpoints_micro_f1")
            ]
            + [f"{100 * changed[k] / s['n']:.2f}%" for k in changed]
        )
    lines += md_table(
        [
            "path",
            "gold sentiment macro-F1",
            "stage macro-F1",
            "touchpoints micro-F1",
            "tweets: sentiment changed",
            "stage changed",
            "touchpoints changed",
            "segment sentiments changed",
        ],
        rows,
    )
    lines += ["", "## Records per second in calls of " + str(s["batch_size"]) + " by most texts per encoder pass", ""]
    sizes = list(next(iter(m["pass_sizes"].values())))
    lines += md_table(
        ["path"] + [f"passes of {size}" for size in sizes],
        [[name] + [f"{by[size]:.1f}" for size in sizes] for name, by in m["pass_sizes"].items()],
    )
    lines += ["", "Every round: see the JSON file beside this one."]
    return lines


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    from feedback_nlp.settings import get_settings

    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="tweet-length texts (default 2000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=256, help="records per bulk predict call (default 256)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--pass-sizes",
        type=lambda v: [int(x) for x in v.split(",")],
        default=[32, 64, 128],
        help="most texts per encoder pass to compare (default 32,64,128)",
    )
    parser.add_argument("--model", type=Path, default=settings.model_dir)
    parser.add_argument("--gold", type=Path, default=settings.data_dir / "gold" / "dev.jsonl")
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    import warnings

    warnings.filterwarnings("ignore", category=UserWarning)
    args = parse_args(argv)
    from classify_speed import tweet_corpus

    from feedback_nlp.settings import get_settings

    corpus = tweet_corpus(get_settings().data_dir, args.n, args.seed)
    result: dict[str, Any] = {
        "benchmark": NAME,
        "date": now_utc(),
        "command": command_line(),
        "load_average_start": load_average(),
        "settings": {
            "n": len(corpus.texts),
            "small_n": max(len(corpus.texts) // 4, 64),
            "texts_origin": corpus.origin,
            "batch_size": args.batch_size,
            "rounds": args.rounds,
            "gold": str(args.gold),
        },
    }
    result["measured"] = measure(args, corpus.texts)
    result["machine"] = machine_info()
    result["load_average_end"] = load_average()
    publish(NAME, args.out_dir, result, render)
    return result


if __name__ == "__main__":
    main()
