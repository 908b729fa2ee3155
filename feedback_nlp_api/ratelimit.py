"""Per-key rate limiting: one token bucket per API key, in memory.

A bucket holds at most ``burst`` tokens and refills at ``rate`` tokens per second; each
request takes one. A bucket left alone for ``burst / rate`` seconds is full again, exactly
like a new one, so idle buckets are dropped and memory stays bounded by the keys active in
that window (and by ``max_keys`` in any case).

The state is per process: with several workers each enforces its own limit.

Why not the ``limits`` library (slowapi's engine): it offers fixed, moving and sliding-window
counters over whole-second windows on wall-clock time, not a bucket with a burst and a
fractional rate (0.4/s, 1000/s), nor an injectable clock; it would change who gets a 429 and
the Retry-After, and a hit measured about 5x slower than :meth:`RateLimiter.check`.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets keyed by API key (or any string); safe from threads and the event loop.

    Args:
        rate: tokens added per second (the sustained requests per second a key may make).
        burst: bucket size (the requests a key may make at once after being idle).
        clock: seconds as a float, monotonic; inject a fake one in tests.
        max_keys: most buckets kept; past it the least recently used are dropped (which
            forgives those keys' recent use, better than unbounded memory).

    Examples:
        >>> limiter = RateLimiter(rate=5, burst=10)
        >>> wait = limiter.check(key_id)
        >>> if wait is not None:
        ...     raise HTTPException(429, headers={"Retry-After": str(int(wait))})
    """

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        if not rate > 0:
            raise ValueError(f"rate must be positive (requests per second), got {rate}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1, got {burst}")
        if max_keys < 1:
            raise ValueError(f"max_keys must be at least 1, got {max_keys}")
        self.rate = float(rate)
        self.burst = int(burst)
        self.clock = clock
        self.max_keys = max_keys
        self._refill_seconds = self.burst / self.rate  # empty -> full
        # Least recently used first; a bucket's last use orders its idle expiry too.
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """Buckets currently held."""
        return len(self._buckets)

    def check(self, key: str) -> float | None:
        """Take a token for ``key``.

        Returns:
            ``None`` when the request may proceed; otherwise the whole seconds (at least 1)
            until a token is available, for the ``Retry-After`` header. A refused request
            takes no token.
        """
        with self._lock:
            now = self.clock()
            self._evict_idle(now)
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(tokens=float(self.burst), updated=now)
                self._evict_over_capacity()
            else:
                self._buckets.move_to_end(key)
                elapsed = max(0.0, now - bucket.updated)
                bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.rate)
                bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return None
            wait = (1.0 - bucket.tokens) / self.rate
            return float(max(1, math.ceil(wait)))

    def _evict_idle(self, now: float) -> None:
        while self._buckets:
            key, oldest = next(iter(self._buckets.items()))
            if now - oldest.updated < self._refill_seconds:
                break
            del self._buckets[key]

    def _evict_over_capacity(self) -> None:
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
