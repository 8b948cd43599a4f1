"""Group commit in the EventInbox: concurrent webhooks share a transaction, each gets its answer.

Run on both write paths: through the engine (PostgreSQL, and an inbox without a writer) and
through the SQLite writer process that ``open_runtime`` gives a SQLite file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import event, insert, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from saleor_gordon.core.order_events import OrderEvent
from saleor_gordon.errors import InstallationGone, StoreUnavailable
from saleor_gordon.jobs.views import JobViews
from saleor_gordon.secret_box import SecretBox
from saleor_gordon.store.database import create_engine, migrate
from saleor_gordon.store.inbox import EventInbox, InboxResult, SqliteWriter
from saleor_gordon.store.installations import InstallationStore
from saleor_gordon.store.tables import sync_jobs, webhook_events
from tests.conftest import TEST_SECRET_KEY

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
JWKS = {"keys": [{"kty": "RSA", "kid": "k1", "n": "AQAB", "e": "AQAB"}]}
TOKEN = "abcdefghijklmnopqrstuvwxyz0123"


@dataclass
class Inbox:
    inbox: EventInbox
    engine: AsyncEngine

    @property
    def installations(self) -> InstallationStore:
        return InstallationStore(self.engine, SecretBox(TEST_SECRET_KEY))

    async def install(self, url: str) -> int:
        installation = await self.installations.save_installation(
            saleor_api_url=url, app_id="QXBwOjQ=", token=TOKEN, jwks=JWKS, now=NOW
        )
        return installation.id


@pytest.fixture(
    params=[
        "sqlite",
        "sqlite-writer",
        pytest.param("postgresql", marks=pytest.mark.postgres),
    ]
)
def write_path(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """(write path, database URL): SQLite through the engine or the writer thread; PostgreSQL."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("fresh_postgres_url")
        return request.param, url
    return request.param, f"sqlite:///{tmp_path / 'saleor-gordon.db'}"


@pytest_asyncio.fixture
async def inbox(write_path: tuple[str, str]) -> AsyncIterator[Inbox]:
    kind, database_url = write_path
    engine = create_engine(database_url)
    await migrate(engine)
    writer = SqliteWriter.for_database(database_url) if kind == "sqlite-writer" else None
    inbox = EventInbox(engine, writer=writer)
    try:
        yield Inbox(inbox, engine)
    finally:
        await inbox.close()
        if writer is not None:
            writer.close()
        await engine.dispose()


def received(installation_id: int, order: int, event: str = "ORDER_FULLY_PAID") -> OrderEvent:
    return OrderEvent(
        installation_id=installation_id,
        event=event,
        order_id=f"T3JkZXI6{order}",
        order_number=str(order),
        issued_at=f"2026-11-27T12:00:{order:02d}+00:00|{event}",
        principal_type="User",
        principal_id="VXNlcjoyMQ==",
        body_sha256="0" * 64,
    )


async def record_all(inbox: EventInbox, events: list[OrderEvent]) -> list[object]:
    return await asyncio.gather(
        *(inbox.record_order_event(e, now=NOW) for e in events), return_exceptions=True
    )


async def test_concurrent_events_commit_in_one_transaction(inbox: Inbox) -> None:
    shop = await inbox.install("https://a.example.com/graphql/")
    committed = inbox.inbox.committed_groups

    results = await record_all(inbox.inbox, [received(shop, n) for n in range(40)])

    # one transaction for the 40 events handed in together
    assert inbox.inbox.committed_groups == committed + 1
    assert all(isinstance(r, InboxResult) and not r.duplicate for r in results)
    job_ids = [r.job_id for r in results if isinstance(r, InboxResult)]
    assert len(set(job_ids)) == 40
    jobs = {job.id: job.order_id for job in await JobViews(inbox.engine).list_jobs(limit=100)}
    assert [jobs[job_id] for job_id in job_ids] == [f"T3JkZXI6{n}" for n in range(40)]
    assert await inbox.inbox.count_events(shop) == 40


async def test_a_redelivery_in_the_same_group_is_a_duplicate(inbox: Inbox) -> None:
    shop = await inbox.install("https://a.example.com/graphql/")

    results = await record_all(inbox.inbox, [received(shop, 7), received(shop, 7)])

    assert results[0] == InboxResult(duplicate=False, job_id=results[0].job_id)  # type: ignore[union-attr]
    assert results[1] == InboxResult(duplicate=True, job_id=None)
    assert await inbox.inbox.count_events(shop) == 1


async def test_a_redelivery_in_a_later_group_leaves_its_job_as_it_was(inbox: Inbox) -> None:
    shop = await inbox.install("https://a.example.com/graphql/")
    first = await inbox.inbox.record_order_event(received(shop, 8), now=NOW)

    # redelivered together with a new event of another order
    again, other = await record_all(inbox.inbox, [received(shop, 8), received(shop, 9)])

    assert again == InboxResult(duplicate=True, job_id=None)
    assert isinstance(other, InboxResult)
    assert not other.duplicate
    async with inbox.engine.connect() as connection:
        versions = dict(
            (await connection.execute(text("SELECT order_id, version FROM sync_jobs"))).all()
        )
    assert versions == {"T3JkZXI68": 1, "T3JkZXI69": 1}  # order 8's job was not refreshed
    assert first.job_id is not None


async def test_events_of_one_order_handed_in_together_commit_one_group_after_the_other(
    inbox: Inbox,
) -> None:
    shop = await inbox.install("https://a.example.com/graphql/")
    committed = inbox.inbox.committed_groups

    results = await record_all(
        inbox.inbox,
        [
            received(shop, 3, "ORDER_CREATED"),
            received(shop, 4, "ORDER_CREATED"),
            received(shop, 3, "ORDER_FULLY_PAID"),
        ],
    )

    # each group has an order once: the second event of order 3 waits for the next group
    assert inbox.inbox.committed_groups == committed + 2
    assert [r.duplicate for r in results if isinstance(r, InboxResult)] == [False] * 3
    jobs = {job.order_id: job for job in await JobViews(inbox.engine).list_jobs()}
    assert jobs["T3JkZXI63"].events_seen == ["ORDER_CREATED", "ORDER_FULLY_PAID"]
    assert jobs["T3JkZXI64"].events_seen == ["ORDER_CREATED"]
    job_ids = [r.job_id for r in results if isinstance(r, InboxResult)]
    assert job_ids == [jobs["T3JkZXI63"].id, jobs["T3JkZXI64"].id, jobs["T3JkZXI63"].id]
    assert await inbox.inbox.count_events(shop) == 3


async def test_an_event_of_a_deleted_installation_fails_alone(inbox: Inbox) -> None:
    kept = await inbox.install("https://a.example.com/graphql/")
    gone = await inbox.install("https://b.example.com/graphql/")
    await inbox.installations.delete_installation(gone)  # as another process would

    results = await record_all(
        inbox.inbox, [received(kept, 1), received(gone, 2), received(kept, 3)]
    )

    assert isinstance(results[1], InstallationGone)
    assert [isinstance(results[i], InboxResult) for i in (0, 2)] == [True, True]
    assert await inbox.inbox.count_events(kept) == 2
    orders = sorted(job.order_id for job in await JobViews(inbox.engine).list_jobs())
    assert orders == ["T3JkZXI61", "T3JkZXI63"]


async def test_an_event_whose_caller_went_away_is_still_committed(inbox: Inbox) -> None:
    shop = await inbox.install("https://a.example.com/graphql/")
    caller = asyncio.create_task(inbox.inbox.record_order_event(received(shop, 5), now=NOW))
    await asyncio.sleep(0)  # one turn of the loop: the caller has handed its event in

    caller.cancel()
    await inbox.inbox.close()

    assert caller.cancelled()
    assert await inbox.inbox.count_events(shop) == 1


@pytest.mark.parametrize("write_path", ["sqlite", "sqlite-writer"], indirect=True)
async def test_events_handed_in_while_a_group_commits_form_the_next_group(inbox: Inbox) -> None:
    # (The engine path commits one group at a time; the writer process is sent the next group
    # while one commits, and commits them in turn. PostgreSQL: the tests further below.)
    shop = await inbox.install("https://a.example.com/graphql/")
    committed = inbox.inbox.committed_groups
    first = asyncio.create_task(inbox.inbox.record_order_event(received(shop, 1), now=NOW))
    await asyncio.sleep(0)  # the first group (one event) is being written

    later = await record_all(inbox.inbox, [received(shop, n) for n in range(2, 12)])

    assert (await first).duplicate is False
    assert all(isinstance(r, InboxResult) and not r.duplicate for r in later)
    # the first event alone, then the ten that waited for it
    assert inbox.inbox.committed_groups == committed + 2
    assert await inbox.inbox.count_events(shop) == 11


def test_the_writer_is_for_sqlite_files_only() -> None:
    assert SqliteWriter.for_database("postgresql://u@127.0.0.1/db") is None
    assert SqliteWriter.for_database("sqlite:///:memory:") is None


@pytest.mark.parametrize(
    "now",
    [NOW, NOW.replace(microsecond=250_000)],
    ids=["whole-second", "fraction"],
)
async def test_times_are_stored_as_every_other_statement_stores_them(
    inbox: Inbox, now: datetime
) -> None:
    # given an event recorded by the inbox's own SQL (a whole second: where SQLite's text differs)
    shop = await inbox.install("https://a.example.com/graphql/")
    result = await inbox.inbox.record_order_event(received(shop, 1), now=now)
    # when a SQLAlchemy statement stores the same time beside it
    async with inbox.engine.begin() as connection:
        await connection.execute(
            update(sync_jobs).where(sync_jobs.c.id == result.job_id).values(lease_expires_at=now)
        )
        job = (
            await connection.exec_driver_sql(
                "SELECT next_attempt_at, pending_since, created_at, updated_at, lease_expires_at"
                " FROM sync_jobs"
            )
        ).one()
        received_at = (
            await connection.exec_driver_sql("SELECT received_at FROM webhook_events")
        ).scalar_one()
    # then the database holds the very same value everywhere
    assert set(job) == {job.lease_expires_at}
    assert received_at == job.lease_expires_at
    # and reads back as the time given
    [listed] = await JobViews(inbox.engine).list_jobs(limit=1)
    assert listed.next_attempt_at == now


@pytest_asyncio.fixture
async def sqlite_inbox(tmp_path: Path) -> AsyncIterator[tuple[Inbox, SqliteWriter, Path]]:
    """An inbox on a SQLite file, through the writer process that ``open_runtime`` gives it."""
    path = tmp_path / "saleor-gordon.db"
    engine = create_engine(f"sqlite:///{path}")
    await migrate(engine)
    writer = SqliteWriter.for_database(f"sqlite:///{path}")
    assert writer is not None
    inbox = Inbox(EventInbox(engine, writer=writer), engine)
    try:
        yield inbox, writer, path
    finally:
        await inbox.inbox.close()
        writer.close()
        await engine.dispose()


async def second_event_behind_a_held_write_lock(
    inbox: Inbox, path: Path
) -> tuple[int, sqlite3.Connection, asyncio.Task[InboxResult]]:
    """A shop's first event committed, then another connection holding SQLite's write lock while
    the shop's second event is being recorded: returns once the writer has taken that event's group."""
    shop = await inbox.install("https://a.example.com/graphql/")
    await inbox.inbox.record_order_event(received(shop, 1), now=NOW)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    recording = asyncio.create_task(inbox.inbox.record_order_event(received(shop, 2), now=NOW))
    await a_writer_takes_what_was_handed_in(inbox)
    return shop, other, recording


async def a_writer_takes_what_was_handed_in(inbox: Inbox) -> None:
    """Return once the events of the tasks just created are handed in and a writer has taken
    them (turn by turn: the tasks hand them in on their first turn)."""
    async with asyncio.timeout(10):
        while not inbox.inbox.waiting:  # noqa: ASYNC110 - the first turn of the recording tasks
            await asyncio.sleep(0)
        while inbox.inbox.waiting:  # noqa: ASYNC110 - until a writer takes them
            await asyncio.sleep(0)


def _stored_events(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as reader:
        return int(reader.execute("SELECT count(*) FROM webhook_events").fetchone()[0])


async def test_a_group_waits_for_a_write_lock_held_elsewhere_while_the_loop_serves_on(
    sqlite_inbox: tuple[Inbox, SqliteWriter, Path],
) -> None:
    # given the SQLite writer, whose process commits the groups
    inbox, _writer, path = sqlite_inbox
    # when another connection (a worker, another process) holds the write lock
    shop, other, recording = await second_event_behind_a_held_write_lock(inbox, path)
    # then the group waits in the writer process while the loop serves on: it awaits a read of
    # the database in a thread (WAL: readers pass the lock), which sees the first event only,
    # and the second event is still waiting
    assert await asyncio.wait_for(asyncio.to_thread(_stored_events, path), 5) == 1
    assert not recording.done()
    other.execute("COMMIT")
    other.close()
    # and commits once the lock is free
    assert await recording == InboxResult(duplicate=False, job_id=2)
    assert await inbox.inbox.count_events(shop) == 2


async def test_a_writer_process_that_dies_fails_its_group_and_the_next_group_gets_a_new_one(
    sqlite_inbox: tuple[Inbox, SqliteWriter, Path],
) -> None:
    # given the writer process, busy with a group (it waits for a lock held elsewhere)
    inbox, writer, path = sqlite_inbox
    shop, other, recording = await second_event_behind_a_held_write_lock(inbox, path)
    assert writer.started == 1
    # when it is killed before it answers (as the OOM killer would)
    assert writer.pid is not None
    os.kill(writer.pid, signal.SIGKILL)
    # then that group fails as the database being unavailable (503: Saleor delivers it again)
    with pytest.raises(StoreUnavailable):
        await recording
    other.execute("ROLLBACK")
    other.close()
    # and the next group starts a new writer process and commits
    assert await inbox.inbox.record_order_event(received(shop, 2), now=NOW) == InboxResult(
        duplicate=False, job_id=2
    )
    assert writer.started == 2
    assert await inbox.inbox.count_events(shop) == 2


async def test_the_writer_process_takes_the_next_group_while_one_commits(
    sqlite_inbox: tuple[Inbox, SqliteWriter, Path],
) -> None:
    # given a group sent to the writer process, waiting there for a write lock held elsewhere
    inbox, writer, path = sqlite_inbox
    shop, other, recording = await second_event_behind_a_held_write_lock(inbox, path)
    # when events of other orders arrive meanwhile
    later = [
        asyncio.create_task(inbox.inbox.record_order_event(received(shop, n), now=NOW))
        for n in (3, 4, 5)
    ]
    # then they are sent as the next group at once, not kept back until the first commits (the
    # process commits the two one after the other, in the order sent)
    await a_writer_takes_what_was_handed_in(inbox)
    assert await asyncio.wait_for(asyncio.to_thread(_stored_events, path), 5) == 1
    assert not recording.done()
    other.execute("COMMIT")
    other.close()
    # and each caller gets its own group's answer: its order's job
    assert await recording == InboxResult(duplicate=False, job_id=2)
    assert [await task for task in later] == [
        InboxResult(duplicate=False, job_id=job_id) for job_id in (3, 4, 5)
    ]
    assert inbox.inbox.committed_groups == 3
    assert writer.started == 1


async def test_a_writer_process_that_dies_fails_every_group_sent_to_it(
    sqlite_inbox: tuple[Inbox, SqliteWriter, Path],
) -> None:
    # given two groups of one event each sent to the writer process, the first waiting for a
    # write lock held elsewhere
    inbox, writer, path = sqlite_inbox
    shop, other, recording = await second_event_behind_a_held_write_lock(inbox, path)
    next_group = asyncio.create_task(inbox.inbox.record_order_event(received(shop, 3), now=NOW))
    await a_writer_takes_what_was_handed_in(inbox)
    # when the process is killed before it answers either
    assert writer.pid is not None
    os.kill(writer.pid, signal.SIGKILL)
    # then both fail as the database being unavailable (Saleor delivers them again)
    for task in (recording, next_group):
        with pytest.raises(StoreUnavailable):
            await asyncio.wait_for(task, 10)
    other.execute("ROLLBACK")
    other.close()
    assert await inbox.inbox.count_events(shop) == 1


@contextlib.asynccontextmanager
async def postgres_inbox(url: str) -> AsyncIterator[Inbox]:
    """An inbox on a migrated PostgreSQL database, closed (and its engine disposed) at the end."""
    engine = create_engine(url)
    await migrate(engine)
    inbox = Inbox(EventInbox(engine), engine)
    try:
        yield inbox
    finally:
        await inbox.inbox.close()
        await engine.dispose()


async def a_statement_waits_for_a_lock(engine: AsyncEngine) -> None:
    """Return once a statement on ``engine``'s PostgreSQL database waits for a lock."""
    waiting_for_lock = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    async with asyncio.timeout(20):
        # polling the database's own state: there is no event to wait on. Each look in a
        # transaction of its own: PostgreSQL shows pg_stat_activity as it was at the
        # transaction's first look, so one transaction would never see the wait begin.
        while True:
            async with engine.connect() as observer:
                if (await observer.execute(waiting_for_lock)).scalar_one():
                    return
            await asyncio.sleep(0.01)


@pytest.mark.postgres
async def test_on_postgresql_an_orders_next_event_waits_for_the_group_holding_the_earlier_one(
    fresh_postgres_url: str,
) -> None:
    # given a group holding an event of order 3 that waits in the database (another
    # transaction is inserting an event with the same dedupe key), so the next group is
    # another writer's
    async with postgres_inbox(fresh_postgres_url) as inbox:
        engine = inbox.engine
        shop = await inbox.install("https://a.example.com/graphql/")
        created = received(shop, 3, "ORDER_CREATED")
        async with engine.connect() as blocker:
            await blocker.begin()
            await blocker.execute(
                insert(webhook_events).values(
                    installation_id=shop,
                    dedupe_key=created.dedupe_key,
                    event=created.event,
                    body_sha256=created.body_sha256,
                    received_at=NOW,
                )
            )
            first = asyncio.create_task(inbox.inbox.record_order_event(created, now=NOW))
            await a_statement_waits_for_a_lock(engine)

            # when the order's next event arrives together with another order's
            paid = received(shop, 3, "ORDER_FULLY_PAID")
            later = asyncio.create_task(inbox.inbox.record_order_event(paid, now=NOW))
            other = await inbox.inbox.record_order_event(received(shop, 4), now=NOW)

            # then the other order's event commits meanwhile, and order 3's next event waits
            # (a group committing beside the stuck one would store it first)
            assert other.duplicate is False
            assert inbox.inbox.waiting == 1
            assert not later.done()
            await blocker.rollback()

        # and once the earlier event's group has committed, the next event commits after it
        assert (await first).duplicate is False
        assert (await later).duplicate is False
        jobs = {job.order_id: job for job in await JobViews(engine).list_jobs()}
        assert jobs["T3JkZXI63"].events_seen == ["ORDER_CREATED", "ORDER_FULLY_PAID"]
        assert await inbox.inbox.count_events(shop) == 3


@pytest.mark.postgres
async def test_on_postgresql_groups_commit_side_by_side(fresh_postgres_url: str) -> None:
    # given an inbox on PostgreSQL, and one order's job locked by another transaction
    async with postgres_inbox(fresh_postgres_url) as inbox:
        engine = inbox.engine
        shop = await inbox.install("https://a.example.com/graphql/")
        await inbox.inbox.record_order_event(received(shop, 1), now=NOW)
        async with engine.connect() as blocker:
            await blocker.begin()
            await blocker.execute(text("SELECT id FROM sync_jobs FOR UPDATE"))
            stuck = asyncio.create_task(
                inbox.inbox.record_order_event(received(shop, 1, "ORDER_UPDATED"), now=NOW)
            )
            await a_statement_waits_for_a_lock(engine)
            # when events of other orders arrive while that group waits
            others = await asyncio.wait_for(
                record_all(inbox.inbox, [received(shop, n) for n in range(2, 6)]), timeout=20
            )
            # then they commit meanwhile, in groups of their own
            assert all(isinstance(r, InboxResult) and not r.duplicate for r in others)
            assert not stuck.done()
            await blocker.rollback()
        # and the waiting group commits once the lock is gone
        assert (await stuck).duplicate is False
        assert await inbox.inbox.count_events(shop) == 6


@pytest.mark.postgres
async def test_on_postgresql_groups_share_one_kept_connection_with_no_pool_checkout_per_group(
    fresh_postgres_url: str,
) -> None:
    # given an inbox on PostgreSQL, counting the checkouts of its engine's pool
    checkouts: list[object] = []
    async with postgres_inbox(fresh_postgres_url) as inbox:
        engine = inbox.engine
        shop = await inbox.install("https://a.example.com/graphql/")
        event.listen(engine.sync_engine.pool, "checkout", lambda *args: checkouts.append(args))
        # when events come one after the other, the writer ending between them
        for number in range(1, 4):
            result = await inbox.inbox.record_order_event(received(shop, number), now=NOW)
            assert result == InboxResult(duplicate=False, job_id=number)
        # then each group was its own statement on one kept connection: made once through the
        # pool (and detached from it), no checkout per group (each would ping the database, a
        # round trip more per group)
        assert inbox.inbox.committed_groups == 3
        assert len(checkouts) == 1
        # and that one connection is the only one besides the pool's (the look's own)
        assert await end_other_connections(engine) == 1


async def end_other_connections(engine: AsyncEngine) -> int:
    """End every other connection to the engine's PostgreSQL database, as a restart does; how
    many were ended."""
    async with engine.connect() as admin:
        ended = await admin.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        return len([True for terminated in ended.scalars() if terminated])


@pytest.mark.postgres
async def test_on_postgresql_an_event_whose_connection_the_database_ends_is_refused_then_stored(
    fresh_postgres_url: str,
) -> None:
    # given an event whose statement waits in the database (another transaction holds its
    # order's job row)
    async with postgres_inbox(fresh_postgres_url) as inbox:
        engine = inbox.engine
        shop = await inbox.install("https://a.example.com/graphql/")
        assert await inbox.inbox.record_order_event(received(shop, 1), now=NOW) == InboxResult(
            duplicate=False, job_id=1
        )
        updated = received(shop, 1, "ORDER_UPDATED")
        async with engine.connect() as blocker:
            await blocker.execute(text("SELECT id FROM sync_jobs FOR UPDATE"))
            stuck = asyncio.create_task(inbox.inbox.record_order_event(updated, now=NOW))
            await a_statement_waits_for_a_lock(engine)
            # when the database ends that statement's connection (as a restart does)
            ended = await blocker.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
            assert ended.scalars().all() == [True]
            # then the event is refused as retryable (503): not acknowledged, not stored
            with pytest.raises(StoreUnavailable):
                await asyncio.wait_for(stuck, timeout=20)
            await blocker.rollback()
        assert await inbox.inbox.count_events(shop) == 1
        # and delivered again it is stored through a new connection, as are the next events
        assert await inbox.inbox.record_order_event(updated, now=NOW) == InboxResult(
            duplicate=False, job_id=1
        )
        assert (await inbox.inbox.record_order_event(received(shop, 2), now=NOW)).duplicate is False
        assert await inbox.inbox.count_events(shop) == 3
        jobs = {job.order_id: job.events_seen for job in await JobViews(engine).list_jobs()}
        assert jobs == {
            "T3JkZXI61": ["ORDER_FULLY_PAID", "ORDER_UPDATED"],
            "T3JkZXI62": ["ORDER_FULLY_PAID"],
        }


@pytest.mark.postgres
async def test_on_postgresql_events_grouped_on_a_dead_connection_are_stored_or_refused(
    fresh_postgres_url: str,
) -> None:
    # given an inbox on PostgreSQL whose kept connection the database then ends
    async with postgres_inbox(fresh_postgres_url) as inbox:
        engine = inbox.engine
        shop = await inbox.install("https://a.example.com/graphql/")
        await inbox.inbox.record_order_event(received(shop, 1), now=NOW)
        assert await end_other_connections(engine) == 1
        # when several events arrive together (one group, then one by one on failure)
        results = await record_all(inbox.inbox, [received(shop, n) for n in range(2, 7)])
        # then each is either stored or refused as retryable: none acknowledged and lost
        acknowledged = [r for r in results if isinstance(r, InboxResult)]
        refused = [r for r in results if isinstance(r, StoreUnavailable)]
        assert len(acknowledged) + len(refused) == 5
        assert await inbox.inbox.count_events(shop) == 1 + len(acknowledged)
        # and the refused ones, delivered again, are stored
        again = await record_all(inbox.inbox, [received(shop, n) for n in range(2, 7)])
        assert all(isinstance(r, InboxResult) for r in again)
        assert await inbox.inbox.count_events(shop) == 6
