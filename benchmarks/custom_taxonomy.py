"""Custom taxonomies: macro-F1 against the number of labelled examples per label.

For each task (``benchmarks/_labelled_tasks.py``) the texts are split once, stratified, into a
pool and a test set (``--test-fraction``). At each point of the curve ``k`` examples per label
are drawn at random from the pool (``all``: the whole pool), several times (``--draws``), and
every method is fitted on the same draw and scored on the same test set:

- ``zero-shot``: label descriptions only (``k = 0``), fixed temperature, labels centred on the
  other descriptions; ``zero-shot, centred on pool``: the same, centred on the pool's texts
  (unlabelled: their labels are not read).
- ``few-shot``: :func:`feedback_nlp.custom.fit_custom_taxonomy` with its defaults (softmax
  regression on frozen MiniLM embeddings, C = 10, each description as one more example,
  temperature from cross-validation); ``few-shot, no descriptions``: examples only.
- ``few-shot + contrastive``: SetFit-style fine-tuning of the top three layers first
  (defaults: 30 steps of 32 examples), at ``--contrastive-points`` only, on the first task only.
- ``TF-IDF + LR``: word 1-2-gram TF-IDF (sublinear tf) and scikit-learn logistic regression
  (C = 10, balanced class weights) on the same examples.

Reported: macro-F1 (mean ± sd over draws), and the expected calibration error (ECE, 15 bins of the
top probability) of the embedding methods. Embeddings of the base encoder are computed once per
text and cached (``--cache``); contrastive runs encode with their own tuned copy.

    python benchmarks/custom_taxonomy.py                   # docs/benchmarks/custom_taxonomy.{json,md}
    python benchmarks/custom_taxonomy.py --draws 2 --points 0,8 --contrastive-points ""   # a quick look
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    DEFAULT_OUT_DIR,
    Timer,
    command_line,
    load_average,
    machine_info,
    md_header,
    md_table,
    now_utc,
    write_results,
)
from _labelled_tasks import (  # noqa: E402
    CachedEncoder,
    Task,
    draw_per_label,
    hotel_stay_task,
    stratified_split,
    support_requests_task,
)

NAME = "custom_taxonomy"
TASKS = {"hotel_stay": hotel_stay_task, "support_requests": support_requests_task}

ZERO = "zero-shot"
ZERO_CENTRED = "zero-shot, centred on pool"
FEW = "few-shot"
FEW_NO_DESC = "few-shot, no descriptions"
CONTRASTIVE = "few-shot + contrastive"
TFIDF = "TF-IDF + LR"
METHODS = [ZERO, ZERO_CENTRED, FEW, FEW_NO_DESC, CONTRASTIVE, TFIDF]


def macro_f1(y_true: Sequence[str], y_pred: Sequence[str]) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(list(y_true), list(y_pred), average="macro", zero_division=0))


def expected_calibration_error(proba: np.ndarray, y_true: np.ndarray, labels: list[str], bins: int = 15) -> float:
    """Mean |accuracy - confidence| over equal-width bins of the top probability, weighted by bin size."""
    confidence = proba.max(axis=1)
    correct = np.asarray(labels)[proba.argmax(axis=1)] == y_true
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        inside = (confidence > lo) & (confidence <= hi)
        if inside.any():
            total += inside.mean() * abs(correct[inside].mean() - confidence[inside].mean())
    return float(total)


def tfidf_lr(train_texts: Sequence[str], train_y: Sequence[str], test_texts: Sequence[str], seed: int) -> list[str]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
        LogisticRegression(C=10.0, class_weight="balanced", max_iter=2000, random_state=seed),
    )
    model.fit(list(train_texts), list(train_y))
    return model.predict(list(test_texts)).tolist()


class Run:
    """One task's split, encoder and scoring."""

    def __init__(
        self, task: Task, encoder: CachedEncoder, raw_encoder: object, test_fraction: float, seed: int
    ) -> None:
        from feedback_nlp.custom import load_spec

        self.task = task
        self.spec = load_spec(task.spec_path)  # type: ignore[arg-type]
        self.encoder = encoder
        self.raw_encoder = raw_encoder
        self.texts = np.asarray(task.texts, dtype=object)
        self.labels = np.asarray(task.labels)
        self.pool, self.test = stratified_split(self.labels, test_fraction, seed)
        self.test_texts = list(self.texts[self.test])
        self.y_test = self.labels[self.test]

    def score(self, classifier: Any) -> dict[str, float]:
        proba = classifier.predict_proba(self.test_texts)
        predicted = [classifier.labels[int(i)] for i in proba.argmax(axis=1)]
        return {
            "macro_f1": macro_f1(self.y_test, predicted),
            "ece": expected_calibration_error(proba, self.y_test, classifier.labels),
        }

    def examples(self, rows: np.ndarray) -> list[Any]:
        from feedback_nlp.custom import LabelledText

        return [LabelledText(str(self.texts[i]), str(self.labels[i])) for i in rows]


def zero_shot(run: Run) -> dict[str, dict[str, float]]:
    from feedback_nlp.custom import fit_custom_taxonomy

    plain = fit_custom_taxonomy(run.spec, encoder=run.encoder)
    centred = fit_custom_taxonomy(run.spec, encoder=run.encoder, unlabelled=list(run.texts[run.pool]))
    return {ZERO: run.score(plain), ZERO_CENTRED: run.score(centred)}


def few_shot_draw(run: Run, rows: np.ndarray, seed: int, contrastive: bool) -> dict[str, dict[str, float]]:
    from feedback_nlp.custom import ContrastiveOptions, FitOptions, fit_custom_taxonomy

    examples = run.examples(rows)
    out = {
        FEW: run.score(fit_custom_taxonomy(run.spec, examples, encoder=run.encoder, options=FitOptions(seed=seed))),
        FEW_NO_DESC: run.score(
            fit_custom_taxonomy(
                run.spec, examples, encoder=run.encoder, options=FitOptions(seed=seed, description_weight=0.0)
            )
        ),
        TFIDF: {"macro_f1": macro_f1(run.y_test, tfidf_lr(run.texts[rows], run.labels[rows], run.test_texts, seed))},
    }
    if contrastive:
        start = time.perf_counter()
        options = FitOptions(seed=seed, contrastive=ContrastiveOptions())
        tuned = fit_custom_taxonomy(run.spec, examples, encoder=run.raw_encoder, options=options)  # type: ignore[arg-type]
        fit_s = time.perf_counter() - start
        out[CONTRASTIVE] = {**run.score(tuned), "fit_s": fit_s}
    return out


def summarise(values: list[float]) -> dict[str, float]:
    return {
        "mean": float(np.mean(values)),
        "sd": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
        "n": len(values),
        "values": [round(float(v), 4) for v in values],
    }


def run_task(
    run: Run,
    points: list[int | None],
    draws: int,
    contrastive_points: set[int],
    contrastive_draws: int,
    log: logging.Logger,
) -> dict[str, Any]:
    curve: dict[str, dict[str, Any]] = {}
    for k in points:
        key = "all" if k is None else str(k)
        if k == 0:
            for method, metrics in zero_shot(run).items():
                curve.setdefault(method, {})[key] = {m: summarise([v]) for m, v in metrics.items()}
            log.info("%s k=0 done", run.task.name)
            continue
        collected: dict[str, dict[str, list[float]]] = {}
        n_draws = 1 if k is None else draws
        for draw in range(n_draws):
            rows = draw_per_label(run.labels, run.pool, k, np.random.default_rng(1000 + draw))
            tuned = k in contrastive_points and draw < contrastive_draws
            for method, metrics in few_shot_draw(run, rows, draw, tuned).items():
                for name, value in metrics.items():
                    collected.setdefault(method, {}).setdefault(name, []).append(value)
            log.info("%s k=%s draw %d done", run.task.name, key, draw)
        for method, metrics in collected.items():
            curve.setdefault(method, {})[key] = {name: summarise(values) for name, values in metrics.items()}
        if k is None:
            curve.setdefault("_examples", {})["all"] = int(len(run.pool))
    return curve


def markdown(result: dict[str, Any]) -> list[str]:
    lines = md_header("Custom taxonomies: learning curves", result)
    lines += [
        "Macro-F1 on a fixed test split against labelled examples per label (mean ± sd over random draws;",
        "`all` is the whole pool, one fit). Methods: see `benchmarks/custom_taxonomy.py`.",
        "",
    ]
    for name, task in result["tasks"].items():
        points = task["points"]
        lines += [
            f"## {name}",
            "",
            f"{task['about']}; {task['n_texts']} texts, {task['n_labels']} labels, "
            f"pool {task['pool']} / test {task['test']}; labels {task['label_counts']}.",
            "",
        ]
        rows = []
        for method in METHODS:
            cells = task["curve"].get(method)
            if not cells:
                continue
            row = [method]
            for point in points:
                cell = cells.get(point)
                row.append("" if cell is None else _cell(cell["macro_f1"]))
            rows.append(row)
        lines += md_table(["method", *[f"k={p}" for p in points]], rows)
        lines += ["", "Expected calibration error of the top probability (lower is better):", ""]
        rows = []
        for method in (ZERO, ZERO_CENTRED, FEW, FEW_NO_DESC, CONTRASTIVE):
            cells = task["curve"].get(method)
            if cells:
                rows.append(
                    [method]
                    + [
                        "" if cells.get(p) is None or "ece" not in cells[p] else f"{cells[p]['ece']['mean']:.3f}"
                        for p in points
                    ]
                )
        lines += md_table(["method", *[f"k={p}" for p in points]], rows)
        tuned = task["curve"].get(CONTRASTIVE, {})
        if tuned:
            lines += ["", "Contrastive fine-tuning against plain few-shot on the same draws (paired):", ""]
            rows = []
            for point, cell in tuned.items():
                tuned_f1 = np.asarray(cell["macro_f1"]["values"])
                plain_f1 = np.asarray(task["curve"][FEW][point]["macro_f1"]["values"][: len(tuned_f1)])
                diff = tuned_f1 - plain_f1
                times = cell["fit_s"]["values"]
                rows.append(
                    [
                        f"k={point}",
                        len(diff),
                        f"{plain_f1.mean():.3f}",
                        f"{tuned_f1.mean():.3f}",
                        f"{diff.mean():+.3f} ({', '.join(f'{d:+.3f}' for d in diff)})",
                        f"{min(times):.0f}-{max(times):.0f} s",
                    ]
                )
            lines += md_table(
                ["point", "draws", "few-shot", "+ contrastive", "difference (per draw)", "contrastive fit time"], rows
            )
        lines.append("")
    return lines


def _cell(stats: dict[str, float]) -> str:
    return f"{stats['mean']:.3f}" if stats["n"] == 1 else f"{stats['mean']:.3f} ± {stats['sd']:.3f}"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=None, help="Default: the FEEDBACK_NLP_DATA_DIR setting.")
    parser.add_argument("--tasks", default="hotel_stay,support_requests")
    parser.add_argument("--points", default="0,4,8,16,32,all", help="Examples per label; 'all' = the whole pool.")
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--contrastive-points", default="8,16", help="k values with contrastive runs ('' = none).")
    parser.add_argument("--contrastive-draws", type=int, default=3)
    parser.add_argument("--test-fraction", type=float, default=0.4)
    parser.add_argument("--per-label", type=int, default=150, help="support_requests: texts per category.")
    parser.add_argument("--seed", type=int, default=0, help="Seeds the split.")
    parser.add_argument(
        "--cache", type=Path, default=Path.home() / ".cache" / "feedback-nlp" / "bench_embeddings.sqlite"
    )
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    for noisy in ("feedback_nlp", "sentence_transformers", "transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    log = logging.getLogger(NAME)

    from feedback_nlp.custom.classifier import default_encoder
    from feedback_nlp.settings import get_settings

    data_dir = args.data_dir or get_settings().data_dir
    points = [None if p == "all" else int(p) for p in args.points.split(",") if p]
    contrastive_points = {int(p) for p in args.contrastive_points.split(",") if p}
    result: dict[str, Any] = {
        "date": now_utc(),
        "command": command_line(),
        "machine": machine_info(),
        "load_average_start": load_average(),
        "settings": vars(args) | {"cache": str(args.cache), "out_dir": str(args.out_dir), "data_dir": str(data_dir)},
        "tasks": {},
    }
    raw = default_encoder()
    encoder = CachedEncoder(raw, args.cache)
    for position, name in enumerate(args.tasks.split(",")):
        build = TASKS[name]
        task = build(data_dir, per_label=args.per_label) if name == "support_requests" else build(data_dir)
        run = Run(task, encoder, raw, args.test_fraction, args.seed)
        with Timer() as timer:
            curve = run_task(
                run, points, args.draws, contrastive_points if position == 0 else set(), args.contrastive_draws, log
            )
        result["tasks"][name] = {
            "about": task.about,
            "n_texts": len(task.texts),
            "n_labels": len(set(task.labels)),
            "label_counts": task.label_counts(),
            "pool": int(len(run.pool)),
            "test": int(len(run.test)),
            "points": ["all" if p is None else str(p) for p in points],
            "curve": curve,
            "time": timer.span.as_dict(),
        }
        log.info("%s done in %.0f s", name, timer.span.wall_s)
    result["texts_encoded_this_run"] = encoder.encoded
    json_path, md_path = write_results(NAME, args.out_dir, result, markdown(result))
    print(f"wrote {json_path} and {md_path}")


if __name__ == "__main__":
    main()
