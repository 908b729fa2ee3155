"""Lanes: a large ``predict`` split over the cores, one single-threaded pipeline copy per core.

On a small CPU one forward pass does not keep two cores busy: PyTorch's intra-op threads
wait on each other between the many small matrix products of a short-text batch, and
spaCy segmentation and the heads run on one core only. Two lanes, each with its own encoder
copy running on one thread, keep both cores busy instead, and one lane's segmentation
overlaps the other's encoder pass. In calls of 256 tweets on 2 cores: 1.18x with every encoder
pass nested (AMD EPYC), 1.04x since dense passes run padded (Intel Xeon); docs/performance.md.

Each lane owns what is not safe to share between threads (the encoder with its tokenizer,
and the spaCy pipeline); heads, keyword patterns and the topic model are read-only and shared.
Lanes run only for calls with at least ``min_records`` records per lane, so small calls (a
service's micro-batches) stay on one lane with every core.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from feedback_nlp.encoders.base import Encoder
from feedback_nlp.taxonomy.records import FeedbackRecord, Prediction

logger = logging.getLogger(__name__)


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


class LanePipeline(Protocol):
    """What a lane runs: :class:`feedback_nlp.pipeline.FeedbackPipeline` (which builds its lanes,
    so this module does not import it back)."""

    topic_model: Any

    def predict_one_lane(self, records: Sequence[FeedbackRecord]) -> list[Prediction]:
        """Predict ``records`` in the calling thread."""
        ...

    def copy_for_lane(self) -> LanePipeline:
        """A copy that is safe to run in another thread beside this one."""
        ...


class Lanes:
    """Runs :meth:`FeedbackPipeline.predict_one_lane` on contiguous chunks, one thread per lane.

    Args:
        pipeline: the pipeline; it is lane 0, and the other lanes are copies of it.
        lanes: how many (2 or more).
        min_records: the fewest records per lane before a call is split.
        threads_per_lane: PyTorch intra-op threads in each lane's thread.
    """

    def __init__(self, pipeline: LanePipeline, lanes: int, *, min_records: int = 64, threads_per_lane: int = 1) -> None:
        if lanes < 2:
            raise ValueError(f"Lanes needs at least 2 lanes, got {lanes}")
        self.pipelines = [pipeline, *(pipeline.copy_for_lane() for _ in range(lanes - 1))]
        self.min_records = min_records
        self.threads_per_lane = threads_per_lane
        import torch

        # torch.set_num_threads in a lane's own thread leaves the caller's thread count alone.
        # (A plain function as initializer: the threads hold no reference to the pipelines, so
        # a dropped pipeline, after a model switch, frees its lanes too.)
        self._executor = ThreadPoolExecutor(
            lanes, thread_name_prefix="feedback-nlp-lane", initializer=torch.set_num_threads, initargs=(threads_per_lane,)
        )
        logger.info("Prediction lanes: %d, %d encoder thread(s) each", lanes, threads_per_lane)

    def __len__(self) -> int:
        return len(self.pipelines)

    def predict(self, records: Sequence[FeedbackRecord]) -> list[Prediction]:
        """One prediction per record, in input order, the records split evenly over the lanes."""
        lanes = min(len(self.pipelines), max(len(records) // self.min_records, 1))
        size = -(-len(records) // lanes)
        chunks = [records[start : start + size] for start in range(0, len(records), size)]
        futures = [
            self._executor.submit(pipeline.predict_one_lane, chunk)
            for pipeline, chunk in zip(self.pipelines, chunks, strict=False)
        ]
        return [prediction for future in futures for prediction in future.result()]

    def use_topics(self, topic_model: object) -> None:
        """Attach (or detach, with ``None``) the topic model on every lane copy."""
        for pipeline in self.pipelines[1:]:
            pipeline.topic_model = topic_model

    def close(self) -> None:
        """Stop the lane threads (the pipeline then runs on one lane)."""
        self._executor.shutdown(wait=True)
