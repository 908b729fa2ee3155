"""Two bundles' classify throughput, measured in one run on the same machine, taking turns.

    python benchmarks/bundle_speed_ab.py OLD_BUNDLE NEW_BUNDLE [--n 2000] [--n-long 500] [--rounds 3] [--name NAME]

Both bundles are loaded in this process and classify the same TweetEval tweets and women's
clothing reviews; rounds alternate (old, new, old, new, ...) so that a slower spell of the
machine hits both. Reported: the median records/s per bundle and kind, and new / old.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import command_line, load_average, machine_info, md_header, md_table, now_utc, publish  # noqa: E402

from feedback_nlp.pipeline import load_pipeline  # noqa: E402
from feedback_nlp.settings import get_settings  # noqa: E402
from feedback_nlp.taxonomy.records import FeedbackRecord  # noqa: E402
from feedback_nlp.train.datasets import load_tweeteval, load_womens_clothing  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def records(n: int, n_long: int, seed: int = 0) -> dict[str, list[FeedbackRecord]]:
    data_dir = Path(get_settings().data_dir)
    tweets = load_tweeteval(data_dir).sample(n=n, random_state=seed)["text"]
    reviews = load_womens_clothing(data_dir).sample(n=n_long, random_state=seed)["text"]
    return {
        "tweets": [FeedbackRecord(kind="social", text=t) for t in tweets],
        "reviews": [FeedbackRecord(kind="review", text=t) for t in reviews],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--n-long", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks")
    parser.add_argument("--name", default="bundle_speed_ab", help="file name of the results (NAME.md, NAME.json)")
    args = parser.parse_args()
    result: dict[str, Any] = {
        "date": now_utc(),
        "machine": machine_info(),
        "load_average_start": load_average(),
        "command": command_line(),
    }
    pipelines = {"old": load_pipeline(args.old, topics=False), "new": load_pipeline(args.new, topics=False)}
    result["versions"] = {name: p.version for name, p in pipelines.items()}
    data = records(args.n, args.n_long)
    for pipeline in pipelines.values():  # warm-up: first calls build lanes and caches
        pipeline.predict(data["tweets"][:300])
    timings: dict[str, dict[str, list[float]]] = {name: {kind: [] for kind in data} for name in pipelines}
    for _ in range(args.rounds):
        for name, pipeline in pipelines.items():
            for kind, rows in data.items():
                started = time.perf_counter()
                for i in range(0, len(rows), args.batch_size):
                    pipeline.predict(rows[i : i + args.batch_size])
                timings[name][kind].append(len(rows) / (time.perf_counter() - started))
    result["records_per_second"] = {
        name: {kind: round(statistics.median(values), 1) for kind, values in kinds.items()}
        for name, kinds in timings.items()
    }
    result["all_rounds"] = {
        name: {k: [round(v, 1) for v in vs] for k, vs in kinds.items()} for name, kinds in timings.items()
    }
    result["ratio_new_over_old"] = {
        kind: round(result["records_per_second"]["new"][kind] / result["records_per_second"]["old"][kind], 3)
        for kind in data
    }
    result["load_average_end"] = load_average()

    def render(r: dict[str, Any]) -> list[str]:
        lines = md_header("Classify throughput: old vs new bundle, one run, taking turns", r)
        lines += md_table(
            ["kind", "old records/s", "new records/s", "new / old"],
            [
                [k, r["records_per_second"]["old"][k], r["records_per_second"]["new"][k], r["ratio_new_over_old"][k]]
                for k in r["ratio_new_over_old"]
            ],
        )
        lines += [
            "",
            f"Old: {r['versions']['old']}; new: {r['versions']['new']}. Median of {args.rounds} rounds; "
            f"load average at the end {r['load_average_end']}.",
        ]
        return lines

    publish(args.name, args.out, result, render)


if __name__ == "__main__":
    main()
