"""Wall time per named stage of a long job (a topic fit, a report), with an optional progress bar.

A topic fit hides three costs inside BERTopic (UMAP's reduction, HDBSCAN's clustering, the
c-TF-IDF and KeyBERT-style representations that names come from); :class:`StageClock` times
each, so ``benchmarks/topic_scale.py`` can report their shares and a user sees which step runs.

Examples:
    >>> clock = StageClock()
    >>> with clock.stage("reduce"):
    ...     pass
    >>> list(clock.seconds)
    ['reduce']
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class StageClock:
    """Wall seconds per stage name, summed when a stage runs more than once.

    Args:
        progress: show a progress bar on stderr counted in stages, named after the running one.
        expected: how many stages the bar expects (it grows if more run).
        description: the bar's name.
    """

    def __init__(self, *, progress: bool = False, expected: int = 0, description: str = "topic fit") -> None:
        self.seconds: dict[str, float] = {}
        self._stack: list[list[float]] = []  # [start, seconds spent in inner stages] per open stage
        self._description = description
        self._bar: Any = None
        if progress:
            from tqdm import tqdm

            self._bar = tqdm(total=expected or None, unit="step", desc=description, file=sys.stderr)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the block under ``name``. A stage opened inside another is the inner one's time
        alone: the outer stage is charged only what the inner ones did not take, so the stages
        add up to the wall time."""
        if self._bar is not None:
            self._bar.set_description(f"{self._description}: {name}")
        frame = [time.perf_counter(), 0.0]
        self._stack.append(frame)
        try:
            yield
        finally:
            self._stack.pop()
            elapsed = time.perf_counter() - frame[0]
            self.seconds[name] = self.seconds.get(name, 0.0) + elapsed - frame[1]
            if self._stack:
                self._stack[-1][1] += elapsed
            if self._bar is not None:
                if self._bar.total is not None and self._bar.n >= self._bar.total:
                    self._bar.total += 1
                self._bar.update(1)

    def wrap(self, name: str, function: F) -> F:
        """``function``, timed under ``name`` on every call."""

        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.stage(name):
                return function(*args, **kwargs)

        return timed  # type: ignore[return-value]

    def close(self) -> None:
        """Close the progress bar, if any."""
        if self._bar is not None:
            self._bar.set_description(self._description)
            self._bar.close()
            self._bar = None
