"""Micro-batching: concurrent requests share one encoder pass.

Each request's records wait in a queue; one worker task takes up to ``max_batch_size``
records (or whatever arrived within ``max_wait_ms`` of the oldest waiting request), runs the
pipeline once on all of them in an inference thread and hands every request its own slice.
The encoder is far cheaper per text in a batch of 64 than in 64 batches of one, and the
event loop never runs model code.

In the app's lifespan, ``await batcher.start()`` before serving and ``await batcher.stop()``
after; routes ``await batcher.submit(records)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import anyio.to_thread

from feedback_nlp.taxonomy.records import FeedbackRecord, Prediction

logger = logging.getLogger(__name__)

PredictFn = Callable[[list[FeedbackRecord]], list[Prediction]]
BatchHook = Callable[[int, float], None]
"""Called after every pipeline call with (number of records, seconds spent in ``predict``)."""


class QueueFullError(RuntimeError):
    """Too many records are waiting for the model; the caller should retry later (HTTP 503)."""


class BatcherClosedError(QueueFullError):
    """The batcher is stopped or stopping; the request was not (or will not be) classified."""


@dataclass(eq=False)
class _Request:
    records: list[FeedbackRecord]
    future: asyncio.Future[list[Prediction]]
    enqueued_at: float = field(default_factory=time.monotonic)


class MicroBatcher:
    """Merges concurrent ``submit`` calls into shared ``predict`` calls.

    A request's records stay together and come back in order; a request larger than
    ``max_batch_size`` runs on its own. Inference runs in one dedicated thread, one batch at a
    time, so the model never runs concurrently with itself.

    Args:
        predict: the pipeline call, records in, one prediction per record out, in order.
        max_batch_size: most records in one ``predict`` call (a bigger request runs alone).
        max_wait_ms: how long the oldest waiting request may wait for company.
        max_queue: most records waiting at once; past it ``submit`` raises
            :class:`QueueFullError` (a request arriving at an empty queue is always accepted).
        enabled: ``False`` runs every request alone in the thread pool Starlette uses for plain
            ``def`` routes, as if there were no batcher (for benchmarks); the queue bound still
            applies, to records in flight.
        on_batch: optional hook called with (records, seconds) after each ``predict`` call.

    Examples:
        >>> batcher = MicroBatcher(pipeline.predict, max_batch_size=32)
        >>> await batcher.start()
        >>> predictions = await batcher.submit(body.records)
        >>> await batcher.stop()
    """

    def __init__(
        self,
        predict: PredictFn,
        *,
        max_batch_size: int = 64,
        max_wait_ms: float = 5.0,
        max_queue: int = 1024,
        enabled: bool = True,
        on_batch: BatchHook | None = None,
    ) -> None:
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size must be at least 1, got {max_batch_size}")
        if max_wait_ms < 0:
            raise ValueError(f"max_wait_ms must be 0 or more, got {max_wait_ms}")
        if max_queue < 1:
            raise ValueError(f"max_queue must be at least 1, got {max_queue}")
        self.predict = predict
        self.max_batch_size = max_batch_size
        self.max_wait_ms = max_wait_ms
        self.max_queue = max_queue
        self.enabled = enabled
        self.on_batch = on_batch
        self._waiting: deque[_Request] = deque()
        self._queued = 0  # records in self._waiting (batching) or in flight (disabled)
        self._in_flight: list[_Request] = []
        self._wakeup: asyncio.Event | None = None
        self._worker: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False  # no new requests
        self._stopped = False

    # -- stats -------------------------------------------------------------------------------

    @property
    def queue_depth(self) -> int:
        """Records waiting for the model (for the queue-depth gauge)."""
        return self._queued

    @property
    def running(self) -> bool:
        """``start`` was awaited and ``stop`` was not."""
        return self._loop is not None and not self._closing

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the worker task on the running event loop (call it in the app's lifespan)."""
        if self._loop is not None:
            raise RuntimeError("MicroBatcher.start() was already called; create a new batcher to restart")
        self._loop = asyncio.get_running_loop()
        if self.enabled:
            self._wakeup = asyncio.Event()
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="feedback-nlp-inference")
            self._worker = asyncio.create_task(self._run(), name="feedback-nlp-batcher")
            self._worker.add_done_callback(self._on_worker_done)
        logger.info(
            "batcher started: enabled=%s max_batch_size=%d max_wait_ms=%s max_queue=%d",
            self.enabled,
            self.max_batch_size,
            self.max_wait_ms,
            self.max_queue,
        )

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop taking requests, finish the waiting ones, then stop the worker.

        Requests still unanswered after ``timeout`` seconds (a stuck model) fail with
        :class:`BatcherClosedError`; ``stop`` itself returns within about ``timeout`` seconds.
        """
        if self._loop is None or self._stopped:
            return
        self._stopped = self._closing = True
        worker = self._worker
        if worker is not None:
            assert self._wakeup is not None
            self._wakeup.set()
            done, _ = await asyncio.wait({worker}, timeout=timeout)
            if not done:
                logger.warning("batcher did not drain within %.1fs; failing the waiting requests", timeout)
                worker.cancel()
                await asyncio.gather(worker, return_exceptions=True)
        self._fail_all(BatcherClosedError("the service is shutting down; retry the request"))
        if self._executor is not None:
            # A stuck predict keeps its thread; don't wait for it.
            self._executor.shutdown(wait=False, cancel_futures=True)
        logger.info("batcher stopped")

    # -- requests ----------------------------------------------------------------------------

    async def submit(self, records: Sequence[FeedbackRecord]) -> list[Prediction]:
        """Classify ``records`` (together with whatever else is waiting); one prediction each, in order.

        Raises:
            QueueFullError: ``max_queue`` records are already waiting; retry later.
            BatcherClosedError: the batcher is stopping or stopped.
            RuntimeError: ``start`` was not awaited on this event loop.
            Exception: whatever ``predict`` raised for the batch this request was in.
        """
        records = list(records)
        if not records:
            return []
        self._check_open()
        self._admit(len(records))
        if not self.enabled:
            return await self._run_alone(records)
        assert self._loop is not None and self._wakeup is not None
        request = _Request(records, self._loop.create_future())
        self._waiting.append(request)
        self._wakeup.set()
        return await request.future

    def _check_open(self) -> None:
        if self._loop is None:
            raise RuntimeError("MicroBatcher is not running: await start() in the app's lifespan first")
        if self._closing:
            raise BatcherClosedError("the service is shutting down; retry the request")
        if asyncio.get_running_loop() is not self._loop:
            raise RuntimeError("MicroBatcher.submit() was called from another event loop than start()")

    def _admit(self, n: int) -> None:
        if self._queued and self._queued + n > self.max_queue:
            raise QueueFullError(
                f"{self._queued} records are already waiting for the model (limit {self.max_queue}); retry later"
            )
        self._queued += n

    async def _run_alone(self, records: list[FeedbackRecord]) -> list[Prediction]:
        try:
            start = time.perf_counter()
            predictions = await anyio.to_thread.run_sync(self.predict, records)
            self._report(len(records), time.perf_counter() - start)
            _check_length(predictions, len(records))
            return predictions
        finally:
            self._queued -= len(records)

    # -- the worker --------------------------------------------------------------------------

    async def _run(self) -> None:
        assert self._wakeup is not None
        while True:
            while not self._waiting:
                if self._closing:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
            batch = await self._collect()
            if batch:
                await self._execute(batch)

    async def _collect(self) -> list[_Request]:
        """Take requests until the batch is full, the next one does not fit, or time is up."""
        assert self._wakeup is not None
        deadline = self._waiting[0].enqueued_at + self.max_wait_ms / 1000
        batch: list[_Request] = []
        size = 0
        while True:
            while self._waiting and (not batch or size + len(self._waiting[0].records) <= self.max_batch_size):
                request = self._waiting.popleft()
                self._queued -= len(request.records)
                if request.future.done():  # the client went away
                    continue
                batch.append(request)
                size += len(request.records)
            if not batch and not self._waiting:  # every request taken was cancelled
                return batch
            full = size >= self.max_batch_size or bool(self._waiting)
            remaining = deadline - time.monotonic()
            if full or self._closing or remaining <= 0:
                return batch
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), remaining)

    async def _execute(self, batch: list[_Request]) -> None:
        assert self._loop is not None
        records = [record for request in batch for record in request.records]
        self._in_flight = batch  # stop() fails these if the worker is cancelled mid-batch
        try:
            start = time.perf_counter()
            predictions = await self._loop.run_in_executor(self._executor, self.predict, records)
            self._report(len(records), time.perf_counter() - start)
            _check_length(predictions, len(records))
        except Exception as exc:
            logger.error("batch of %d records failed: %s", len(records), type(exc).__name__)
            if len(batch) == 1:
                self._finish(batch, [exc])
            else:  # one request's records must not fail the others: run each on its own
                self._finish(batch, await self._each_alone(batch))
            return
        offset = 0
        slices: list[list[Prediction] | BaseException] = []
        for request in batch:
            slices.append(predictions[offset : offset + len(request.records)])
            offset += len(request.records)
        self._finish(batch, slices)

    async def _each_alone(self, batch: list[_Request]) -> list[list[Prediction] | BaseException]:
        """Each request of a failed batch run on its own: its predictions or its own error."""
        assert self._loop is not None
        outcomes: list[list[Prediction] | BaseException] = []
        for request in batch:
            if request.future.done():  # the client went away meanwhile
                outcomes.append(BatcherClosedError("the request was cancelled"))
                continue
            try:
                predictions = await self._loop.run_in_executor(self._executor, self.predict, request.records)
                _check_length(predictions, len(request.records))
                outcomes.append(predictions)
            except Exception as exc:  # this request's own error; none hangs
                outcomes.append(exc)
        return outcomes

    def _finish(self, batch: list[_Request], outcomes: Sequence[list[Prediction] | BaseException]) -> None:
        """Settle each request of ``batch`` with its outcome: its predictions or the batch's error."""
        self._in_flight = []
        for request, outcome in zip(batch, outcomes, strict=True):
            _settle(request, outcome)

    def _on_worker_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        # A bug in the worker must not leave requests waiting forever.
        logger.error("batcher worker crashed: %s", type(task.exception()).__name__)
        self._closing = True
        self._fail_all(BatcherClosedError("the inference worker stopped unexpectedly; retry later"))

    def _report(self, size: int, seconds: float) -> None:
        if self.on_batch is None:
            return
        try:
            self.on_batch(size, seconds)
        except Exception:  # metrics must never fail a request
            logger.exception("on_batch hook failed")

    def _fail_all(self, exc: Exception) -> None:
        for request in [*self._in_flight, *self._waiting]:
            _settle(request, exc)
        self._queued -= sum(len(request.records) for request in self._waiting)
        self._in_flight = []
        self._waiting.clear()


def _settle(request: _Request, outcome: list[Prediction] | BaseException) -> None:
    if request.future.done():
        return
    if isinstance(outcome, BaseException):
        request.future.set_exception(outcome)
    else:
        request.future.set_result(outcome)


def _check_length(predictions: Sequence[Prediction], expected: int) -> None:
    if len(predictions) != expected:
        raise RuntimeError(f"predict returned {len(predictions)} predictions for {expected} records; expected one each")
