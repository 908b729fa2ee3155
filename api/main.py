"""The FastAPI application: ``uvicorn api.main:app`` or ``feedback-nlp serve``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from api.routes import classify, health
from feedback_nlp.errors import FeedbackNLPError, InputError

logger = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Load the model once at start-up (unless a test already put one in app.state)."""
    if getattr(app.state, "pipeline", None) is None:
        from feedback_nlp.pipeline import load_pipeline

        app.state.pipeline = load_pipeline()
    yield


def create_app() -> FastAPI:
    """Build the application."""
    app = FastAPI(
        title="feedback-nlp",
        version="0.1.0",
        summary="Sentiment, journey stage and touchpoints for customer-experience feedback.",
        lifespan=lifespan,
    )
    app.include_router(health.router)
    app.include_router(classify.router)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        # Name the field and the problem; never echo the submitted text back.
        errors = [
            {"loc": list(err.get("loc", [])), "msg": err.get("msg", ""), "type": err.get("type", "")}
            for err in exc.errors()
        ]
        return JSONResponse(status_code=422, content={"detail": errors})

    @app.exception_handler(FeedbackNLPError)
    async def _domain(_: Request, exc: FeedbackNLPError) -> JSONResponse:
        status = 422 if isinstance(exc, InputError) else 500
        if status == 500:
            logger.error("internal error: %s", type(exc).__name__)
        return JSONResponse(status_code=status, content={"detail": str(exc) if status == 422 else "internal error"})

    return app


app = create_app()
