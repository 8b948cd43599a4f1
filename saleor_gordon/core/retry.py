"""When to try a failed job again, as a value (procrastinate's RetryDecision, stamina's backoff).

Backoff: the n-th retry waits ``first_delay * 2 ** (n - 1)`` seconds, capped at ``max_delay``, then
jittered by ±``jitter``/2 (so shops that failed together do not retry together). A server's
Retry-After is a floor. Once the next try would fall later than ``max_age`` after the work became
pending, the job gives up. Saleor's own webhook retries cover about five minutes
(saleor-app-protocol.md §3.4); this policy covers the hours and days Gordon may be down.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class RetryAt:
    when: datetime
    delay_seconds: float


@dataclass(frozen=True, slots=True)
class GiveUp:
    reason: str


RetryDecision = RetryAt | GiveUp


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    first_delay: float = 5.0
    """Seconds before the first retry (before jitter)."""
    max_delay: float = 1800.0
    """The backoff stops doubling here; jitter may stretch a wait by up to ``jitter``/2 of it,
    and a longer Retry-After wins."""
    max_age: timedelta = timedelta(hours=48)
    """Give up when the work has been pending longer than this."""
    jitter: float = 0.5
    """Relative spread of the wait: 0.5 waits between 75 % and 125 % of the backoff."""

    def decide(
        self,
        *,
        attempts: int,
        pending_since: datetime,
        now: datetime,
        retry_after: float | None = None,
        random: float = 0.5,
    ) -> RetryDecision:
        """Decide after the ``attempts``-th failed attempt; ``random`` is uniform in [0, 1)."""
        delay = self.backoff(attempts, random=random)
        if retry_after is not None:
            delay = max(delay, retry_after)
        when = now + timedelta(seconds=delay)
        deadline = pending_since + self.max_age
        if when > deadline:
            tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
            span = english_duration(self.max_age.total_seconds())
            return GiveUp(f"gave up after {tries} over {span}")
        return RetryAt(when=when, delay_seconds=delay)

    def backoff(self, attempts: int, *, random: float) -> float:
        exponent = max(attempts - 1, 0)
        base = self.first_delay * 2.0 ** min(exponent, 62)
        capped = min(base, self.max_delay)
        return capped * (1 - self.jitter / 2 + self.jitter * random)


def english_duration(seconds: float) -> str:
    """A length of time in English, in the largest unit it reaches, as the pages word it in
    their locale: "45 seconds", "1.7 minutes", "30 minutes", "1 hour", "1.5 hours", "48 hours"
    (one decimal at most)."""
    if seconds < 59.95:
        value, unit = round(seconds, 1), "second"
    elif seconds < 3597:
        value, unit = round(seconds / 60, 1), "minute"
    else:
        value, unit = round(seconds / 3600, 1), "hour"
    return f"{value:g} {unit}" + ("" if value == 1 else "s")
