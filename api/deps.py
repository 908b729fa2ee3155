"""Dependencies shared by the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from feedback_nlp.pipeline import FeedbackPipeline


def get_pipeline(request: Request) -> FeedbackPipeline:
    """The pipeline loaded at start-up; 503 while it is not loaded."""
    pipeline = getattr(request.app.state, "pipeline", None)
    if pipeline is None:
        raise HTTPException(status_code=503, detail="The model is not loaded yet.", headers={"Retry-After": "5"})
    return pipeline


PipelineDep = Annotated[FeedbackPipeline, Depends(get_pipeline)]
