"""The served model, and switching to a newly promoted one."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, HTTPException

from feedback_nlp.errors import FeedbackNLPError
from feedback_nlp_api.auth import AdminKey, ReadKey
from feedback_nlp_api.deps import ModelSwitcherDep, PipelineDep, ServingStateDep
from feedback_nlp_api.model_switch import NothingPromotedError
from feedback_nlp_api.responses import errors
from feedback_nlp_api.schemas import ErrorBody

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/models", tags=["models"])


@router.get("/current", responses=errors(401, 403, 429, 503))
def current_model(_: ReadKey, serving: ServingStateDep, pipeline: PipelineDep) -> dict[str, Any]:
    """The served bundle's manifest (version, taxonomy, labels, encoder hash, data, metrics) and,
    under ``serving``, where it came from: ``registry`` (promoted; when, by whom, log number),
    ``model_dir`` or ``in-process``."""
    current = serving.current  # one snapshot: never half a switch
    if current is None:  # a state without provenance (a dependency override in tests)
        return {**pipeline.manifest, "serving": {"version": pipeline.version, "source": "in-process"}}
    return {**current.pipeline.manifest, "serving": current.to_json()}


@router.post(
    "/reload",
    responses={
        **errors(401, 403, 429, 503),
        409: {
            "model": ErrorBody,
            "description": "Nothing promoted, or the promoted bundle cannot be loaded (the old model keeps serving)",
        },
    },
)
async def reload_model(key: AdminKey, switcher: ModelSwitcherDep, serving: ServingStateDep) -> dict[str, Any]:
    """Switch to the registry's live (promoted) model without a restart (scope ``admin``).

    The new model loads in a worker thread while the old one serves; then both are swapped at
    once. The batch running at that moment finishes on the old model, later batches run on the
    new one, no request is dropped. Answers ``changed`` (false when the promoted model is
    already served), ``previous``, ``current`` and ``seconds`` (load time).
    """
    try:
        result = await switcher.reload()
    except NothingPromotedError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None
    except FeedbackNLPError as exc:
        current = serving.current.version if serving.current else None
        raise HTTPException(status_code=409, detail=f"Still serving {current}: {exc}") from None
    logger.info("model reload by key %s: %s", key.prefix if key else "-", result)
    return result
