"""Per-account request rate towards Gordon (a token bucket, kept as a GCRA schedule).

Gordon documents no rate limit (gordon-api.md B6, UNVERIFIED), so the rate is a setting. All requests
for one Gordon account (base URL + client id) share one schedule, whichever installation or worker task
sends them, as long as they share one ``RateLimiter`` (one per process).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Protocol


class RequestPacer(Protocol):
    """Anything that makes a request for an account wait for its turn."""

    async def acquire(self, key: Hashable) -> None: ...


class RateLimiter:
    """Allow at most ``requests_per_second`` per key, with bursts of up to ``burst`` requests.

    ``acquire`` reserves the next free slot synchronously and then sleeps until it comes, so
    concurrent callers never share a slot and no lock is needed. A caller cancelled while waiting
    leaves its slot unused (the rate errs on the slow side).
    """

    def __init__(
        self,
        requests_per_second: float,
        *,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if requests_per_second <= 0:
            raise ValueError("requests_per_second must be positive")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self._interval = 1.0 / requests_per_second  # seconds between requests at the steady rate
        self._tolerance = (burst - 1) * self._interval  # seconds a burst may run ahead
        self._clock = clock
        self._sleep = sleep
        self._next_due: dict[Hashable, float] = {}  # theoretical arrival time per key

    def reserve(self, key: Hashable) -> float:
        """Take the next slot for ``key`` and return how many seconds to wait for it (pure bookkeeping)."""
        now = self._clock()
        due = max(self._next_due.get(key, now), now)
        self._next_due[key] = due + self._interval
        return max(due - self._tolerance - now, 0.0)

    async def acquire(self, key: Hashable) -> None:
        """Wait until a request for ``key`` may be sent."""
        wait = self.reserve(key)
        if wait > 0:
            await self._sleep(wait)
