"""What the service serves: one :class:`ServingState` holds the pipeline, where it came from and
the micro-batcher that runs it.

Routes get it through ``api.deps.ServingStateDep`` (never from ``app.state``); the model
switcher (``api.model_switch``) swaps models through :meth:`ServingState.serve`. The pipeline is
held in exactly one place, ``ServingState.current``: the batcher calls
:meth:`ServingState.predict`, which reads the current pipeline when a batch starts, so a
switch needs no second pointer to update and a batch never mixes two models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from feedback_nlp.model_registry.store import utc_now
from feedback_nlp.pipeline import FeedbackPipeline
from feedback_nlp.taxonomy.records import FeedbackRecord, Prediction
from feedback_nlp_api.batching import MicroBatcher


@dataclass(frozen=True)
class Serving:
    """The pipeline being served and where it came from, swapped together."""

    pipeline: FeedbackPipeline
    source: str  # "registry", "model_dir" or "in-process" (a pipeline handed to create_app)
    path: str | None
    loaded_at: str
    promoted_at: str | None = None
    promoted_by: str | None = None
    promotion: int | None = None

    @property
    def version(self) -> str:
        return self.pipeline.version

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "source": self.source,
            "path": self.path,
            "loaded_at": self.loaded_at,
            "promoted_at": self.promoted_at,
            "promoted_by": self.promoted_by,
            "promotion": self.promotion,
        }


class ModelNotLoadedError(RuntimeError):
    """Asked for the served pipeline before one was loaded (the app answers 503)."""


class ServingState:
    """The served model (pipeline + provenance, one snapshot) and the micro-batcher running it.

    Examples:
        >>> state = ServingState()
        >>> state.adopt(pipeline)                       # or ModelSwitcher(...).load_initial()
        >>> await state.start_batcher(max_batch_size=64)
        >>> predictions = await state.batcher.submit(records)
        >>> state.serve(new_serving)                    # later batches run on the new model
    """

    def __init__(self, current: Serving | None = None) -> None:
        self._current = current
        self._batcher: MicroBatcher | None = None

    # -- what is served ----------------------------------------------------------------------

    @property
    def current(self) -> Serving | None:
        """The served snapshot (pipeline and provenance), or ``None`` before a model is loaded."""
        return self._current

    @property
    def pipeline(self) -> FeedbackPipeline | None:
        """The served pipeline, or ``None`` before a model is loaded."""
        return self._current.pipeline if self._current is not None else None

    def serve(self, serving: Serving) -> None:
        """Serve ``serving`` from now on: one assignment, so no request sees half a switch.

        A batch already inside ``predict`` finishes on the old pipeline; every later one runs on
        the new pipeline.
        """
        self._current = serving

    def adopt(self, pipeline: FeedbackPipeline) -> Serving:
        """Serve a pipeline built in this process (tests, ``tests/fake_server.py``)."""
        serving = Serving(pipeline=pipeline, source="in-process", path=None, loaded_at=utc_now())
        self.serve(serving)
        return serving

    def predict(self, records: list[FeedbackRecord]) -> list[Prediction]:
        """Run ``records`` through the pipeline served at this moment (the batcher's model call)."""
        current = self._current
        if current is None:
            raise ModelNotLoadedError("No model is loaded yet; load one with ModelSwitcher.load_initial or adopt().")
        return current.pipeline.predict(records)

    # -- the micro-batcher -------------------------------------------------------------------

    @property
    def batcher(self) -> MicroBatcher | None:
        """The micro-batcher, or ``None`` before :meth:`start_batcher`."""
        return self._batcher

    @property
    def queue_depth(self) -> int:
        """Records waiting for the model (0 without a batcher)."""
        return self._batcher.queue_depth if self._batcher is not None else 0

    async def start_batcher(self, **options: Any) -> MicroBatcher:
        """Create and start the micro-batcher over :meth:`predict`; ``options`` go to
        :class:`~api.batching.MicroBatcher` (``max_batch_size``, ``max_wait_ms``, ...)."""
        if self._batcher is not None and self._batcher.running:
            raise RuntimeError("The micro-batcher is already running; stop it before starting another.")
        batcher = MicroBatcher(self.predict, **options)
        await batcher.start()
        self._batcher = batcher
        return batcher

    async def stop_batcher(self) -> None:
        """Stop the micro-batcher (requests in flight finish first); a no-op without one."""
        if self._batcher is not None:
            await self._batcher.stop()
