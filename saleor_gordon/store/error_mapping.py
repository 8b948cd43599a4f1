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


@asynccontextmanager
async def map_database_errors() -> AsyncIterator[None]:
    """Turn connection loss, locks, missing tables and an exhausted connection pool into
    StoreUnavailable.

    Integrity errors are programming errors or races the caller handles, so they pass through.
    """
    try:
        yield
    except IntegrityError:
        raise
    except (OperationalError, ProgrammingError, DBAPIError, PoolTimeout, OSError) as exc:
        raise StoreUnavailable(
            f"The database failed ({type(exc).__name__}); is it running and migrated "
            "(`saleor-gordon migrate`)?"
        ) from exc
