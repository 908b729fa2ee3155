"""Dependencies shared by the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from api.batching import MicroBatcher
from feedback_nlp.pipeline import FeedbackPipeline
from feedback_nlp.settings import Settings


def get_pipeline(request: Request) -> FeedbackPipeline:
    """The pipeline loaded at start-up; 503 while it is not loaded."""
    pipeline = getattr(request.app.state, "pipeline", None)
    if pipeline is None:
        raise HTTPException(status_code=503, detail="The model is not loaded yet.", headers={"Retry-After": "5"})
    return pipeline


def get_batcher(request: Request) -> MicroBatcher:
    """The micro-batcher that shares encoder passes between concurrent requests."""
    batcher = getattr(request.app.state, "batcher", None)
    if batcher is None or not batcher.running:
        raise HTTPException(status_code=503, detail="The service is starting or stopping.", headers={"Retry-After": "5"})
    return batcher


def get_settings_dep(request: Request) -> Settings:
    """The settings the app was created with."""
    return request.app.state.settings


PipelineDep = Annotated[FeedbackPipeline, Depends(get_pipeline)]
BatcherDep = Annotated[MicroBatcher, Depends(get_batcher)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
