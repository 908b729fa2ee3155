"""MicroBatcher: concurrent requests share predict calls, keep their order, and never hang."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

import anyio
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from feedback_nlp.taxonomy.records import FeedbackRecord, LabelScore, Prediction, SentimentResult
from feedback_nlp_api.batching import BatcherClosedError, MicroBatcher, QueueFullError

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the batcher is built on asyncio


def make_records(prefix: str, n: int) -> list[FeedbackRecord]:
    return [FeedbackRecord(id=f"{prefix}{i}", kind="review", text=f"text {prefix} {i}") for i in range(n)]


def prediction_for(record: FeedbackRecord) -> Prediction:
    return Prediction(
        id=record.id,
        kind=record.kind,
        sentiment=SentimentResult(label="neutral", score=0.0),
        journey_stage=LabelScore(label="usage", confidence=1.0),
        model_version="fake",
    )


class FakePredict:
    """Records every call's size; can block (until released) or raise."""

    def __init__(self, *, error: Exception | None = None, sleep: float = 0.0) -> None:
        self.sizes: list[int] = []
        self.threads: list[str] = []
        self.error = error
        self.sleep = sleep
        self.started = threading.Event()
        self.release = threading.Event()
        self.release.set()

    def __call__(self, records: Sequence[FeedbackRecord]) -> list[Prediction]:
        self.sizes.append(len(records))
        self.threads.append(threading.current_thread().name)
        self.started.set()
        self.release.wait(timeout=10)
        time.sleep(self.sleep)
        if self.error is not None:
            raise self.error
        return [prediction_for(record) for record in records]


async def wait_until(condition, timeout: float = 2.0) -> None:  # noqa: ANN001
    with anyio.fail_after(timeout):
        while not condition():
            await asyncio.sleep(0.001)


def ids(predictions: Sequence[Prediction]) -> list[str | None]:
    return [p.id for p in predictions]


async def test_batcher_merges_concurrent_requests_and_keeps_order() -> None:
    predict = FakePredict()
    batches: list[int] = []
    batcher = MicroBatcher(predict, max_batch_size=64, max_wait_ms=100, on_batch=lambda n, s: batches.append(n))
    await batcher.start()
    requests = [make_records(f"r{i}-", 1 + i % 3) for i in range(10)]
    results = await asyncio.gather(*(batcher.submit(r) for r in requests))
    await batcher.stop()
    assert predict.sizes == [sum(map(len, requests))]
    assert batches == predict.sizes
    for request, result in zip(requests, results, strict=True):
        assert ids(result) == [r.id for r in request]
    assert batcher.queue_depth == 0


async def test_batcher_runs_predict_off_the_event_loop() -> None:
    predict = FakePredict(sleep=0.2)
    batcher = MicroBatcher(predict, max_wait_ms=0)
    await batcher.start()
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    task = asyncio.create_task(ticker())
    await batcher.submit(make_records("a", 2))
    task.cancel()
    await batcher.stop()
    assert ticks >= 5, "the event loop was blocked during inference"
    assert predict.threads[0].startswith("feedback-nlp-inference")


async def test_batcher_max_wait_flushes_a_lone_request() -> None:
    predict = FakePredict()
    batcher = MicroBatcher(predict, max_batch_size=64, max_wait_ms=30)
    await batcher.start()
    start = time.perf_counter()
    with anyio.fail_after(2):
        result = await batcher.submit(make_records("solo", 2))
    elapsed = time.perf_counter() - start
    await batcher.stop()
    assert ids(result) == ["solo0", "solo1"]
    assert 0.025 <= elapsed < 1.0
    assert predict.sizes == [2]


@pytest.mark.parametrize(
    ("sizes", "expected_calls"),
    [
        ([10, 2], [10, 2]),  # oversize first: runs alone
        ([2, 10], [2, 10]),  # oversize after a small one: does not join it
        ([2, 2, 2], [4, 2]),  # fill up to max_batch_size, the rest waits
        ([3, 3], [3, 3]),  # a request is never split across batches
    ],
)
async def test_batcher_respects_max_batch_size(sizes: list[int], expected_calls: list[int]) -> None:
    predict = FakePredict()
    batcher = MicroBatcher(predict, max_batch_size=4, max_wait_ms=50)
    await batcher.start()
    requests = [make_records(f"q{i}-", n) for i, n in enumerate(sizes)]
    results = await asyncio.gather(*(batcher.submit(r) for r in requests))
    await batcher.stop()
    assert predict.sizes == expected_calls
    for request, result in zip(requests, results, strict=True):
        assert ids(result) == [r.id for r in request]


async def test_batcher_queue_full_raises_immediately() -> None:
    predict = FakePredict()
    predict.release.clear()
    batcher = MicroBatcher(predict, max_batch_size=1, max_wait_ms=0, max_queue=3)
    await batcher.start()
    in_flight = asyncio.create_task(batcher.submit(make_records("busy", 1)))
    await wait_until(predict.started.is_set)  # taken off the queue, stuck in predict
    waiting = [asyncio.create_task(batcher.submit(make_records(p, 1))) for p in ("w", "x", "y")]
    await wait_until(lambda: batcher.queue_depth == 3)
    with pytest.raises(QueueFullError, match="limit 3"):
        await batcher.submit(make_records("z", 1))
    predict.release.set()
    results = await asyncio.gather(in_flight, *waiting)
    await batcher.stop()
    assert [ids(r) for r in results] == [["busy0"], ["w0"], ["x0"], ["y0"]]
    assert batcher.queue_depth == 0


async def test_batcher_admits_a_big_request_into_an_empty_queue() -> None:
    batcher = MicroBatcher(FakePredict(), max_batch_size=4, max_queue=2, max_wait_ms=0)
    await batcher.start()
    result = await batcher.submit(make_records("big", 5))
    await batcher.stop()
    assert len(result) == 5


async def test_batcher_predict_error_reaches_every_waiter() -> None:
    predict = FakePredict(error=ValueError("model exploded"))
    batcher = MicroBatcher(predict, max_wait_ms=50)
    await batcher.start()
    with anyio.fail_after(2):
        outcomes = await asyncio.gather(
            *(batcher.submit(make_records(f"e{i}-", 2)) for i in range(3)), return_exceptions=True
        )
    # The shared batch failed, then each request alone: each gets its own error.
    assert predict.sizes == [6, 2, 2, 2]
    assert all(isinstance(o, ValueError) for o in outcomes)
    # The worker survives the error.
    predict.error = None
    assert ids(await batcher.submit(make_records("ok", 1))) == ["ok0"]
    await batcher.stop()


async def test_batcher_one_bad_request_does_not_fail_the_others_in_its_batch() -> None:
    def predict(records: Sequence[FeedbackRecord]) -> list[Prediction]:
        if any(r.text == "poison" for r in records):
            raise UnicodeEncodeError("utf-8", "poison", 0, 1, "surrogates not allowed")
        return [prediction_for(record) for record in records]

    batcher = MicroBatcher(predict, max_wait_ms=50)
    await batcher.start()
    poison = [FeedbackRecord(id="bad", kind="review", text="poison")]
    with anyio.fail_after(2):
        outcomes = await asyncio.gather(
            batcher.submit(make_records("a", 2)),
            batcher.submit(poison),
            batcher.submit(make_records("b", 1)),
            return_exceptions=True,
        )
    assert ids(outcomes[0]) == ["a0", "a1"]  # type: ignore[arg-type]
    assert isinstance(outcomes[1], UnicodeEncodeError)
    assert ids(outcomes[2]) == ["b0"]  # type: ignore[arg-type]
    await batcher.stop()


async def test_batcher_wrong_number_of_predictions_is_an_error() -> None:
    batcher = MicroBatcher(lambda records: [], max_wait_ms=0)
    await batcher.start()
    with pytest.raises(RuntimeError, match="0 predictions for 2 records"):
        await batcher.submit(make_records("n", 2))
    await batcher.stop()


async def test_batcher_stop_drains_waiting_requests() -> None:
    predict = FakePredict()
    batcher = MicroBatcher(predict, max_batch_size=2, max_wait_ms=1000)
    await batcher.start()
    tasks = [asyncio.create_task(batcher.submit(make_records(f"d{i}-", 1))) for i in range(5)]
    await wait_until(lambda: batcher.queue_depth + sum(predict.sizes) == 5)
    with anyio.fail_after(2):
        await batcher.stop()
    results = await asyncio.gather(*tasks)
    assert [ids(r) for r in results] == [[f"d{i}-0"] for i in range(5)]
    with pytest.raises(BatcherClosedError):
        await batcher.submit(make_records("late", 1))


async def test_batcher_stop_does_not_hang_on_a_stuck_model() -> None:
    predict = FakePredict()
    predict.release.clear()
    batcher = MicroBatcher(predict, max_batch_size=1, max_wait_ms=0)
    await batcher.start()
    stuck = asyncio.create_task(batcher.submit(make_records("stuck", 1)))
    queued = asyncio.create_task(batcher.submit(make_records("queued", 1)))
    await wait_until(predict.started.is_set)
    start = time.perf_counter()
    await batcher.stop(timeout=0.1)
    assert time.perf_counter() - start < 1.0
    for task in (stuck, queued):
        with pytest.raises(BatcherClosedError):
            await task
    predict.release.set()  # let the inference thread finish


async def test_batcher_disabled_runs_each_request_alone() -> None:
    predict = FakePredict()
    batches: list[int] = []
    batcher = MicroBatcher(predict, enabled=False, on_batch=lambda n, s: batches.append(n))
    await batcher.start()
    requests = [make_records(f"s{i}-", i + 1) for i in range(4)]
    results = await asyncio.gather(*(batcher.submit(r) for r in requests))
    await batcher.stop()
    assert sorted(predict.sizes) == [1, 2, 3, 4]
    assert sorted(batches) == [1, 2, 3, 4]
    for request, result in zip(requests, results, strict=True):
        assert ids(result) == [r.id for r in request]
    assert batcher.queue_depth == 0


async def test_batcher_skips_cancelled_requests() -> None:
    predict = FakePredict()
    batcher = MicroBatcher(predict, max_batch_size=64, max_wait_ms=50)
    await batcher.start()
    gone = asyncio.create_task(batcher.submit(make_records("gone", 3)))
    kept = asyncio.create_task(batcher.submit(make_records("kept", 1)))
    await asyncio.sleep(0)
    gone.cancel()
    assert ids(await kept) == ["kept0"]
    await batcher.stop()
    assert predict.sizes == [1]
    assert batcher.queue_depth == 0


async def test_batcher_submit_before_start_is_an_error() -> None:
    batcher = MicroBatcher(FakePredict())
    with pytest.raises(RuntimeError, match="start"):
        await batcher.submit(make_records("a", 1))
    assert await batcher.submit([]) == []


@pytest.mark.parametrize("kwargs", [{"max_batch_size": 0}, {"max_wait_ms": -1}, {"max_queue": 0}])
def test_batcher_rejects_bad_settings(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        MicroBatcher(FakePredict(), **kwargs)


def test_batcher_in_an_app_merges_concurrent_http_requests() -> None:
    """Wired as the lead does: started in the lifespan, awaited in an ``async def`` route."""
    predict = FakePredict()
    batcher = MicroBatcher(predict, max_batch_size=64, max_wait_ms=200)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await batcher.start()
        yield
        await batcher.stop()

    app = FastAPI(lifespan=lifespan)

    @app.post("/classify")
    async def classify(records: list[FeedbackRecord]) -> list[str | None]:
        return ids(await batcher.submit(records))

    bodies = [[r.model_dump(mode="json") for r in make_records(f"h{i}-", 2)] for i in range(8)]
    with TestClient(app) as client, ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda body: client.post("/classify", json=body), bodies))
    assert [r.json() for r in responses] == [[f"h{i}-0", f"h{i}-1"] for i in range(8)]
    assert sum(predict.sizes) == 16
    assert len(predict.sizes) < 8
