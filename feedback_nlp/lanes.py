"""Parallel lanes: :class:`ParallelPredictor` splits a large ``predict`` over single-threaded
copies of a :class:`~feedback_nlp.pipeline.FeedbackPipeline`, one per core.

On a small CPU one forward pass does not keep two cores busy: PyTorch's intra-op threads
wait on each other between the many small matrix products of a short-text batch, and
spaCy segmentation and the heads run on one core only. Two lanes, each with its own encoder
copy running on one thread, keep both cores busy instead, and one lane's segmentation
overlaps the other's encoder pass. How much that gains depends on the CPU and on how the
encoder's passes run (docs/performance.md, "The fast path and lanes").

The pipeline itself knows nothing of lanes: it composes text preparation, the encoder and the
heads. The loader (:func:`feedback_nlp.storage.loading.load_pipeline`) wraps it in a
:class:`ParallelPredictor` with the lanes the settings ask for. Each lane owns what is not safe
to share between threads (the encoder with its tokenizer, and the spaCy pipeline; see
:meth:`FeedbackPipeline.copy_for_thread`); heads, keyword patterns and the topic model are
read-only and shared. Lanes run only for calls with at least ``min_records`` records per lane,
so small calls (a service's micro-batches) stay on one lane with every core.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from feedback_nlp.encoders.base import Encoder
from feedback_nlp.memory import release_free_heap
from feedback_nlp.pipeline import FeedbackPipeline
from feedback_nlp.taxonomy.records import FeedbackKind, FeedbackRecord, Prediction

logger = logging.getLogger(__name__)

#: The fewest records per lane before a call is split (a service micro-batch never is).
LANE_MIN_RECORDS = 64


def auto_lanes(encoder: Encoder, *, threads: int | None = None, most: int = 4) -> int:
    """Lanes worth running for ``encoder``: one per encoder thread (at most ``most``) for the
    PyTorch encoder, 1 for any other (ONNX Runtime sessions are not copied per lane).

    ``threads`` is the encoder's thread budget, PyTorch's intra-op threads by default: the
    usable cores, or ``FEEDBACK_NLP_NUM_THREADS``, or 1 in a Spark task (``OMP_NUM_THREADS=1``),
    so lanes never put more threads on the cores than the encoder alone would.
    """
    if not encoder.copyable_per_thread:
        return 1
    if threads is None:
        import torch

        threads = torch.get_num_threads()
    return max(1, min(threads, most))


class ParallelPredictor:
    """A pipeline whose large ``predict`` calls run on ``lanes`` threads at once.

    Records are split into contiguous chunks, one per lane; predictions come back in input
    order and equal the pipeline's own. The lane copies and their threads are made on the
    first large call. Everything but ``predict`` and ``predict_texts`` is read from the wrapped
    pipeline (``predictor.taxonomy``, ``predictor.embed(...)``, ``predictor.use_topics(...)``),
    so a predictor stands wherever a pipeline is read; ``predictor.pipeline`` is the pipeline.

    Args:
        pipeline: the pipeline; it is lane 0, and the other lanes are copies of it.
        lanes: how many (1: every call runs on ``pipeline`` in the calling thread).
        min_records: the fewest records per lane before a call is split.
        threads_per_lane: PyTorch intra-op threads in each lane's thread; by default the
            caller's thread budget shared out between the lanes.

    Raises:
        ValueError: ``lanes`` or ``min_records`` is below 1.

    Examples:
        >>> predictor = ParallelPredictor(load_bundle(), 2)
        >>> predictions = predictor.predict(records)  # 128 records or more: two lanes
    """

    def __init__(
        self,
        pipeline: FeedbackPipeline,
        lanes: int,
        *,
        min_records: int = LANE_MIN_RECORDS,
        threads_per_lane: int | None = None,
    ) -> None:
        if lanes < 1:
            raise ValueError(f"lanes must be at least 1, got {lanes}")
        if min_records < 1:
            raise ValueError(f"min_records must be at least 1, got {min_records}")
        self.pipeline = pipeline
        self.lanes = lanes
        self.min_records = min_records
        self._threads_per_lane = threads_per_lane
        self._copies: list[FeedbackPipeline] = []
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        # Only called for names the predictor lacks: read them from the wrapped pipeline.
        if name.startswith("_") or name == "pipeline":
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return getattr(self.pipeline, name)

    def __repr__(self) -> str:
        return f"ParallelPredictor({self.pipeline.version!r}, lanes={self.lanes})"

    @property
    def lane_pipelines(self) -> list[FeedbackPipeline]:
        """The pipelines the lanes run (the wrapped one first); empty until the first large call."""
        return list(self._copies)

    def predict(self, records: Sequence[FeedbackRecord]) -> list[Prediction]:
        """One prediction per record, in input order; a call of ``2 * min_records`` records or
        more is split evenly over the lanes."""
        if self.lanes < 2 or len(records) < 2 * self.min_records:
            predictions = self.pipeline.predict(records)
        else:
            predictions = self._predict_on_lanes(records)
        if len(records) >= self.min_records:
            # A long run of large calls would otherwise keep every freed tensor's pages (feedback_nlp.memory).
            release_free_heap()
        return predictions

    def _predict_on_lanes(self, records: Sequence[FeedbackRecord]) -> list[Prediction]:
        copies, executor = self._started()
        for lane in copies[1:]:  # a topic model attached since the copies were made
            lane.topic_model = self.pipeline.topic_model
        lanes = min(len(copies), max(len(records) // self.min_records, 1))
        size = -(-len(records) // lanes)
        chunks = [records[start : start + size] for start in range(0, len(records), size)]
        futures = [executor.submit(lane.predict, chunk) for lane, chunk in zip(copies, chunks, strict=False)]
        return [prediction for future in futures for prediction in future.result()]

    def predict_texts(self, texts: Sequence[str], kind: FeedbackKind | str = "survey") -> list[Prediction]:
        """Convenience: classify plain texts of one kind (on the lanes when there are many)."""
        return self.predict([FeedbackRecord(kind=FeedbackKind(kind), text=t) for t in texts])

    def close(self) -> None:
        """Stop the lane threads and drop the copies; the next large call makes them afresh
        (call it after changing the encoder in place: its precision, its weights)."""
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=True)
            self._executor, self._copies = None, []

    def _started(self) -> tuple[list[FeedbackPipeline], ThreadPoolExecutor]:
        """The lane copies and threads, made on first use (once, even when two threads ask at once)."""
        with self._lock:
            if self._executor is None:
                import torch

                threads = self._threads_per_lane or max(1, torch.get_num_threads() // self.lanes)
                self._copies = [self.pipeline, *(self.pipeline.copy_for_thread() for _ in range(self.lanes - 1))]
                # torch.set_num_threads in a lane's own thread leaves the caller's thread count
                # alone. (A plain function as initializer: the threads hold no reference to the
                # pipelines, so a dropped predictor, after a model switch, frees its lanes too.)
                self._executor = ThreadPoolExecutor(
                    self.lanes,
                    thread_name_prefix="feedback-nlp-lane",
                    initializer=torch.set_num_threads,
                    initargs=(threads,),
                )
                logger.info("Prediction lanes: %d, %d encoder thread(s) each", self.lanes, threads)
            return self._copies, self._executor
