"""Lanes: a large predict call split over pipeline copies gives exactly the one-lane answer."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import torch
from factories import FakeEncoder

from feedback_nlp.encoders.minilm import SentenceEncoder
from feedback_nlp.lanes import auto_lanes
from feedback_nlp.pipeline import LANE_MIN_RECORDS, FeedbackPipeline
from feedback_nlp.settings import Settings
from feedback_nlp.storage.loading import load_bundle
from feedback_nlp.taxonomy.records import FeedbackRecord

TEXTS = [
    "I love the app, it is great",
    "The delivery was late, terrible courier. Never again.",
    "@shop where is my invoice for March? #help",
    "Love the app, but the delivery took two weeks",
    "Staff were kind. The checkout kept failing though.",
]


def _records(n: int) -> list[FeedbackRecord]:
    return [FeedbackRecord(id=str(i), kind="review", text=f"{TEXTS[i % len(TEXTS)]} #{i}") for i in range(n)]


class ThreadRecordingEncoder(FakeEncoder):
    """The fake encoder, noting which thread each of its calls ran in."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[str] = []

    def encode(self, texts):  # type: ignore[no-untyped-def]
        self.threads.append(threading.current_thread().name)
        return super().encode(texts)


@pytest.fixture
def pipeline(tiny_bundle: Path, settings: Settings) -> FeedbackPipeline:
    return load_bundle(tiny_bundle, settings, encoder=ThreadRecordingEncoder())


def test_lanes_give_the_one_lane_predictions_in_order(pipeline: FeedbackPipeline) -> None:
    records = _records(3 * LANE_MIN_RECORDS + 7)
    alone = pipeline.predict(records)
    assert pipeline.lanes is None
    pipeline.use_lanes(3)
    together = pipeline.predict(records)
    assert pipeline.lanes is not None and len(pipeline.lanes) == 3
    assert [p.model_dump() for p in together] == [p.model_dump() for p in alone]
    assert [p.id for p in together] == [r.id for r in records]


def test_every_lane_works_in_its_own_thread_with_its_own_encoder(pipeline: FeedbackPipeline) -> None:
    pipeline.use_lanes(2)
    pipeline.predict(_records(2 * LANE_MIN_RECORDS))
    assert pipeline.lanes is not None
    first, second = pipeline.lanes.pipelines
    assert first is pipeline and second.encoder is not first.encoder and second.nlp is not first.nlp
    assert second.heads is first.heads  # read-only parts are shared
    lane_threads = set(first.encoder.threads[-1:]) | set(second.encoder.threads[-1:])
    assert len(lane_threads) == 2 and all(name.startswith("feedback-nlp-lane") for name in lane_threads)


def test_small_calls_stay_on_one_lane(pipeline: FeedbackPipeline) -> None:
    pipeline.use_lanes(2)
    pipeline.predict(_records(2 * LANE_MIN_RECORDS - 1))
    assert pipeline.lanes is None
    assert pipeline.encoder.threads[-1] == threading.current_thread().name


def test_lanes_leave_the_callers_thread_count_alone(pipeline: FeedbackPipeline) -> None:
    before = torch.get_num_threads()
    pipeline.use_lanes(2)
    pipeline.predict(_records(2 * LANE_MIN_RECORDS))
    assert torch.get_num_threads() == before


def test_topics_reach_every_lane(pipeline: FeedbackPipeline) -> None:
    pipeline.use_lanes(2)
    pipeline.predict(_records(2 * LANE_MIN_RECORDS))
    marker = object()
    pipeline.use_topics(marker)  # type: ignore[arg-type]
    assert pipeline.lanes is not None
    assert all(lane.topic_model is marker for lane in pipeline.lanes.pipelines)


def test_use_lanes_refuses_zero(pipeline: FeedbackPipeline) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        pipeline.use_lanes(0)


def test_auto_lanes_one_per_encoder_thread_for_torch_only() -> None:
    torch_encoder = object.__new__(SentenceEncoder)
    torch_encoder.quantized = False
    assert auto_lanes(torch_encoder, threads=2) == 2
    assert auto_lanes(torch_encoder, threads=1) == 1  # e.g. a Spark task: OMP_NUM_THREADS=1
    assert auto_lanes(torch_encoder, threads=32) == 4
    assert auto_lanes(torch_encoder) == min(torch.get_num_threads(), 4)
    torch_encoder.quantized = True
    assert auto_lanes(torch_encoder, threads=2) == 1
    assert auto_lanes(FakeEncoder(), threads=2) == 1


def test_lanes_are_built_once_when_two_threads_ask_together(pipeline: FeedbackPipeline) -> None:
    from concurrent.futures import ThreadPoolExecutor

    pipeline.use_lanes(2)
    records = _records(2 * LANE_MIN_RECORDS)
    seen = []
    original = pipeline.copy_for_lane

    def counted_copy() -> FeedbackPipeline:
        seen.append(1)
        time.sleep(0.05)  # wide enough for a second builder to slip in without the lock
        return original()

    pipeline.copy_for_lane = counted_copy  # type: ignore[method-assign]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: pipeline.predict(records), range(4)))
    assert len(seen) == 1
    assert all([p.model_dump() for p in r] == [p.model_dump() for p in results[0]] for r in results)
