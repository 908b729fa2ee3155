"""A short-lived cache of verified API keys, so a busy client does not hit the database on
every request (``cachetools.TTLCache`` under a lock)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from cachetools import TTLCache

from feedback_nlp.storage.keys_repo import ApiKeyInfo

#: How long a verified key is trusted without asking the database again (the revocation delay).
CACHE_SECONDS = 10.0


class KeyCache:
    """Verified keys by hash, each trusted for ``ttl`` seconds; at most ``max_size`` held (past it
    the least recently used goes). Safe from several threads (auth looks keys up in the threadpool).

    Args:
        ttl: seconds a verified key is trusted (a revoked key keeps working this long at most).
        max_size: most keys held.
        clock: monotonic seconds; inject a fake one in tests.
    """

    def __init__(
        self, ttl: float = CACHE_SECONDS, max_size: int = 10_000, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not ttl > 0:
            raise ValueError(f"ttl must be positive (seconds), got {ttl}")
        if max_size < 1:
            raise ValueError(f"max_size must be at least 1, got {max_size}")
        self.ttl = ttl
        self.max_size = max_size
        self._items: TTLCache[str, ApiKeyInfo] = TTLCache(maxsize=max_size, ttl=ttl, timer=clock)
        self._lock = threading.Lock()  # cachetools caches are not thread-safe

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def get(self, digest: str) -> ApiKeyInfo | None:
        """The key verified under ``digest`` within the last ``ttl`` seconds, else ``None``."""
        with self._lock:
            return self._items.get(digest)

    def put(self, digest: str, info: ApiKeyInfo) -> None:
        """Trust ``info`` under ``digest`` for the next ``ttl`` seconds."""
        with self._lock:
            self._items[digest] = info
