"""The loaded model."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.auth import ReadKey
from api.deps import PipelineDep
from api.routes.classify import ERRORS

router = APIRouter(prefix="/v1/models", tags=["models"])


@router.get("/current", responses={k: ERRORS[k] for k in (401, 403, 429, 503)})
def current_model(_: ReadKey, pipeline: PipelineDep) -> dict[str, Any]:
    """The loaded bundle's manifest: version, taxonomy, labels, encoder hash, data, metrics."""
    return pipeline.manifest
