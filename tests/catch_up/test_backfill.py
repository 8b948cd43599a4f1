"""Backfill against the Saleor fake over loopback, on SQLite and PostgreSQL:
250 orders of mixed states in three pages; the dry run lists exactly the ones to queue, the real
run queues them once, a second run queues nothing, an interrupted run resumes without doubling."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from rich.console import Console
from sqlalchemy import func, select, update

from saleor_gordon.catch_up.scan import ScanProgress, installed_shop, scan_orders
from saleor_gordon.cli.backfill import add_arguments, backfill
from saleor_gordon.core.job_status import JobStatus
from saleor_gordon.core.shop_config import parse_shop_config
from saleor_gordon.jobs.queue import enqueue_order_job
from saleor_gordon.runtime import Runtime, open_runtime
from saleor_gordon.settings import Settings
from saleor_gordon.shop import Shop
from saleor_gordon.store.database import migrate
from saleor_gordon.store.tables import backfill_runs, sync_jobs
from tests.conftest import TEST_SECRET_KEY
from tests.core.builders import config_data
from tests.support.fixtures import RunningSaleorFake

SINCE = datetime(2026, 11, 1, tzinfo=UTC)
UNTIL = datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC)


@dataclass
class Shop250:
    runtime: Runtime
    fake: RunningSaleorFake
    shop: Shop
    expected: set[str] = field(default_factory=set)
    """Numbers of the orders that should be queued."""
    in_range: int = 0
    existing_jobs: int = 0

    async def jobs(self) -> dict[str, dict[str, Any]]:
        async with self.runtime.engine.connect() as connection:
            rows = (await connection.execute(select(sync_jobs))).all()
        return {row._mapping["order_number"]: dict(row._mapping) for row in rows}

    async def scan(self, **kwargs: Any) -> ScanProgress:
        return await scan_orders(
            self.runtime,
            self.shop,
            time_field="createdAt",
            since=SINCE,
            until=UNTIL,
            **kwargs,
        )


async def _job(
    runtime: Runtime, installation_id: int, order: dict[str, Any], **values: Any
) -> None:
    async with runtime.engine.begin() as connection:
        job_id = await enqueue_order_job(
            connection,
            installation_id=installation_id,
            order_id=order["id"],
            order_number=order["number"],
            event="ORDER_CREATED",
            now=datetime.now(UTC),
        )
        if values:
            await connection.execute(
                update(sync_jobs).where(sync_jobs.c.id == job_id).values(values)
            )


@contextlib.asynccontextmanager
async def configured_shop(
    database_url: str, saleor_fake: RunningSaleorFake
) -> AsyncIterator[tuple[Runtime, Shop]]:
    """A migrated runtime with the fake's shop installed and configured."""
    settings = Settings(database_url=database_url, secret_key=TEST_SECRET_KEY)
    async with open_runtime(settings) as runtime:
        await migrate(runtime.engine)
        state = saleor_fake.state
        installation = await runtime.installations.save_installation(
            saleor_api_url=saleor_fake.api_url,
            app_id=state.app_id,
            token=state.issue_token(),
            jwks=state.jwks,
            now=datetime.now(UTC),
        )
        await runtime.installations.save_config(
            installation.id, parse_shop_config(config_data()), now=datetime.now(UTC)
        )
        yield runtime, await installed_shop(runtime, saleor_fake.api_url)


@pytest_asyncio.fixture
async def shop250(database_url: str, saleor_fake: RunningSaleorFake) -> AsyncIterator[Shop250]:
    async with configured_shop(database_url, saleor_fake) as (runtime, shop):
        state = saleor_fake.state
        installation = shop.installation
        built = Shop250(runtime, saleor_fake, shop)
        # Two orders outside the range, which the backfill never sees.
        for created in (SINCE - timedelta(seconds=1), UNTIL + timedelta(seconds=1)):
            state.add_order(created=created.isoformat())
        for index in range(250):
            created = (SINCE + timedelta(hours=2 * index)).isoformat()
            order = state.add_order(created=created)
            kind = index % 10
            if kind == 0:  # not paid: the trigger is not met
                state.update_order(order["id"], isPaid=False, chargeStatus="NONE")
            elif kind == 1:  # cancelled before it was ever sent
                state.update_order(order["id"], status="CANCELED")
            elif kind == 2:  # in Gordon already
                await _job(
                    runtime, installation.id, order, status="synced", pushed_hash="h",
                    next_attempt_at=None,
                )  # fmt: skip
            elif kind == 3:  # queued already (its webhook arrived)
                await _job(runtime, installation.id, order)
            elif kind == 4:  # another channel: no delivery rule matches
                state.update_order(order["id"], channel={"id": "Q2hhbm5lbDo5", "slug": "norge"})
            elif kind == 5:  # skipped while unpaid; paid since, that webhook lost
                await _job(runtime, installation.id, order, status="skipped", next_attempt_at=None)
                built.expected.add(order["number"])
            elif kind == 6:  # waits for a person: left to them
                await _job(
                    runtime, installation.id, order, status="needs_attention",
                    next_attempt_at=None,
                )  # fmt: skip
            else:  # paid, never seen by the app
                built.expected.add(order["number"])
            built.in_range += 1
        built.existing_jobs = len(await built.jobs())
        yield built


def _queued(progress: ScanProgress) -> set[str]:
    return {p.order_number or "" for p in progress.planned if p.action == "enqueue"}


async def test_dry_run_lists_exactly_the_orders_to_queue_and_queues_nothing(
    shop250: Shop250,
) -> None:
    before = await shop250.jobs()

    progress = await shop250.scan(dry_run=True)

    assert _queued(progress) == shop250.expected
    assert len(shop250.expected) == 100
    assert (progress.seen, progress.enqueued, progress.skipped) == (250, 100, 150)
    assert progress.pages == 3
    assert shop250.fake.state.requests["OrdersPage"] == 3
    reasons = {p.order_number: p.reason for p in progress.planned}
    numbers = sorted(reasons, key=int)
    assert [reasons[n] for n in numbers[:10]] == [
        "Waiting for ORDER_FULLY_PAID.",
        "Not sent: the order is canceled in Saleor.",
        "Already in Gordon.",
        "Already queued.",
        "Not for Gordon: no delivery-group rule matches channel 'norge' / shipping method "
        "'Gordon hemleverans 17-21'",
        "Trigger met; not in Gordon.",
        "Its job is needs_attention: fix it and retry the job.",
        "Trigger met; not in Gordon.",
        "Trigger met; not in Gordon.",
        "Trigger met; not in Gordon.",
    ]
    assert await shop250.jobs() == before
    async with shop250.runtime.engine.connect() as connection:
        runs = (await connection.execute(select(func.count()).select_from(backfill_runs))).scalar()
    assert runs == 0


async def test_real_run_queues_them_once_and_a_second_run_queues_nothing(
    shop250: Shop250,
) -> None:
    first = await shop250.scan()

    jobs = await shop250.jobs()
    assert first.enqueued == 100
    assert len(jobs) == shop250.existing_jobs + 75  # 25 of the 100 had a skipped job
    for number in shop250.expected:
        assert jobs[number]["status"] == JobStatus.PENDING.value
        assert jobs[number]["next_attempt_at"] is not None
    untouched = {n: j for n, j in jobs.items() if n not in shop250.expected}
    assert all(job["version"] == 1 for job in untouched.values())

    second = await shop250.scan()

    assert (second.seen, second.enqueued, second.resumed) == (250, 0, False)
    assert _queued(second) == set()
    assert await shop250.jobs() == jobs


async def test_an_interrupted_run_resumes_after_its_last_page_without_doubling(
    shop250: Shop250,
) -> None:
    first_page_done = asyncio.Event()
    never = asyncio.Event()

    async def stop_after_first_page(progress: ScanProgress, _planned: object) -> None:
        first_page_done.set()
        await never.wait()  # Ctrl-C arrives here: the page is recorded

    task = asyncio.create_task(shop250.scan(on_page=stop_after_first_page))
    await first_page_done.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    after_first = await shop250.jobs()
    queued_first = {
        n for n in shop250.expected if n in after_first and after_first[n]["status"] == "pending"
    }
    assert len(queued_first) == 40  # the first page: orders 1-100 of the range

    resumed = await shop250.scan()

    assert resumed.resumed
    assert shop250.fake.state.requests["OrdersPage"] == 3  # 1 before, 2 after the interruption
    assert (resumed.seen, resumed.enqueued, resumed.pages) == (250, 100, 3)
    assert len(resumed.planned) == 150  # pages 2 and 3 only
    jobs = await shop250.jobs()
    assert all(jobs[n]["status"] == "pending" for n in shop250.expected)
    # each order queued once: a backfill enqueue bumps the version by exactly one
    fresh = [n for n in shop250.expected if jobs[n]["events_mask"] == 0]
    assert len(fresh) == 75
    assert all(jobs[n]["version"] == 1 for n in fresh)
    once_skipped = [n for n in shop250.expected if jobs[n]["events_mask"] != 0]
    assert all(jobs[n]["version"] == 2 for n in once_skipped)
    third = await shop250.scan()
    assert (third.enqueued, third.resumed) == (0, False)


async def test_a_saleor_without_orders_where_is_asked_with_the_legacy_filter(
    shop250: Shop250,
) -> None:
    shop250.fake.state.orders_where = False

    progress = await shop250.scan(dry_run=True)

    assert progress.legacy_filter
    assert _queued(progress) == shop250.expected
    assert progress.seen == 250
    assert shop250.fake.state.requests["OrdersPage"] == 1  # refused once, then not asked again
    assert shop250.fake.state.requests["OrdersPageLegacy"] == 3


def _args(*argv: str) -> Any:
    import argparse

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


async def test_the_command_shows_progress_and_prints_the_plan_table_or_json(
    shop250: Shop250, capsys: pytest.CaptureFixture[str]
) -> None:
    url = shop250.fake.api_url
    bar = io.StringIO()
    console = Console(file=bar, force_terminal=True, width=200)

    code = await backfill(
        shop250.runtime,
        _args("--saleor-api-url", url, "--since", "2026-11-01", "--until", "2026-11-30",
              "--dry-run"),
        console=console,
    )  # fmt: skip

    assert code == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if " enqueue " in line]
    assert {line.split()[1] for line in rows} == shop250.expected
    assert out.rstrip().endswith("250 orders seen in 3 pages: 100 would be queued, 150 skipped.")
    assert "250/250" in bar.getvalue()
    assert "queued 100, skipped 150" in bar.getvalue()

    code = await backfill(
        shop250.runtime,
        _args("--saleor-api-url", url, "--since", "2026-11-01", "--until", "2026-11-30", "--json"),
        console=console,
    )

    import json

    result = json.loads(capsys.readouterr().out)
    assert code == 0
    assert result["summary"] == {
        "seen": 250, "enqueued": 100, "skipped": 150, "pages": 3, "total": 250,
        "resumed": False, "legacy_filter": False,
    }  # fmt: skip
    assert {o["order_number"] for o in result["orders"] if o["action"] == "enqueue"} == (
        shop250.expected
    )


async def test_a_run_up_to_now_resumes_up_to_the_now_it_started_with(shop250: Shop250) -> None:
    first_page_done = asyncio.Event()
    never = asyncio.Event()

    async def stop_after_first_page(progress: ScanProgress, _planned: object) -> None:
        first_page_done.set()
        await never.wait()

    task = asyncio.create_task(
        scan_orders(shop250.runtime, shop250.shop, time_field="createdAt", since=SINCE,
                    until=None, on_page=stop_after_first_page)
    )  # fmt: skip
    await first_page_done.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # an order placed after the interrupted run started is not part of that run
    shop250.fake.state.add_order(created=(datetime.now(UTC) + timedelta(minutes=1)).isoformat())

    resumed = await scan_orders(
        shop250.runtime, shop250.shop, time_field="createdAt", since=SINCE, until=None
    )

    assert resumed.resumed
    # 250 in November plus the one placed at UNTIL + 1 s, before the run started
    assert (resumed.seen, resumed.enqueued) == (251, 101)
    assert shop250.fake.state.requests["OrdersPage"] == 3


async def test_an_order_whose_number_no_job_can_hold_is_skipped_saying_why(
    database_url: str, saleor_fake: RunningSaleorFake
) -> None:
    """Queuing it failed the job's insert on PostgreSQL (the number's column holds 64
    characters): the whole run ended "the database failed", at every run."""
    async with configured_shop(database_url, saleor_fake) as (runtime, shop):
        state = saleor_fake.state
        usual = state.add_order(created=SINCE.isoformat())
        long = state.add_order(created=SINCE.isoformat(), number="9" * 65)

        progress = await scan_orders(
            runtime, shop, time_field="createdAt", since=SINCE, until=UNTIL
        )

        planned = {p.order_id: (p.action, p.reason) for p in progress.planned}
        assert planned[usual["id"]] == ("enqueue", "Trigger met; not in Gordon.")
        assert planned[long["id"]] == (
            "skip",
            "Not queued: the order number is longer than 64 characters or is not one line of "
            "text, so the app cannot keep it; Send to Gordon in the Saleor Dashboard says more.",
        )
        async with runtime.engine.connect() as connection:
            numbers = (await connection.execute(select(sync_jobs.c.order_number))).scalars()
            assert list(numbers) == [usual["number"]]
