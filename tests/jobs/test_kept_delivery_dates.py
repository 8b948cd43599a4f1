"""The attempt's delivery dates, in process, over the Saleor fake and the Gordon
sandbox, with a clock the test moves.

An order placed on Friday after the cutoff and paid on Tuesday is sent for Wednesday, not for
Monday (in the past); re-pushes keep the date Gordon has while it is allowed, so an unchanged order
is not pushed again after the cutoff; once that date has passed, the next push moves it.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest_asyncio
from sqlalchemy import update

from saleor_gordon.core.job_status import JobStatus
from saleor_gordon.core.order_events import OrderEvent
from saleor_gordon.core.retry import RetryPolicy
from saleor_gordon.core.shop_config import parse_shop_config
from saleor_gordon.fakes.gordon_sandbox import RunningSandbox
from saleor_gordon.jobs.attempt import JobServices
from saleor_gordon.jobs.worker import run_attempt
from saleor_gordon.runtime import Runtime, open_runtime
from saleor_gordon.settings import Settings
from saleor_gordon.store.database import migrate
from saleor_gordon.store.tables import sync_jobs
from tests.conftest import TEST_SECRET_KEY
from tests.support.fixtures import RunningSaleorFake
from tests.support.shop import CLIENT_ID, CLIENT_SECRET

FRIDAY_AFTER_CUTOFF = "2026-12-04T14:30:00+00:00"  # 15:30 in Stockholm: first day Monday 7 Dec
TUESDAY_MORNING = datetime(2026, 12, 8, 8, 0, tzinfo=UTC)  # 09:00 in Stockholm
TUESDAY_AFTER_CUTOFF = datetime(2026, 12, 8, 14, 0, tzinfo=UTC)  # 15:00: first day Thursday
THURSDAY_MORNING = datetime(2026, 12, 10, 8, 0, tzinfo=UTC)  # Wednesday has passed


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Shop:
    runtime: Runtime
    services: JobServices
    clock: Clock
    saleor: RunningSaleorFake
    gordon: RunningSandbox
    installation_id: int
    events: Callable[[], int]

    async def event(self, name: str, order: dict[str, Any]) -> None:
        received = OrderEvent(
            installation_id=self.installation_id,
            event=name,
            order_id=order["id"],
            order_number=order["number"],
            issued_at=f"{name}-{self.events()}",
            principal_type=None,
            principal_id=None,
            body_sha256="0" * 64,
        )
        result = await self.runtime.inbox.record_order_event(received, now=self.clock.now)
        assert result.job_id is not None

    async def run_due_job(self) -> JobStatus:
        """Claim the due job, run one attempt of it, record the result."""
        jobs = self.runtime.queue
        job = await jobs.claim_next_job(
            worker_id="w1", now=self.clock.now, lease_seconds=30, per_installation_limit=1
        )
        assert job is not None
        result = await run_attempt(self.services, job)
        assert await jobs.finish_job(job, result, now=self.clock.now)
        return result.status

    def gordon_has(self, order: dict[str, Any]) -> tuple[int, object, object]:
        """(accepted writes, deliverydate, notes) of the order as the sandbox holds it."""
        stored = self.gordon.state.orders[order["number"]]
        return stored.writes, stored.body["deliverydate"], stored.body["notes"]


@pytest_asyncio.fixture
async def shop(
    tmp_path: Path,
    saleor_fake: RunningSaleorFake,
    start_gordon_sandbox: Callable[..., RunningSandbox],
) -> AsyncIterator[Shop]:
    gordon = start_gordon_sandbox(hang_seconds=0)
    clock = Clock(TUESDAY_MORNING)
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'app.db'}", secret_key=TEST_SECRET_KEY)
    async with open_runtime(settings, clock=clock) as runtime:
        await migrate(runtime.engine)
        installation = await runtime.installations.save_installation(
            saleor_api_url=saleor_fake.api_url,
            app_id=saleor_fake.state.app()["id"],
            token=saleor_fake.state.issue_token(),
            jwks=saleor_fake.state.jwks,
            now=clock.now,
        )
        config = parse_shop_config(
            {
                "gordon": {
                    "base_url": gordon.base_url,
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                },
                "trigger_events": ["ORDER_FULLY_PAID"],
                "delivery_groups": [
                    {"deliverygroup": "Gordon Store", "shipping_method": "Gordon hemleverans 17-21"}
                ],
                "delivery_days": {
                    "timezone": "Europe/Stockholm",
                    "cutoff": "14:00",
                    "lead_days": 1,
                    "holiday_country": "SE",
                },
            }
        )
        await runtime.installations.save_config(installation.id, config, now=clock.now)
        services = JobServices(runtime=runtime, retry_policy=RetryPolicy(), random=lambda: 0.5)
        counter = itertools.count()
        yield Shop(
            runtime, services, clock, saleor_fake, gordon, installation.id, lambda: next(counter)
        )


def _unrequested_order(shop: Shop) -> dict[str, Any]:
    """Order 45 without a requested delivery date, placed on Friday after the cutoff."""
    return shop.saleor.state.add_order(
        created=FRIDAY_AFTER_CUTOFF,
        metadata=[{"key": "gordon.time_window", "value": "17:00 - 21:00"}],
    )


async def test_an_order_paid_days_later_is_not_sent_for_a_day_in_the_past(shop: Shop) -> None:
    order = _unrequested_order(shop)

    await shop.event("ORDER_FULLY_PAID", order)
    status = await shop.run_due_job()

    assert status is JobStatus.SYNCED
    assert shop.gordon_has(order) == (1, "2026-12-09", "Knock please")


async def test_a_repush_keeps_the_date_gordon_has_until_it_has_passed(shop: Shop) -> None:
    order = _unrequested_order(shop)
    await shop.event("ORDER_FULLY_PAID", order)
    assert await shop.run_due_job() is JobStatus.SYNCED

    # after the cutoff, an unchanged order: the same content, nothing to push
    shop.clock.now = TUESDAY_AFTER_CUTOFF
    await shop.event("ORDER_UPDATED", order)
    assert await shop.run_due_job() is JobStatus.SYNCED
    assert shop.gordon_has(order) == (1, "2026-12-09", "Knock please")

    # after the cutoff, a changed note: pushed again, for the day Gordon has
    shop.saleor.state.update_order(order["id"], customerNote="Ring twice")
    await shop.event("ORDER_UPDATED", order)
    assert await shop.run_due_job() is JobStatus.SYNCED
    assert shop.gordon_has(order) == (2, "2026-12-09", "Ring twice")

    # Wednesday has passed: the next change is sent for the first day from now
    shop.clock.now = THURSDAY_MORNING
    shop.saleor.state.update_order(order["id"], customerNote="Leave at the door")
    await shop.event("ORDER_UPDATED", order)
    assert await shop.run_due_job() is JobStatus.SYNCED
    assert shop.gordon_has(order) == (3, "2026-12-11", "Leave at the door")


async def test_a_push_recorded_before_migration_0003_keeps_its_date(shop: Shop) -> None:
    """Jobs pushed by the previous version have no pushed_delivery_date; that version counted the
    date from the creation time, so an unchanged order is still not pushed again."""
    order = shop.saleor.state.add_order(
        created="2026-12-08T07:30:00+00:00",  # Tuesday 08:30 in Stockholm: Wednesday
        metadata=[{"key": "gordon.time_window", "value": "17:00 - 21:00"}],
    )
    await shop.event("ORDER_FULLY_PAID", order)
    assert await shop.run_due_job() is JobStatus.SYNCED
    async with shop.runtime.engine.begin() as connection:
        await connection.execute(update(sync_jobs).values(pushed_delivery_date=None))

    shop.clock.now = TUESDAY_AFTER_CUTOFF
    await shop.event("ORDER_UPDATED", order)

    assert await shop.run_due_job() is JobStatus.SYNCED
    assert shop.gordon_has(order) == (1, "2026-12-09", "Knock please")
