"""The per-Gordon-account request rate, shared by every process through the database.

An account is what the Gordon client names (``TokenKey``: base URL, client id and a digest of the
secret), so an installation that names another shop's client id without its secret paces on a
schedule of its own and cannot spend that account's requests. Each request takes the account's
next free slot with one atomic upsert (a GCRA schedule kept in a row), then sleeps until the slot
comes; it is the ``gordon.rate_limit.RequestPacer`` of production. Several worker processes
therefore share one rate, as ``SALEOR_GORDON_GORDON_REQUESTS_PER_SECOND`` promises.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable, Hashable

from sqlalchemy import case
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from saleor_gordon.store.error_mapping import map_database_errors
from saleor_gordon.store.tables import gordon_rate


class DatabaseRateLimiter:
    """At most ``requests_per_second`` per account across all processes sharing the database."""

    def __init__(
        self,
        engine: AsyncEngine,
        requests_per_second: float,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if requests_per_second <= 0:
            raise ValueError("requests_per_second must be positive")
        self._engine = engine
        self._interval = 1.0 / requests_per_second  # seconds between requests
        self._clock = clock
        self._sleep = sleep

    async def acquire(self, key: Hashable) -> None:
        """Wait until a request for the account ``key`` may be sent."""
        wait = await self.reserve(key)
        if wait > 0:
            await self._sleep(wait)

    async def reserve(self, key: Hashable) -> float:
        """Take the account's next slot; return the seconds to wait for it."""
        account = _account_id(key)
        now = self._clock()
        insert = postgresql.insert if self._engine.dialect.name == "postgresql" else sqlite.insert
        row = insert(gordon_rate).values(account=account, next_slot=now + self._interval)
        due = case((gordon_rate.c.next_slot > now, gordon_rate.c.next_slot), else_=now)
        upsert = row.on_conflict_do_update(
            index_elements=["account"], set_={"next_slot": due + self._interval}
        ).returning(gordon_rate.c.next_slot)
        async with map_database_errors(), self._engine.begin() as connection:
            next_slot: float = (await connection.execute(upsert)).scalar_one()
        return max(next_slot - self._interval - now, 0.0)


def _account_id(key: Hashable) -> str:
    """The row of an account: a digest of its key (for Gordon: base URL, client id and the
    secret's digest), so the table holds neither credentials nor whom they belong to."""
    text = "\x1f".join(str(part) for part in key) if isinstance(key, tuple) else str(key)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
