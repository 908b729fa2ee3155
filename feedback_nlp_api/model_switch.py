"""Which model the service serves, and switching to a newly promoted one without a restart.

At start-up the service loads the registry's live (promoted) model, or the ``model_dir``
bundle while nothing was promoted. A switch (``POST /v1/models/reload``, or the poller when
``registry_poll_seconds`` is set) loads the new pipeline in a worker thread while the old one
keeps serving, then, in one step on the event loop, hands it to the app's
:class:`~api.state.ServingState` (the one place that holds the served pipeline). The batch
running at that moment finishes on the old model; every batch started afterwards runs on the
new one; no request waits for the load or fails because of it.
A failed load changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.concurrency import run_in_threadpool

from feedback_nlp.errors import FeedbackNLPError
from feedback_nlp.model_registry import LiveModel, ModelRegistry, PromotionLog, live_model
from feedback_nlp.model_registry.store import utc_now
from feedback_nlp.pipeline import FeedbackPipeline
from feedback_nlp.settings import Settings
from feedback_nlp_api.state import Serving, ServingState

logger = logging.getLogger(__name__)

PipelineLoader = Callable[[Path], FeedbackPipeline]


class NothingPromotedError(FeedbackNLPError):
    """The registry has no promoted model to switch to."""


def _default_loader(bundle: Path) -> FeedbackPipeline:
    from feedback_nlp.storage.loading import load_pipeline

    # A ParallelPredictor stands wherever a pipeline is read (the rest through __getattr__), which
    # its class cannot say to mypy.
    return load_pipeline(bundle)  # type: ignore[return-value]


class ModelSwitcher:
    """Loads the served model and swaps in newly promoted ones.

    Args:
        settings: where the registry and ``model_dir`` are.
        serving: the app's serving state; every load ends in ``serving.serve(...)``.
        loader: loads a bundle's pipeline (tests pass one with a fake encoder); default
            ``load_pipeline``.
    """

    def __init__(self, settings: Settings, serving: ServingState, loader: PipelineLoader | None = None) -> None:
        self.settings = settings
        self.serving = serving
        self.loader: PipelineLoader = loader or _default_loader
        self._lock = asyncio.Lock()
        self._seen_log: tuple[int, int] | None = None

    @property
    def registry(self) -> ModelRegistry:
        return ModelRegistry(self.settings.registry_dir)

    def _target(self) -> LiveModel:
        target = live_model(self.registry, self.settings)
        if target is None:  # let the loader say what is missing
            return LiveModel(ref="", bundle=Path(self.settings.model_dir), source="model_dir")
        return target

    # -- start-up ----------------------------------------------------------------------------

    async def load_initial(self) -> Serving:
        """Load the live model (promoted, else ``model_dir``) and serve it."""
        self._seen_log = PromotionLog(self.registry.promotions_file).signature()
        target = await run_in_threadpool(self._target)
        pipeline = await run_in_threadpool(self.loader, target.bundle)
        serving = self._serving(pipeline, target)
        self.serving.serve(serving)
        logger.info("serving %s from %s (%s)", serving.version, target.bundle, target.source)
        return serving

    # -- switching ---------------------------------------------------------------------------

    async def reload(self) -> dict[str, Any]:
        """Switch to the registry's live model if it is not the one served.

        Returns what happened: ``changed``, ``previous``, ``current``, ``seconds`` (load time).

        Raises:
            NothingPromotedError: the registry has no promoted model.
            FeedbackNLPError: the promoted bundle cannot be loaded; the old model keeps serving.
        """
        async with self._lock:  # one load at a time; a second caller then finds nothing to do
            self._seen_log = PromotionLog(self.registry.promotions_file).signature()
            target = await run_in_threadpool(live_model, self.registry, self.settings)
            if target is None or target.source != "registry":
                raise NothingPromotedError(
                    f"Nothing is promoted in the registry {self.settings.registry_dir}; promote a model with "
                    "`feedback-nlp models promote NAME:VERSION --reason ...` first."
                )
            current = self.serving.current
            previous = current.version if current else None
            if current is not None and current.version == target.ref:
                return {"changed": False, "previous": previous, "current": previous, "seconds": 0.0}
            started = time.perf_counter()
            pipeline = await run_in_threadpool(self.loader, target.bundle)  # the old model keeps serving
            seconds = time.perf_counter() - started
            serving = self._serving(pipeline, target)
            self.serving.serve(serving)
        logger.info("switched model %s -> %s (loaded in %.1f s)", previous, serving.version, seconds)
        return {"changed": True, "previous": previous, "current": serving.version, "seconds": round(seconds, 3)}

    async def watch(self, interval: float) -> None:
        """Every ``interval`` seconds, reload when the promotion log changed (a cheap ``stat``)."""
        log = PromotionLog(self.registry.promotions_file)
        while True:
            await asyncio.sleep(interval)
            signature = await run_in_threadpool(log.signature)
            if signature is None or signature == self._seen_log:
                continue
            try:
                await self.reload()
            except NothingPromotedError:
                pass
            except Exception as exc:  # noqa: BLE001 - keep serving the old model; say why once per change
                logger.error("not switching models: %s", exc)

    # -- internals ---------------------------------------------------------------------------

    @staticmethod
    def _serving(pipeline: FeedbackPipeline, target: LiveModel) -> Serving:
        return Serving(
            pipeline=pipeline,
            source=target.source,
            path=str(target.bundle),
            loaded_at=utc_now(),
            promoted_at=target.promoted_at,
            promoted_by=target.promoted_by,
            promotion=target.promotion,
        )
