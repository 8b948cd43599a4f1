"""A job's SQLite transactions run whole in the connection's own thread, as prepared SQL.

aiosqlite runs each statement in the connection's thread and hands its result back to the event
loop, so a transaction of SQLAlchemy statements (BEGIN IMMEDIATE, two or three statements,
COMMIT) held SQLite's write lock across four or five turns of a busy event loop, and every other
writer (the other workers, the inbox's writer helper process) slept in SQLite's busy handler
(1, 2, 5, 10 ... 100 ms steps) meanwhile. Here the whole transaction is one call in that thread:
the lock is held for the statements' own time, and one hand-off back to the loop replaces one per
statement. Statements are SQLAlchemy constructs compiled once (``Prepared``): the same SQL text,
parameter conversions and result conversions SQLAlchemy uses, without its per-execution work;
``Prepared.once`` is the one registry of them (a statement compiled once per process and
dialect).

Only a function that needs no event loop may run there (no ``await``): it gets the sqlite3
connection and runs ``Prepared`` statements on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self, TypeVar

from sqlalchemy import Dialect, event
from sqlalchemy.exc import DBAPIError, IntegrityError, InvalidRequestError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util.concurrency import greenlet_spawn, in_greenlet

_Result = TypeVar("_Result")


def _identity(value: Any) -> Any:
    return value


def _result_processor(column_type: Any, dialect: Dialect) -> Callable[[Any], Any]:
    """The conversion of a result column, as SQLAlchemy makes it without the cursor's column
    type. asyncpg's numeric conversions need that type; it returns Python numbers itself (a
    float for ``double precision``), so none is needed there."""
    try:
        processor = column_type.dialect_impl(dialect).result_processor(dialect, None)
    except (TypeError, InvalidRequestError):
        if dialect.name != "postgresql":
            raise
        return _identity
    return processor or _identity


@dataclass(frozen=True)
class Prepared:
    """A statement compiled once for a dialect with positional parameters: its SQL text, the
    parameters' names in order with their bind conversions and defaults (values written into the
    statement), and the result columns' conversions."""

    sql: str
    names: tuple[str, ...]
    binds: tuple[Callable[[Any], Any], ...]
    defaults: Mapping[str, Any]
    results: tuple[Callable[[Any], Any], ...]
    keys: tuple[str, ...]
    """The result columns' names."""

    @classmethod
    def once(cls, statement: Any, dialect: Dialect) -> Prepared:
        """``statement`` compiled for ``dialect``, once per process: the one way to get a
        ``Prepared``. ``statement`` is built once too (a module constant, or a builder cached
        per dialect or per set of columns): compiling costs about a quarter of a millisecond,
        more than running most of these statements, and a statement built per call would be
        compiled per call. That mistake fails loudly here once more than ``MAX_STATEMENTS``
        were compiled, rather than slowing every call and growing the registry."""
        key = (id(statement), dialect.name)
        entry = _COMPILED.get(key)
        if entry is None:
            if len(_COMPILED) >= MAX_STATEMENTS:
                raise RuntimeError(
                    f"more than {MAX_STATEMENTS} statements compiled: a statement is built per "
                    "call; build it once (a module constant or a cached builder)"
                )
            # The statement is kept with it: its id stays its own while the entry lives.
            entry = _COMPILED[key] = (statement, cls.of(statement, dialect))
        return entry[1]

    @classmethod
    def of(cls, statement: Any, dialect: Dialect) -> Prepared:
        """Compile ``statement`` now (``once`` is how the app gets one)."""
        compiled = statement.compile(dialect=dialect)
        names = tuple(compiled.positiontup or ())
        binds = []
        defaults = {}
        for name in names:
            bind = compiled.binds[name]
            if bind.type._isnull:  # sqlite3 would store a datetime its own way, not the column's
                raise TypeError(f"parameter {name!r} has no type: give it its column's")
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            binds.append(processor or _identity)
            if bind.value is not None or not bind.required:
                defaults[name] = bind.effective_value
        results = []
        keys = []
        for column in compiled._result_columns:  # (keyname, name, objects, type)
            keys.append(column[0])
            results.append(_result_processor(column[3], dialect))
        return cls(compiled.string, names, tuple(binds), defaults, tuple(results), tuple(keys))

    def parameters(self, given: Mapping[str, Any]) -> tuple[Any, ...]:
        values = {**self.defaults, **given} if self.defaults else given
        return tuple(bind(values[name]) for name, bind in zip(self.names, self.binds, strict=True))

    def run(self, connection: sqlite3.Connection, given: Mapping[str, Any]) -> _Rows:
        """Execute on a sqlite3 connection (in its thread); the rows it returned, converted, and
        how many rows it changed."""
        cursor = connection.execute(self.sql, self.parameters(given))
        try:
            if not self.results:
                return _Rows([], cursor.rowcount, self.keys)
            rows = [
                tuple(convert(value) for convert, value in zip(self.results, row, strict=True))
                for row in cursor.fetchall()
            ]
            return _Rows(rows, cursor.rowcount, self.keys)
        finally:
            cursor.close()

    async def fetch(self, connection: Any, given: Mapping[str, Any]) -> _Rows:
        """Execute on an asyncpg connection (``on_postgres``): the rows it returned, converted,
        and how many rows it changed (asyncpg keeps the statement prepared per connection)."""
        if not self.results:
            status = await connection.execute(self.sql, *self.parameters(given))
            return _Rows([], int(status.rsplit(" ", 1)[-1]), self.keys)
        records = await connection.fetch(self.sql, *self.parameters(given))
        rows = [
            tuple(convert(value) for convert, value in zip(self.results, record, strict=True))
            for record in records
        ]
        return _Rows(rows, len(rows), self.keys)

    def run_many(self, connection: sqlite3.Connection, given: Sequence[Mapping[str, Any]]) -> None:
        connection.executemany(self.sql, [self.parameters(one) for one in given])


MAX_STATEMENTS = 256
"""Distinct statements ``Prepared.once`` compiles at most (the app has a few dozen)."""

_COMPILED: dict[tuple[int, str], tuple[Any, Prepared]] = {}
"""``Prepared.once``'s registry: (the statement's id, the dialect's name) -> the statement and
its ``Prepared``."""


@dataclass(frozen=True)
class _Rows:
    rows: list[tuple[Any, ...]]
    rowcount: int
    keys: tuple[str, ...]

    def first(self) -> tuple[Any, ...] | None:
        return self.rows[0] if self.rows else None

    def mappings(self) -> list[dict[str, Any]]:
        return [dict(zip(self.keys, row, strict=True)) for row in self.rows]


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


async def in_sqlite_thread(
    engine: AsyncEngine, work: Callable[[sqlite3.Connection], _Result], *, write: bool = True
) -> _Result:
    """Run ``work(connection)``, whole, in the thread of an aiosqlite connection to ``engine``'s
    SQLite database; ``work`` opens its transactions with ``sqlite_transaction``. sqlite3's
    errors are raised as SQLAlchemy's (``OperationalError``, ...), as ``store/error_mapping.py``
    expects.

    A SQLite file gets two connections kept for this (``_OwnConnections``): one runs the calls
    that may write (``write``), one after the other, so this process's writers never wait for
    each other in SQLite's busy handler, and one runs reads. An in-memory database (one
    connection, tests) checks one out of the engine's pool per call.

    The call is not cut short by a cancellation: ``work`` ends (its transaction committed or
    rolled back) first, and the cancellation is raised after.
    """
    try:
        if _own_connections_possible(engine):
            driver = await _OwnConnections.of(engine).get(engine, write=write)
            return await _run_whole(driver, work)
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            pooled = raw.driver_connection  # aiosqlite.Connection
            assert pooled is not None  # a connection checked out of the pool is connected
            return await _run_whole(pooled, work)
    except sqlite3.Error as exc:
        raise DBAPIError.instance(None, None, exc, sqlite3.Error, dialect=engine.dialect) from exc


async def _run_whole(driver: Any, work: Callable[[sqlite3.Connection], _Result]) -> _Result:
    # aiosqlite's own way to run a function in the connection's thread (what each of its
    # statements uses); calls on one connection run one after the other, in order.
    call = asyncio.ensure_future(driver._execute(work, driver._conn))
    try:
        return await asyncio.shield(call)
    except asyncio.CancelledError:
        if not call.done():
            await asyncio.wait([call])
        raise


def _own_connections_possible(engine: AsyncEngine) -> bool:
    database = engine.url.database
    return database not in {None, "", ":memory:"} and not str(database).startswith("file:")


class _KeptOnEngine:
    """Something made once per engine and kept on the engine itself (under the subclass's
    ``_KEPT_AS``), not in a registry: an engine nobody disposes is collected with it, as
    SQLAlchemy's pool is."""

    _KEPT_AS: str

    def __init__(self, engine: AsyncEngine) -> None:
        raise NotImplementedError

    @classmethod
    def of(cls, engine: AsyncEngine) -> Self:
        own: Self | None = getattr(engine.sync_engine, cls._KEPT_AS, None)
        if own is None:
            own = cls(engine)
            setattr(engine.sync_engine, cls._KEPT_AS, own)
        return own


class _OwnConnections(_KeptOnEngine):
    """The two connections (writes, reads) ``in_sqlite_thread`` uses for an engine's SQLite
    file: made by the engine's pool (so opened as the engine opens its own) and detached from it,
    so they cost none of SQLAlchemy's work per checkout and return and hold none of the pool's
    places; closed when the engine is disposed."""

    _KEPT_AS = "_saleor_gordon_own_sqlite_connections"

    def __init__(self, engine: AsyncEngine) -> None:
        self._opening: dict[bool, asyncio.Task[Any]] = {}
        event.listen(engine.sync_engine, "engine_disposed", self._close)

    async def get(self, engine: AsyncEngine, *, write: bool) -> Any:
        """The aiosqlite connection for writes (``write``) or for reads."""
        opening = self._opening.get(write)
        if opening is None or (opening.done() and opening.exception() is not None):
            opening = self._opening[write] = asyncio.ensure_future(_detached(engine))
        try:
            _, driver = await asyncio.shield(opening)
        except asyncio.CancelledError:
            if not opening.done():  # nothing outlives the caller
                await asyncio.wait([opening])
            raise
        return driver

    def _close(self, _engine: Any) -> None:
        """The engine is being disposed: close the connections (``AsyncEngine.dispose`` runs
        this in SQLAlchemy's greenlet, where a connection's close can run; elsewhere they are
        left to the garbage collector, as SQLAlchemy leaves its own checked-out ones)."""
        opening, self._opening = self._opening, {}
        for task in opening.values():
            if task.done() and task.exception() is None and in_greenlet():
                raw, _ = task.result()
                raw.close()  # detached: closes the connection itself


async def _detached(engine: AsyncEngine) -> tuple[Any, Any]:
    """A connection made by ``engine``'s pool (its URL, connect arguments, PostgreSQL's connect
    timeout among them, and set-up) and detached from it (the pool neither counts it nor hands
    it out): the pool's connection record and the driver's connection (aiosqlite's, asyncpg's).
    A failure to connect is raised as SQLAlchemy's ``DBAPIError`` (``Engine.raw_connection``
    raises the driver adapter's own), or as the ``OSError`` it is (refused; ``TimeoutError``: no
    answer within the connect timeout), as ``store/error_mapping.py`` expects."""

    def detached() -> tuple[Any, Any]:
        dbapi_error = engine.dialect.loaded_dbapi.Error
        try:
            raw = engine.sync_engine.raw_connection()
        except dbapi_error as exc:
            raise DBAPIError.instance(None, None, exc, dbapi_error, dialect=engine.dialect) from exc
        driver = raw.driver_connection  # the pool forgets it on detach
        raw.detach()
        return raw, driver

    return await greenlet_spawn(detached)


async def detached_driver(engine: AsyncEngine) -> Any:
    """The driver's connection of ``_detached``."""
    _, driver = await _detached(engine)
    return driver


async def in_sqlite_transaction(
    engine: AsyncEngine, work: Callable[[sqlite3.Connection], _Result], *, write: bool
) -> _Result:
    """``in_sqlite_thread`` of ``work`` in one transaction (``sqlite_transaction``)."""

    def transaction(connection: sqlite3.Connection) -> _Result:
        with sqlite_transaction(connection, write=write):
            return work(connection)

    return await in_sqlite_thread(engine, transaction, write=write)


@contextlib.contextmanager
def sqlite_transaction(connection: sqlite3.Connection, *, write: bool) -> Iterator[None]:
    """A transaction on a sqlite3 connection in its thread: BEGIN IMMEDIATE for ``write`` (the
    write lock, waited for here by SQLite's busy handler) or a deferred BEGIN (WAL readers neither
    take nor wait for the lock); COMMIT at the end, ROLLBACK when the block raised."""
    connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
    try:
        yield
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                connection.execute("ROLLBACK")
        raise


# --- PostgreSQL -------------------------------------------------------------------------------

MAX_OWN_POSTGRES_CONNECTIONS = 10
"""Connections ``on_postgres`` keeps per engine at most (beside the engine's own pool)."""


async def on_postgres(engine: AsyncEngine, work: Callable[[Any], Awaitable[_Result]]) -> _Result:
    """``await work(connection)`` on one of the engine's own asyncpg connections, in autocommit:
    a statement run alone (a ``Prepared`` one, or the inbox's group statement) is its own
    transaction, one round trip (SQLAlchemy's transaction costs four: the pool's ping, BEGIN,
    the statement, COMMIT or ROLLBACK).

    The connections are made by the engine's pool (its URL, connect arguments and type codecs)
    and detached from it; one in use by one call at a time. A connection the server closed is
    not used again (noticed without a round trip), and one whose call failed or was cancelled
    is closed, so no statement ever runs on a connection in an unknown state. asyncpg's errors
    are raised as SQLAlchemy's (``IntegrityError``, ``OperationalError``), as
    ``store/error_mapping.py`` expects.
    """
    own = _OwnPostgresConnections.of(engine)
    driver = await own.acquire(engine)
    try:
        result = await work(driver)
    except BaseException as exc:
        own.discard(driver)
        if isinstance(exc, _asyncpg_errors()):
            raise _as_sqlalchemy_error(exc) from exc
        raise
    own.release(driver)
    return result


def _asyncpg_errors() -> tuple[type[BaseException], ...]:
    import asyncpg  # here: SQLite deployments need not import it

    # InternalClientError: a connection the server ended that asyncpg had not yet seen closed
    # ("cannot switch to state ...; another operation is in progress").
    return (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError)


def _as_sqlalchemy_error(exc: BaseException) -> DBAPIError:
    import asyncpg

    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        return IntegrityError(None, None, exc)
    return OperationalError(None, None, exc)


class _OwnPostgresConnections(_KeptOnEngine):
    """The asyncpg connections ``on_postgres`` uses for an engine: idle ones kept (the last
    used first), at most ``MAX_OWN_POSTGRES_CONNECTIONS`` in all; closed when the engine is
    disposed."""

    _KEPT_AS = "_saleor_gordon_own_postgres_connections"

    def __init__(self, engine: AsyncEngine) -> None:
        self._idle: list[Any] = []
        self._slots = asyncio.Semaphore(MAX_OWN_POSTGRES_CONNECTIONS)
        self._all: set[Any] = set()
        event.listen(engine.sync_engine, "engine_disposed", self._close)

    async def acquire(self, engine: AsyncEngine) -> Any:
        await self._slots.acquire()
        try:
            while self._idle:
                driver = self._idle.pop()
                if not driver.is_closed():
                    return driver
                self._all.discard(driver)
            driver = await detached_driver(engine)
            self._all.add(driver)
            return driver
        except BaseException:
            self._slots.release()
            raise

    def release(self, driver: Any) -> None:
        self._idle.append(driver)
        self._slots.release()

    def discard(self, driver: Any) -> None:
        self._all.discard(driver)
        driver.terminate()
        self._slots.release()

    def _close(self, _engine: Any) -> None:
        connections, self._all, self._idle = self._all, set(), []
        for driver in connections:
            driver.terminate()
