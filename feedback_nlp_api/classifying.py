"""Classifying records for a request: the shared micro-batcher, the 503 when it is full, the
prediction metrics. Used by ``/v1/classify`` and ``/v1/feedback`` alike."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import HTTPException

from feedback_nlp.pipeline import FeedbackPipeline
from feedback_nlp.taxonomy.records import FeedbackRecord, Prediction
from feedback_nlp_api.batching import MicroBatcher, QueueFullError
from feedback_nlp_api.observability import Metrics


async def classify_records(
    records: Sequence[FeedbackRecord], batcher: MicroBatcher, metrics: Metrics
) -> list[Prediction]:
    """Run ``records`` through the shared micro-batcher; one prediction each, in order.

    Raises:
        HTTPException: 503 with ``Retry-After: 1`` when too many records are already waiting.
    """
    try:
        predictions = await batcher.submit(records)
    except QueueFullError as exc:
        raise HTTPException(
            status_code=503, detail="The service is at capacity; retry shortly.", headers={"Retry-After": "1"}
        ) from exc
    metrics.record_predictions(predictions)
    return predictions


def answering_version(predictions: Sequence[Prediction], pipeline: FeedbackPipeline) -> str:
    """The model version that answered: the predictions' own (the model may have been switched
    since the request arrived), else the served pipeline's when there was nothing to predict."""
    return predictions[0].model_version if predictions else pipeline.version
