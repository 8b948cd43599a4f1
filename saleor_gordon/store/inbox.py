"""The inbox of verified webhook events; Saleor's redeliveries are recognised and stored once.

Webhooks are committed in groups (group commit): while one transaction commits, the events that
arrive meanwhile wait, and the next transaction stores all of them at once. Each caller gets its
answer only after the transaction holding its event has committed, so an acknowledged event is
always stored with its job. A group holds each order once, and an order is in one group at a
time (its next event waits until the group holding the earlier one has committed, also when
another writer takes the next group meanwhile), so each job row is its event's alone and an
order's events commit in the order they came: the transaction inserts the events, then creates
or refreshes the jobs of the events it inserted (a redelivery inserts nothing, and the earlier
delivery is the one stored).

Where the transaction runs: on PostgreSQL it is one statement on one of the engine's kept asyncpg
connections (``on_postgres``: its own transaction, one round trip, no pool checkout and its ping);
on a SQLite file, in the ``SqliteWriter``'s helper process, off the event loop and on another core
(``store/sqlite_writer_process.py`` says why); otherwise (an in-memory SQLite) through the
engine. One writer per inbox also means one connection of the webhook path competing
for SQLite's write lock, not twenty. A group that fails is split, so one bad event (an
installation deleted meanwhile) fails alone; not when no connection to the database could be
made (refused, or no answer within the connect timeout), nor when the group's statement got no
answer within the statement timeout: every event would wait for that again, so the group's
events, and those of a split still waiting, are refused at once (Saleor delivers them again).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import logging
import os
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Dialect, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from saleor_gordon.core.order_events import OrderEvent
from saleor_gordon.errors import InstallationGone, StoreUnavailable
from saleor_gordon.jobs.queue import (
    ORDER_JOB_COLUMNS,
    UPSERT_JOBS_VALUES,
    UPSERT_ORDER_JOBS,
    OrderJobRequest,
    order_job_rows,
)
from saleor_gordon.store import sqlite_writer_process
from saleor_gordon.store.database import SQLITE_BUSY_TIMEOUT_MS, SQLITE_PRAGMAS, sqlite_file
from saleor_gordon.store.driver_sql import on_postgres
from saleor_gordon.store.error_mapping import map_database_errors
from saleor_gordon.store.job_wake import notify_sql, process_token
from saleor_gordon.store.multirow import bind_processor, execute_on_driver, values_rows
from saleor_gordon.store.sqlite_writer_process import (
    FrameDecoder,
    GroupStatements,
    encode_frame,
    store_group,
    write_all,
)
from saleor_gordon.store.tables import sync_jobs, webhook_events

logger = logging.getLogger(__name__)

MAX_GROUP = 256
"""Events per transaction at most (a burst becomes several transactions)."""

CONCURRENT_GROUPS = 2
"""Groups in flight at once. On PostgreSQL each is a transaction on its connection: a group waits
for its statement's round trip and PostgreSQL's commit, and the next group need not wait for it
(a group stuck on a row lock does not hold up the others). Rows are written in key order, so
concurrent groups lock rows in the same order (no deadlock). A SQLite file has one write lock:
its writer process commits the groups one after the other, in the order sent, and the next
group is sent while one commits, so the pipe round trip and the event loop's turn to read the
answer are no longer a pause between two commits (bench/RESULTS.md, "Eighth round"). Concurrent
groups never share an order (``_take_group``): two statements in flight side by side may reach
the database in either order."""


@dataclass(frozen=True)
class InboxResult:
    duplicate: bool
    job_id: int | None


@dataclass(frozen=True)
class _Waiting:
    received: OrderEvent
    now: datetime
    answer: asyncio.Future[InboxResult]


class SqliteWriter:
    """The inbox's transactions on a SQLite file, run by a helper process
    (``store/sqlite_writer_process.py``) that is started with the first group and again after a
    failure. The helper waits for SQLite's write lock when another connection holds it (a worker
    recording a job, another process), while the event loop serves on. Several groups may be
    sent before the first is answered: the helper answers them in the order sent, and a helper
    that ends fails every group sent to it (their events may be committed: Saleor's redelivery
    is then a duplicate)."""

    def __init__(self, database: str) -> None:
        self.database = database
        self._process: _Helper | None = None
        self._frames = FrameDecoder()
        self._answers: collections.deque[asyncio.Future[object]] = collections.deque()
        """The answers of the groups sent to the running helper, in the order sent (it answers
        them in that order)."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self.started = 0
        """Helper processes started so far."""

    @classmethod
    def for_database(cls, database_url: str) -> SqliteWriter | None:
        """A writer for a SQLite file; None for PostgreSQL and in-memory SQLite."""
        database = sqlite_file(database_url)
        return None if database is None else cls(database)

    async def store_group(
        self, event_rows: list[tuple[Any, ...]], job_rows: list[tuple[Any, ...]]
    ) -> tuple[list[tuple[int, str]], list[tuple[int, str, int]]]:
        """``store_group`` of the helper process in one transaction; SQLite's errors are raised
        as SQLAlchemy's (``IntegrityError``, ``OperationalError``), a helper that died as
        ``WriterProcessGone`` (an OSError, so StoreUnavailable for the caller)."""
        loop = asyncio.get_running_loop()
        if self._process is not None and self._loop is not loop:
            self._stop()  # started on a loop that ended (one writer, several test loops)
        process = self._process or self._start(loop)
        answer: asyncio.Future[object] = loop.create_future()
        self._answers.append(answer)
        try:
            write_all(process.input, encode_frame((event_rows, job_rows)))
        except OSError:
            self._stop()
        reply = await answer
        assert isinstance(reply, tuple)
        if reply[0] == "stored":
            return reply[1], reply[2]
        _, error_class, error_code, message = reply
        raise _sqlite_error(error_class, error_code, message)

    def _read_answers(self) -> None:
        """The helper's answers, each to its group's caller (one that went away gets none); a
        helper that ended fails every group sent to it."""
        process = self._process
        if process is None:
            return
        try:
            data = os.read(process.output, 1 << 16)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._stop()
            return
        for message in self._frames.feed(data):
            answer = self._answers.popleft()
            if not answer.done():
                answer.set_result(message)

    @property
    def pid(self) -> int | None:
        """The helper process's id while it runs."""
        return None if self._process is None else self._process.process.pid

    def _start(self, loop: asyncio.AbstractEventLoop) -> _Helper:
        process = subprocess.Popen(  # noqa: S603 - this interpreter and this app's own file
            [sys.executable, "-S", sqlite_writer_process.__file__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
        )
        helper = _Helper(process)
        os.set_blocking(helper.output, False)
        config = {
            "database": self.database,
            "pragmas": SQLITE_PRAGMAS,
            "insert_events": _STATEMENTS.insert_events,
            "upsert_jobs": _STATEMENTS.upsert_jobs,
        }
        write_all(helper.input, encode_frame(config))
        self._process, self._frames, self._loop = helper, FrameDecoder(), loop
        loop.add_reader(helper.output, self._read_answers)
        self.started += 1
        return helper

    def _stop(self, *, wait_seconds: float = 0.0) -> None:
        helper, self._process = self._process, None
        answers, self._answers = self._answers, collections.deque()
        if helper is not None:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.remove_reader(helper.output)
            helper.end(wait_seconds)
        for answer in answers:
            if not answer.done():
                answer.set_exception(WriterProcessGone("The SQLite writer process ended."))

    def close(self) -> None:
        """End the helper process once it has answered (it waits at most a lock timeout)."""
        self._stop(wait_seconds=SQLITE_BUSY_TIMEOUT_MS / 1000 + 5)


class _Helper:
    """A running helper process and the descriptors of its pipes."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdin is not None
        assert process.stdout is not None
        self.process = process
        self._stdin, self._stdout = process.stdin, process.stdout
        self.input, self.output = process.stdin.fileno(), process.stdout.fileno()

    def end(self, wait_seconds: float) -> None:
        """Close its input, which ends it, and wait for it up to ``wait_seconds`` (0: kill it
        at once: it may be answering a group nobody waits for any more)."""
        self._stdin.close()
        if wait_seconds:
            try:
                self.process.wait(timeout=wait_seconds)
            except subprocess.TimeoutExpired:
                self.process.kill()
        else:
            self.process.kill()
        self.process.wait()
        self._stdout.close()


class WriterProcessGone(ConnectionError):
    """The SQLite writer process ended (killed, crashed) before it answered."""


def _sqlite_error(error_class: str, error_code: int | None, message: str) -> DBAPIError:
    """The helper process's sqlite3 error as SQLAlchemy raises sqlite3's errors."""
    kind = getattr(sqlite3, error_class, None)
    if not (isinstance(kind, type) and issubclass(kind, sqlite3.Error)):
        kind = sqlite3.OperationalError
    error = kind(message)
    if error_code is not None:
        error.sqlite_errorcode = error_code
    translated = DBAPIError.instance("inbox group", None, error, sqlite3.Error)
    assert isinstance(translated, DBAPIError)
    return translated


class EventInbox:
    """Where verified webhook events are handed in; ``close()`` it (or use it as ``async with``)
    before its engine is disposed: a writer may be committing a group."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        writer: SqliteWriter | None = None,
        wake_workers: Callable[[int | None], None] | None = None,
    ) -> None:
        self.engine = engine
        self._wake_workers = wake_workers
        self._sqlite_writer = writer
        self._waiting: list[_Waiting] = []
        self._writers: set[asyncio.Task[None]] = set()
        self._orders_in_flight: set[tuple[int, str]] = set()
        """(installation id, order id) of the events in the groups being committed."""
        self._postgresql = engine.dialect.name == "postgresql"
        self._max_writers = CONCURRENT_GROUPS if self._postgresql or writer is not None else 1
        self.committed_groups = 0
        """Transactions the inbox committed (each holding one group of events)."""

    async def record_order_event(self, received: OrderEvent, *, now: datetime) -> InboxResult:
        """Store the event once and create or refresh its order's sync job (an event the app
        ignores, its own metadata write, is answered by the web layer and never stored).

        Both happen in one transaction (shared with concurrent calls): an acknowledged event
        always has its job.

        Raises:
            InstallationGone: the installation was deleted (by another process) meanwhile.
            StoreUnavailable: the database failed; nothing of this event is stored.
        """
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[InboxResult] = loop.create_future()
        self._waiting.append(_Waiting(received, now, answer))
        self._start_writer(loop)
        # A caller that goes away (cancelled: client disconnect) cancels only its answer; its
        # event stays in its group and is committed anyway (``_settle`` skips a cancelled answer).
        result = await answer
        if result.job_id is not None and self._wake_workers is not None:
            self._wake_workers(received.installation_id)  # the job is due and committed
        return result

    async def __aenter__(self) -> EventInbox:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def waiting(self) -> int:
        """Events handed in that no transaction has taken yet."""
        return len(self._waiting)

    async def close(self) -> None:
        """Wait until every event handed in so far is committed (or failed)."""
        loop = asyncio.get_running_loop()
        while writers := [w for w in self._writers if w.get_loop() is loop and not w.done()]:
            await asyncio.wait(writers)

    def _start_writer(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start a writer for the waiting events unless as many as may run are running."""
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

    async def _write_waiting(self) -> None:
        group: list[_Waiting] = []
        try:
            # Checked again once the connection is back: events handed in while it was being
            # returned found this writer not done yet, and wait for it.
            while self._waiting:
                async with contextlib.AsyncExitStack() as stack:
                    # Only an in-memory SQLite's groups run on the engine's connection, one for as
                    # long as events keep coming. A SQLite file's go to its writer process, and
                    # PostgreSQL's each take a kept connection (``_store_on_postgres``).
                    connection = None
                    if self._sqlite_writer is None and not self._postgresql:
                        connection = await stack.enter_async_context(self._connect())
                    while self._waiting:
                        group = _take_group(self._waiting, busy=self._orders_in_flight)
                        if not group:
                            # Every waiting event's order is in another writer's group: that
                            # writer takes them once the group has committed.
                            return
                        orders = {_order_of(waiting) for waiting in group}
                        self._orders_in_flight |= orders
                        try:
                            database_failed = await self._commit_group(group, connection)
                        finally:
                            self._orders_in_flight -= orders
                        group = []
                        if database_failed is not None and connection is not None:
                            # The connection may be gone (a database restart): never use it
                            # again (see _commit_group); the next events get a new one.
                            await connection.invalidate()
                            break
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
    ) -> StoreUnavailable | None:
        """Commit ``group`` and answer each of its events; the database's failure when it failed
        (``StoreUnavailable``: its events are answered so, and may be delivered again)."""
        try:
            results = await self._commit(group, connection)
        except Exception as exc:
            if _lost(connection) or isinstance(exc, _NO_ANSWER_NOW):
                # Nothing can be stored now: the writer's connection is gone (SQLAlchemy
                # invalidated it), no connection to PostgreSQL could be made (refused, or no
                # answer within the connect timeout), or PostgreSQL did not answer the group's
                # statement within the statement timeout: each event tried alone would wait for
                # that again. Refuse them all (Saleor delivers them again) rather than try each;
                # the next group takes a new connection. (A PostgreSQL group whose statement
                # failed holds none: ``on_postgres`` closed it, and the group is split below,
                # each event on a new connection.)
                for waiting in group:
                    _settle(waiting, exc)
                return exc if isinstance(exc, StoreUnavailable) else _connection_lost()
            if len(group) == 1:
                _settle(group[0], exc)
                return exc if isinstance(exc, StoreUnavailable) else None
            logger.warning(
                "inbox.group_failed events=%s error=%s: committing them one by one",
                len(group),
                type(exc).__name__,
            )
            database_failed: StoreUnavailable | None = None
            for index, waiting in enumerate(group):  # the event that failed; the others commit
                failed = await self._commit_group([waiting], connection)
                database_failed = database_failed or failed
                if _lost(connection) or isinstance(failed, _NO_ANSWER_NOW):
                    # Nothing more can be stored now (as above): the rest are refused at once.
                    for rest in group[index + 1 :]:
                        _settle(
                            rest,
                            type(failed)(failed.message)
                            if isinstance(failed, _NO_ANSWER_NOW)
                            else _connection_lost(),
                        )
                    return database_failed
            return database_failed
        self.committed_groups += 1
        for waiting, result in zip(group, results, strict=True):
            _settle(waiting, result)
        return None

    async def _commit(
        self, group: Sequence[_Waiting], connection: AsyncConnection | None
    ) -> list[InboxResult]:
        dialect = self.engine.dialect
        event_rows = _event_rows(dialect, group)
        job_rows = _job_rows(dialect, group)
        try:
            async with map_database_errors():
                if self._postgresql:
                    inserted, jobs = await _store_on_postgres(self.engine, event_rows, job_rows)
                elif connection is None:
                    assert self._sqlite_writer is not None
                    inserted, jobs = await self._sqlite_writer.store_group(event_rows, job_rows)
                else:
                    async with connection.begin():
                        inserted, jobs = await connection.run_sync(
                            _store_through_engine, event_rows, job_rows
                        )
        except IntegrityError as exc:
            # Events and jobs refer to their installation: only its deletion can fail them.
            if len(group) == 1:
                raise InstallationGone() from exc
            raise
        return _results(group, inserted, jobs)

    async def count_events(self, installation_id: int) -> int:
        async with map_database_errors(), self.engine.connect() as connection:
            rows = await connection.execute(
                select(webhook_events.c.id).where(
                    webhook_events.c.installation_id == installation_id
                )
            )
            return len(rows.all())


class _NotConnected(StoreUnavailable):
    """No connection to PostgreSQL could be made for a group (refused, or no answer within the
    connect timeout): none of its statement was sent, so none of it is stored."""


class _Unanswered(StoreUnavailable):
    """PostgreSQL did not answer a group's statement within the statement timeout (asyncpg's
    ``command_timeout``; ``on_postgres`` closed the connection): it was sent, and may have
    committed or not. Its events are refused all the same, never acknowledged: Saleor delivers
    them again, and an event stored before is then found a duplicate (its dedupe key)."""


_NO_ANSWER_NOW = (_NotConnected, _Unanswered)
"""A group's failures after which nothing more is tried now: each event tried alone would wait
for the same again."""


def _connection_lost() -> StoreUnavailable:
    return StoreUnavailable("The database connection was lost.")


def _lost(connection: AsyncConnection | None) -> bool:
    """Whether SQLAlchemy found ``connection``'s database connection gone (it invalidates it)."""
    return connection is not None and connection.invalidated


def _settle(waiting: _Waiting, outcome: InboxResult | BaseException) -> None:
    if waiting.answer.done():
        return
    if isinstance(outcome, InboxResult):
        waiting.answer.set_result(outcome)
    elif isinstance(outcome, asyncio.CancelledError):
        waiting.answer.cancel()
    else:
        waiting.answer.set_exception(outcome)


def _order_of(waiting: _Waiting) -> tuple[int, str]:
    return waiting.received.installation_id, waiting.received.order_id


def _take_group(waiting: list[_Waiting], *, busy: set[tuple[int, str]]) -> list[_Waiting]:
    """Remove the next group from ``waiting`` and return it: up to MAX_GROUP events in the order
    they came, each order once and none of the ``busy`` orders (those in a group being
    committed): an order's next event waits for a later group."""
    group: list[_Waiting] = []
    later: list[_Waiting] = []
    orders = set(busy)
    for item in waiting:
        order = _order_of(item)
        if len(group) < MAX_GROUP and order not in orders:
            orders.add(order)
            group.append(item)
        else:
            later.append(item)
    waiting[:] = later
    return group


_EVENT_COLUMNS = (
    "installation_id",
    "dedupe_key",
    "event",
    "order_id",
    "order_number",
    "issued_at",
    "principal_type",
    "principal_id",
    "body_sha256",
    "received_at",
)

_INSERT_EVENTS = f"""\
INSERT INTO webhook_events ({", ".join(_EVENT_COLUMNS)})
VALUES {{values}}
ON CONFLICT (installation_id, dedupe_key) DO NOTHING
RETURNING installation_id, dedupe_key"""  # noqa: S608 - constants; values are bound parameters
"""Store events once: a redelivery (same dedupe key) inserts nothing and returns no row. SQL text
both databases run (``store/multirow.py`` says why)."""


_STATEMENTS = GroupStatements(insert_events=_INSERT_EVENTS, upsert_jobs=UPSERT_JOBS_VALUES)
"""The group transaction's statements, as the helper process and the engine path run them."""


def _store_through_engine(
    connection: Connection, event_rows: list[tuple[Any, ...]], job_rows: list[tuple[Any, ...]]
) -> tuple[list[tuple[int, str]], list[tuple[int, str, int]]]:
    """``store_group`` on the engine's connection, inside its transaction."""
    return store_group(
        functools.partial(execute_on_driver, connection), _STATEMENTS, event_rows, job_rows
    )


async def _store_on_postgres(
    engine: AsyncEngine, event_rows: list[tuple[Any, ...]], job_rows: list[tuple[Any, ...]]
) -> tuple[list[tuple[int, str]], list[tuple[int, str, int]]]:
    """``store_group`` as one PostgreSQL statement, its own transaction, on one of the engine's
    kept asyncpg connections (``on_postgres``): one round trip, where SQLAlchemy's transaction
    costs four (BEGIN, two statements, COMMIT) and a pool checkout one more (its ping), and no
    SQLAlchemy cursor or greenlet per group (bench/RESULTS.md, "Eleventh round").

    Raises:
        _NotConnected: no connection could be made (refused, no answer within the connect
            timeout): the statement was never sent.
        _Unanswered: the statement got no answer within the statement timeout: it may have
            committed.
    """
    statement = _one_statement(len(event_rows), len(job_rows), _job_casts(engine.dialect))
    parameters = [value for row in [*event_rows, *job_rows] for value in row]
    if job_rows:  # the notification's payload (``_ONE_STATEMENT``'s last parameter)
        parameters.append(process_token())
    connected = False

    async def store(driver: Any) -> list[Any]:
        nonlocal connected
        connected = True
        rows: list[Any] = await driver.fetch(statement, *parameters)
        return rows

    try:
        async with map_database_errors():
            rows = await on_postgres(engine, store)
    except StoreUnavailable as exc:
        if not connected:
            raise _NotConnected(exc.message) from exc.__cause__
        if isinstance(exc.__cause__, TimeoutError):
            raise _Unanswered(exc.message) from exc.__cause__
        raise
    inserted = [(installation_id, key) for installation_id, key, job_id in rows if job_id is None]
    jobs = [(installation, order, job) for installation, order, job in rows if job is not None]
    return inserted, jobs


@functools.cache
def _job_casts(dialect: Dialect) -> tuple[str, ...]:
    """The types of the job rows' values (``_INSERTED_EVENTS_JOBS``) in ``dialect``'s SQL."""
    columns = [webhook_events.c.dedupe_key, *(sync_jobs.c[name] for name in ORDER_JOB_COLUMNS)]
    return tuple(column.type.compile(dialect=dialect) for column in columns)


@functools.lru_cache(maxsize=1024)
def _one_statement(events: int, jobs: int, job_casts: tuple[str, ...]) -> str:
    insert_events = _INSERT_EVENTS.format(
        values=values_rows("postgresql", len(_EVENT_COLUMNS), events)
    )
    if not jobs:
        return f"{insert_events}, NULL::integer"
    job_values = values_rows(
        "postgresql",
        len(job_casts),
        jobs,
        first=len(_EVENT_COLUMNS) * events + 1,
        casts=job_casts,
    )
    token = f"${len(_EVENT_COLUMNS) * events + len(job_casts) * jobs + 1}"
    return _ONE_STATEMENT.format(
        insert_events=insert_events, job_values=job_values, notify=notify_sql(token)
    )


_ORDER_JOB_LIST = ", ".join(ORDER_JOB_COLUMNS)
_INSERTED_EVENTS_JOBS = f"""\
SELECT {_ORDER_JOB_LIST}
FROM (VALUES {{job_values}}) AS requested (dedupe_key, {_ORDER_JOB_LIST})
WHERE EXISTS (SELECT FROM inserted WHERE inserted.installation_id = requested.installation_id
    AND inserted.dedupe_key = requested.dedupe_key)"""  # noqa: S608 - constants
_ONE_STATEMENT = f"""\
WITH inserted AS ({{insert_events}}),
upserted AS ({UPSERT_ORDER_JOBS.replace("{rows}", _INSERTED_EVENTS_JOBS)}),
notified AS (SELECT {{notify}} FROM (SELECT FROM upserted LIMIT 1) AS made_due)
SELECT installation_id, dedupe_key, NULL::integer FROM inserted
UNION ALL SELECT installation_id, order_id, id FROM upserted, notified"""  # noqa: S608 - constants
"""Insert the events, then upsert the job of each inserted one; return both, told apart by the
job id (NULL for an event). A statement that made a job due notifies the worker processes
(``store/job_wake.py``) once: ``notified`` has one row then, and none when no job was upserted
(the jobs' rows are returned through it, so PostgreSQL cannot leave it unevaluated)."""


def _event_rows(dialect: Dialect, group: Sequence[_Waiting]) -> list[tuple[Any, ...]]:
    """The ``_INSERT_EVENTS`` rows (``_EVENT_COLUMNS``) of ``group``, in key order (see
    CONCURRENT_GROUPS)."""
    stored_time = bind_processor(webhook_events.c.received_at.type, dialect)
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
        )
        for waiting in group
    ]
    rows.sort(key=lambda row: (row[0], row[1]))
    return rows


def _job_rows(dialect: Dialect, group: Sequence[_Waiting]) -> list[tuple[Any, ...]]:
    """The job row (``ORDER_JOB_COLUMNS``) of each event (each makes its order's job due), after
    its dedupe key; in key order. The group has each order once."""
    requests = [
        OrderJobRequest(
            installation_id=waiting.received.installation_id,
            order_id=waiting.received.order_id,
            order_number=waiting.received.order_number,
            event=waiting.received.event,
            now=waiting.now,
        )
        for waiting in group
    ]
    keys = {
        (waiting.received.installation_id, waiting.received.order_id): waiting.received.dedupe_key
        for waiting in group
    }
    return [(keys[(row[0], row[1])], *row) for row in order_job_rows(dialect, requests)]


def _results(
    group: Sequence[_Waiting],
    inserted: list[tuple[int, str]],
    jobs: list[tuple[int, str, int]],
) -> list[InboxResult]:
    """Each event's answer: a duplicate unless it was inserted, else with its order's job."""
    new = set(inserted)
    job_ids = {(installation_id, order_id): job_id for installation_id, order_id, job_id in jobs}
    results = []
    for waiting in group:
        key = (waiting.received.installation_id, waiting.received.dedupe_key)
        if key not in new:
            results.append(InboxResult(duplicate=True, job_id=None))
            continue
        order = (waiting.received.installation_id, waiting.received.order_id)
        results.append(InboxResult(duplicate=False, job_id=job_ids[order]))
    return results
