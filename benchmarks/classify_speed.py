"""Throughput of ``feedback-nlp classify``: texts per second, segments per text, peak memory.

Two views of the same work, on tweet-length texts (TweetEval test tweets) and on
review-length texts (women's clothing reviews, title + body):

- **In process**: ``load_pipeline()`` once, then ``pipeline.predict`` in batches of
  ``--batch-size`` records (every head, every segment). Model loading is timed separately
  and excluded. For comparison, the same texts through ``SentenceEncoder.encode`` alone
  (the encoder-only rate), and a breakdown of the pipeline's own run into preprocessing
  (redaction, segmentation, normalisation), the encoder (texts + segments, de-duplicated
  per batch), the heads and the rest (output assembly), timed by wrapping those calls
  (see :class:`Instrument`). Peak memory is this process's RSS high-water mark
  (``getrusage(RUSAGE_SELF).ru_maxrss``), read after each phase.
- **Command line**: the real ``feedback-nlp classify`` as a subprocess on a JSONL file of
  the same records, end to end (interpreter start-up and model load included), plus a
  1-record run so start-up can be subtracted (the marginal rate). Peak memory is the child's
  ``ru_maxrss`` (``os.wait4``, i.e. ``RUSAGE_CHILDREN`` for that one child), taken by a small
  helper interpreter that starts the CLI, because Linux carries the RSS high-water mark of
  the forking process over into a forked child.

Every timed run is repeated (``--repeats``, default 3) and the fastest counts: on a shared
machine the fastest run is the one least slowed by other jobs.

The target it is compared with: at least 150 tweet-length texts/s end to end on 2 cores.
Results go to ``docs/benchmarks/classify_speed.{json,md}``. The load average is recorded
before and after every timed phase: another job on the machine slows every figure down.

    python benchmarks/classify_speed.py                 # 2000 tweets, 1000 reviews, 3 repeats
    python benchmarks/classify_speed.py --n 500 --n-long 200 --repeats 1 --skip-cli
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    DEFAULT_OUT_DIR,
    REPO_ROOT,
    Timer,
    command_line,
    fmt_load,
    load_average,
    machine_info,
    maxrss_mib,
    md_header,
    md_table,
    now_utc,
    publish,
)

NAME = "classify_speed"

#: The end-to-end target for tweet-length texts on 2 cores.
TARGET_TEXTS_PER_S = 150.0

#: Records classified (and not timed) before the timed runs: first-call costs of torch,
#: the tokenizer and spaCy are not throughput.
WARMUP_RECORDS = 32


@dataclass
class Corpus:
    """Texts of one length class, with the record kind they are classified as."""

    name: str
    kind: str
    texts: list[str]
    origin: str

    @property
    def mean_chars(self) -> float:
        return sum(map(len, self.texts)) / max(len(self.texts), 1)


# --------------------------------------------------------------------------- inputs


def _sample(texts: Sequence[str], n: int, seed: int) -> list[str]:
    """``n`` distinct texts drawn without replacement (all of them, shuffled, if fewer)."""
    unique = list(dict.fromkeys(t for t in texts if t.strip()))
    if n > len(unique):
        print(f"warning: only {len(unique)} distinct texts available, not {n}", file=sys.stderr)
    return random.Random(seed).sample(unique, min(n, len(unique)))


def _generated_short(n: int) -> list[str]:
    """Tweet-like texts, all distinct, for machines without the shared data."""
    openers = ["Honestly", "Wow", "Ugh", "So", "Just saying", "Not gonna lie", "Well", "OK"]
    subjects = ["the app", "my order", "customer service", "the delivery", "this phone", "the new update"]
    verdicts = [
        "is amazing today",
        "took forever to arrive",
        "crashed again",
        "was super helpful",
        "charged me twice",
        "works fine I guess",
        "is the worst",
        "made my day",
    ]
    return [f"{openers[i % 8]}, {subjects[(i // 8) % 6]} {verdicts[(i // 48) % 8]} #{i} @brand" for i in range(n)]


def _generated_long(n: int) -> list[str]:
    """Review-like texts of five to seven sentences, all distinct."""
    sentences = [
        "I ordered this dress for a wedding and it arrived two days late.",
        "The fabric is soft and the colour is exactly as pictured.",
        "Sizing runs small, so I had to exchange it for a larger one.",
        "Customer service answered my email quickly and sorted out the return.",
        "After one wash the seams started to come apart, which is disappointing.",
        "It fits well through the shoulders but is tight at the hips.",
        "For the price I expected better quality, but it looks nice.",
        "I would recommend it to friends who like a relaxed fit.",
    ]
    texts = []
    for i in range(n):
        k = 5 + i % 3
        picked = [sentences[(i + 3 * j) % len(sentences)] for j in range(k)]
        texts.append(f"Review {i}. " + " ".join(picked))
    return texts


def tweet_corpus(data_dir: Path, n: int, seed: int) -> Corpus:
    """TweetEval test tweets, or generated short texts when the file is absent."""
    path = data_dir / "tweeteval_sentiment" / "test_text.txt"
    if path.is_file():
        texts = _sample(path.read_text(encoding="utf-8").splitlines(), n, seed)
        return Corpus("tweets", "social", texts, f"{path} (random {len(texts)}, seed {seed})")
    return Corpus("tweets", "social", _generated_short(n), f"generated ({path} not found)")


def review_corpus(data_dir: Path, n: int, seed: int) -> Corpus:
    """Women's clothing reviews (title + body, as training reads them), or generated ones."""
    from feedback_nlp.errors import DataError
    from feedback_nlp.train.datasets import load_womens_clothing

    try:
        frame = load_womens_clothing(data_dir)
    except DataError:
        return Corpus("reviews", "review", _generated_long(n), "generated (women's clothing reviews not found)")
    texts = _sample(list(frame["text"]), n, seed)
    return Corpus(
        "reviews",
        "review",
        texts,
        f"{data_dir / 'womens_clothing_reviews'} (random {len(texts)}, seed {seed})",
    )


def resolve_model(requested: Path | None) -> tuple[Path, str | None]:
    """The bundle to measure, and a note when it is not the one asked for.

    Without ``--model``: the ``model_dir`` setting (``models/default``); if that has no
    manifest yet, ``runs/smoke``; if neither exists, exit with a message.
    """
    from feedback_nlp.settings import get_settings

    if requested is not None:
        if not (requested / "manifest.json").is_file():
            raise SystemExit(f"error: {requested} is not a model bundle (no manifest.json there).")
        return requested, None
    default = get_settings().model_dir
    if (default / "manifest.json").is_file():
        return default, None
    smoke = REPO_ROOT / "runs" / "smoke"
    if (smoke / "manifest.json").is_file():
        return smoke, f"{default}/manifest.json does not exist yet; measured runs/smoke instead"
    raise SystemExit(
        f"error: no model bundle to measure: neither {default}/manifest.json nor "
        f"{smoke}/manifest.json exists. Train one (`feedback-nlp train`) or pass --model."
    )


# --------------------------------------------------------------------------- in process


def _batches(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class Instrument:
    """Times the pipeline's stages during a real ``predict`` run, by wrapping what it calls.

    Wrapped for the duration of a ``with`` block and restored after: the text functions
    ``feedback_nlp.pipeline`` calls (``prepare_inputs``, ``segment_texts``, ``encoder_input``:
    preprocessing), the encoder's ``encode`` and ``encode_segmented`` (encoder; each sequence
    fed counts as one encoder input) and the pipeline's ``_score_separate`` and ``_score_pooled``
    (encoder + heads, so heads = score - encoder). Whatever is left of the wall
    time is output assembly (building the prediction objects) and the loop itself.
    A wrapper costs well under a microsecond a call, which is noise next to the encoder.
    """

    PREPROCESSING = ("prepare_inputs", "segment_texts", "encoder_input")

    def __init__(self, pipeline: Any) -> None:
        self.pipeline = pipeline
        self.seconds: dict[str, float] = {"preprocessing": 0.0, "encoder": 0.0, "score": 0.0}
        self.encoder_inputs = 0
        self._active: set[str] = set()
        self._saved: list[tuple[Any, str, Any]] = []

    def _wrap(self, owner: Any, attr: str, bucket: str, count_inputs: bool = False) -> None:
        original = getattr(owner, attr)

        def timed(*args: Any, **kwargs: Any) -> Any:
            if bucket in self._active:  # called from a wrapped call of the same stage: counted there
                return original(*args, **kwargs)
            self._active.add(bucket)
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self._active.discard(bucket)
                self.seconds[bucket] += time.perf_counter() - start
                if count_inputs:
                    self.encoder_inputs += len(args[0])

        self._saved.append((owner, attr, owner.__dict__.get(attr, _MISSING)))
        setattr(owner, attr, timed)

    def __enter__(self) -> Instrument:
        import feedback_nlp.pipeline as module

        for name in self.PREPROCESSING:
            self._wrap(module, name, "preprocessing")
        self._wrap(self.pipeline.encoder, "encode", "encoder", count_inputs=True)
        self._wrap(self.pipeline.encoder, "encode_segmented", "encoder", count_inputs=True)
        self._wrap(self.pipeline, "_score_separate", "score")
        self._wrap(self.pipeline, "_score_pooled", "score")
        return self

    def __exit__(self, *exc: object) -> None:
        for owner, attr, value in reversed(self._saved):
            if value is _MISSING:
                delattr(owner, attr)  # it was the class's method: uncover it again
            else:
                setattr(owner, attr, value)
        self._saved.clear()


_MISSING = object()


def measure_in_process(pipeline: Any, corpus: Corpus, batch_size: int, repeats: int) -> dict[str, Any]:
    """Pipeline throughput with its stage breakdown, and the encoder-only rate, for one corpus."""
    from feedback_nlp.taxonomy.records import FeedbackRecord

    records = [FeedbackRecord(id=str(i), kind=corpus.kind, text=t) for i, t in enumerate(corpus.texts)]
    batches = _batches(records, batch_size)
    n = len(records)

    runs = []
    predictions: list[Any] = []
    for _ in range(repeats):
        with Timer() as timer:
            predictions = [p for batch in batches for p in pipeline.predict(batch)]
        runs.append(timer.span)
    best = min(runs, key=lambda span: span.wall_s)
    rss_after_pipeline = maxrss_mib()
    segments = [len(p.segments) for p in predictions]

    # Where the time goes: one more run on one lane. With lanes the stages of two threads
    # overlap (and the lanes' encoder copies would escape the wrapped encoder).
    # (``load_pipeline`` gives a ParallelPredictor; its ``pipeline`` predicts in this thread alone.)
    lanes = pipeline.lanes
    single = pipeline.pipeline
    with Instrument(single) as stages, Timer() as staged:
        for batch in batches:
            single.predict(batch)
    seconds = stages.seconds
    heads = seconds["score"] - seconds["encoder"]
    rest = staged.span.wall_s - seconds["preprocessing"] - seconds["score"]

    # The encoder alone on the raw texts: one embedding per text, no segments, no heads.
    enc_runs = []
    for _ in range(repeats):
        with Timer() as enc:
            for batch in _batches(corpus.texts, batch_size):
                pipeline.encoder.encode(list(batch))
        enc_runs.append(enc.span)
    enc_best = min(enc_runs, key=lambda s: s.wall_s)

    return {
        "texts": n,
        "kind": corpus.kind,
        "origin": corpus.origin,
        "mean_chars": round(corpus.mean_chars, 1),
        "mean_segments_per_text": round(sum(segments) / n, 3),
        "max_segments_per_text": max(segments),
        "encoder_inputs_per_text": round(stages.encoder_inputs / n, 3),
        "lanes": lanes,
        "pipeline": {
            "texts_per_s": round(n / best.wall_s, 1),
            "best": best.as_dict(),
            "all_wall_s": [round(span.wall_s, 3) for span in runs],
        },
        "encoder_only": {
            "texts_per_s": round(n / enc_best.wall_s, 1),
            "best": enc_best.as_dict(),
            "all_wall_s": [round(s.wall_s, 3) for s in enc_runs],
        },
        "breakdown_s": {
            "preprocessing": round(seconds["preprocessing"], 3),
            "encoder": round(seconds["encoder"], 3),
            "heads": round(heads, 3),
            "assembly_and_rest": round(rest, 3),
            "wall_s": round(staged.span.wall_s, 3),
            "encoder_inputs": stages.encoder_inputs,
        },
        "maxrss_mib_after": rss_after_pipeline,
    }


# --------------------------------------------------------------------------- command line


def cli_executable() -> list[str]:
    """How to start ``feedback-nlp``: the console script next to this interpreter if any."""
    script = Path(sys.executable).parent / "feedback-nlp"
    if script.is_file():
        return [str(script)]
    found = shutil.which("feedback-nlp")
    if found:
        return [found]
    return [sys.executable, "-c", "from feedback_nlp.cli import app; app()"]


#: Runs in a fresh, small interpreter that starts the CLI and reports its rusage as JSON.
#: Linux carries a process's RSS high-water mark across fork + exec, so a CLI forked straight
#: from this (model-holding) process would report this process's peak, not its own; forked
#: from the small helper, the child's ``ru_maxrss`` is its own.
_WAIT4_HELPER = """
import json, os, subprocess, sys, time
start = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
wall = time.perf_counter() - start
print(json.dumps({"rc": os.waitstatus_to_exitcode(status), "wall_s": wall,
                  "cpu_s": usage.ru_utime + usage.ru_stime, "maxrss_kib": usage.ru_maxrss}))
"""


def run_cli(records_path: Path, out_path: Path, model: Path, batch_size: int, expected: int) -> dict[str, Any]:
    """Run ``feedback-nlp classify`` once; wall time, CPU time and the child's peak RSS.

    The wall time runs from starting the CLI process to its exit (interpreter start-up, imports,
    model load, reading, classifying, writing), measured by the helper that starts it.
    """
    command = [
        *cli_executable(),
        "classify",
        str(records_path),
        "-o",
        str(out_path),
        "--model",
        str(model),
        "--batch-size",
        str(batch_size),
        "--no-progress",
    ]
    load_before = load_average()
    done = subprocess.run([sys.executable, "-c", _WAIT4_HELPER, *command], capture_output=True, text=True, check=False)
    load_after = load_average()
    try:
        usage = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        raise SystemExit(f"error: could not run {' '.join(command)}:\n{done.stderr[-2000:]}") from None
    if usage["rc"] != 0:
        raise SystemExit(f"error: {' '.join(command)} exited {usage['rc']}:\n{done.stderr[-2000:]}")
    with out_path.open(encoding="utf-8") as handle:
        written = sum(1 for line in handle if line.strip())
    if written != expected:
        raise SystemExit(f"error: the CLI wrote {written} predictions for {expected} records")
    return {
        "command": " ".join(command),
        "records": expected,
        "wall_s": round(usage["wall_s"], 3),
        "cpu_s": round(usage["cpu_s"], 3),
        "cpu_utilisation": round(usage["cpu_s"] / usage["wall_s"], 2),
        "maxrss_mib": round(usage["maxrss_kib"] / 1024, 1),
        "load_before": load_before,
        "load_after": load_after,
    }


def measure_cli(corpus: Corpus, model: Path, batch_size: int, workdir: Path, repeats: int) -> dict[str, Any]:
    """End-to-end CLI runs on the corpus, and 1-record runs for the start-up cost (best of ``repeats``)."""
    full = workdir / f"{corpus.name}.jsonl"
    one = workdir / f"{corpus.name}_1.jsonl"
    lines = [json.dumps({"id": str(i), "kind": corpus.kind, "text": t}) for i, t in enumerate(corpus.texts)]
    full.write_text("\n".join(lines) + "\n", encoding="utf-8")
    one.write_text(lines[0] + "\n", encoding="utf-8")
    singles, wholes = [], []
    for _ in range(repeats):
        singles.append(run_cli(one, workdir / "out_1.jsonl", model, batch_size, 1))
        wholes.append(run_cli(full, workdir / "out.jsonl", model, batch_size, len(lines)))
    single = min(singles, key=lambda r: r["wall_s"])
    whole = min(wholes, key=lambda r: r["wall_s"])
    n = len(lines)
    marginal = whole["wall_s"] - single["wall_s"]
    return {
        "texts": n,
        "end_to_end_texts_per_s": round(n / whole["wall_s"], 1),
        "marginal_texts_per_s": round((n - 1) / marginal, 1) if marginal > 0 else None,
        "startup_s": single["wall_s"],
        "run": whole,
        "one_record_run": single,
        "all_wall_s": [r["wall_s"] for r in wholes],
        "all_one_record_wall_s": [r["wall_s"] for r in singles],
    }


# --------------------------------------------------------------------------- report


def _runs(walls: Sequence[float]) -> str:
    """The fastest run, then every run in brackets: ``11.7 (11.7, 13.0)``."""
    if len(walls) == 1:
        return f"{walls[0]:.1f}"
    return f"{min(walls):.1f} ({', '.join(f'{w:.1f}' for w in walls)})"


def render(result: dict[str, Any]) -> list[str]:
    """The Markdown report."""
    lines = md_header("Classification speed (`feedback-nlp classify`)", result)
    model = result["model"]
    lines += [f"- Model: `{model['path']}` ({model['version']})"]
    if model.get("note"):
        lines += [f"- **Note:** {model['note']}"]
    lines += [
        f"- Batch size {result['settings']['batch_size']} records; every figure is the fastest of "
        f"{result['settings']['repeats']} run(s) (all run times are in the JSON); "
        f"model load {result['in_process']['load_s']:.1f} s (excluded in process), "
        f"lanes {max((c.get('lanes', 1) for c in result['in_process']['corpora'].values()), default=1)}, "
        f"RSS after load {result['in_process']['maxrss_mib_after_load']} MiB",
    ]
    for name, c in result["in_process"]["corpora"].items():
        lines += [f"- {name}: {c['origin']}"]
    lines += ["", "## In process (`load_pipeline()` once, `predict` in batches)", ""]
    rows = []
    for name, c in result["in_process"]["corpora"].items():
        p, e = c["pipeline"], c["encoder_only"]
        rows.append(
            [
                name,
                c["texts"],
                f"{c['mean_chars']:.0f}",
                f"{c['mean_segments_per_text']:.2f}",
                f"**{p['texts_per_s']:.1f}**",
                f"{e['texts_per_s']:.1f}",
                _runs(p["all_wall_s"]),
                f"{p['best']['cpu_utilisation']:.2f}",
                f"{c['texts'] / p['best']['cpu_s']:.1f}",
                fmt_load(p["best"]["load_before"], p["best"]["load_after"]),
                c["maxrss_mib_after"],
            ]
        )
    lines += md_table(
        [
            "texts",
            "n",
            "mean chars",
            "segments/text",
            "pipeline texts/s",
            "encoder-only texts/s",
            "pipeline wall s (all runs)",
            "CPU s / wall s",
            "texts per CPU s",
            "load 1-min before → after",
            "peak RSS MiB (process so far)",
        ],
        rows,
    )
    lines += [
        "",
        "Encoder-only: `SentenceEncoder.encode` on the raw texts (one embedding per text). A bundle "
        "with pooled segments (`segment_vectors = pooled`) makes one encoder pass per distinct text and "
        "pools its segments' vectors from it (1.00 encoder inputs per text); one that encodes segments "
        "on their own also feeds each segment of a multi-segment text. Where the pipeline's time goes, "
        "measured in one more run with lanes off (the lanes' threads would overlap the stages; "
        "pipeline s is that run's wall time):",
        "",
    ]
    rows = []
    for name, c in result["in_process"]["corpora"].items():
        b = c["breakdown_s"]
        total = b["wall_s"]

        def share(key: str, b: dict[str, float] = b, total: float = total) -> str:
            return f"{b[key]:.2f} ({100 * b[key] / total:.0f}%)"

        rows.append(
            [
                name,
                f"{c['encoder_inputs_per_text']:.2f}",
                share("preprocessing"),
                share("encoder"),
                share("heads"),
                share("assembly_and_rest"),
                f"{total:.1f}",
            ]
        )
    lines += md_table(
        [
            "texts",
            "encoder inputs/text",
            "preprocessing s (redact, segment, normalise)",
            "encoder s",
            "heads s",
            "assembly + rest s",
            "pipeline s",
        ],
        rows,
    )
    cli = result.get("cli")
    if cli:
        lines += ["", "## Command line (`feedback-nlp classify FILE.jsonl -o OUT.jsonl`, a subprocess)", ""]
        rows = []
        for name, c in cli.items():
            r = c["run"]
            rows.append(
                [
                    name,
                    c["texts"],
                    _runs(c["all_wall_s"]),
                    _runs(c["all_one_record_wall_s"]),
                    f"**{c['end_to_end_texts_per_s']:.1f}**",
                    f"{c['marginal_texts_per_s']:.1f}" if c["marginal_texts_per_s"] else "n/a",
                    f"{r['cpu_utilisation']:.2f}",
                    f"{c['texts'] / r['cpu_s']:.1f}",
                    r["maxrss_mib"],
                    fmt_load(r["load_before"], r["load_after"]),
                ]
            )
        lines += md_table(
            [
                "texts",
                "n",
                "wall s, N records (all runs)",
                "wall s, 1 record: start-up + load (all runs)",
                "end-to-end texts/s",
                "marginal texts/s (start-up subtracted)",
                "CPU s / wall s",
                "texts per CPU s",
                "peak RSS MiB (child)",
                "load 1-min before → after",
            ],
            rows,
        )
        lines += ["", f"CLI command: `{next(iter(cli.values()))['run']['command']}`"]
    verdict = result["target"]
    labels = {
        "in_process": "in process (model loaded, all heads and segments)",
        "cli_end_to_end": "CLI end to end (start-up and model load included)",
        "cli_marginal": "CLI with start-up subtracted",
    }
    lines += [
        "",
        f"## Against the target (at least {verdict['texts_per_s']:.0f} tweet-length texts/s on 2 cores)",
        "",
        *md_table(
            ["measure", "tweet texts/s", "target met"],
            [[labels[k], v, "yes" if verdict["met"][k] else "**no**"] for k, v in verdict["measured"].items()],
        ),
        "",
        "Figures are wall-clock on a shared machine. The benchmark itself keeps about as many "
        "threads busy as torch uses (see the machine line), so a 1-minute load average near that "
        "number means the machine was otherwise idle, and one well above it means another job was "
        "competing and the texts/s shown are lower than on an idle machine. CPU s / wall s shows how "
        "much CPU a run actually got (at most the core count). Texts per CPU s is the least "
        "load-sensitive figure, but torch does not scale perfectly over threads, so multiplying it "
        "by the core count overstates an idle machine.",
    ]
    return lines


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Writes OUT_DIR/classify_speed.json and OUT_DIR/classify_speed.md.",
    )
    parser.add_argument("--n", type=int, default=2000, help="tweet-length texts (default 2000)")
    parser.add_argument("--n-long", type=int, default=1000, help="review-length texts (default 1000; 0 skips)")
    parser.add_argument(
        "--model",
        type=Path,
        default=None,
        help="bundle folder (default: the model_dir setting, models/default; runs/smoke if that has no manifest yet)",
    )
    parser.add_argument("--batch-size", type=int, default=256, help="records per predict call (default 256)")
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="timed runs of each kind (in process and CLI); the fastest counts (default 3)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for sampling the texts (default 0)")
    parser.add_argument("--skip-cli", action="store_true", help="in-process figures only")
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR, help="where the result files go")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    import logging

    logging.getLogger("transformers").setLevel(logging.ERROR)
    logging.getLogger("sentence_transformers").setLevel(logging.ERROR)

    from feedback_nlp.pipeline import load_pipeline
    from feedback_nlp.settings import get_settings
    from feedback_nlp.taxonomy.records import FeedbackRecord

    model, note = resolve_model(args.model)
    if note:
        print(f"note: {note}", file=sys.stderr)
    data_dir = get_settings().data_dir
    corpora = [tweet_corpus(data_dir, args.n, args.seed)]
    if args.n_long > 0:
        corpora.append(review_corpus(data_dir, args.n_long, args.seed))

    result: dict[str, Any] = {
        "benchmark": NAME,
        "date": now_utc(),
        "command": command_line(),
        "load_average_start": load_average(),
        "machine": {},
        "settings": {"n": args.n, "n_long": args.n_long, "batch_size": args.batch_size, "repeats": args.repeats},
    }
    with Timer() as load:
        pipeline = load_pipeline(model)
    result["machine"] = machine_info()  # after load: the torch thread count the pipeline runs with
    result["model"] = {"path": str(model), "version": pipeline.version, "note": note}
    pipeline.predict([FeedbackRecord(kind=c.kind, text=t) for c in corpora for t in c.texts[: WARMUP_RECORDS // 2]])
    result["in_process"] = {
        "load_s": round(load.span.wall_s, 2),
        "load": load.span.as_dict(),
        "maxrss_mib_after_load": maxrss_mib(),
        "corpora": {},
    }
    for corpus in corpora:
        print(f"in process: {corpus.name} ({len(corpus.texts)} texts) ...", file=sys.stderr)
        result["in_process"]["corpora"][corpus.name] = measure_in_process(
            pipeline, corpus, args.batch_size, args.repeats
        )

    if not args.skip_cli:
        result["cli"] = {}
        with tempfile.TemporaryDirectory(prefix="classify_speed_") as tmp:
            for corpus in corpora:
                print(f"command line: {corpus.name} ({len(corpus.texts)} texts) ...", file=sys.stderr)
                result["cli"][corpus.name] = measure_cli(corpus, model, args.batch_size, Path(tmp), args.repeats)

    measured = {"in_process": result["in_process"]["corpora"]["tweets"]["pipeline"]["texts_per_s"]}
    if "cli" in result:
        measured["cli_end_to_end"] = result["cli"]["tweets"]["end_to_end_texts_per_s"]
        measured["cli_marginal"] = result["cli"]["tweets"]["marginal_texts_per_s"]
    result["target"] = {
        "texts_per_s": TARGET_TEXTS_PER_S,
        "measured": measured,
        "met": {k: bool((v or 0) >= TARGET_TEXTS_PER_S) for k, v in measured.items()},
    }
    result["load_average_end"] = load_average()
    publish(NAME, args.out_dir, result, render)
    return result


if __name__ == "__main__":
    main()
