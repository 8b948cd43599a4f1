"""RateLimiter: a per-account schedule, with an injected clock and sleep."""

from __future__ import annotations

import pytest

from saleor_gordon.gordon.rate_limit import RateLimiter
from tests.gordon.conftest import FakeClock


class RecordingSleep:
    """Records requested waits and moves the fake clock by them."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(round(seconds, 6))
        self.clock.advance(seconds)


async def test_requests_are_spaced_at_the_rate() -> None:
    clock = FakeClock()
    sleep = RecordingSleep(clock)
    limiter = RateLimiter(4, clock=clock, sleep=sleep)
    for _ in range(3):
        await limiter.acquire("account")
    assert sleep.waits == [0.25, 0.25]


async def test_burst_passes_without_waiting_then_paces() -> None:
    clock = FakeClock()
    sleep = RecordingSleep(clock)
    limiter = RateLimiter(2, burst=3, clock=clock, sleep=sleep)
    for _ in range(4):
        await limiter.acquire("account")
    assert sleep.waits == [0.5]


async def test_accounts_do_not_wait_for_each_other() -> None:
    clock = FakeClock()
    sleep = RecordingSleep(clock)
    limiter = RateLimiter(1, clock=clock, sleep=sleep)
    await limiter.acquire(("https://a", "one"))
    await limiter.acquire(("https://a", "two"))
    assert sleep.waits == []


def test_concurrent_reservations_get_distinct_slots() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10, clock=clock)
    waits = [round(limiter.reserve("account"), 6) for _ in range(4)]
    assert waits == [0.0, 0.1, 0.2, 0.3]


def test_idle_time_does_not_build_up_more_than_the_burst() -> None:
    clock = FakeClock()
    limiter = RateLimiter(1, clock=clock)
    limiter.reserve("account")
    clock.advance(100)
    assert [limiter.reserve("account") for _ in range(2)] == [0.0, 1.0]


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (1, 0)])
def test_nonsense_settings_are_refused(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        RateLimiter(rate, burst=burst)
