"""AttemptLimiter: a burst of ``per_minute``, refilled evenly; bounded memory."""

from __future__ import annotations

import pytest

from saleor_gordon.web.attempt_limits import AttemptLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_one_attempt_per_refill() -> None:
    clock = Clock()
    limiter = AttemptLimiter(6, clock=clock)  # one every 10 s

    burst = [limiter.take("a") for _ in range(7)]
    clock.now += 5
    halfway = limiter.take("a")
    clock.now += 5
    refilled = limiter.take("a")

    assert burst == [0.0] * 6 + [pytest.approx(10.0)]
    assert halfway == pytest.approx(5.0)  # refused attempts count for nothing
    assert refilled == 0.0
    assert limiter.take("b") == 0.0  # keys apart


def test_idle_keys_are_forgotten_first_when_memory_is_full() -> None:
    clock = Clock()
    limiter = AttemptLimiter(2, clock=clock, max_keys=3)
    for key in ("busy-1", "busy-2"):
        limiter.take(key)
        limiter.take(key)  # empty buckets: remembered
    limiter.take("idle")
    clock.now += 60  # "idle" refilled (and the busy ones too: all may go)
    limiter.take("new")

    assert limiter.remembered() == ["new"]


def test_when_every_key_is_busy_the_least_recently_used_goes() -> None:
    limiter = AttemptLimiter(1, clock=Clock(), max_keys=2)
    for key in ("a", "b", "c"):
        limiter.take(key)

    assert limiter.remembered() == ["b", "c"]
    assert limiter.take("b") > 0  # still limited


def test_at_least_one_attempt_a_minute() -> None:
    with pytest.raises(ValueError, match="per_minute must be at least 1"):
        AttemptLimiter(0)
