"""RateLimiter: token buckets per key, on a fake clock."""

from __future__ import annotations

import threading

import pytest

from feedback_nlp_api.ratelimit import RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_ratelimit_allows_burst_then_asks_to_wait(clock: FakeClock) -> None:
    limiter = RateLimiter(rate=1, burst=3, clock=clock)
    assert [limiter.check("k") for _ in range(3)] == [None, None, None]
    assert limiter.check("k") == 1.0


@pytest.mark.parametrize(
    ("rate", "expected"),
    [(0.25, 4.0), (0.4, 3.0), (10.0, 1.0), (1000.0, 1.0)],  # whole seconds, at least 1
)
def test_ratelimit_wait_is_whole_seconds_at_least_one(clock: FakeClock, rate: float, expected: float) -> None:
    limiter = RateLimiter(rate=rate, burst=1, clock=clock)
    assert limiter.check("k") is None
    assert limiter.check("k") == expected


def test_ratelimit_refills_over_time(clock: FakeClock) -> None:
    limiter = RateLimiter(rate=2, burst=2, clock=clock)
    assert limiter.check("k") is None
    assert limiter.check("k") is None
    assert limiter.check("k") is not None
    clock.advance(0.5)  # one token back
    assert limiter.check("k") is None
    assert limiter.check("k") is not None
    clock.advance(60)  # refills to burst, not beyond
    assert [limiter.check("k") for _ in range(3)] == [None, None, 1.0]


def test_ratelimit_refused_request_takes_no_token(clock: FakeClock) -> None:
    limiter = RateLimiter(rate=1, burst=1, clock=clock)
    assert limiter.check("k") is None
    for _ in range(5):
        assert limiter.check("k") == 1.0
    clock.advance(1.0)
    assert limiter.check("k") is None


def test_ratelimit_keys_are_independent(clock: FakeClock) -> None:
    limiter = RateLimiter(rate=1, burst=1, clock=clock)
    assert limiter.check("a") is None
    assert limiter.check("a") is not None
    assert limiter.check("b") is None
    assert limiter.check("b") is not None


def test_ratelimit_evicts_idle_buckets(clock: FakeClock) -> None:
    limiter = RateLimiter(rate=1, burst=5, clock=clock)
    for i in range(100):
        limiter.check(f"key-{i}")
    assert len(limiter) == 100
    clock.advance(5.0)  # burst / rate: every bucket is full again
    assert limiter.check("fresh") is None
    assert len(limiter) == 1


def test_ratelimit_eviction_does_not_forgive_recent_use(clock: FakeClock) -> None:
    limiter = RateLimiter(rate=1, burst=2, clock=clock)
    limiter.check("old")
    clock.advance(1.0)
    limiter.check("busy")
    limiter.check("busy")
    clock.advance(1.5)  # "old" is full again and dropped; "busy" has only 1.5 tokens
    limiter.check("other")
    assert len(limiter) == 2
    assert limiter.check("busy") is None
    assert limiter.check("busy") == 1.0


def test_ratelimit_caps_number_of_keys(clock: FakeClock) -> None:
    limiter = RateLimiter(rate=1, burst=1, clock=clock, max_keys=10)
    for i in range(50):
        limiter.check(f"key-{i}")
    assert len(limiter) == 10


def test_ratelimit_is_thread_safe(clock: FakeClock) -> None:
    limiter = RateLimiter(rate=1, burst=50, clock=clock)  # the clock stands still: 50 tokens in all
    allowed: list[bool] = []
    lock = threading.Lock()

    def hammer() -> None:
        for _ in range(100):
            ok = limiter.check("shared") is None
            with lock:
                allowed.append(ok)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(allowed) == 50


@pytest.mark.parametrize("kwargs", [{"rate": 0, "burst": 1}, {"rate": 1, "burst": 0}, {"rate": -1, "burst": 5}])
def test_ratelimit_rejects_bad_settings(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        RateLimiter(**kwargs)
