"""Waking the worker processes of a PostgreSQL database when a job becomes due (LISTEN/NOTIFY).

A worker process learns of work another process queued (``serve``'s webhooks, a Dashboard
retry, a catch-up scan, a job whose attempt left it due) without waiting for its poll: the
transaction that made a job due notifies ``DUE_JOBS_CHANNEL`` (``notify_due_jobs``, or the
inbox's group statement), PostgreSQL delivers the notification once that transaction has
committed (notifications of an uncommitted or rolled-back transaction are never delivered), and
each worker process's ``DueJobListener`` wakes one idle worker per notification it receives.

The payload names the process that notified (``process_token``): a listener ignores its own
process's notifications, whose workers that process woke itself. PostgreSQL folds the identical
notifications of one transaction into one, so a transaction that made many jobs due wakes one
worker per process; that worker's claim wakes the next when it found a job
(``jobs/worker.py``).

The poll stays: a notification sent while a listener was not connected is lost, and jobs that
come due by the clock (a retry's time) notify nobody. A lost listening connection is connected
again (with a growing pause, at most ``RECONNECT_MAX_SECONDS``); after each reconnection one
worker is woken, for what was queued meanwhile. SQLite has no such channel: a SQLite database's
other processes find work at their poll, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from saleor_gordon.store.driver_sql import detached_driver

logger = logging.getLogger(__name__)

DUE_JOBS_CHANNEL = "saleor_gordon_jobs_due"
"""The channel every notification of a due job goes to (one per database)."""

RECONNECT_FIRST_SECONDS = 0.5
RECONNECT_MAX_SECONDS = 10.0
CHECK_SECONDS = 30.0
"""How often an idle listening connection is checked (a query with a deadline): a connection
whose server went away without closing it (a network cut) says nothing on its own."""
CHECK_DEADLINE_SECONDS = 10.0

_RANDOM = uuid.uuid4().hex[:8]


def process_token() -> str:
    """The payload of this process's notifications (its pid and a random part: a forked child
    has another pid)."""
    return f"{os.getpid()}:{_RANDOM}"


_NOTIFY = text(f"SELECT pg_notify('{DUE_JOBS_CHANNEL}', :token)")


async def notify_due_jobs(connection: AsyncConnection) -> None:
    """In ``connection``'s transaction (PostgreSQL): tell the other processes' listeners that
    jobs became due; delivered when the transaction commits."""
    await connection.execute(_NOTIFY, {"token": process_token()})


def notify_sql(token_parameter: str) -> str:
    """The ``pg_notify`` call of a driver-level statement, its payload the parameter
    ``token_parameter`` (``$n``) bound to ``process_token()``."""
    return f"pg_notify('{DUE_JOBS_CHANNEL}', {token_parameter}::text)"


class DueJobListener:
    """Listens on ``DUE_JOBS_CHANNEL`` on a connection of its own (made by ``engine``'s pool and
    detached from it) and calls ``on_due()`` for each notification of another process
    (``ignore``: the payload of this process's own), and once after every reconnection.

    ``run()`` until cancelled; it never ends on a failure of the database (logged, connected
    again). ``connected`` is set while it listens.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        on_due: Callable[[], None],
        *,
        ignore: str | None = None,
        check_seconds: float = CHECK_SECONDS,
    ) -> None:
        self._engine = engine
        self._on_due = on_due
        self._ignore = ignore
        self._check_seconds = check_seconds
        self.connected = asyncio.Event()
        self.connections = 0
        """Listening connections made so far."""

    async def run(self) -> None:
        pause = RECONNECT_FIRST_SECONDS
        while True:
            try:
                driver = await detached_driver(self._engine)
            except Exception as exc:  # the database is unreachable: the poll carries on
                logger.warning(
                    "jobs.listen_failed retry_in=%.1fs error=%s", pause, type(exc).__name__
                )
            else:
                try:
                    listened, lost = await self._listen_on(driver)
                finally:
                    self.connected.clear()
                    await _close(driver)
                if listened:
                    pause = RECONNECT_FIRST_SECONDS
                logger.warning("jobs.listen_lost reason=%s reconnect_in=%.1fs", lost, pause)
            await asyncio.sleep(pause)
            pause = min(pause * 2, RECONNECT_MAX_SECONDS)

    async def _listen_on(self, driver: Any) -> tuple[bool, str]:
        """Listen on ``driver`` (an asyncpg connection) until it is lost: whether it listened,
        and why it was lost."""
        terminated = asyncio.Event()
        driver.add_termination_listener(lambda _connection: terminated.set())
        try:
            await driver.add_listener(DUE_JOBS_CHANNEL, self._notified)
        except Exception as exc:
            return False, f"listen:{type(exc).__name__}"
        self.connections += 1
        self.connected.set()
        logger.info("jobs.listening channel=%s connection=%s", DUE_JOBS_CHANNEL, self.connections)
        if self.connections > 1:
            self._on_due()  # jobs queued while nobody here listened
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._check_seconds):
                    await terminated.wait()
            if terminated.is_set() or driver.is_closed():
                return True, "closed"
            try:
                async with asyncio.timeout(CHECK_DEADLINE_SECONDS):
                    await driver.execute("SELECT 1")
            except Exception as exc:
                return True, f"check:{type(exc).__name__}"

    def _notified(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        if payload != self._ignore:
            self._on_due()


async def _close(driver: Any) -> None:
    if driver.is_closed():
        return
    try:
        async with asyncio.timeout(2.0):
            await driver.close()
    except Exception:  # gone or stuck: drop it
        driver.terminate()
