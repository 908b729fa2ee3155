"""Error analysis against a gold table: one row per text with its gold and predicted labels,
the most confident mistakes, metrics per group, and per-label comparisons of models.

Examples:
    >>> gold = sample_gold(prepare_gold(load_gold(path)), per_source=20)        # doctest: +SKIP
    >>> frame = prediction_frame(gold, pipeline.predict(gold_records(gold)))      # doctest: +SKIP
    >>> confident_mistakes(frame, "sentiment", n=5)                               # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol

import numpy as np
import pandas as pd

from feedback_nlp.errors import InputError
from feedback_nlp.taxonomy.labels import SENTIMENT_LABELS
from feedback_nlp.taxonomy.records import Prediction
from feedback_nlp.train.evaluate import headline
from feedback_nlp.train.metrics import multi_label_report, single_label_report

SingleTask = Literal["sentiment", "journey_stage"]
"""The single-label tasks: their gold column, ``<task>_pred`` and ``<task>_confidence``."""

SINGLE_TASKS: tuple[str, ...] = ("sentiment", "journey_stage")
REPORT_TASKS: tuple[str, ...] = ("sentiment", "journey_stage", "touchpoints")


def sample_gold(gold: pd.DataFrame, per_source: int | None, *, seed: int = 42) -> pd.DataFrame:
    """At most ``per_source`` rows of each source (all rows when None), in the original order.

    For quick runs (notebooks in CI); figures on a sample are noisier than on the whole set.
    """
    if per_source is None:
        return gold.reset_index(drop=True)
    if per_source < 1:
        raise InputError(f"per_source must be at least 1 (or None for every row), got {per_source}")
    parts = [rows.sample(n=min(per_source, len(rows)), random_state=seed) for _, rows in gold.groupby("source")]
    return pd.concat(parts).sort_index().reset_index(drop=True)


def prediction_frame(gold: pd.DataFrame, predictions: Sequence[Prediction]) -> pd.DataFrame:
    """Gold labels beside the predictions, one row per gold text.

    Columns: ``id``, ``source``, ``kind``, ``text``; for sentiment and journey stage the gold
    label, ``<task>_pred``, ``<task>_confidence`` (the predicted label's probability) and
    ``<task>_correct``; ``touchpoints`` and ``touchpoints_pred`` (sorted lists),
    ``touchpoints_missed`` and ``touchpoints_extra``.

    Raises:
        InputError: the two differ in length.
    """
    if len(gold) != len(predictions):
        raise InputError(
            f"expected one prediction per gold row, got {len(gold)} row(s) and {len(predictions)} prediction(s)"
        )
    gold = gold.reset_index(drop=True)
    sentiment_conf = [(p.sentiment.probabilities or {}).get(p.sentiment.label, np.nan) for p in predictions]
    frame = pd.DataFrame(
        {
            "id": gold["id"].astype(str),
            "source": gold["source"],
            "kind": gold["kind"],
            "text": gold["text"],
            "sentiment": gold["sentiment"],
            "sentiment_pred": [p.sentiment.label for p in predictions],
            "sentiment_confidence": sentiment_conf,
            "journey_stage": gold["journey_stage"],
            "journey_stage_pred": [p.journey_stage.label for p in predictions],
            "journey_stage_confidence": [p.journey_stage.confidence for p in predictions],
            "touchpoints": [sorted(t) for t in gold["touchpoints"]],
            "touchpoints_pred": [sorted(t.label for t in p.touchpoints) for p in predictions],
        }
    )
    for task in SINGLE_TASKS:
        frame[f"{task}_correct"] = frame[task] == frame[f"{task}_pred"]
    frame["touchpoints_missed"] = [
        sorted(set(g) - set(p)) for g, p in zip(frame["touchpoints"], frame["touchpoints_pred"], strict=True)
    ]
    frame["touchpoints_extra"] = [
        sorted(set(p) - set(g)) for g, p in zip(frame["touchpoints"], frame["touchpoints_pred"], strict=True)
    ]
    return frame


def confident_mistakes(frame: pd.DataFrame, task: SingleTask, n: int = 10) -> pd.DataFrame:
    """The ``n`` wrong predictions of ``task`` the model was surest of, most confident first.

    These are where the model is most misled, or where the gold label itself may be wrong.
    """
    _check_task(task)
    wrong = frame[~frame[f"{task}_correct"]]
    wrong = wrong.sort_values(f"{task}_confidence", ascending=False, kind="stable").head(n)
    return (
        wrong[["id", "source", "kind", task, f"{task}_pred", f"{task}_confidence", "text"]]
        .rename(columns={task: "gold", f"{task}_pred": "predicted", f"{task}_confidence": "confidence"})
        .reset_index(drop=True)
    )


def frame_report(frame: pd.DataFrame, stages: Sequence[str], touchpoints: Sequence[str]) -> dict[str, Any]:
    """The three task reports (as :func:`~feedback_nlp.train.evaluate.score_predictions`) from a prediction frame."""
    return {
        "sentiment": single_label_report(list(frame["sentiment"]), list(frame["sentiment_pred"]), SENTIMENT_LABELS),
        "journey_stage": single_label_report(list(frame["journey_stage"]), list(frame["journey_stage_pred"]), stages),
        "touchpoints": multi_label_report(list(frame["touchpoints"]), list(frame["touchpoints_pred"]), touchpoints),
    }


def metrics_by(frame: pd.DataFrame, by: str, stages: Sequence[str], touchpoints: Sequence[str]) -> pd.DataFrame:
    """Headline metrics per value of ``by`` (``source``, ``kind``, ...), one row each plus ``n``."""
    if by not in frame.columns:
        raise InputError(f"cannot group by '{by}': the frame's columns are {list(frame.columns)}")
    rows = []
    for value, group in frame.groupby(by, sort=True):
        rows.append({by: value, "n": len(group), **headline(frame_report(group, stages, touchpoints))})
    return pd.DataFrame(rows)


def touchpoint_counts(frame: pd.DataFrame, labels: Sequence[str]) -> pd.DataFrame:
    """Per touchpoint: gold support, true positives, false positives, false negatives and F1
    (the multi-label counterpart of a confusion matrix)."""
    rows = []
    for label in labels:
        gold = frame["touchpoints"].map(lambda t, label=label: label in t).to_numpy()
        pred = frame["touchpoints_pred"].map(lambda t, label=label: label in t).to_numpy()
        tp, fp, fn = int((gold & pred).sum()), int((~gold & pred).sum()), int((gold & ~pred).sum())
        rows.append(
            {"touchpoint": label, "support": int(gold.sum()), "tp": tp, "fp": fp, "fn": fn,
             "f1": 2 * tp / (2 * tp + fp + fn) if tp else 0.0}
        )  # fmt: skip
    return pd.DataFrame(rows)


def confusion_frame(report: Mapping[str, Any]) -> pd.DataFrame:
    """A single-label report's confusion matrix as a table: gold labels down, predictions across."""
    labels = report["confusion"]["labels"]
    table = pd.DataFrame(report["confusion"]["matrix"], index=labels, columns=labels)
    table.index.name, table.columns.name = "gold", "predicted"
    return table


def compare_headlines(reports: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """The headline metrics of several reports side by side: one column per model name."""
    return pd.DataFrame({name: headline(dict(report)) for name, report in reports.items()})


def compare_per_label(reports: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Per-label F1 of several models on the same texts: ``task``, ``label``, ``support``, one
    ``f1_<name>`` column per model and, for two models, ``delta`` (second minus first)."""
    names = list(reports)
    if not names:
        raise InputError("compare_per_label needs at least one report")
    rows = []
    for task in REPORT_TASKS:
        labels: dict[str, int] = {}
        for report in reports.values():
            for label, values in report[task]["per_label"].items():
                labels[label] = max(labels.get(label, 0), int(values["support"]))
        for label, support in labels.items():
            row: dict[str, Any] = {"task": task, "label": label, "support": support}
            for name in names:
                row[f"f1_{name}"] = reports[name][task]["per_label"].get(label, {}).get("f1", 0.0)
            rows.append(row)
    table = pd.DataFrame(rows)
    if len(names) == 2:
        table["delta"] = table[f"f1_{names[1]}"] - table[f"f1_{names[0]}"]
    return table


class TextClassifier(Protocol):
    """Anything that labels a list of texts (a custom-taxonomy classifier, a baseline)."""

    def predict(self, texts: list[str]) -> list[str]:
        """One label per text, in order."""
        ...


def compare_classifiers(
    classifiers: Mapping[str, TextClassifier],
    texts: Sequence[str],
    labels: Sequence[str],
    label_names: Sequence[str],
) -> tuple[dict[str, dict[str, Any]], pd.DataFrame]:
    """Score several single-label classifiers on the same labelled texts.

    Returns each classifier's :func:`~feedback_nlp.train.metrics.single_label_report` and a table
    of their macro-F1 and accuracy, one column per classifier.

    Raises:
        InputError: texts and labels differ in length.
    """
    if len(texts) != len(labels):
        raise InputError(f"expected one label per text, got {len(texts)} text(s) and {len(labels)} label(s)")
    reports = {
        name: single_label_report(list(labels), list(classifier.predict(list(texts))), label_names)
        for name, classifier in classifiers.items()
    }
    table = pd.DataFrame({name: {"macro_f1": r["macro_f1"], "accuracy": r["accuracy"]} for name, r in reports.items()})
    return reports, table


def per_label_f1(reports: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """F1 per label (rows) of several single-label reports (columns)."""
    return pd.DataFrame(
        {
            name: {label: values["f1"] for label, values in report["per_label"].items()}
            for name, report in reports.items()
        }
    )


def _check_task(task: str) -> None:
    if task not in SINGLE_TASKS:
        raise InputError(f"task must be one of {list(SINGLE_TASKS)}, got {task!r}")
