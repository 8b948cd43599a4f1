"""The inbox of verified webhook events; Saleor's redeliveries are recognised and stored once.

Webhooks are committed in groups (group commit): while one transaction commits, the events that
arrive meanwhile wait, and the next transaction stores all of them at once. Each caller gets its
answer only after the transaction holding its event has committed, so an acknowledged event is
always stored with its job. One writer per inbox also means one connection of the webhook path
competing for SQLite's write lock, not twenty. With a ``SqliteWriter`` (what ``open_runtime`` gives
a SQLite database) a group is one synchronous transaction on the event loop (``SqliteWriter`` says
when it goes to a thread), instead of a dozen hand-offs between the loop and aiosqlite's threads.
A group that fails is split, so one bad event (an installation deleted meanwhile) fails alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from saleor_gordon.errors import InstallationGone
from saleor_gordon.store.database import SQLITE_BUSY_TIMEOUT_MS, create_sqlite_writer_engine
from saleor_gordon.store.error_mapping import map_database_errors
from saleor_gordon.store.jobs import OrderJobRequest, enqueue_order_jobs
from saleor_gordon.store.multirow import bind_processor, execute_rows
from saleor_gordon.store.tables import webhook_events

logger = logging.getLogger(__name__)

T = TypeVar("T")

MAX_GROUP = 256
"""Events per transaction at most (a burst becomes several transactions)."""

CONCURRENT_GROUPS = 2
"""Transactions in flight at once on PostgreSQL, each on its connection: a group waits for four
round trips, and the next groups need not wait for it. SQLite has one write lock: one group at a
time. Rows are written in key order, so concurrent groups lock rows in the same order (no
deadlock)."""


@dataclass(frozen=True)
class ReceivedOrderEvent:
    """What the app keeps of an order webhook: identifiers only, no customer data."""

    installation_id: int
    event: str
    order_id: str
    order_number: str | None
    issued_at: str | None
    principal_type: str | None
    principal_id: str | None
    body_sha256: str

    @property
    def dedupe_key(self) -> str:
        # Saleor resends identical bytes on retry and has no delivery id; these identify an event.
        return f"{self.event}|{self.order_id}|{self.issued_at or self.body_sha256}"


@dataclass(frozen=True)
class InboxResult:
    duplicate: bool
    job_id: int | None


@dataclass(frozen=True)
class _Waiting:
    received: ReceivedOrderEvent
    now: datetime
    ignored_reason: str | None
    answer: asyncio.Future[InboxResult]


class SqliteWriter:
    """The inbox's one synchronous SQLite connection, where its groups commit.

    A group commits right on the event loop: its transaction costs SQLite a fraction of a
    millisecond, while in a thread every sqlite3 call had to win the interpreter lock back from
    the busy event loop (measured under load: 4 to 5 ms per group instead of 0.3). When another
    connection holds SQLite's write lock (a worker recording a job, another process), starting the
    transaction fails at once (busy timeout 0), and the group goes to the writer's thread, which
    waits for the lock there (busy timeout SQLITE_BUSY_TIMEOUT_MS) while the loop serves on.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inbox-writer")
        self.waited_for_lock = 0
        """Groups that found the write lock taken and waited for it in the thread."""

    @classmethod
    def for_database(cls, database_url: str) -> SqliteWriter | None:
        """A writer for a SQLite file; None for PostgreSQL (asyncpg needs no thread hand-offs)."""
        engine = create_sqlite_writer_engine(database_url)
        return None if engine is None else cls(engine)

    async def run(self, store: Callable[[Connection], T]) -> T:
        """``store(connection)`` in one transaction: on the loop, or in the writer's thread when
        the write lock is taken."""
        done = self._transaction(store, wait_for_lock=False)
        if not isinstance(done, _LockTaken):
            return done
        self.waited_for_lock += 1
        waited = await asyncio.get_running_loop().run_in_executor(
            self._thread, self._transaction, store, True
        )
        assert not isinstance(waited, _LockTaken)
        return waited

    def _transaction(self, store: Callable[[Connection], T], wait_for_lock: bool) -> T | _LockTaken:
        with self.engine.connect() as connection:
            # On the driver's connection: a statement through SQLAlchemy would begin a transaction.
            sqlite_connection = connection.connection.dbapi_connection
            assert sqlite_connection is not None
            if wait_for_lock:
                sqlite_connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            try:
                try:
                    transaction = connection.begin()  # BEGIN IMMEDIATE: takes the write lock
                except OperationalError as exc:
                    if not wait_for_lock and _lock_taken(exc):
                        return _LockTaken()
                    raise
                with transaction:
                    return store(connection)
            finally:
                if wait_for_lock:
                    sqlite_connection.execute("PRAGMA busy_timeout=0")

    def close(self) -> None:
        self._thread.shutdown(wait=True)
        self.engine.dispose()


class _LockTaken:
    """Another connection holds SQLite's write lock."""


def _lock_taken(error: OperationalError) -> bool:
    return getattr(error.orig, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY


class EventInbox:
    def __init__(self, engine: AsyncEngine, *, writer: SqliteWriter | None = None) -> None:
        self.engine = engine
        self._sqlite_writer = writer
        self._waiting: list[_Waiting] = []
        self._writers: set[asyncio.Task[None]] = set()
        self._max_writers = CONCURRENT_GROUPS if engine.dialect.name == "postgresql" else 1

    async def record_order_event(
        self, received: ReceivedOrderEvent, *, now: datetime, ignored_reason: str | None = None
    ) -> InboxResult:
        """Store the event once and, unless ignored, create or refresh its order's sync job.

        Both happen in one transaction (shared with concurrent calls): an acknowledged event
        always has its job.

        Raises:
            InstallationGone: the installation was deleted (by another process) meanwhile.
            StoreUnavailable: the database failed; nothing of this event is stored.
        """
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[InboxResult] = loop.create_future()
        self._waiting.append(_Waiting(received, now, ignored_reason, answer))
        # A done writer may not have run its done callback yet; one of another loop is stranded
        # on a loop that ended (one inbox, several test loops).
        writers = self._writers
        writers.difference_update(
            [writer for writer in writers if writer.done() or writer.get_loop() is not loop]
        )
        if len(writers) < self._max_writers:
            writer = loop.create_task(self._write_waiting())
            writers.add(writer)
            writer.add_done_callback(writers.discard)
        # A caller that goes away (client disconnect) leaves its event to be committed anyway.
        return await asyncio.shield(answer)

    async def close(self) -> None:
        """Wait until every event handed in so far is committed (or failed)."""
        while self._writers:
            await asyncio.gather(*self._writers, return_exceptions=True)

    async def _write_waiting(self) -> None:
        group: list[_Waiting] = []
        try:
            # Checked again once the connection is back: events handed in while it was being
            # returned found this writer not done yet, and wait for it.
            while self._waiting:
                async with contextlib.AsyncExitStack() as stack:
                    # One connection for as long as events keep coming: a checkout pings the
                    # database (pool_pre_ping), one round trip more per group.
                    connection = None
                    if self._sqlite_writer is None:
                        connection = await stack.enter_async_context(self._connect())
                    while self._waiting:
                        group = self._waiting[:MAX_GROUP]
                        del self._waiting[:MAX_GROUP]
                        await self._commit_group(group, connection)
        except BaseException as exc:  # cancelled with the loop: fail, never strand, the waiting
            for waiting in [*group, *self._waiting]:
                _settle(waiting, exc)
            self._waiting.clear()
            if isinstance(exc, Exception):
                return  # the waiting have their answer (StoreUnavailable); nothing more to do
            raise

    @contextlib.asynccontextmanager
    async def _connect(self) -> AsyncIterator[AsyncConnection]:
        async with map_database_errors(), self.engine.connect() as connection:
            yield connection

    async def _commit_group(
        self, group: list[_Waiting], connection: AsyncConnection | None
    ) -> None:
        try:
            results = await self._commit(group, connection)
        except Exception as exc:
            if len(group) == 1:
                _settle(group[0], exc)
                return
            logger.warning(
                "inbox.group_failed events=%s error=%s: committing them one by one",
                len(group),
                type(exc).__name__,
            )
            for waiting in group:  # find the event that failed; the others still commit
                await self._commit_group([waiting], connection)
            return
        for waiting, result in zip(group, results, strict=True):
            _settle(waiting, result)

    async def _commit(
        self, group: Sequence[_Waiting], connection: AsyncConnection | None
    ) -> list[InboxResult]:
        def store(sync_connection: Connection) -> list[InboxResult]:
            return _store_events(sync_connection, group)

        try:
            async with map_database_errors():
                if connection is None:
                    assert self._sqlite_writer is not None
                    return await self._sqlite_writer.run(store)
                async with connection.begin():
                    return await connection.run_sync(store)
        except IntegrityError as exc:
            # Events and jobs refer to their installation: only its deletion can fail them.
            if len(group) == 1:
                raise InstallationGone() from exc
            raise

    async def count_events(self, installation_id: int) -> int:
        async with map_database_errors(), self.engine.connect() as connection:
            rows = await connection.execute(
                select(webhook_events.c.id).where(
                    webhook_events.c.installation_id == installation_id
                )
            )
            return len(rows.all())


def _settle(waiting: _Waiting, outcome: InboxResult | BaseException) -> None:
    if waiting.answer.done():
        return
    if isinstance(outcome, InboxResult):
        waiting.answer.set_result(outcome)
    elif isinstance(outcome, asyncio.CancelledError):
        waiting.answer.cancel()
    else:
        waiting.answer.set_exception(outcome)


_INSERT_EVENTS = """\
INSERT INTO webhook_events (installation_id, dedupe_key, event, order_id, order_number, issued_at,
    principal_type, principal_id, body_sha256, received_at, ignored_reason)
VALUES {values}
ON CONFLICT (installation_id, dedupe_key) DO NOTHING
RETURNING installation_id, dedupe_key"""
"""Store events once: a redelivery (same dedupe key) inserts nothing and returns no row. SQL text
both databases run (``store/multirow.py`` says why)."""


def _store_events(connection: Connection, group: Sequence[_Waiting]) -> list[InboxResult]:
    """Insert the group's events (a redelivery is a duplicate), then enqueue their jobs."""
    stored_time = bind_processor(webhook_events.c.received_at.type, connection.dialect)
    rows = [
        (
            waiting.received.installation_id,
            waiting.received.dedupe_key,
            waiting.received.event,
            waiting.received.order_id,
            waiting.received.order_number,
            waiting.received.issued_at,
            waiting.received.principal_type,
            waiting.received.principal_id,
            waiting.received.body_sha256,
            stored_time(waiting.now),
            waiting.ignored_reason,
        )
        for waiting in group
    ]
    rows.sort(key=lambda row: (row[0], row[1]))  # key order: see CONCURRENT_GROUPS
    inserted = {
        (installation_id, dedupe_key)
        for installation_id, dedupe_key in execute_rows(connection, _INSERT_EVENTS, rows)
    }
    new: list[_Waiting | None] = []  # per waiting: itself when its event is new (first of its key)
    for waiting in group:
        key = (waiting.received.installation_id, waiting.received.dedupe_key)
        new.append(waiting if key in inserted else None)
        inserted.discard(key)  # the same event twice in one group: the second is a duplicate
    job_ids = enqueue_order_jobs(
        connection,
        [
            OrderJobRequest(
                installation_id=waiting.received.installation_id,
                order_id=waiting.received.order_id,
                order_number=waiting.received.order_number,
                event=waiting.received.event,
                now=waiting.now,
            )
            for waiting in new
            if waiting is not None and waiting.ignored_reason is None
        ],
    )
    results = []
    for event in new:
        if event is None:
            results.append(InboxResult(duplicate=True, job_id=None))
        elif event.ignored_reason is not None:
            results.append(InboxResult(duplicate=False, job_id=None))
        else:
            job = (event.received.installation_id, event.received.order_id)
            results.append(InboxResult(duplicate=False, job_id=job_ids[job]))
    return results
