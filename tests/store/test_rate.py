"""DatabaseRateLimiter: one request rate per Gordon account across processes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from saleor_gordon.store.rate import DatabaseRateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_two_processes_share_one_schedule(migrated_engine: AsyncEngine) -> None:
    # given two "processes" pacing the same account at 2 requests per second
    clock = Clock()
    first = DatabaseRateLimiter(migrated_engine, 2.0, clock=clock)
    second = DatabaseRateLimiter(migrated_engine, 2.0, clock=clock)
    account = ("https://gordon.example.com", "client-1")

    # when they ask for slots at the same moment
    waits = [
        await first.reserve(account),
        await second.reserve(account),
        await first.reserve(account),
    ]

    # then the slots are spaced for the account as a whole
    assert waits == pytest.approx([0.0, 0.5, 1.0])


async def test_accounts_do_not_wait_for_each_other(migrated_engine: AsyncEngine) -> None:
    clock = Clock()
    limiter = DatabaseRateLimiter(migrated_engine, 1.0, clock=clock)

    await limiter.reserve(("https://gordon.example.com", "busy"))
    wait = await limiter.reserve(("https://gordon.example.com", "quiet"))

    assert wait == 0.0


async def test_idle_time_is_not_saved_up(migrated_engine: AsyncEngine) -> None:
    clock = Clock()
    limiter = DatabaseRateLimiter(migrated_engine, 1.0, clock=clock)
    await limiter.reserve("account")

    clock.now += 60  # a quiet minute
    waits = [await limiter.reserve("account"), await limiter.reserve("account")]

    assert waits == pytest.approx([0.0, 1.0])


async def test_acquire_sleeps_for_the_slot(migrated_engine: AsyncEngine) -> None:
    clock = Clock()
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    limiter = DatabaseRateLimiter(migrated_engine, 4.0, clock=clock, sleep=sleep)

    for _ in range(3):
        await limiter.acquire("account")

    assert slept == pytest.approx([0.25, 0.5])


async def test_concurrent_requests_share_one_transaction_and_keep_the_schedule(
    migrated_engine: AsyncEngine,
) -> None:
    """Workers asking at once took the database's write lock once per request; those that ask
    while an upsert is under way now get their slots from the next one, spaced as before."""
    clock = Clock()
    limiter = DatabaseRateLimiter(migrated_engine, 2.0, clock=clock)
    upserts: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "gordon_rate" in statement:
            upserts.append(statement)

    event.listen(migrated_engine.sync_engine, "before_cursor_execute", count)
    try:
        waits = await asyncio.gather(*(limiter.reserve("account") for _ in range(5)))
    finally:
        event.remove(migrated_engine.sync_engine, "before_cursor_execute", count)

    assert sorted(waits) == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0])
    assert len(upserts) == 1  # all five asked before the first upsert began


async def test_a_failed_upsert_fails_its_requests_and_the_next_ones_go_on(
    migrated_engine: AsyncEngine,
) -> None:
    clock = Clock()
    limiter = DatabaseRateLimiter(migrated_engine, 1.0, clock=clock)
    failing = [True]

    def fail_once(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "gordon_rate" in statement and failing.pop() if failing else False:
            raise RuntimeError("the database went away")

    event.listen(migrated_engine.sync_engine, "before_cursor_execute", fail_once)
    try:
        with pytest.raises(Exception, match="the database went away"):
            await limiter.reserve("account")
        wait = await limiter.reserve("account")
    finally:
        event.remove(migrated_engine.sync_engine, "before_cursor_execute", fail_once)

    assert wait == 0.0
