"""Encoder backends side by side: gold-set metrics, speed, load time and memory of each.

Every backend (``--backends``; by default PyTorch float32, PyTorch bfloat16 autocast where the
CPU has it, ONNX Runtime float32 and ONNX Runtime int8) is loaded once in its own child process
(``_workers.py``: multiprocessing ``spawn``, nothing shared), which

1. loads ``models/default`` with ``FEEDBACK_NLP_ENCODER_BACKEND`` (and ``PRECISION``) set, timing
   the load; for ONNX it first notes whether the exported model was already in the cache, and
   when it was not, the first load (with the export) is timed separately and the model loaded
   again, so "load s" is always a warm load;
2. runs the gold set through the full pipeline (:func:`evaluate_gold`) for the headline metrics;
3. then, round after round (``--rounds``), every backend in turn times the encoder alone on
   ``--n`` tweet-length texts and the full pipeline (all heads and segments) on the same texts
   in batches of ``--batch-size`` records; the fastest round of each counts. Taking turns means
   a burst of load from another job slows one round of every backend, not every round of one.

The parent compares every backend's embeddings of those texts with PyTorch float32's. Peak
memory is each child's ``ru_maxrss`` (the parent stays small; with an export, the peak includes it).

A backend may become the default only when every headline gold metric is within ``--tolerance``
(0.005, i.e. 0.5 points) of PyTorch float32; the fastest such backend (full-pipeline texts/s)
is the one recommended. Results go to ``docs/benchmarks/encoder_backends.{json,md}``.

    python benchmarks/encoder_backends.py                  # 2000 tweets, 3 rounds
    python benchmarks/encoder_backends.py --n 300 --rounds 1 --backends torch:float32,onnx
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    DEFAULT_OUT_DIR,
    command_line,
    load_average,
    md_header,
    md_table,
    now_utc,
    publish,
)
from _workers import Worker, best_run  # noqa: E402

NAME = "encoder_backends"
REFERENCE = "torch:float32"
DEFAULT_BACKENDS = ("torch:float32", "torch:bfloat16", "onnx", "onnx-int8")
WARMUP_RECORDS = 32


# --------------------------------------------------------------------------- the system under test (in a child)


class Backend:
    """The pipeline loaded with one backend (built in a spawned child by :class:`_workers.Worker`)."""

    def __init__(self, options: dict[str, Any]) -> None:
        import logging

        logging.getLogger("transformers").setLevel(logging.ERROR)
        logging.getLogger("sentence_transformers").setLevel(logging.ERROR)
        from _common import machine_info

        from feedback_nlp.encoders.onnx_backend import cache_key, verify_cached
        from feedback_nlp.lanes import ParallelPredictor, auto_lanes
        from feedback_nlp.settings import MINILM_SHA256, Settings
        from feedback_nlp.storage.artifacts import BundleManifest
        from feedback_nlp.storage.model import load_bundle

        def load_bundle_on_lanes(model: Path, settings: Settings) -> ParallelPredictor:
            """The bundle with the lanes ``load_pipeline`` would give it (none for ONNX Runtime)."""
            pipeline = load_bundle(model, settings)
            return ParallelPredictor(pipeline, settings.lanes or auto_lanes(pipeline.encoder))

        backend, _, precision = options["spec"].partition(":")
        settings = Settings(encoder_backend=backend, precision=precision or "float32")
        model = Path(options["model"])
        info: dict[str, Any] = {}
        cached = None
        if backend != "torch":
            manifest = BundleManifest.read(model, verify=False)  # the loader checks the hashes
            key = cache_key(
                settings.encoder_sha256 or MINILM_SHA256,
                manifest.files.get("encoder_layers.safetensors"),
                "int8" if backend == "onnx-int8" else "float32",
            )
            cached = verify_cached(settings.cache_dir.expanduser() / "onnx" / key, key) is None
            info["onnx_cache_hit_at_start"] = cached
        start = time.perf_counter()
        self.pipeline = load_bundle_on_lanes(model, settings)
        if cached is False:
            # The first load exported the model; time a warm load as well, which is what
            # every later start costs.
            info["first_load_with_export_s"] = round(time.perf_counter() - start, 2)
            del self.pipeline
            start = time.perf_counter()
            self.pipeline = load_bundle_on_lanes(model, settings)
        info["load_s"] = round(time.perf_counter() - start, 2)
        info["precision"] = self.pipeline.encoder.precision
        if backend != "torch":
            info["onnx_model_mib"] = round(self.pipeline.encoder.model_path.stat().st_size / 2**20, 1)
        info["machine"] = machine_info()
        info["threads"] = getattr(self.pipeline.encoder, "num_threads", None) or info["machine"]["torch_threads"]
        self.info = info
        self.embeddings_file = Path(options["embeddings_file"])

    def gold(self, path: str) -> dict[str, float]:
        from feedback_nlp.train.evaluate import evaluate_gold

        return evaluate_gold(self.pipeline, Path(path))["headline"]

    def encode(self, texts: list[str]) -> None:
        import numpy as np

        embeddings = self.pipeline.encoder.encode(texts)
        if not self.embeddings_file.exists():
            np.save(self.embeddings_file, embeddings)

    def predict(self, texts: list[str], batch_size: int) -> None:
        from feedback_nlp.taxonomy.records import FeedbackRecord

        records = [FeedbackRecord(id=str(i), kind="social", text=t) for i, t in enumerate(texts)]
        for start in range(0, len(records), batch_size):
            self.pipeline.predict(records[start : start + batch_size])


# --------------------------------------------------------------------------- parent


def measure(specs: list[str], texts: list[str], workdir: Path, args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Load every backend in its own child; gold set in each; then timed rounds, in turn."""
    workers: dict[str, Worker] = {}
    results: dict[str, dict[str, Any]] = {}
    try:
        for spec in specs:
            print(f"loading {spec} ...", file=sys.stderr)
            embeddings_file = workdir / f"{spec.replace(':', '_')}.npy"
            workers[spec] = Worker(
                "encoder_backends",
                "Backend",
                {
                    "spec": spec,
                    "model": str(args.model),
                    "embeddings_file": str(embeddings_file),
                },
            )
            results[spec] = {"backend": spec, **workers[spec].started["info"], "embeddings_file": str(embeddings_file)}
            workers[spec].call("predict", texts[:WARMUP_RECORDS], args.batch_size)
            print(f"gold set with {spec} ...", file=sys.stderr)
            gold = workers[spec].call("gold", str(args.gold))
            results[spec]["gold"] = gold["value"]
            results[spec]["gold_s"] = round(gold["wall_s"], 2)
        encoder_runs: dict[str, list[dict[str, Any]]] = {spec: [] for spec in specs}
        pipeline_runs: dict[str, list[dict[str, Any]]] = {spec: [] for spec in specs}
        for round_ in range(args.rounds):
            for spec, worker in workers.items():
                encoder_runs[spec].append(worker.call("encode", texts))
            for spec, worker in workers.items():
                reply = worker.call("predict", texts, args.batch_size)
                pipeline_runs[spec].append(reply)
                print(
                    f"round {round_ + 1}: {spec} pipeline {len(texts) / reply['wall_s']:.1f} texts/s "
                    f"(load {reply['load_before']})",
                    file=sys.stderr,
                )
        for spec, worker in workers.items():
            results[spec]["encoder_only"] = best_run(encoder_runs[spec], len(texts))
            results[spec]["pipeline"] = best_run(pipeline_runs[spec], len(texts))
            results[spec]["maxrss_mib"] = worker.stop()["peak_rss_mib"]
    finally:
        for worker in workers.values():
            worker.kill()
    return results


def compare(results: dict[str, dict[str, Any]], tolerance: float) -> dict[str, Any]:
    """Cosines and metric gaps to the reference; which backends qualify; the fastest that does."""
    import numpy as np

    reference = results[REFERENCE]
    ref_emb = np.load(reference["embeddings_file"])
    for result in results.values():
        emb = np.load(result["embeddings_file"])
        cosine = (emb * ref_emb).sum(axis=1) / (np.linalg.norm(emb, axis=1) * np.linalg.norm(ref_emb, axis=1))
        result["cosine_to_reference"] = {"mean": round(float(cosine.mean()), 5), "min": round(float(cosine.min()), 5)}
        gaps = {k: round(v - reference["gold"][k], 4) for k, v in result["gold"].items()}
        result["gold_gap_to_reference"] = gaps
        result["within_tolerance"] = all(abs(gap) <= tolerance + 1e-9 for gap in gaps.values())
    fastest = max(results, key=lambda s: results[s]["pipeline"]["texts_per_s"])
    qualified = [s for s in results if results[s]["within_tolerance"]]
    recommended = max(qualified, key=lambda s: results[s]["pipeline"]["texts_per_s"])
    return {
        "reference": REFERENCE,
        "tolerance": tolerance,
        "fastest": fastest,
        "fastest_within_tolerance": fastest in qualified,
        "recommended_default": recommended,
    }


def _load_texts(n: int, seed: int) -> tuple[list[str], str]:
    from classify_speed import tweet_corpus

    from feedback_nlp.settings import get_settings

    corpus = tweet_corpus(get_settings().data_dir, n, seed)
    return corpus.texts, corpus.origin


def render(result: dict[str, Any]) -> list[str]:
    """The Markdown report."""
    lines = md_header("Encoder backends: gold metrics and speed", result)
    s = result["settings"]
    lines += [
        f"- Model: `{result['model']}`; gold set: `{s['gold']}`",
        f"- Speed texts: {s['texts_origin']}; full pipeline in batches of {s['batch_size']} records "
        f"(kind `social`, every head and segment); one child process per backend, timed in turn for "
        f"{s['rounds']} round(s), the fastest round counts (every round in the JSON)",
        "",
        "## Gold set (full pipeline)",
        "",
    ]
    decision = result["decision"]
    ref = result["backends"][decision["reference"]]["gold"]
    keys = list(ref)
    rows = []
    for spec, r in result["backends"].items():
        gaps = r["gold_gap_to_reference"]
        rows.append(
            [
                f"`{spec}`",
                *[
                    f"{r['gold'][k]:.4f}" + ("" if spec == decision["reference"] else f" ({100 * gaps[k]:+.2f})")
                    for k in keys
                ],
                "yes" if r["within_tolerance"] else "**no**",
            ]
        )
    lines += md_table(["backend", *keys, f"all within {100 * decision['tolerance']:.1f} points"], rows)
    lines += [
        "",
        f"In brackets: the difference to `{decision['reference']}` in points (hundredths).",
        "",
        "## Speed, load and memory",
        "",
    ]
    rows = []
    for spec, r in result["backends"].items():
        rows.append(
            [
                f"`{spec}`",
                r["threads"],
                f"**{r['pipeline']['texts_per_s']:.1f}**",
                f"{r['encoder_only']['texts_per_s']:.1f}",
                f"{r['pipeline']['cpu_utilisation']:.2f}",
                r["pipeline"]["texts_per_cpu_s"],
                f"{r['load_s']:.1f}",
                r.get("first_load_with_export_s", "cached" if r.get("onnx_cache_hit_at_start") else "n/a"),
                r.get("onnx_model_mib", "n/a"),
                r["maxrss_mib"],
                f"{r['cosine_to_reference']['mean']:.5f} / {r['cosine_to_reference']['min']:.4f}",
                f"{r['pipeline']['load_before']:.2f} → {r['pipeline']['load_after']:.2f}",
            ]
        )
    lines += md_table(
        [
            "backend",
            "threads",
            "pipeline texts/s",
            "encoder-only texts/s",
            "CPU s / wall s (pipeline)",
            "pipeline texts per CPU s",
            "load s (warm)",
            "first load with ONNX export s",
            "ONNX file MiB",
            "peak RSS MiB (child)",
            "embedding cosine to reference: mean / min",
            "load 1-min before → after (fastest pipeline round)",
        ],
        rows,
    )
    lines += [
        "",
        f"Fastest: `{decision['fastest']}` ({'within' if decision['fastest_within_tolerance'] else 'not within'} "
        f"{100 * decision['tolerance']:.1f} points of `{decision['reference']}` on every headline metric). "
        f"Recommended default (fastest within tolerance): **`{decision['recommended_default']}`**.",
        "",
        "Figures are wall-clock on a shared machine: the load average before and after each child is "
        "shown, and a 1-minute load well above the thread count means another job competed for the cores. "
        "CPU s / wall s is how much of the cores a run actually got (at most the thread count); texts per "
        "CPU s is the least load-sensitive figure (PyTorch's idle threads spin, which counts as CPU time; "
        "ONNX Runtime's are set to sleep).",
    ]
    return lines


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    from feedback_nlp.settings import get_settings

    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--backends",
        default=None,
        help="comma-separated BACKEND[:PRECISION] (default: torch:float32, torch:bfloat16 where "
        "the CPU has it, onnx, onnx-int8)",
    )
    parser.add_argument("--n", type=int, default=2000, help="tweet-length texts for the speed runs (default 2000)")
    parser.add_argument("--batch-size", type=int, default=256, help="records per predict call (default 256)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="timed rounds, every backend once per round in turn; the fastest counts (default 3)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tolerance", type=float, default=0.005, help="allowed gold gap (default 0.005 = 0.5 points)")
    parser.add_argument("--model", type=Path, default=settings.model_dir)
    parser.add_argument("--gold", type=Path, default=settings.data_dir / "gold" / "dev.jsonl")
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    if not args.gold.is_file():
        raise SystemExit(f"error: no gold set at {args.gold}; set FEEDBACK_NLP_DATA_DIR or pass --gold.")
    from feedback_nlp.encoders.minilm import cpu_has_bfloat16

    specs = (
        args.backends.split(",")
        if args.backends
        else [s for s in DEFAULT_BACKENDS if s != "torch:bfloat16" or cpu_has_bfloat16()]
    )
    if REFERENCE not in specs:
        specs.insert(0, REFERENCE)
    texts, origin = _load_texts(args.n, args.seed)
    result: dict[str, Any] = {
        "benchmark": NAME,
        "date": now_utc(),
        "command": command_line(),
        "load_average_start": load_average(),
        "model": str(args.model),
        "settings": {
            "n": len(texts),
            "texts_origin": origin,
            "batch_size": args.batch_size,
            "rounds": args.rounds,
            "gold": str(args.gold),
            "tolerance": args.tolerance,
        },
        "backends": {},
    }
    with tempfile.TemporaryDirectory(prefix="encoder_backends_") as tmp:
        result["backends"] = measure(specs, texts, Path(tmp), args)
        result["decision"] = compare(result["backends"], args.tolerance)
    for r in result["backends"].values():
        r.pop("embeddings_file", None)
    result["machine"] = result["backends"][REFERENCE]["machine"]
    result["load_average_end"] = load_average()
    publish(NAME, args.out_dir, result, render)
    return result


if __name__ == "__main__":
    main()
