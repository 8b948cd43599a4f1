"""Mapping of database driver failures onto the app's StoreUnavailable, in one place."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import (
    DBAPIError,
    IntegrityError,
    OperationalError,
    ProgrammingError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout

from saleor_gordon.errors import StoreUnavailable

NO_ANSWER = (
    "no answer in time (TimeoutError; opening a connection waits at most "
    "SALEOR_GORDON_DATABASE_CONNECT_TIMEOUT_SECONDS, a statement at most "
    "SALEOR_GORDON_DATABASE_STATEMENT_TIMEOUT_SECONDS)"
)
"""Why a database that did not answer cannot be reached: asyncpg's connect timeout (the engine's
``connect_timeout``) and its statement timeout (``statement_timeout``: ``command_timeout``, on
an open connection) both raise the built-in ``TimeoutError``, the only one a store call raises
(SQLAlchemy's pool raises its own ``TimeoutError``, no subclass of it). SQLAlchemy passes it on
unwrapped (its asyncpg adapter translates asyncpg's own errors only), and ``on_postgres`` too,
so which of the two it was is not told apart: the message names both settings."""


def unreachable_reason(exc: BaseException) -> str:
    """Why ``exc``, a failure to reach the database, happened, in a few words."""
    return NO_ANSWER if isinstance(exc, TimeoutError) else type(exc).__name__


@asynccontextmanager
async def map_database_errors() -> AsyncIterator[None]:
    """Turn connection loss, locks, missing tables, a database that does not answer within the
    connect or statement timeout and an exhausted connection pool into StoreUnavailable.

    Integrity errors are programming errors or races the caller handles, so they pass through.
    """
    try:
        yield
    except IntegrityError:
        raise
    except TimeoutError as exc:
        raise StoreUnavailable(
            f"The database cannot be reached: {NO_ANSWER}; is it running and reachable from "
            "this host?"
        ) from exc
    except (OperationalError, ProgrammingError, DBAPIError, PoolTimeout, OSError) as exc:
        raise StoreUnavailable(
            f"The database failed ({type(exc).__name__}); is it running and migrated "
            "(`saleor-gordon migrate`)?"
        ) from exc
