"""Tests for saleor_gordon.core.retry.RetryPolicy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from saleor_gordon.core.retry import GiveUp, RetryAt, RetryPolicy

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
POLICY = RetryPolicy(first_delay=5.0, max_delay=600.0, max_age=timedelta(hours=48), jitter=0.5)


@pytest.mark.parametrize(
    ("attempts", "expected"),
    [(1, 5.0), (2, 10.0), (3, 20.0), (4, 40.0), (8, 600.0), (100, 600.0), (10_000, 600.0)],
)
def test_backoff_doubles_until_the_cap(attempts: int, expected: float) -> None:
    assert expected == POLICY.backoff(attempts, random=0.5)


def test_first_retry_comes_within_about_ten_seconds() -> None:
    waits = [POLICY.backoff(1, random=r) for r in (0.0, 0.5, 0.999)]

    assert waits[0] == 3.75
    assert all(3.75 <= wait < 6.25 for wait in waits)


def test_jitter_spreads_waits() -> None:
    assert POLICY.backoff(3, random=0.0) < POLICY.backoff(3, random=0.99)


def test_retry_after_is_a_floor() -> None:
    decision = POLICY.decide(attempts=1, pending_since=NOW, now=NOW, retry_after=120.0)

    assert RetryAt(when=NOW + timedelta(seconds=120), delay_seconds=120.0) == decision


def test_short_retry_after_does_not_shorten_the_backoff() -> None:
    decision = POLICY.decide(attempts=4, pending_since=NOW, now=NOW, retry_after=1.0)

    assert isinstance(decision, RetryAt)
    assert decision.delay_seconds == 40.0


def test_gives_up_after_the_maximum_age() -> None:
    pending_since = NOW - timedelta(hours=47, minutes=59)

    decision = POLICY.decide(attempts=30, pending_since=pending_since, now=NOW)

    assert isinstance(decision, GiveUp)
    assert "48 hours" in decision.reason


def test_keeps_retrying_within_the_maximum_age() -> None:
    decision = POLICY.decide(attempts=30, pending_since=NOW - timedelta(hours=1), now=NOW)

    assert RetryAt(when=NOW + timedelta(seconds=600), delay_seconds=600.0) == decision
