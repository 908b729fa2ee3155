"""Exported records to finished topic report, timed by stage (issue 16, item 4).

Builds a CSV of ``--n`` short dated texts (tweets to support accounts, TweetEval tweets,
BANKING77 messages, clothing reviews cut to 300 characters; dates spread over 16 weeks), then
runs what ``feedback-nlp report topics FILE`` runs, in this process, with progress bars:

1. read and classify (the bundle's encoder, segments, heads),
2. topic embeddings (the topic space, see feedback_nlp/topics/space.py) from an empty cache,
3. topic fit,
4. trend report (topics assigned from the embedding cache) written as HTML,

and then stage 2 again, now read from the cache. Reports wall time, CPU time, each stage's
share and the peak resident memory after each stage. The machine is shared: the load average
before and after each stage is in the results.

    python benchmarks/topic_scale.py --n 5000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import DEFAULT_OUT_DIR, Timer, command_line, load_average, machine_info, maxrss_mib, md_header, md_table, now_utc, publish  # noqa: E402


def short_texts(data_dir: Path, n: int) -> list[str]:
    """``n`` short texts from four sources, a seeded random sample (with repeats beyond the pool)."""
    tweets = pd.read_csv(data_dir / "brand_support_tweets" / "inbound_tweets.csv")["text"]
    eval_tweets = pd.Series((data_dir / "tweeteval_sentiment" / "test_text.txt").read_text(encoding="utf-8").splitlines())
    banking = pd.read_csv(data_dir / "banking77_nlupp" / "banking77" / "train.csv")["text"]
    reviews = pd.read_csv(data_dir / "womens_clothing_reviews" / "Womens Clothing E-Commerce Reviews.csv")["Review Text"]
    pool = pd.concat([tweets, eval_tweets, banking, reviews.dropna().str.slice(0, 300)], ignore_index=True).dropna()
    pool = pool[pool.str.strip().str.len() > 0]
    return pool.sample(n, replace=n > len(pool), random_state=1).tolist()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=5000, help="records (default 5,000; the issue asks about 100,000)")
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    args = parser.parse_args()

    from feedback_nlp.settings import get_settings

    data_dir = Path(get_settings().data_dir)
    result: dict[str, object] = {"date": now_utc(), "command": command_line(), "machine": machine_info(),
                                 "load_average_start": load_average(), "n": args.n}
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["FEEDBACK_NLP_CACHE_DIR"] = str(Path(tmp) / "cache")
        get_settings.cache_clear()
        from feedback_nlp.pipeline import load_pipeline
        from feedback_nlp.reports import build
        from feedback_nlp.reports.topic_report import write_report
        from feedback_nlp.topics.corpus import corpus_from_file, embed_corpus
        from feedback_nlp.topics.model import TopicConfig, TopicModel
        from feedback_nlp.topics.space import topic_space

        texts = short_texts(data_dir, args.n)
        start = pd.Timestamp("2026-01-05", tz="UTC")
        rng = np.random.default_rng(0)
        dates = start + pd.to_timedelta(np.sort(rng.integers(0, 16 * 7 * 24 * 3600, len(texts))), unit="s")
        source = Path(tmp) / "export.csv"
        pd.DataFrame({"id": range(1, len(texts) + 1), "created_at": dates.strftime("%Y-%m-%dT%H:%M:%SZ"),
                      "text": texts}).to_csv(source, index=False)
        stages: dict[str, dict[str, object]] = {}

        def stage(name: str, timer: Timer) -> None:
            stages[name] = {**timer.span.as_dict(), "peak_rss_mib": maxrss_mib()}
            print(name, stages[name], file=sys.stderr, flush=True)

        with Timer() as t:
            pipeline = load_pipeline(topics=False)
        stage("load models", t)
        with Timer() as t:
            corpus = corpus_from_file(str(source), pipeline, kind="social", classify=True, progress=True)
        stage("read and classify", t)
        space = topic_space(pipeline)
        with Timer() as t:
            X = embed_corpus(corpus, pipeline, space=space, progress=True)
        stage(f"topic embeddings ({space.name})", t)
        with Timer() as t:
            model, assignments = TopicModel.fit(corpus.model_inputs, X, embed=space.embed,
                                                seeds=pipeline.taxonomy.topic_seeds,
                                                config=TopicConfig(min_topic_size=15, verbose=True))
            model.manifest["space"] = space.name
        stage("topic fit", t)
        with Timer() as t:
            report = build.topic_trend_report(corpus, pipeline, model, period="week", progress=True)
            write_report(report, Path(tmp) / "report.html")
        stage("report (embeddings from the cache) and HTML", t)
        with Timer() as t:
            embed_corpus(corpus, pipeline, space=space, progress=True)
        cached = {**t.span.as_dict(), "peak_rss_mib": maxrss_mib()}
    total = sum(float(s["wall_s"]) for s in stages.values())  # type: ignore[arg-type]
    for s in stages.values():
        s["share"] = round(float(s["wall_s"]) / total, 3)  # type: ignore[arg-type]
    result.update({
        "stages": stages, "total_wall_s": round(total, 1), "peak_rss_mib": maxrss_mib(),
        "topics": len(model.topics), "unassigned": round(float(np.mean([a.topic == -1 for a in assignments])), 4),
        "cached_embeddings_again": cached, "load_average_end": load_average(),
    })

    def render(r: dict) -> list[str]:  # type: ignore[type-arg]
        md = md_header(f"Topic report from {r['n']:,} exported records, by stage", r)
        md += md_table(["stage", "wall s", "share", "CPU s", "peak RSS MiB", "load 1 min before → after"],
                       [[name, s["wall_s"], f"{s['share']:.1%}", s["cpu_s"], s["peak_rss_mib"],
                         f"{s['load_before'][0]} → {s['load_after'][0]}"] for name, s in r["stages"].items()])
        md += ["", f"Total {r['total_wall_s']} s; peak RSS {r['peak_rss_mib']} MiB; {r['topics']} topics, "
               f"{r['unassigned']:.1%} unassigned. The topic embeddings again, from the cache: "
               f"{r['cached_embeddings_again']['wall_s']} s."]
        return md

    publish("topic_scale", args.out_dir, result, render)


if __name__ == "__main__":
    main()
