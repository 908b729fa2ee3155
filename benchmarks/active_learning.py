"""Active-learning simulation: does the labelling selector beat random picks?

Each task (``benchmarks/_labelled_tasks.py``) is split once, stratified, into a pool whose labels
are hidden and a test set. A run starts from ``--batch`` random pool texts with their labels
revealed, then repeats for ``--rounds`` rounds: fit a classifier on the revealed texts, score
macro-F1 on the test set, and reveal the labels of ``--batch`` more pool texts chosen by the
strategy. Every strategy starts from the same random texts for a given seed and reveals the
same number of labels each round:

- ``diverse``: :func:`feedback_nlp.labelling.select_for_labelling` with its defaults (margin
  uncertainty, 10 x batch candidates, uncertainty-weighted k-means, near-duplicates skipped):
  what ``feedback-nlp label export`` does;
- ``uncertain``: the ``batch`` lowest-margin texts (plain uncertainty sampling, no diversity);
- ``random``: uniformly random texts.

The classifier is the few-shot head of custom taxonomies without label descriptions (softmax
regression, C = 10, balanced class weights) on frozen MiniLM embeddings, computed once per text
and cached (``--cache``). Reported per round: macro-F1 mean ± sd over seeds; per strategy, the mean
over rounds (area under the learning curve) and the paired difference to ``random``.

    python benchmarks/active_learning.py           # docs/benchmarks/active_learning.{json,md}
"""

from __future__ import annotations

import argparse
import logging
import sys
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
    hotel_stay_task,
    stratified_split,
    support_requests_task,
    tweet_sentiment_task,
)

NAME = "active_learning"
STRATEGIES = ["diverse", "uncertain", "random"]


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y_true, y_pred, average="macro", zero_division=0))


def fit(X: np.ndarray, y: np.ndarray, classes: list[str], seed: int):  # noqa: ANN201 - a SoftmaxHead
    from feedback_nlp.heads.linear import SoftmaxHead

    return SoftmaxHead(C=10.0, class_weight="balanced", random_state=seed).fit(X, y.tolist(), classes=classes)


def pick(
    strategy: str,
    X: np.ndarray,
    proba: np.ndarray,
    unlabelled: np.ndarray,
    labelled: np.ndarray,
    batch: int,
    rng: np.random.Generator,
    seed: int,
) -> np.ndarray:
    """Pool positions to reveal next."""
    from feedback_nlp.labelling.select import select_for_labelling, uncertainty

    if strategy == "random":
        return rng.choice(unlabelled, size=min(batch, len(unlabelled)), replace=False)
    if strategy == "uncertain":
        scores = uncertainty(proba[unlabelled])
        return unlabelled[np.argsort(-scores, kind="stable")[:batch]]
    chosen = select_for_labelling(X[unlabelled], proba[unlabelled], batch, labelled_X=X[labelled], seed=seed)
    return unlabelled[chosen.indices]


def simulate(
    X: np.ndarray,
    y: np.ndarray,
    pool: np.ndarray,
    test: np.ndarray,
    strategy: str,
    *,
    batch: int,
    rounds: int,
    seed: int,
) -> list[float]:
    """Macro-F1 after each round (round 0 = the random start), one entry per round."""
    classes = sorted(set(y.tolist()))
    rng = np.random.default_rng(seed)
    labelled = rng.choice(pool, size=batch, replace=False)  # the same start for every strategy
    pick_rng = np.random.default_rng(seed + 10_000)
    scores = []
    for step in range(rounds + 1):
        head = fit(X[labelled], y[labelled], classes, seed)
        scores.append(macro_f1(y[test], head.predict(X[test])))
        if step == rounds:
            break
        unlabelled = np.setdiff1d(pool, labelled)
        proba = np.zeros((len(X), len(classes)))
        proba[unlabelled] = head.predict_proba(X[unlabelled])
        labelled = np.concatenate([labelled, pick(strategy, X, proba, unlabelled, labelled, batch, pick_rng, seed)])
    return scores


def summarise(runs: dict[str, list[list[float]]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    random = np.asarray(runs["random"])
    for strategy, curves in runs.items():
        values = np.asarray(curves)  # (seeds, rounds + 1)
        auc = values.mean(axis=1)
        diff = auc - random.mean(axis=1)
        out[strategy] = {
            "per_round_mean": values.mean(axis=0).round(4).tolist(),
            "per_round_sd": values.std(axis=0, ddof=1).round(4).tolist()
            if len(values) > 1
            else [0.0] * values.shape[1],
            "auc_mean": float(auc.mean()),
            "auc_sd": float(auc.std(ddof=1)) if len(auc) > 1 else 0.0,
            "auc_minus_random_mean": float(diff.mean()),
            "auc_minus_random_sd": float(diff.std(ddof=1)) if len(diff) > 1 else 0.0,
            "seeds_above_random": int((diff > 0).sum()),
            "final_minus_random_mean": float((values[:, -1] - random[:, -1]).mean()),
            "per_seed": values.round(4).tolist(),
        }
    return out


def markdown(result: dict[str, Any]) -> list[str]:
    lines = md_header("Active learning: selector against random picks", result)
    lines += [
        "Macro-F1 on a fixed test split after each round (mean ± sd over seeds); round 0 is the shared",
        "random start. AUC = mean macro-F1 over rounds 0..R; Δ = paired difference to random over seeds.",
        "",
    ]
    for name, task in result["tasks"].items():
        s = task["settings"]
        lines += [
            f"## {name}",
            "",
            f"{task['about']}; pool {task['pool']} / test {task['test']}; "
            f"{s['batch']} labels a round, {s['rounds']} rounds, {s['seeds']} seeds.",
            "",
        ]
        rounds = len(task["strategies"]["random"]["per_round_mean"])
        header = [
            "strategy",
            *[f"{s['batch'] * (r + 1)} labels" for r in range(rounds)],
            "AUC",
            "Δ AUC vs random",
            "seeds > random",
        ]
        rows = []
        for strategy in STRATEGIES:
            st = task["strategies"][strategy]
            cells = [f"{m:.3f} ± {sd:.3f}" for m, sd in zip(st["per_round_mean"], st["per_round_sd"], strict=True)]
            delta = (
                "" if strategy == "random" else f"{st['auc_minus_random_mean']:+.3f} ± {st['auc_minus_random_sd']:.3f}"
            )
            above = "" if strategy == "random" else f"{st['seeds_above_random']}/{s['seeds']}"
            rows.append([strategy, *cells, f"{st['auc_mean']:.3f}", delta, above])
        lines += md_table(header, rows) + [""]
    return lines


TASKS = {
    "hotel_stay": (lambda d, a: hotel_stay_task(d), 10),
    "support_requests": (lambda d, a: support_requests_task(d, per_label=a.per_label), 11),
    "tweet_sentiment": (lambda d, a: tweet_sentiment_task(d, size=a.tweets), 20),
}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--tasks", default="hotel_stay,support_requests,tweet_sentiment")
    parser.add_argument("--batch", type=int, default=None, help="Labels revealed a round (default: per task).")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--test-fraction", type=float, default=0.4)
    parser.add_argument("--per-label", type=int, default=150, help="support_requests: texts per category.")
    parser.add_argument("--tweets", type=int, default=3000, help="tweet_sentiment: texts sampled.")
    parser.add_argument(
        "--cache", type=Path, default=Path.home() / ".cache" / "feedback-nlp" / "bench_embeddings.sqlite"
    )
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    for noisy in ("feedback_nlp", "sentence_transformers", "transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    log = logging.getLogger(NAME)

    from feedback_nlp.custom.classifier import default_encoder, model_inputs
    from feedback_nlp.settings import get_settings

    data_dir = args.data_dir or get_settings().data_dir
    encoder = CachedEncoder(default_encoder(), args.cache)
    result: dict[str, Any] = {
        "date": now_utc(),
        "command": command_line(),
        "machine": machine_info(),
        "load_average_start": load_average(),
        "settings": vars(args) | {"cache": str(args.cache), "out_dir": str(args.out_dir), "data_dir": str(data_dir)},
        "tasks": {},
    }
    for name in args.tasks.split(","):
        build, default_batch = TASKS[name]
        task = build(data_dir, args)
        batch = args.batch or default_batch
        y = np.asarray(task.labels)
        pool, test = stratified_split(y, args.test_fraction, 0)
        with Timer() as embed_timer:
            X = encoder.encode(model_inputs(task.texts))
        log.info("%s: %d texts embedded in %.0f s", name, len(X), embed_timer.span.wall_s)
        runs: dict[str, list[list[float]]] = {s: [] for s in STRATEGIES}
        with Timer() as timer:
            for seed in range(args.seeds):
                for strategy in STRATEGIES:
                    runs[strategy].append(
                        simulate(X, y, pool, test, strategy, batch=batch, rounds=args.rounds, seed=seed)
                    )
                log.info("%s seed %d: final %s", name, seed, {s: round(runs[s][-1][-1], 3) for s in STRATEGIES})
        result["tasks"][name] = {
            "about": task.about,
            "pool": int(len(pool)),
            "test": int(len(test)),
            "label_counts": task.label_counts(),
            "settings": {"batch": batch, "rounds": args.rounds, "seeds": args.seeds},
            "strategies": summarise(runs),
            "time": {"embed": embed_timer.span.as_dict(), "simulate": timer.span.as_dict()},
        }
    result["texts_encoded_this_run"] = encoder.encoded
    json_path, md_path = write_results(NAME, args.out_dir, result, markdown(result))
    print(f"wrote {json_path} and {md_path}")


if __name__ == "__main__":
    main()
