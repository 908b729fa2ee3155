"""Exported records to finished topic report, timed by stage (issue 16, item 4).

Builds a CSV of ``--records`` short dated texts (distinct texts of the annotated corpus' 12
sources cut to 300 characters, see :func:`short_texts`; dates spread over 16 weeks), then
runs what ``feedback-nlp report topics FILE`` runs when no topic model is deployed, in this
process, with its progress bars, and times each stage:

- read: reading the file and preparing records (everything in the read-and-classify loop but
  the pipeline's ``predict``),
- classify: the bundle's encoder, segments and heads (``predict``); where the classifier's
  encoder shares its lower layers with the topic space's (pooled segments, float32 or bfloat16),
  the topic space's upper layers run in the same pass, as in the command
  (``topics.corpus.topic_pass_in_classifier``; ``--separate-topic-pass`` turns that off),
- embed: topic-space embeddings from an empty cache (``reports.build.fit_on``): every text
  when the topic pass runs on its own, else the few the classifier's pass left out,
- reduce, cluster, represent, name: the topic fit's own stages (UMAP, HDBSCAN, c-TF-IDF and
  KeyBERT-style words, seed and word names; ``TopicModel.fit``), on at most
  ``reports.build.MAX_FIT_TEXTS`` sampled texts as the command does,
- render: topics assigned to every record (embeddings from the cache), the report's tables and
  the HTML file.

Reports each stage's wall time, CPU time and share of the total, the peak resident memory after
each stage, the CPU model and the load average (the machine may be shared: CPU time well below
wall time means the stage waited for a core). With ``--profile``, the 25 costliest functions of
the fit (cProfile, cumulative) are added.

    python benchmarks/topic_scale.py --records 5000
    python benchmarks/topic_scale.py --records 100000
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    DEFAULT_OUT_DIR,
    command_line,
    cpu_seconds,
    load_average,
    machine_info,
    maxrss_mib,
    md_header,
    md_table,
    now_utc,
    publish,
)


def short_texts(data_dir: Path, n: int) -> list[str]:
    """``n`` distinct short texts, a seeded random sample from the 12 sources of the annotated
    corpus (tweets to brands, complaint tweets, general tweets, app and product reviews, chats,
    call utterances, survey answers, bank messages; travel texts left out as everywhere), each cut
    to 300 characters. Repeats only when ``n`` exceeds the pool (about 100,000 distinct texts)."""
    from feedback_nlp.corpus.sources import CORPUS_SOURCES, read_source

    # The 12 short-text sources the published runs drew from (not the long CFPB complaints).
    names = [name for name in CORPUS_SOURCES if name != "cfpb_complaints"]
    pool = pd.concat([read_source(name, data_dir)["text"] for name in names], ignore_index=True)
    pool = pool.dropna().astype(str).str.slice(0, 300).str.strip()
    pool = pool[pool.str.len() > 0].drop_duplicates()
    return pool.sample(n, replace=n > len(pool), random_state=1).tolist()


def write_export(path: Path, texts: list[str]) -> None:
    """The records as a CSV export: id, created_at (16 weeks from 2026-01-05), text."""
    start = pd.Timestamp("2026-01-05", tz="UTC")
    rng = np.random.default_rng(0)
    dates = start + pd.to_timedelta(np.sort(rng.integers(0, 16 * 7 * 24 * 3600, len(texts))), unit="s")
    pd.DataFrame(
        {"id": range(1, len(texts) + 1), "created_at": dates.strftime("%Y-%m-%dT%H:%M:%SZ"), "text": texts}
    ).to_csv(path, index=False)


class CpuClock:
    """A :class:`~feedback_nlp.topics.stages.StageClock` that also counts CPU seconds, the peak
    RSS after each stage and the load average before and after it."""

    def __init__(self) -> None:
        from feedback_nlp.topics.stages import StageClock

        self.wall = StageClock()
        self.cpu: dict[str, float] = {}
        self.peak_rss_mib: dict[str, float] = {}
        self.load: dict[str, list[list[float]]] = {}
        self._depth = 0
        self._cpu_inner: list[float] = []

    def stage(self, name: str):  # type: ignore[no-untyped-def]
        from contextlib import contextmanager

        @contextmanager
        def timed():  # type: ignore[no-untyped-def]
            before, cpu0 = load_average(), cpu_seconds()
            self._cpu_inner.append(0.0)
            try:
                with self.wall.stage(name):
                    yield
            finally:
                inner = self._cpu_inner.pop()
                spent = cpu_seconds() - cpu0
                self.cpu[name] = self.cpu.get(name, 0.0) + spent - inner
                if self._cpu_inner:
                    self._cpu_inner[-1] += spent
                self.peak_rss_mib[name] = maxrss_mib()
                self.load.setdefault(name, [before, load_average()])[1] = load_average()

        return timed()

    def wrap(self, name: str, function):  # type: ignore[no-untyped-def]
        def timed(*args, **kwargs):  # type: ignore[no-untyped-def]
            with self.stage(name):
                return function(*args, **kwargs)

        return timed

    @property
    def seconds(self) -> dict[str, float]:
        return self.wall.seconds

    def close(self) -> None:
        self.wall.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--records",
        "--n",
        dest="records",
        type=int,
        default=5000,
        help="exported records (default 5,000; the issue asks about 100,000)",
    )
    parser.add_argument("--profile", action="store_true", help="add the fit's 25 costliest functions (cProfile)")
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    parser.add_argument("--name", default=None, help="result file name (default topic_scale_<records>)")
    parser.add_argument(
        "--separate-topic-pass",
        action="store_true",
        help="run the topic pass on its own, not in the classifier's (the command before it shared layers)",
    )
    args = parser.parse_args()

    from feedback_nlp.settings import get_settings

    data_dir = Path(get_settings().data_dir)
    result: dict[str, object] = {
        "date": now_utc(),
        "command": command_line(),
        "machine": machine_info(),
        "load_average_start": load_average(),
        "n": args.records,
    }
    profile_text = ""
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["FEEDBACK_NLP_CACHE_DIR"] = str(Path(tmp) / "cache")
        os.environ.setdefault("FEEDBACK_NLP_TOPIC_MODEL_DIR", str(Path(tmp) / "no-deployed-model"))
        get_settings.cache_clear()
        # The ONNX exports are built once per machine; an empty cache would time the export.
        onnx_cache = Path(os.path.expanduser("~/.cache/feedback-nlp/onnx"))
        if onnx_cache.is_dir():
            (Path(tmp) / "cache").mkdir()
            os.symlink(onnx_cache, Path(tmp) / "cache" / "onnx")
        from feedback_nlp.pipeline import load_pipeline
        from feedback_nlp.reports import build
        from feedback_nlp.reports.topic_report import write_report
        from feedback_nlp.topics.corpus import corpus_from_file
        from feedback_nlp.topics.model import TopicModel
        from feedback_nlp.topics.space import topic_space

        source = Path(tmp) / "export.csv"
        texts = short_texts(data_dir, args.records)
        result["distinct_texts"] = len(set(texts))
        write_export(source, texts)
        clock = CpuClock()
        started = time.perf_counter()
        with clock.stage("load models"):
            pipeline = load_pipeline(topics=False)
        from feedback_nlp.encoders.backends import resolve_backend

        result["encoder_backend"] = f"{resolve_backend(get_settings())} ({pipeline.encoder.precision})"
        space = None if args.separate_topic_pass else topic_space(pipeline)
        with clock.stage("read"):
            pipeline.predict = clock.wrap("classify", pipeline.predict)  # type: ignore[method-assign]
            corpus = corpus_from_file(str(source), pipeline, kind="social", classify=True, progress=True, space=space)
        result["topic_pass"] = "separate" if space is None else "in the classifier's pass where layers are shared"
        profiler = cProfile.Profile() if args.profile else None
        fit = TopicModel.fit
        if profiler is not None:

            def profiled_fit(*a, **k):  # type: ignore[no-untyped-def]
                profiler.enable()
                try:
                    return fit(*a, **k)
                finally:
                    profiler.disable()

            TopicModel.fit = profiled_fit  # type: ignore[method-assign]
        model = build.fit_on(corpus, pipeline, min_topic_size=15, progress=True, clock=clock)  # type: ignore[arg-type]
        TopicModel.fit = fit  # type: ignore[method-assign]
        with clock.stage("render"):
            report = build.topic_trend_report(corpus, pipeline, model, period="week", progress=True)
            write_report(report, Path(tmp) / "report.html")
        total = time.perf_counter() - started
        frame = build.with_topics(corpus, model, pipeline)
        unassigned = float((frame["topic"] == -1).mean())
        if profiler is not None:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
            profile_text = out.getvalue()
    stages = {}
    for name, wall in clock.seconds.items():
        stages[name] = {
            "wall_s": round(wall, 1),
            "cpu_s": round(clock.cpu.get(name, 0.0), 1),
            "share": round(wall / total, 3),
            "peak_rss_mib": round(clock.peak_rss_mib[name]),
            "load_before": clock.load[name][0],
            "load_after": clock.load[name][1],
        }
    result.update(
        {
            "stages": stages,
            "total_wall_s": round(total, 1),
            "peak_rss_mib": round(maxrss_mib()),
            "max_rss_children_mib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
            "bundle": pipeline.version,
            "topics": len(model.topics),
            "fit_texts": int(model.manifest.get("corpus", {}).get("n_texts", 0)),
            "unassigned": round(unassigned, 4),
            "load_average_end": load_average(),
            "profile": profile_text,
        }
    )

    def render(r: dict) -> list[str]:  # type: ignore[type-arg]
        md = md_header(f"Topic report from {r['n']:,} exported records, by stage", r)
        if r.get("bundle"):
            md += [f"- Bundle: {r['bundle']}", ""]
        if r.get("encoder_backend"):
            md += [f"- Encoder backend: {r['encoder_backend']}", ""]
        if r.get("topic_pass"):
            md += [f"- Topic pass: {r['topic_pass']}", ""]
        md += md_table(
            ["stage", "wall s", "share", "CPU s", "peak RSS MiB after", "load 1 min before → after"],
            [
                [
                    name,
                    s["wall_s"],
                    f"{s['share']:.1%}",
                    s["cpu_s"],
                    s["peak_rss_mib"],
                    f"{s['load_before'][0]} → {s['load_after'][0]}",
                ]
                for name, s in r["stages"].items()
            ],
        )
        md += [
            "",
            f"Total {r['total_wall_s']} s; peak RSS {r['peak_rss_mib']} MiB; {r['topics']} topics fitted on "
            f"{r['fit_texts']:,} texts; {r['unassigned']:.1%} of the records unassigned; "
            f"{r.get('distinct_texts', r['n']):,} distinct texts among the records. "
            f"Load average at the end: {r['load_average_end']}.",
        ]
        if r.get("profile"):
            md += ["", "The fit's costliest functions (cProfile, cumulative):", "", "```", r["profile"].strip(), "```"]
        return md

    publish(args.name or f"topic_scale_{args.records}", args.out_dir, result, render)


if __name__ == "__main__":
    main()
