"""The due-job channel on PostgreSQL (``store/job_wake.py``): every write that makes a job due
notifies once its transaction commits (never a rolled-back one), a redelivered webhook that makes
nothing due does not, and a listener ignores its own process's notifications.

A listener here stands for another process (an engine of its own). That something was NOT
notified is shown by a marker notified after it: one connection receives notifications in the
order they were committed, so once the marker has arrived, nothing sent before it is still on its
way.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from saleor_gordon.core.job_status import JobStatus
from saleor_gordon.jobs.lifecycle import Episode, Transition
from saleor_gordon.jobs.queue import JobQueue, OrderJobRequest
from saleor_gordon.secret_box import SecretBox
from saleor_gordon.store.database import create_engine, migrate
from saleor_gordon.store.inbox import EventInbox
from saleor_gordon.store.installations import InstallationStore
from saleor_gordon.store.job_wake import DUE_JOBS_CHANNEL, DueJobListener, process_token
from tests.conftest import TEST_SECRET_KEY
from tests.jobs.test_queue import PUSHED
from tests.store.test_inbox_groups import JWKS, TOKEN, received

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
MARKER = "marker"
WAIT = 30.0


@dataclass
class Heard:
    """What a listener of another process heard: each wake it gave, and the markers."""

    wakes: int = 0
    markers: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def wake(self) -> None:
        self.wakes += 1
        self.changed.set()

    async def until(self, *, wakes: int | None = None, markers: int | None = None) -> None:
        async with asyncio.timeout(WAIT):
            while not (
                (wakes is None or self.wakes >= wakes)
                and (markers is None or self.markers >= markers)
            ):
                self.changed.clear()
                await self.changed.wait()


@dataclass
class Channel:
    engine: AsyncEngine
    heard: Heard

    async def marker(self) -> None:
        """Notify the marker; return once the listener has heard it."""
        seen = self.heard.markers
        async with self.engine.begin() as connection:
            await connection.execute(text(f"SELECT pg_notify('{DUE_JOBS_CHANNEL}', '{MARKER}')"))
        await self.heard.until(markers=seen + 1)

    async def install(self) -> int:
        installation = await InstallationStore(
            self.engine, SecretBox(TEST_SECRET_KEY)
        ).save_installation(
            saleor_api_url="https://a.example.com/graphql/",
            app_id="QXBwOjQ=",
            token=TOKEN,
            jwks=JWKS,
            now=NOW,
        )
        return installation.id


@pytest_asyncio.fixture
async def channel(fresh_postgres_url: str) -> AsyncIterator[Channel]:
    engine = create_engine(fresh_postgres_url)
    await migrate(engine)
    listening_engine = create_engine(fresh_postgres_url)  # another process's
    heard = Heard()

    class Counting(DueJobListener):
        def _notified(self, connection: object, pid: int, channel: str, payload: str) -> None:
            if payload == MARKER:
                heard.markers += 1
                heard.changed.set()
                return
            super()._notified(connection, pid, channel, payload)

    listener = Counting(listening_engine, heard.wake, ignore="the listening process")
    listening = asyncio.create_task(listener.run())
    try:
        async with asyncio.timeout(WAIT):
            await listener.connected.wait()
        yield Channel(engine, heard)
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)
        await listening_engine.dispose()
        await engine.dispose()


def _request(installation_id: int, order: int) -> OrderJobRequest:
    return OrderJobRequest(installation_id, f"T3JkZXI6{order}", str(order), "ORDER_FULLY_PAID", NOW)


async def test_an_enqueue_wakes_another_process_once_per_transaction(channel: Channel) -> None:
    shop = await channel.install()
    await channel.marker()  # the installation made nothing due
    assert channel.heard.wakes == 0

    await JobQueue(channel.engine).enqueue([_request(shop, n) for n in range(5)])

    await channel.marker()
    assert channel.heard.wakes == 1  # five jobs due, one notification: one worker per process


async def test_a_rolled_back_transaction_wakes_nobody(channel: Channel) -> None:
    shop = await channel.install()
    queue = JobQueue(channel.engine)

    async def enqueue_then_fail() -> None:
        async with queue.transaction() as writes:
            await writes.enqueue([_request(shop, 1)])
            raise RuntimeError("the caller's own statement failed")

    with pytest.raises(RuntimeError):
        await enqueue_then_fail()

    await channel.marker()
    assert channel.heard.wakes == 0


async def test_webhooks_wake_another_process_and_a_redelivery_does_not(channel: Channel) -> None:
    shop = await channel.install()
    async with EventInbox(channel.engine) as inbox:
        await asyncio.gather(
            *(inbox.record_order_event(received(shop, n), now=NOW) for n in (1, 2))
        )
        await channel.heard.until(wakes=1)
        await channel.marker()
        assert channel.heard.wakes == 1  # one group, one statement: one notification

        await inbox.record_order_event(received(shop, 1), now=NOW)  # a redelivery

        await channel.marker()
        assert channel.heard.wakes == 1


async def test_an_operator_retry_wakes_another_process(channel: Channel) -> None:
    shop = await channel.install()
    queue = JobQueue(channel.engine)
    [job_id] = (await queue.enqueue([_request(shop, 1)])).values()
    await channel.heard.until(wakes=1)

    assert await queue.retry_job(job_id, now=NOW)
    await channel.heard.until(wakes=2)

    assert not await queue.retry_job(job_id + 1000, now=NOW)  # no such job: nothing due
    await channel.marker()
    assert channel.heard.wakes == 2


async def test_a_finish_that_leaves_the_job_due_wakes_another_process(channel: Channel) -> None:
    shop = await channel.install()
    queue = JobQueue(channel.engine)
    await queue.enqueue([_request(shop, 1)])
    job = await queue.claim_next_job(
        worker_id="w", now=NOW, lease_seconds=30, per_installation_limit=4
    )
    assert job is not None
    await channel.heard.until(wakes=1)

    # an event arrived during the attempt: the job stays due after the attempt is recorded
    await queue.enqueue([_request(shop, 1)])
    await channel.heard.until(wakes=2)
    settled = Transition(
        status=JobStatus.SYNCED,
        next_attempt_at=None,
        episode=Episode.ENDS,
        action="push",
        outcome="accepted",
        message=PUSHED,
    )
    assert await queue.finish_job(job, settled, now=NOW + timedelta(seconds=1))
    await channel.heard.until(wakes=3)

    # a finish that settles the job wakes nobody
    job = await queue.claim_next_job(
        worker_id="w", now=NOW + timedelta(seconds=2), lease_seconds=30, per_installation_limit=4
    )
    assert job is not None
    assert await queue.finish_job(job, settled, now=NOW + timedelta(seconds=3))
    await channel.marker()
    assert channel.heard.wakes == 3


async def test_a_listener_ignores_its_own_process(fresh_postgres_url: str) -> None:
    engine = create_engine(fresh_postgres_url)
    heard = Heard()
    listener = DueJobListener(engine, heard.wake, ignore=process_token())
    listening = asyncio.create_task(listener.run())
    try:
        async with asyncio.timeout(WAIT):
            await listener.connected.wait()
        async with engine.begin() as connection:
            for payload in (process_token(), "another process"):
                await connection.execute(
                    text("SELECT pg_notify(:channel, :payload)"),
                    {"channel": DUE_JOBS_CHANNEL, "payload": payload},
                )
        await heard.until(wakes=1)
        async with engine.begin() as connection:  # its own, then the marker of this test
            await connection.execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {"channel": DUE_JOBS_CHANNEL, "payload": process_token()},
            )
        async with engine.begin() as connection:
            await connection.execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {"channel": DUE_JOBS_CHANNEL, "payload": "a third"},
            )
        await heard.until(wakes=2)
        assert heard.wakes == 2
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)
        await engine.dispose()
