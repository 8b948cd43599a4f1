"""The per-Gordon-account request rate, shared by every process through the database.

An account is what the Gordon client names (``TokenKey``: base URL, client id and a digest of the
secret), so an installation that names another shop's client id without its secret paces on a
schedule of its own and cannot spend that account's requests. Each request takes the account's
next free slot with one atomic upsert (a GCRA schedule kept in a row), then sleeps until the slot
comes; it is the ``gordon.rate_limit.RequestPacer`` of production. Several worker processes
therefore share one rate, as ``SALEOR_GORDON_GORDON_REQUESTS_PER_SECOND`` promises. The requests
of one process that ask while an upsert for their account is under way are given their slots
together by the next one (``n`` consecutive slots in one transaction, the same schedule), so
that concurrent workers do not queue for the database's write lock once per request. On SQLite
the upsert's transaction runs whole in the connection's thread (``store/driver_sql.py``), so it
holds the write lock for the statement's own time; on PostgreSQL it is one prepared statement in
autocommit (``on_postgres``), one round trip.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import time
from collections.abc import Awaitable, Callable, Hashable
from functools import cache
from typing import Any

from sqlalchemy import Float, bindparam, case
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from saleor_gordon.store.driver_sql import (
    Prepared,
    in_sqlite_thread,
    is_sqlite,
    on_postgres,
    sqlite_transaction,
)
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
        self._upsert = _take_slots(engine.dialect.name)
        self._prepared = Prepared.once(self._upsert, engine.dialect)
        self._waiting: dict[str, list[asyncio.Future[float]]] = {}
        """Per account, the requests waiting for the next upsert (each gets one slot's time)."""
        self._reserving: dict[str, asyncio.Task[None]] = {}

    async def acquire(self, key: Hashable) -> None:
        """Wait until a request for the account ``key`` may be sent."""
        wait = await self.reserve(key)
        if wait > 0:
            await self._sleep(wait)

    async def reserve(self, key: Hashable) -> float:
        """Take the account's next slot; return the seconds to wait for it."""
        account = _account_id(key)
        slot: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(account, []).append(slot)
        loop = asyncio.get_running_loop()
        reserving = self._reserving.get(account)
        if reserving is None or reserving.done() or reserving.get_loop() is not loop:
            task = loop.create_task(self._reserve_waiting(account))
            self._reserving[account] = task
            task.add_done_callback(lambda done: self._forget(account, done))
        at = await slot
        return max(at - self._clock(), 0.0)

    async def _reserve_waiting(self, account: str) -> None:
        """Give every request waiting for ``account`` its slot, one upsert per group."""
        while waiting := self._waiting.pop(account, []):
            try:
                first = await self._take(account, len(waiting))
            except asyncio.CancelledError:
                for slot in [*waiting, *self._waiting.pop(account, [])]:
                    slot.cancel()
                raise
            except Exception as exc:  # StoreUnavailable: each request's caller decides
                for slot in waiting:
                    if not slot.done():
                        slot.set_exception(exc)
                continue
            for index, slot in enumerate(waiting):
                if not slot.done():  # a caller that went away leaves its slot unused
                    slot.set_result(first + index * self._interval)

    def _forget(self, account: str, task: asyncio.Task[None]) -> None:
        if self._reserving.get(account) is task:
            del self._reserving[account]

    async def _take(self, account: str, count: int) -> float:
        """Take ``count`` consecutive slots of ``account``; the time of the first."""
        now = self._clock()
        span = count * self._interval
        parameters = {"account": account, "now": now, "span": span}
        upsert = self._prepared
        if is_sqlite(self._engine):  # the upsert whole in the connection's thread

            def take_here(connection: sqlite3.Connection) -> float:
                with sqlite_transaction(connection, write=True):
                    [(next_slot,)] = upsert.run(connection, parameters).rows
                    return float(next_slot)

            async with map_database_errors():
                return await in_sqlite_thread(self._engine, take_here) - span

        async def take_on(connection: Any) -> float:  # one statement: its own transaction
            [(next_slot,)] = (await upsert.fetch(connection, parameters)).rows
            return float(next_slot)

        async with map_database_errors():
            return await on_postgres(self._engine, take_on) - span


@cache
def _take_slots(dialect_name: str) -> Any:
    """The upsert that takes ``:span`` seconds of an account's schedule from ``:now`` on (or
    from its next free slot, if later) and returns the account's next free slot after them."""
    now: Any = bindparam("now", type_=Float)
    span: Any = bindparam("span", type_=Float)
    insert = postgresql.insert if dialect_name == "postgresql" else sqlite.insert
    row = insert(gordon_rate).values(account=bindparam("account"), next_slot=now + span)
    due = case((gordon_rate.c.next_slot > now, gordon_rate.c.next_slot), else_=now)
    return row.on_conflict_do_update(
        index_elements=["account"], set_={"next_slot": due + span}
    ).returning(gordon_rate.c.next_slot)


def _account_id(key: Hashable) -> str:
    """The row of an account: a digest of its key (for Gordon: base URL, client id and the
    secret's digest), so the table holds neither credentials nor whom they belong to."""
    text = "\x1f".join(str(part) for part in key) if isinstance(key, tuple) else str(key)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
