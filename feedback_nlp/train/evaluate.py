"""Evaluation against the hand-labelled gold set, through the full prediction path."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from feedback_nlp.taxonomy.labels import SENTIMENT_LABELS
from feedback_nlp.taxonomy.records import FeedbackKind, FeedbackRecord, Prediction
from feedback_nlp.train.datasets import load_gold
from feedback_nlp.train.metrics import expected_calibration_error, multi_label_report, single_label_report

#: The gold set's kinds, as record kinds.
GOLD_KINDS = {
    "complaint": FeedbackKind.SURVEY,
    "support_message": FeedbackKind.SURVEY,
    "review": FeedbackKind.REVIEW,
    "social": FeedbackKind.SOCIAL,
}


REQUIRED_GOLD_COLUMNS = ("text", "sentiment", "journey_stage", "touchpoints")


def prepare_gold(gold: pd.DataFrame, path: Path | str = "gold") -> pd.DataFrame:
    """Check a gold table's columns and fill the optional ones (id, kind, source)."""
    from feedback_nlp.errors import DataError

    missing = [c for c in REQUIRED_GOLD_COLUMNS if c not in gold.columns]
    if missing:
        raise DataError(
            f"{path} lacks the column(s) {missing}; each line needs text, sentiment, "
            f"journey_stage and touchpoints (a list). Found: {sorted(gold.columns)}"
        )
    gold = gold.reset_index(drop=True).copy()
    if "id" not in gold.columns:
        gold["id"] = [str(i + 1) for i in range(len(gold))]
    if "kind" not in gold.columns:
        gold["kind"] = "survey"
    if "source" not in gold.columns:
        gold["source"] = "all"
    return gold


def _record_kind(value: str) -> FeedbackKind:
    if value in GOLD_KINDS:
        return GOLD_KINDS[value]
    try:
        return FeedbackKind(value)
    except ValueError:
        return FeedbackKind.SURVEY


def gold_records(gold: pd.DataFrame) -> list[FeedbackRecord]:
    """The gold rows as feedback records."""
    return [
        FeedbackRecord(
            id=str(row.id),
            kind=_record_kind(row.kind),
            text=row.text,
        )
        for row in gold.itertuples()
    ]


def score_predictions(
    gold: pd.DataFrame, predictions: Sequence[Prediction], stages: Sequence[str], touchpoints: Sequence[str]
) -> dict[str, Any]:
    """Sentiment, journey-stage and touchpoint reports for predictions aligned with ``gold``."""
    sentiment = [p.sentiment.label for p in predictions]
    stage = [p.journey_stage.label for p in predictions]
    tps = [[t.label for t in p.touchpoints] for p in predictions]
    sentiment_confidence = [max((p.sentiment.probabilities or {"": 1.0}).values()) for p in predictions]
    return {
        "sentiment": single_label_report(list(gold["sentiment"]), sentiment, SENTIMENT_LABELS),
        "journey_stage": single_label_report(list(gold["journey_stage"]), stage, stages),
        "touchpoints": multi_label_report(list(gold["touchpoints"]), tps, touchpoints),
        "calibration": {
            "sentiment_ece": expected_calibration_error(
                sentiment_confidence, [a == b for a, b in zip(sentiment, gold["sentiment"], strict=True)]
            ),
            "journey_stage_ece": expected_calibration_error(
                [p.journey_stage.confidence for p in predictions],
                [a == b for a, b in zip(stage, gold["journey_stage"], strict=True)],
            ),
        },
    }


def headline(report: dict[str, Any]) -> dict[str, float]:
    """The numbers the targets are stated in (and the calibration errors, where the report has them)."""
    calibration = report.get("calibration", {})
    return {
        "sentiment_macro_f1": report["sentiment"]["macro_f1"],
        "sentiment_accuracy": report["sentiment"]["accuracy"],
        "journey_stage_macro_f1": report["journey_stage"]["macro_f1"],
        "journey_stage_accuracy": report["journey_stage"]["accuracy"],
        "touchpoints_micro_f1": report["touchpoints"]["micro_f1"],
        "touchpoints_macro_f1": report["touchpoints"]["macro_f1"],
        **calibration,
    }


def evaluate_gold(pipeline: Any, gold_path: Path) -> dict[str, Any]:
    """Run ``pipeline`` over the gold set; overall and per-source reports."""
    gold = prepare_gold(load_gold(gold_path), gold_path)
    return evaluate_frame(pipeline, gold)


def evaluate_frame(pipeline: Any, gold: pd.DataFrame) -> dict[str, Any]:
    """Run ``pipeline`` over a prepared gold table (e.g. a sample of it); as :func:`evaluate_gold`."""
    predictions = pipeline.predict(gold_records(gold))
    return evaluate_predictions(gold, predictions, pipeline.taxonomy.stage_labels, pipeline.taxonomy.touchpoint_labels)


def evaluate_predictions(
    gold: pd.DataFrame, predictions: Sequence[Prediction], stages: Sequence[str], touchpoints: Sequence[str]
) -> dict[str, Any]:
    """Overall, per-source and headline reports for predictions aligned with a prepared ``gold``."""
    gold = gold.reset_index(drop=True)
    report = score_predictions(gold, predictions, stages, touchpoints)
    for column in ("source", "kind"):
        report[f"by_{column}"] = {}
        for value, rows in gold.groupby(column):
            subset = [predictions[gold.index.get_loc(i)] for i in rows.index]
            report[f"by_{column}"][value] = headline(
                score_predictions(rows.reset_index(drop=True), subset, stages, touchpoints)
            ) | {
                "none_rate_predicted": sum(p.journey_stage.label == "none" for p in subset) / len(subset),
                "none_rate_labelled": float((rows["journey_stage"] == "none").mean()),
            }
    report["headline"] = headline(report)
    return report
