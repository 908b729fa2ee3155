"""Throughput of ``classify_dataset`` on Spark against the pipeline in one process, per core.

Three figures on the same texts (TweetEval test tweets by default) and the same bundle:

- **In process, all threads**: ``load_pipeline()`` once, then ``pipeline.predict`` in batches of
  ``--batch-size`` records, torch with its default threads (one per core).
- **In process, one thread**: the same with ``torch.set_num_threads(1)``: the rate one core
  gives, the unit of the capacity estimate in ``docs/scale.md``.
- **Spark** (``--master``, ``local[2]`` by default): ``classify_dataset`` end to end, Parquet
  in and out, over ``--partitions`` tasks, each Python worker with ``--task-cpus`` cores
  (Spark sets ``OMP_NUM_THREADS``, and so torch's threads, to ``spark.task.cpus``). The first run
  is *cold* (Python workers start and each loads the pipeline); the later ones are *warm* (workers
  reused, pipeline cached), as in a long job where the load is paid once per executor core.

Model loading is timed apart and excluded from the in-process figures. Every timed phase is
repeated (``--repeats``) and the fastest counts (on a shared machine the fastest run is the
least disturbed); the load average is recorded around each.

    python benchmarks/spark_classify.py                          # 2000 tweets, local[2]
    python benchmarks/spark_classify.py --n 500 --repeats 1 --out /tmp/spark_classify.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from _common import REPO_ROOT, Timer, command_line, load_average, machine_info, now_utc  # noqa: E402
from classify_speed import WARMUP_RECORDS, tweet_corpus  # noqa: E402

from feedback_nlp.settings import get_settings  # noqa: E402

NAME = "spark_classify"


def _args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="tweets to classify")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", type=Path, default=REPO_ROOT / "models" / "default")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--partitions", type=int, default=8, help="Spark tasks (a few per core)")
    parser.add_argument(
        "--task-cpus", type=int, default=1, help="spark.task.cpus: cores (and torch threads) per worker"
    )
    parser.add_argument("--repeats", type=int, default=2, help="timed runs per figure (the fastest counts)")
    parser.add_argument("--skip-in-process", action="store_true")
    parser.add_argument("--out", type=Path, help="also write the result as JSON here")
    return parser.parse_args(argv)


def _rate(n: int, seconds: float) -> float:
    return round(n / seconds, 1)


# --------------------------------------------------------------------------- in process


def in_process(texts: list[str], kind: str, model: Path, batch_size: int, repeats: int) -> dict[str, Any]:
    """Texts/s of ``pipeline.predict`` with torch's default threads, then with one thread."""
    import torch

    from feedback_nlp.pipeline import load_pipeline

    start = time.perf_counter()
    pipeline = load_pipeline(model)
    load_s = time.perf_counter() - start
    pipeline.predict_texts(texts[:WARMUP_RECORDS], kind)
    default_threads = torch.get_num_threads()
    out: dict[str, Any] = {"model_load_s": round(load_s, 2), "version": pipeline.version}
    for label, threads in (("all_threads", default_threads), ("one_thread", 1)):
        torch.set_num_threads(threads)
        spans = []
        for _ in range(repeats):
            with Timer() as timer:
                for i in range(0, len(texts), batch_size):
                    pipeline.predict_texts(texts[i : i + batch_size], kind)
            spans.append(timer.span)
        best = min(spans, key=lambda s: s.wall_s)
        out[label] = {"torch_threads": threads, "texts_per_s": _rate(len(texts), best.wall_s),
                      "runs": [s.as_dict() for s in spans]}  # fmt: skip
    torch.set_num_threads(default_threads)
    return out


# --------------------------------------------------------------------------- Spark


def _workers(spark: Any, tasks: int) -> list[dict[str, Any]]:
    """What the (reused) Python workers hold after the runs: threads, cached pipelines, peak memory.

    The probe is a ``mapInArrow`` like the classification, so it runs in the same pool of workers.
    """

    def probe(batches: Any) -> Any:
        import torch

        from feedback_nlp.spark import classify

        for _ in batches:
            pass
        status = dict(line.split(":", 1) for line in open("/proc/self/status", encoding="utf-8"))
        yield pa.RecordBatch.from_pylist([{
            "pid": os.getpid(),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
            "torch_threads": torch.get_num_threads(),
            "pipelines_cached": len(classify._PIPELINES),
            "peak_rss_mib": round(int(status["VmHWM"].split()[0]) / 1024, 1),
            "rss_mib": round(int(status["VmRSS"].split()[0]) / 1024, 1),
        }])  # fmt: skip

    schema = (
        "pid long, OMP_NUM_THREADS string, torch_threads long, pipelines_cached long, peak_rss_mib double, "
        "rss_mib double"
    )
    seen = [row.asDict() for row in spark.range(0, tasks, 1, tasks).mapInArrow(probe, schema).collect()]
    return list({w["pid"]: w for w in seen}.values())


def on_spark(texts: list[str], kind: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Cold and warm ``classify_dataset`` runs; texts/s overall and per core."""
    from feedback_nlp.spark import classify_dataset, spark_session

    source = work / "tweets.parquet"
    pq.write_table(pa.table({"id": [str(i) for i in range(len(texts))], "text": texts}), source)
    spark = spark_session(args.master, app_name=NAME, ui=False, shuffle_partitions=args.partitions,
                          conf={"spark.task.cpus": str(args.task_cpus)})  # fmt: skip
    spark.sparkContext.setLogLevel("ERROR")
    cores = spark.sparkContext.defaultParallelism
    runs = []
    for attempt in range(1 + args.repeats):
        with Timer() as timer:
            result = classify_dataset(spark, str(source), str(work / f"out{attempt}"), model_dir=str(args.model),
                                      batch_size=args.batch_size, default_kind=kind,
                                      partitions=args.partitions)  # fmt: skip
        assert result.predictions == len(texts) and result.errors == 0, result
        runs.append(timer.span)
    warm = min(runs[1:], key=lambda s: s.wall_s) if len(runs) > 1 else runs[0]
    out = {
        "master": args.master,
        "cores": cores,
        "partitions": args.partitions,
        "task_cpus": args.task_cpus,
        "workers": _workers(spark, args.partitions),
        "cold": {"wall_s": round(runs[0].wall_s, 2), "texts_per_s": _rate(len(texts), runs[0].wall_s)},
        "warm": {
            "wall_s": round(warm.wall_s, 2),
            "texts_per_s": _rate(len(texts), warm.wall_s),
            "texts_per_s_per_core": _rate(len(texts), warm.wall_s * cores),
        },  # fmt: skip
        "cold_minus_warm_s": round(runs[0].wall_s - warm.wall_s, 1),  # workers start, load the model
        "runs": [s.as_dict() for s in runs],
        "driver_cpu_note": "cpu_s counts the driver process only (the work runs in Python workers)",
    }
    spark.stop()
    return out


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = _args(argv)
    logging.basicConfig(level=logging.WARNING)
    corpus = tweet_corpus(get_settings().data_dir, args.n, args.seed)
    result: dict[str, Any] = {
        "date": now_utc(),
        "command": command_line(),
        "machine": machine_info(),
        "load_average_start": load_average(),
        "corpus": {"origin": corpus.origin, "n": len(corpus.texts), "mean_chars": round(corpus.mean_chars, 1)},
        "model": str(args.model),
        "batch_size": args.batch_size,
    }
    if not args.skip_in_process:
        result["in_process"] = in_process(corpus.texts, corpus.kind, args.model, args.batch_size, args.repeats)
    with tempfile.TemporaryDirectory(prefix=f"{NAME}_") as work:
        result["spark"] = on_spark(corpus.texts, corpus.kind, args, Path(work))
    result["load_average_end"] = load_average()
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
