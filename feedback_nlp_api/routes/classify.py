"""Classify feedback records."""

from __future__ import annotations

from fastapi import APIRouter

from feedback_nlp_api.auth import ClassifyKey
from feedback_nlp_api.classifying import answering_version, classify_records
from feedback_nlp_api.deps import BatcherDep, MetricsDep, PipelineDep, SettingsDep
from feedback_nlp_api.limits import check_records
from feedback_nlp_api.responses import ERRORS
from feedback_nlp_api.schemas import ClassifyRequest, ClassifyResponse

router = APIRouter(prefix="/v1", tags=["classify"])


@router.post("/classify", response_model=ClassifyResponse, responses=ERRORS)
async def classify(
    body: ClassifyRequest,
    _: ClassifyKey,
    pipeline: PipelineDep,
    batcher: BatcherDep,
    metrics: MetricsDep,
    settings: SettingsDep,
) -> ClassifyResponse:
    """Classify up to 256 records; results come back in input order.

    Concurrent requests share encoder passes (micro-batching); inference runs in a worker
    thread, never on the event loop.
    """
    check_records(body.records, settings)
    predictions = await classify_records(body.records, batcher, metrics)
    return ClassifyResponse(results=predictions, model_version=answering_version(predictions, pipeline))
