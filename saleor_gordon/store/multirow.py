"""Multi-row ``INSERT … VALUES (…), (…)`` statements as SQL text, for the webhook path.

SQLAlchemy's per-execution work (statement cache lookup, one parameter set per row, a bind
processor per value, batching the rows into one statement) cost three times what SQLite itself
spends storing a group of webhooks. The webhook path's two statements are therefore written once
as SQL text that both databases accept and run on the driver's cursor, inside SQLAlchemy's
transaction, with driver errors raised as SQLAlchemy's (``store/error_mapping.py`` relies on
that). ``Connection.exec_driver_sql`` still cost twice the database's own work. Their datetime
values go through the column types' own bind processors, so they are stored exactly as every
other statement stores them. (On PostgreSQL the inbox runs them as one statement, built from
``values_rows``, on an asyncpg connection of ``driver_sql.on_postgres``: ``store/inbox.py``.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import TypeEngine

MAX_ROWS_PER_STATEMENT = 256
"""Rows per statement at most: 256 rows of a dozen columns stay far below the parameter limits
of SQLite (32,766) and PostgreSQL (65,535)."""


def execute_rows(
    connection: Connection, template: str, rows: Sequence[Sequence[Any]]
) -> list[tuple[Any, ...]]:
    """Execute ``template`` (SQL whose ``{values}`` stands for the VALUES rows) for ``rows`` on
    the driver's cursor, in statements of at most MAX_ROWS_PER_STATEMENT rows, inside the
    connection's transaction; return what they return. Driver errors are raised as SQLAlchemy's
    (``IntegrityError``, ``OperationalError``, …), as ``Connection.execute`` raises them."""
    returned: list[tuple[Any, ...]] = []
    if not rows:
        return returned
    width = len(rows[0])
    for start in range(0, len(rows), MAX_ROWS_PER_STATEMENT):
        chunk = rows[start : start + MAX_ROWS_PER_STATEMENT]
        sql = template.format(values=values_rows(connection.dialect.name, width, len(chunk)))
        parameters = tuple(value for row in chunk for value in row)
        returned.extend(execute_on_driver(connection, sql, parameters))
    return returned


def execute_on_driver(
    connection: Connection, sql: str, parameters: Sequence[Any]
) -> list[tuple[Any, ...]]:
    """One statement on the driver's cursor, with driver errors raised as SQLAlchemy's."""
    dialect = connection.dialect
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql, parameters)
        return list(cursor.fetchall())
    except dialect.loaded_dbapi.Error as exc:
        # As SQLAlchemy does for its own statements: a lost connection is invalidated,
        # so the next transaction on this Connection reconnects instead of failing too.
        lost = dialect.is_disconnect(exc, connection.connection.dbapi_connection, cursor)
        if lost:
            connection.invalidate(exc)
        raise DBAPIError.instance(
            sql,
            parameters,
            exc,
            dialect.loaded_dbapi.Error,
            connection_invalidated=lost,
            dialect=dialect,
        ) from exc
    finally:
        cursor.close()


@lru_cache(maxsize=1024)
def values_rows(
    dialect_name: str,
    width: int,
    count: int,
    *,
    first: int = 1,
    casts: tuple[str, ...] | None = None,
) -> str:
    """``(?, ?), (?, ?)`` for ``count`` rows of ``width`` values: the driver's placeholders,
    PostgreSQL's numbered from ``first``, each cast to its type in ``casts`` if given (values
    outside an INSERT's own VALUES have no column to take their type from)."""
    if dialect_name == "postgresql":  # asyncpg's placeholders: $1, $2, …
        numbers = iter(range(first, first + width * count))
        suffixes = [f"::{cast}" for cast in casts] if casts else [""] * width
        return ", ".join(
            "(" + ", ".join(f"${next(numbers)}{suffix}" for suffix in suffixes) + ")"
            for _ in range(count)
        )
    return ", ".join(["(" + ", ".join(["?"] * width) + ")"] * count)  # sqlite3's


def bind_processor(column_type: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any]:
    """The function that turns a Python value into what the driver stores for ``column_type``
    (identity when the type has none), as SQLAlchemy's own statements do. Get it once per
    statement, not once per value."""
    # The dialect's own implementation: SQLite stores datetimes as text in SQLAlchemy's format,
    # which the generic type's processor would leave to sqlite3's adapter (another format).
    processor = column_type.dialect_impl(dialect).bind_processor(dialect)
    return processor if processor is not None else _identity


def _identity(value: Any) -> Any:
    return value
