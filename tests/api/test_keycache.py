"""KeyCache: verified keys trusted for a while (cachetools.TTLCache), on a fake clock."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from feedback_nlp.storage.keys_repo import ApiKeyInfo
from feedback_nlp_api.keycache import KeyCache


def key(prefix: str) -> ApiKeyInfo:
    return ApiKeyInfo(
        id=1,
        name=prefix,
        prefix=prefix,
        scopes=("read",),
        created_at=datetime.now(UTC),
        revoked_at=None,
        last_used_at=None,
    )


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_key_is_trusted_for_ttl_seconds_then_asked_again() -> None:
    clock = FakeClock()
    cache = KeyCache(ttl=10, clock=clock)
    cache.put("d1", key("fnlp_a"))
    clock.now += 9.9
    hit = cache.get("d1")
    assert hit is not None and hit.prefix == "fnlp_a"
    clock.now += 0.2  # past the TTL: the database decides again (revocation takes effect)
    assert cache.get("d1") is None
    assert cache.get("never") is None


def test_the_cache_is_bounded_and_drops_the_least_recently_used() -> None:
    cache = KeyCache(max_size=3, clock=FakeClock())
    for i in range(3):
        cache.put(f"d{i}", key(f"fnlp_{i}"))
    assert cache.get("d0") is not None  # d0 used: d1 is now the least recently used
    cache.put("d3", key("fnlp_3"))
    assert len(cache) == 3
    assert cache.get("d1") is None and cache.get("d0") is not None and cache.get("d3") is not None


def test_the_cache_is_safe_from_threads() -> None:
    cache = KeyCache(max_size=50)

    def hammer(n: int) -> None:
        for i in range(500):
            cache.put(f"d{(n * 500 + i) % 200}", key("fnlp_x"))
            cache.get(f"d{i % 200}")

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache) <= 50


@pytest.mark.parametrize("kwargs", [{"ttl": 0}, {"ttl": -1}, {"max_size": 0}])
def test_the_cache_rejects_bad_settings(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        KeyCache(**kwargs)
