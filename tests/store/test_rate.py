"""DatabaseRateLimiter: one request rate per Gordon account across processes."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from saleor_gordon.errors import StoreUnavailable
from saleor_gordon.store.rate import DatabaseRateLimiter
from saleor_gordon.store.tables import gordon_rate


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
    upserts: list[int] = []
    take = limiter._take

    async def counted(account: str, count: int) -> float:
        upserts.append(count)
        return await take(account, count)

    limiter._take = counted  # type: ignore[method-assign]  # a spy: each upsert, its slots
    waits = await asyncio.gather(*(limiter.reserve("account") for _ in range(5)))

    assert sorted(waits) == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0])
    assert upserts == [5]  # all five asked before the first upsert began: one, of five slots
    async with migrated_engine.connect() as connection:
        stored = (await connection.execute(select(gordon_rate.c.next_slot))).scalars().all()
    assert stored == pytest.approx([clock() + 2.5])  # the five slots, in the shared schedule


async def test_a_failed_upsert_fails_its_requests_and_the_next_ones_go_on(
    migrated_engine: AsyncEngine,
) -> None:
    clock = Clock()
    limiter = DatabaseRateLimiter(migrated_engine, 1.0, clock=clock)
    take = limiter._take
    failing = [True]

    async def fail_once(account: str, count: int) -> float:
        if failing and failing.pop():
            raise StoreUnavailable("the database went away")
        return await take(account, count)

    limiter._take = fail_once  # type: ignore[method-assign]
    with pytest.raises(StoreUnavailable, match="the database went away"):
        await limiter.reserve("account")
    wait = await limiter.reserve("account")

    assert wait == 0.0


async def test_a_database_failure_is_store_unavailable(migrated_engine: AsyncEngine) -> None:
    """The driver's own error (on SQLite raised in the connection's thread) reaches the caller
    as StoreUnavailable, and the limiter goes on once the database is back."""
    limiter = DatabaseRateLimiter(migrated_engine, 1.0, clock=Clock())
    async with migrated_engine.begin() as connection:
        await connection.execute(text("ALTER TABLE gordon_rate RENAME TO gordon_rate_away"))

    with pytest.raises(StoreUnavailable, match="The database failed"):
        await limiter.reserve("account")

    async with migrated_engine.begin() as connection:
        await connection.execute(text("ALTER TABLE gordon_rate_away RENAME TO gordon_rate"))
    assert await limiter.reserve("account") == 0.0
