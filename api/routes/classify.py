"""Classify feedback records."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import PipelineDep
from api.schemas import ClassifyRequest, ClassifyResponse

router = APIRouter(prefix="/v1", tags=["classify"])


@router.post("/classify", response_model=ClassifyResponse)
def classify(body: ClassifyRequest, pipeline: PipelineDep) -> ClassifyResponse:
    """Classify up to 256 records; results come back in input order.

    A plain ``def`` route: the model is compute-bound and runs in the thread pool, so the
    event loop keeps serving other requests.
    """
    return ClassifyResponse(results=pipeline.predict(body.records), model_version=pipeline.version)
