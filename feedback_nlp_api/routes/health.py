"""Liveness, readiness and metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from feedback_nlp.storage.db import ping
from feedback_nlp_api.deps import EngineDep, MetricsDep, ServingStateDep
from feedback_nlp_api.schemas import Health

router = APIRouter(tags=["health"])


@router.head("/health", include_in_schema=False)  # load balancers that probe with HEAD
@router.get("/health", response_model=Health)
def health() -> Health:
    """The process is alive."""
    return Health(status="ok")


@router.head("/ready", include_in_schema=False, response_model=None)
@router.get("/ready", response_model=Health, responses={503: {"model": Health}})
async def ready(serving: ServingStateDep, engine: EngineDep) -> Health | JSONResponse:
    """The model is loaded and the database answers; 503 otherwise."""
    pipeline = serving.pipeline
    database_ok = engine is not None and await run_in_threadpool(ping, engine)
    if pipeline is None or not database_ok:
        body = Health(
            status="not ready",
            model_version=getattr(pipeline, "version", None),
            database="ok" if database_ok else "unreachable",
        )
        return JSONResponse(status_code=503, content=body.model_dump(), headers={"Retry-After": "5"})
    return Health(status="ready", model_version=pipeline.version, database="ok")


@router.get("/metrics", include_in_schema=False)
def metrics(metrics: MetricsDep) -> Response:
    """Prometheus metrics: requests, latency, batch sizes, queue depth, predictions by label."""
    body, content_type = metrics.render()
    return Response(content=body, media_type=content_type)
