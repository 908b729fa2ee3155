"""Lanes: a large predict call split by ParallelPredictor over pipeline copies gives exactly the
one-lane answer."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from factories import FakeEncoder

from feedback_nlp.encoders.minilm import SentenceEncoder
from feedback_nlp.lanes import LANE_MIN_RECORDS, ParallelPredictor, auto_lanes
from feedback_nlp.pipeline import FeedbackPipeline
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


class MarkerTopics:
    """A topic model that puts every text in topic 0 and counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def assign_texts(self, texts, pipeline_embeddings):  # type: ignore[no-untyped-def]
        return self.assign(pipeline_embeddings)

    def assign(self, embeddings):  # type: ignore[no-untyped-def]
        self.calls += 1
        return [SimpleNamespace(topic=0, label="marker", confidence=1.0) for _ in embeddings]


@pytest.fixture
def pipeline(tiny_bundle: Path, settings: Settings) -> FeedbackPipeline:
    return load_bundle(tiny_bundle, settings, encoder=ThreadRecordingEncoder())


def test_lanes_give_the_one_lane_predictions_in_order(pipeline: FeedbackPipeline) -> None:
    records = _records(3 * LANE_MIN_RECORDS + 7)
    alone = pipeline.predict(records)
    predictor = ParallelPredictor(pipeline, 3)
    assert predictor.lane_pipelines == []  # nothing copied before the first large call
    together = predictor.predict(records)
    assert len(predictor.lane_pipelines) == 3
    assert [p.model_dump() for p in together] == [p.model_dump() for p in alone]
    assert [p.id for p in together] == [r.id for r in records]
    assert predictor.predict_texts(TEXTS * 40, "review") == pipeline.predict_texts(TEXTS * 40, "review")


def test_every_lane_works_in_its_own_thread_with_its_own_encoder(pipeline: FeedbackPipeline) -> None:
    predictor = ParallelPredictor(pipeline, 2)
    predictor.predict(_records(2 * LANE_MIN_RECORDS))
    first, second = predictor.lane_pipelines
    assert first is pipeline and second.encoder is not first.encoder and second.nlp is not first.nlp
    assert second.heads is first.heads  # read-only parts are shared
    # Both chunks ran in lane threads, off the caller's. (Not necessarily two threads: the pool
    # hands the second chunk to the first thread when that one is already idle again.)
    lane_threads = first.encoder.threads[-1:] + second.encoder.threads[-1:]
    assert len(lane_threads) == 2 and all(name.startswith("feedback-nlp-lane") for name in lane_threads)


def test_small_calls_stay_on_one_lane(pipeline: FeedbackPipeline) -> None:
    predictor = ParallelPredictor(pipeline, 2)
    predictor.predict(_records(2 * LANE_MIN_RECORDS - 1))
    assert predictor.lane_pipelines == []
    assert pipeline.encoder.threads[-1] == threading.current_thread().name


def test_one_lane_never_copies(pipeline: FeedbackPipeline) -> None:
    predictor = ParallelPredictor(pipeline, 1)
    predictor.predict(_records(4 * LANE_MIN_RECORDS))
    assert predictor.lane_pipelines == []
    assert pipeline.encoder.threads[-1] == threading.current_thread().name


def test_lanes_leave_the_callers_thread_count_alone(pipeline: FeedbackPipeline) -> None:
    before = torch.get_num_threads()
    ParallelPredictor(pipeline, 2).predict(_records(2 * LANE_MIN_RECORDS))
    assert torch.get_num_threads() == before


def test_topics_reach_every_lane(pipeline: FeedbackPipeline) -> None:
    predictor = ParallelPredictor(pipeline, 2)
    predictor.predict(_records(2 * LANE_MIN_RECORDS))
    marker = MarkerTopics()
    predictor.use_topics(marker)  # read from the wrapped pipeline
    assert pipeline.topic_model is marker
    predictions = predictor.predict(_records(2 * LANE_MIN_RECORDS))
    assert all(lane.topic_model is marker for lane in predictor.lane_pipelines)
    assert marker.calls == 2 and all(p.topic is not None for p in predictions)


def test_the_predictor_reads_as_its_pipeline(pipeline: FeedbackPipeline) -> None:
    predictor = ParallelPredictor(pipeline, 2)
    assert predictor.pipeline is pipeline
    assert predictor.version == pipeline.version and predictor.taxonomy is pipeline.taxonomy
    assert (predictor.embed(["late delivery"]) == pipeline.embed(["late delivery"])).all()
    with pytest.raises(AttributeError, match="_score"):
        predictor._score  # noqa: B018  (private parts are not forwarded)


def test_close_drops_the_copies_and_the_next_large_call_makes_new_ones(pipeline: FeedbackPipeline) -> None:
    predictor = ParallelPredictor(pipeline, 2)
    records = _records(2 * LANE_MIN_RECORDS)
    expected = predictor.predict(records)
    first_copy = predictor.lane_pipelines[1]
    predictor.close()
    assert predictor.lane_pipelines == []
    assert predictor.predict(records) == expected
    assert predictor.lane_pipelines[1] is not first_copy


@pytest.mark.parametrize("lanes", [0, -1])
def test_parallel_predictor_refuses_fewer_than_one_lane(pipeline: FeedbackPipeline, lanes: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ParallelPredictor(pipeline, lanes)


def test_load_pipeline_wraps_with_the_lanes_asked_for(
    tiny_bundle: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from feedback_nlp.storage import loading

    monkeypatch.setattr(loading, "get_settings", lambda: settings)
    monkeypatch.setattr(
        loading, "load_bundle", lambda model_dir, settings: load_bundle(model_dir, settings, encoder=FakeEncoder())
    )
    assert loading.load_pipeline(tiny_bundle, topics=False, lanes=3).lanes == 3
    # The setting's 0 asks auto_lanes: the fake encoder gains nothing from copies.
    assert loading.load_pipeline(tiny_bundle, topics=False).lanes == 1
    monkeypatch.setattr(loading, "get_settings", lambda: settings.model_copy(update={"lanes": 2}))
    predictor = loading.load_pipeline(tiny_bundle, topics=False)
    assert isinstance(predictor, ParallelPredictor) and predictor.lanes == 2
    assert isinstance(predictor.pipeline, FeedbackPipeline)


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

    predictor = ParallelPredictor(pipeline, 2)
    records = _records(2 * LANE_MIN_RECORDS)
    seen = []
    original = pipeline.copy_for_thread

    def counted_copy() -> FeedbackPipeline:
        seen.append(1)
        time.sleep(0.05)  # wide enough for a second builder to slip in without the lock
        return original()

    pipeline.copy_for_thread = counted_copy  # type: ignore[method-assign]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: predictor.predict(records), range(4)))
    assert len(seen) == 1
    assert all([p.model_dump() for p in r] == [p.model_dump() for p in results[0]] for r in results)


@pytest.mark.parametrize("lanes", [1, 2])
def test_large_calls_hand_freed_heap_back_and_small_ones_do_not(
    pipeline: FeedbackPipeline, lanes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a call of ``min_records`` or more (on one lane or several) the freed heap goes back
    to the system, so a long export does not keep every pass's pages; a small call skips it."""
    from feedback_nlp import lanes as lanes_module

    calls: list[int] = []
    monkeypatch.setattr(lanes_module, "release_free_heap", lambda: calls.append(1) or True)
    predictor = ParallelPredictor(pipeline, lanes)
    predictor.predict(_records(LANE_MIN_RECORDS - 1))
    assert calls == []
    predictor.predict(_records(2 * LANE_MIN_RECORDS))
    assert calls == [1]


def test_release_free_heap_runs_where_glibc_does() -> None:
    import ctypes.util
    import platform

    from feedback_nlp.memory import release_free_heap

    released = release_free_heap()
    assert isinstance(released, bool)
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert ctypes.util.find_library("c") is not None and released
