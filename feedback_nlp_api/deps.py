"""Dependencies shared by the routes: the only code that reads ``app.state``.

Routes declare what they need as ``Annotated`` aliases (``ServingStateDep``, ``PipelineDep``,
``SessionsDep``, ...); tests replace any of them with ``app.dependency_overrides[get_...]``.
``create_app`` and its lifespan (``api.main``) put these objects on ``app.state``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from feedback_nlp.pipeline import FeedbackPipeline
from feedback_nlp.settings import Settings
from feedback_nlp_api.batching import MicroBatcher
from feedback_nlp_api.keycache import KeyCache
from feedback_nlp_api.model_switch import ModelSwitcher
from feedback_nlp_api.observability import Metrics
from feedback_nlp_api.ratelimit import RateLimiter
from feedback_nlp_api.state import ServingState


def _starting(detail: str) -> HTTPException:
    return HTTPException(status_code=503, detail=detail, headers={"Retry-After": "5"})


def get_settings_dep(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_serving_state(request: Request) -> ServingState:
    """The served model and its micro-batcher (one per app)."""
    state: ServingState = request.app.state.serving
    return state


def get_pipeline(serving: Annotated[ServingState, Depends(get_serving_state)]) -> FeedbackPipeline:
    """The pipeline served now; 503 while none is loaded."""
    pipeline = serving.pipeline
    if pipeline is None:
        raise _starting("The model is not loaded yet.")
    return pipeline


def get_batcher(serving: Annotated[ServingState, Depends(get_serving_state)]) -> MicroBatcher:
    """The micro-batcher that shares encoder passes between concurrent requests; 503 while it is
    not running (start-up, shut-down)."""
    batcher = serving.batcher
    if batcher is None or not batcher.running:
        raise _starting("The service is starting or stopping.")
    return batcher


def get_model_switcher(request: Request) -> ModelSwitcher:
    """Loads and switches the served model into the serving state."""
    switcher: ModelSwitcher = request.app.state.models
    return switcher


def get_sessions(request: Request) -> sessionmaker[Session]:
    """The database session factory; open sessions where the work runs (a worker thread for
    ``run_in_threadpool``), one ``with sessions() as session`` per unit of work. 503 before
    start-up opened the database."""
    sessions: sessionmaker[Session] | None = getattr(request.app.state, "sessions", None)
    if sessions is None:
        raise _starting("The database is not open yet.")
    return sessions


def get_engine(request: Request) -> Engine | None:
    """The database engine, or ``None`` before start-up opened it (for the readiness check)."""
    engine: Engine | None = getattr(request.app.state, "engine", None)
    return engine


def get_metrics(request: Request) -> Metrics:
    """The Prometheus metrics of this app."""
    metrics: Metrics = request.app.state.metrics
    return metrics


def get_limiter(request: Request) -> RateLimiter:
    """The per-key rate limiter."""
    limiter: RateLimiter = request.app.state.limiter
    return limiter


def get_key_cache(request: Request) -> KeyCache:
    """Recently verified API keys."""
    cache: KeyCache = request.app.state.key_cache
    return cache


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ServingStateDep = Annotated[ServingState, Depends(get_serving_state)]
PipelineDep = Annotated[FeedbackPipeline, Depends(get_pipeline)]
BatcherDep = Annotated[MicroBatcher, Depends(get_batcher)]
ModelSwitcherDep = Annotated[ModelSwitcher, Depends(get_model_switcher)]
SessionsDep = Annotated[sessionmaker[Session], Depends(get_sessions)]
EngineDep = Annotated[Engine | None, Depends(get_engine)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
LimiterDep = Annotated[RateLimiter, Depends(get_limiter)]
KeyCacheDep = Annotated[KeyCache, Depends(get_key_cache)]
