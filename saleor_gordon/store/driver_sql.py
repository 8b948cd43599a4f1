"""A job's SQLite transactions run whole in the connection's own thread, as prepared SQL.

aiosqlite runs each statement in the connection's thread and hands its result back to the event
loop, so a transaction of SQLAlchemy statements (BEGIN IMMEDIATE, two or three statements,
COMMIT) held SQLite's write lock across four or five turns of a busy event loop, and every other
writer (the other workers, the inbox's writer helper process) slept in SQLite's busy handler
(1, 2, 5, 10 ... 100 ms steps) meanwhile. Here the whole transaction is one call in that thread:
the lock is held for the statements' own time, and one hand-off back to the loop replaces one per
statement. Statements are SQLAlchemy constructs compiled once (``Prepared``): the same SQL text,
parameter conversions and result conversions SQLAlchemy uses, without its per-execution work.

Only a function that needs no event loop may run there (no ``await``): it gets the sqlite3
connection and runs ``Prepared`` statements on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

_Result = TypeVar("_Result")


def _identity(value: Any) -> Any:
    return value


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
    def of(cls, statement: Any, dialect: Dialect) -> Prepared:
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
            processor = column[3].dialect_impl(dialect).result_processor(dialect, None)
            results.append(processor or _identity)
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

    def run_many(self, connection: sqlite3.Connection, given: Sequence[Mapping[str, Any]]) -> None:
        connection.executemany(self.sql, [self.parameters(one) for one in given])


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
    engine: AsyncEngine, work: Callable[[sqlite3.Connection], _Result]
) -> _Result:
    """Run ``work(connection)``, whole, in the thread of one of ``engine``'s aiosqlite
    connections; ``work`` opens its transactions with ``sqlite_transaction``. sqlite3's errors are
    raised as SQLAlchemy's (``OperationalError``, ...), as ``store/error_mapping.py`` expects.

    The call is not cut short by a cancellation: ``work`` ends (its transaction committed or
    rolled back) before the connection goes back to the pool, and the cancellation is raised
    after.
    """
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection  # aiosqlite.Connection
        assert driver is not None  # a connection checked out of the pool is connected
        sqlite_connection = driver._conn  # only used in its thread, by ``work``
        # aiosqlite's own way to run a function in the connection's thread (what each of its
        # statements uses); calls stay in order with SQLAlchemy's on that connection.
        call = asyncio.ensure_future(driver._execute(work, sqlite_connection))
        try:
            return await asyncio.shield(call)
        except asyncio.CancelledError:
            if not call.done():
                await asyncio.wait([call])
            raise
        except sqlite3.Error as exc:
            raise DBAPIError.instance(
                None, None, exc, sqlite3.Error, dialect=engine.dialect
            ) from exc


async def in_sqlite_transaction(
    engine: AsyncEngine, work: Callable[[sqlite3.Connection], _Result], *, write: bool
) -> _Result:
    """``in_sqlite_thread`` of ``work`` in one transaction (``sqlite_transaction``)."""

    def transaction(connection: sqlite3.Connection) -> _Result:
        with sqlite_transaction(connection, write=write):
            return work(connection)

    return await in_sqlite_thread(engine, transaction)


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
