"""Reconcile in-process, on SQLite and PostgreSQL: the orders whose webhooks
were lost are queued through the backfill's path; one reconcile per shop and period even when two
processes (two engines) try at the same moment."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest_asyncio
from sqlalchemy import select

from saleor_gordon.catch_up.scan import reconcile_due_shops
from saleor_gordon.core.shop_config import parse_shop_config
from saleor_gordon.runtime import Runtime, open_runtime
from saleor_gordon.settings import Settings
from saleor_gordon.store.database import migrate
from saleor_gordon.store.tables import reconcile_leases, sync_jobs
from tests.conftest import TEST_SECRET_KEY
from tests.core.builders import config_data
from tests.support.fixtures import RunningSaleorFake

INTERVAL = 900.0


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest_asyncio.fixture
async def two_processes(
    database_url: str, saleor_fake: RunningSaleorFake
) -> AsyncIterator[tuple[Runtime, Runtime, Clock]]:
    """Two runtimes (engines) on one database, as two processes have; one installed shop."""
    settings = Settings(
        database_url=database_url,
        secret_key=TEST_SECRET_KEY,
        reconcile_interval_seconds=INTERVAL,
        reconcile_lookback_hours=2,
    )
    clock = Clock()
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(open_runtime(settings, clock=clock))
        second = await stack.enter_async_context(open_runtime(settings, clock=clock))
        await migrate(first.engine)
        state = saleor_fake.state
        installation = await first.installations.save_installation(
            saleor_api_url=saleor_fake.api_url,
            app_id=state.app_id,
            token=state.issue_token(),
            jwks=state.jwks,
            now=clock.now,
        )
        await first.installations.save_config(
            installation.id, parse_shop_config(config_data()), now=clock.now
        )
        yield first, second, clock


def _order(fake: RunningSaleorFake, *, updated: datetime, **fields: Any) -> dict[str, Any]:
    return fake.state.add_order(updatedAt=updated.isoformat(), **fields)


async def _queued_numbers(runtime: Runtime) -> set[str]:
    async with runtime.engine.connect() as connection:
        rows = (await connection.execute(select(sync_jobs.c.order_number))).all()
    return {row[0] for row in rows}


async def test_lost_orders_in_the_window_are_queued_by_one_of_two_processes(
    two_processes: tuple[Runtime, Runtime, Clock], saleor_fake: RunningSaleorFake
) -> None:
    first, second, clock = two_processes
    lost = _order(saleor_fake, updated=clock.now - timedelta(minutes=30))
    unpaid = _order(saleor_fake, updated=clock.now, isPaid=False, chargeStatus="NONE")
    too_old = _order(saleor_fake, updated=clock.now - timedelta(hours=3))

    done = await asyncio.gather(
        reconcile_due_shops(first, owner="process-a"),
        reconcile_due_shops(second, owner="process-b"),
    )

    assert sorted(len(result) for result in done) == [0, 1]
    assert [count for result in done for count in result.values()] == [1]
    assert saleor_fake.state.requests["OrdersPage"] == 1
    assert await _queued_numbers(first) == {lost["number"]}
    assert unpaid["number"] not in await _queued_numbers(first)
    assert too_old["number"] not in await _queued_numbers(first)
    async with first.engine.connect() as connection:
        lease = (await connection.execute(select(reconcile_leases))).one()._mapping
    assert lease["lease_owner"] is None
    assert lease["next_due_at"] == clock.now + timedelta(seconds=INTERVAL)
    assert lease["last_enqueued"] == 1


async def test_a_shop_is_reconciled_again_only_once_the_period_has_passed(
    two_processes: tuple[Runtime, Runtime, Clock], saleor_fake: RunningSaleorFake
) -> None:
    first, second, clock = two_processes
    assert len(await reconcile_due_shops(first, owner="process-a")) == 1

    clock.now += timedelta(seconds=INTERVAL - 1)
    assert await reconcile_due_shops(second, owner="process-b") == {}
    assert saleor_fake.state.requests["OrdersPage"] == 1

    clock.now += timedelta(seconds=1)
    paid_meanwhile = _order(saleor_fake, updated=clock.now)
    [reconciled] = (await reconcile_due_shops(second, owner="process-b")).values()

    assert reconciled == 1
    assert saleor_fake.state.requests["OrdersPage"] == 2
    assert await _queued_numbers(first) == {paid_meanwhile["number"]}
    # queued once: a second look finds it queued
    clock.now += timedelta(seconds=INTERVAL)
    assert list((await reconcile_due_shops(first, owner="process-a")).values()) == [0]


async def test_a_lease_held_by_a_process_that_died_is_taken_over_after_it_expires(
    two_processes: tuple[Runtime, Runtime, Clock], saleor_fake: RunningSaleorFake
) -> None:
    first, second, clock = two_processes
    from saleor_gordon.catch_up.store import CatchUpStore
    from saleor_gordon.jobs.queue import JobQueue

    lease_seconds = first.settings.reconcile_lease_seconds
    assert await CatchUpStore(first.engine, JobQueue(first.engine)).claim_reconcile(
        1, owner="dead", now=clock.now, lease_seconds=lease_seconds
    )

    assert await reconcile_due_shops(second, owner="process-b") == {}
    clock.now += timedelta(seconds=lease_seconds + 1)
    assert list((await reconcile_due_shops(second, owner="process-b")).values()) == [0]
