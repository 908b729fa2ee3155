"""The served model, and switching to a newly promoted one."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request

from api.auth import ReadKey, require
from api.deps import PipelineDep
from api.model_switch import NothingPromotedError
from api.routes.classify import ERRORS
from api.schemas import ErrorBody
from feedback_nlp.errors import FeedbackNLPError
from feedback_nlp.storage.keys_repo import ApiKeyInfo

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/models", tags=["models"])

AdminKey = Annotated[ApiKeyInfo | None, Depends(require("admin"))]


@router.get("/current", responses={k: ERRORS[k] for k in (401, 403, 429, 503)})
def current_model(_: ReadKey, request: Request, pipeline: PipelineDep) -> dict[str, Any]:
    """The served bundle's manifest (version, taxonomy, labels, encoder hash, data, metrics) and,
    under ``serving``, where it came from: ``registry`` (promoted; when, by whom, log number),
    ``model_dir`` or ``in-process``."""
    serving = getattr(request.app.state, "serving", None)
    if serving is None:  # a pipeline set after start-up, outside the switcher
        return {**pipeline.manifest, "serving": {"version": pipeline.version, "source": "in-process"}}
    return {**serving.pipeline.manifest, "serving": serving.to_json()}  # one snapshot: never half a switch


@router.post(
    "/reload",
    responses={
        **{k: ERRORS[k] for k in (401, 403, 429, 503)},
        409: {"model": ErrorBody, "description": "Nothing promoted, or the promoted bundle cannot be loaded "
              "(the old model keeps serving)"},
    },
)
async def reload_model(key: AdminKey, request: Request) -> dict[str, Any]:
    """Switch to the registry's live (promoted) model without a restart (scope ``admin``).

    The new model loads in a worker thread while the old one serves; then both are swapped at
    once. The batch running at that moment finishes on the old model, later batches run on the
    new one, no request is dropped. Answers ``changed`` (false when the promoted model is
    already served), ``previous``, ``current`` and ``seconds`` (load time).
    """
    try:
        result = await request.app.state.models.reload()
    except NothingPromotedError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None
    except FeedbackNLPError as exc:
        current = request.app.state.pipeline.version
        raise HTTPException(status_code=409, detail=f"Still serving {current}: {exc}") from None
    logger.info("model reload by key %s: %s", key.prefix if key else "-", result)
    return result
