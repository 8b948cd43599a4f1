"""How often something may be tried: a token bucket per key, in this process's memory.

Used by ``/api/register``, whose every accepted attempt makes the app call the Saleor it names:
per client address and per claimed Saleor's server (``UrlParts.server``). Each web process counts
for itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

MAX_KEYS: Final = 10_000
"""Keys remembered at most; full buckets are forgotten first (they hold nothing to remember)."""


@dataclass
class _Bucket:
    tokens: float
    at: float


class AttemptLimiter:
    """At most ``per_minute`` attempts per key in a burst, refilled evenly over a minute."""

    def __init__(
        self,
        per_minute: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self._capacity = float(per_minute)
        self._per_second = per_minute / 60.0
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str) -> float:
        """Count an attempt for ``key``: 0.0 if it may go ahead, else the seconds until one may
        (and nothing is counted)."""
        now = self._clock()
        bucket = self._buckets.pop(key, None)  # re-inserted last: the dict stays in use order
        if bucket is None:
            self._make_room(now)
            bucket = _Bucket(self._capacity, now)
        bucket.tokens = min(self._capacity, bucket.tokens + (now - bucket.at) * self._per_second)
        bucket.at = now
        self._buckets[key] = bucket
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self._per_second

    def remembered(self) -> list[str]:
        """The keys whose attempts are remembered, least recently used first."""
        return list(self._buckets)

    def _make_room(self, now: float) -> None:
        if len(self._buckets) < self._max_keys:
            return
        refill = self._per_second
        self._buckets = {
            key: bucket
            for key, bucket in self._buckets.items()
            if bucket.tokens + (now - bucket.at) * refill < self._capacity
        }
        while len(self._buckets) >= self._max_keys:  # all busy: the least recently used go
            del self._buckets[next(iter(self._buckets))]
