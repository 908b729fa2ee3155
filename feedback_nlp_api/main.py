"""The FastAPI application: ``feedback-nlp serve`` or ``uvicorn api.main:app``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from feedback_nlp.errors import ConflictError, FeedbackNLPError, InputError
from feedback_nlp.pipeline import FeedbackPipeline
from feedback_nlp.settings import Settings, get_settings
from feedback_nlp.storage.db import init_db, make_session_factory
from feedback_nlp.taxonomy.records import accepted_fields
from feedback_nlp_api.bodylimit import BodySizeLimitMiddleware
from feedback_nlp_api.keycache import KeyCache
from feedback_nlp_api.model_switch import ModelSwitcher, PipelineLoader
from feedback_nlp_api.observability import RequestContextMiddleware, create_metrics, get_request_id
from feedback_nlp_api.query import known_query_parameters
from feedback_nlp_api.ratelimit import RateLimiter
from feedback_nlp_api.routes import classify, feedback, health, models, reports, scores
from feedback_nlp_api.state import ServingState

logger = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Load the model and open the database once; start the micro-batcher."""
    state, settings = app.state, app.state.settings
    serving: ServingState = state.serving
    if serving.current is None:
        await state.models.load_initial()  # the registry's promoted model, else model_dir
    if state.engine is None:
        state.engine = await run_in_threadpool(init_db, settings.database_url)
    state.sessions = make_session_factory(state.engine)
    await serving.start_batcher(
        max_batch_size=settings.batch_max_size,
        max_wait_ms=settings.batch_max_wait_ms,
        max_queue=settings.queue_max_records,
        enabled=settings.batching_enabled,
        on_batch=state.metrics.observe_batch,
    )
    state.metrics.track_queue_depth(lambda: serving.queue_depth)
    watcher = None
    if settings.registry_poll_seconds > 0:
        watcher = asyncio.create_task(
            state.models.watch(settings.registry_poll_seconds), name="feedback-nlp-model-watch"
        )
    logger.info("ready: model %s", serving.current.version if serving.current else None)
    try:
        yield
    finally:
        if watcher is not None:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
        await serving.stop_batcher()
        state.engine.dispose()


def _error(status: int, detail: object, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content={"detail": detail}, headers=headers)


def _message(err: Any, content_type: str = "") -> str:
    """The error's message; an unexpected field also gets the names accepted there, a body that
    is not read as JSON the content type it came with, malformed JSON the parser's reason."""
    msg = str(err.get("msg", ""))
    loc = list(err.get("loc", []))
    if loc == ["body"] and err.get("type") in ("model_attributes_type", "dict_type"):
        if "json" not in content_type.lower():
            shown = f"Content-Type {content_type!r}" if content_type else "no Content-Type"
            return f"expected a JSON object sent with Content-Type: application/json, got {shown}"
        return "expected a JSON object ({...}) as the body"
    if err.get("type") == "json_invalid":
        reason = (err.get("ctx") or {}).get("error")
        where = f" at character {loc[-1]}" if len(loc) > 1 else ""
        return f"malformed JSON{where}: {reason}" if reason else f"malformed JSON{where}"
    if err.get("type") == "extra_forbidden":
        accepted = accepted_fields(list(err.get("loc", [])))
        if accepted:
            return f"unexpected field {err['loc'][-1]!r}; accepted fields: {', '.join(accepted)}"
    return msg.removeprefix("Value error, ")


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Name the field and the problem; never echo the submitted input back.
        content_type = request.headers.get("content-type", "")
        errors = [
            {"loc": list(err.get("loc", [])), "msg": _message(err, content_type), "type": err.get("type", "")}
            for err in exc.errors()
        ]
        return _error(422, errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail: object = exc.detail
        if exc.status_code == 422 and isinstance(detail, str):  # every 422 in one shape
            detail = [{"loc": [], "msg": detail, "type": "invalid_input"}]
        return _error(exc.status_code, detail, getattr(exc, "headers", None))

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def _database_down(_: Request, exc: Exception) -> JSONResponse:
        # Connection refused, server gone, pool exhausted: nothing was written (one transaction).
        logger.warning("database unavailable: %s", type(exc).__name__)
        return _error(
            503, "The database is unavailable; nothing was stored. Retry with the same ids.", {"Retry-After": "5"}
        )

    @app.exception_handler(FeedbackNLPError)
    async def _domain(_: Request, exc: FeedbackNLPError) -> JSONResponse:
        if isinstance(exc, ConflictError):
            return _error(409, str(exc))
        if isinstance(exc, InputError):
            # The same shape as a validation error's, so clients read every 422 one way.
            return _error(422, [{"loc": [], "msg": str(exc), "type": "invalid_input"}])
        logger.error("internal error %s", type(exc).__name__)
        return _error(500, f"Internal error (request id {get_request_id()}).")

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        logger.error("unhandled %s", type(exc).__name__, exc_info=exc)
        return _error(500, f"Internal error (request id {get_request_id()}).")


def _schema_states_the_limits(app: FastAPI, settings: Settings) -> None:
    """The OpenAPI schema gives this service's limits (records per request, text length), not the
    models' hard ceilings, so that generated clients and fuzzers see what is accepted."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            schemas = schema.get("components", {}).get("schemas", {})
            for name in ("ClassifyRequest", "IngestRequest"):
                records = schemas.get(name, {}).get("properties", {}).get("records")
                if records is not None:
                    records["maxItems"] = settings.max_records
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(
    settings: Settings | None = None,
    *,
    pipeline: FeedbackPipeline | None = None,
    engine: Engine | None = None,
    model_loader: PipelineLoader | None = None,
) -> FastAPI:
    """Build the application.

    Args:
        settings: defaults to ``get_settings()`` (the environment).
        pipeline: serve this pipeline instead of loading the live model at start-up (tests).
        engine: use this database engine instead of opening ``settings.database_url``.
        model_loader: loads a bundle's pipeline at start-up and on a model switch (tests pass
            one with a fake encoder); default ``load_pipeline``.

    The objects routes use live on ``app.state`` (``serving``, ``models``, ``settings``,
    ``metrics``, ``limiter``, ``key_cache``; ``engine`` and ``sessions`` from start-up) and reach
    routes only through the dependencies in ``api.deps``.
    """
    settings = settings or get_settings()
    app = FastAPI(
        title="feedback-nlp",
        version="0.1.0",
        summary="Sentiment, journey stage and touchpoints for customer-experience feedback.",
        description=(
            "Authenticate with `Authorization: Bearer <key>` (keys: `feedback-nlp keys create`). "
            'Scopes: classify, ingest, read, admin. Errors answer `{"detail": ...}` and never '
            "echo submitted text."
        ),
        lifespan=lifespan,
        dependencies=[Depends(known_query_parameters)],
    )
    app.state.settings = settings
    app.state.serving = ServingState()
    if pipeline is not None:
        app.state.serving.adopt(pipeline)
    app.state.models = ModelSwitcher(settings, app.state.serving, loader=model_loader)
    app.state.engine = engine
    app.state.metrics = create_metrics()
    app.state.limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
    app.state.key_cache = KeyCache()
    for router in (health.router, classify.router, feedback.router, models.router, reports.router, scores.router):
        app.include_router(router)
    _schema_states_the_limits(app, settings)
    _install_error_handlers(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
        )
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware, metrics=app.state.metrics)
    return app


def __getattr__(name: str) -> FastAPI:
    # `uvicorn api.main:app` builds the app on first access, not at import (tests import freely).
    if name == "app":
        return create_app()
    raise AttributeError(name)
