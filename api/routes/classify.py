"""Classify feedback records."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request

from api.auth import ClassifyKey
from api.batching import QueueFullError
from api.deps import BatcherDep, PipelineDep, SettingsDep
from api.limits import check_records
from api.schemas import ClassifyRequest, ClassifyResponse, ErrorBody
from feedback_nlp.taxonomy.records import FeedbackRecord, Prediction

router = APIRouter(prefix="/v1", tags=["classify"])

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "The body could not be parsed (not UTF-8 JSON)"},
    401: {"model": ErrorBody, "description": "Missing or unknown API key"},
    403: {"model": ErrorBody, "description": "The key lacks the scope"},
    413: {"model": ErrorBody, "description": "Request body over the size limit"},
    422: {"model": ErrorBody, "description": "Invalid records; the message names the field and limit"},
    429: {"model": ErrorBody, "description": "Rate limit exceeded (see Retry-After)"},
    503: {"model": ErrorBody, "description": "Queue full, model not ready or database unreachable (see Retry-After)"},
}


async def predict(request: Request, batcher: BatcherDep, records: list[FeedbackRecord]) -> list[Prediction]:
    """Run records through the shared micro-batcher; 503 with Retry-After when it is full."""
    try:
        predictions = await batcher.submit(records)
    except QueueFullError as exc:
        raise HTTPException(
            status_code=503, detail="The service is at capacity; retry shortly.", headers={"Retry-After": "1"}
        ) from exc
    request.app.state.metrics.record_predictions(predictions)
    return predictions


@router.post("/classify", response_model=ClassifyResponse, responses=ERRORS)
async def classify(
    body: ClassifyRequest, request: Request, _: ClassifyKey, pipeline: PipelineDep, batcher: BatcherDep,
    settings: SettingsDep,
) -> ClassifyResponse:
    """Classify up to 256 records; results come back in input order.

    Concurrent requests share encoder passes (micro-batching); inference runs in a worker
    thread, never on the event loop.
    """
    check_records(body.records, settings)
    predictions = await predict(request, batcher, body.records)
    # The model that answered (it may have been switched since this request arrived).
    version = predictions[0].model_version if predictions else pipeline.version
    return ClassifyResponse(results=predictions, model_version=version)
