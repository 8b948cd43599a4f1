"""A worker process on PostgreSQL is woken by the work other processes queue (LISTEN/NOTIFY,
``store/job_wake.py``), not by its poll: the poll is 30 s here, so only the wake can explain a
job taken within seconds. Losing its listening connection loses no work: it listens again."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy.engine import make_url

from tests.e2e.conftest import RunningSaleorFake, Stack, running_stack
from tests.support.app_process import AppProcess
from tests.support.shop import DELIVERY_GROUP

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

POLL_SECONDS = 30.0
WAKE_WITHIN = 12.0
"""Seconds a woken worker may take to push the order: generous for a loaded machine, and well
below the poll (a worker that was not woken would push after up to 30 s)."""


def _events(process: AppProcess) -> list[dict[str, Any]]:
    return [json.loads(line) for line in process.log().splitlines() if line.startswith("{")]


def _count(process: AppProcess, event: str) -> int:
    return sum(1 for entry in _events(process) if entry["event"] == event)


@pytest_asyncio.fixture
async def idle_worker(
    saleor_fake: RunningSaleorFake,
    start_gordon_sandbox: Any,
    fresh_postgres_url: str,
    tmp_path: Path,
) -> AsyncIterator[tuple[Stack, AppProcess]]:
    """``serve`` without workers and a worker process (one worker, polling every 30 s) that
    listens and whose first claim found nothing: from then on only a wake or the poll makes it
    claim."""
    gordon = start_gordon_sandbox(delivery_groups=(DELIVERY_GROUP,))
    settings = {"SALEOR_GORDON_WORKER_POLL_SECONDS": str(POLL_SECONDS)}
    async with running_stack(
        saleor_fake, gordon, tmp_path, fresh_postgres_url, workers=0, settings=settings
    ) as stack:
        stack.env["SALEOR_GORDON_LOG_LEVEL"] = "DEBUG"  # the worker's idle workers say so
        worker = stack.start_process("worker", "--concurrency", "1", name="worker")
        await stack.wait_until(
            lambda: _count(worker, "jobs.listening") == 1 and _count(worker, "worker.idle") == 1,
            timeout=60,
        )
        yield stack, worker


@asynccontextmanager
async def _database(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    url = make_url(database_url)
    connection = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, database=url.database
    )
    try:
        yield connection
    finally:
        await connection.close()


async def _listening_backends(database_url: str) -> list[int]:
    async with _database(database_url) as connection:
        rows = await connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND query LIKE 'LISTEN %' AND pid <> pg_backend_pid()"
        )
    return [row["pid"] for row in rows]


async def _terminate(database_url: str, pid: int) -> bool:
    async with _database(database_url) as connection:
        return bool(await connection.fetchval("SELECT pg_terminate_backend($1)", pid))


async def _pushed_soon(stack: Stack, order: dict[str, Any]) -> float:
    """Deliver the order's paid webhook to ``serve``; seconds until Gordon had the order."""
    started = time.monotonic()
    await stack.emit("ORDER_FULLY_PAID", order["id"])
    await stack.wait_until(lambda: stack.puts(order) == 1, timeout=WAKE_WITHIN)
    return time.monotonic() - started


async def test_a_webhook_to_serve_wakes_a_worker_process_before_its_poll(
    idle_worker: tuple[Stack, AppProcess],
) -> None:
    # given serve without workers and an idle worker process that polls every 30 s
    stack, worker = idle_worker

    # when a paid order's webhook reaches serve, then the worker pushes it within seconds
    seconds = await _pushed_soon(stack, stack.paid_order())
    assert seconds < WAKE_WITHIN < POLL_SECONDS
    assert _count(worker, "jobs.listening") == 1


async def test_a_lost_listening_connection_is_made_again_and_work_goes_on(
    idle_worker: tuple[Stack, AppProcess], fresh_postgres_url: str
) -> None:
    stack, worker = idle_worker
    [listening] = await _listening_backends(fresh_postgres_url)

    # when the database ends the worker's listening connection
    assert await _terminate(fresh_postgres_url, listening)

    # then the worker says so and listens again on a new connection
    await stack.wait_until(
        lambda: _count(worker, "jobs.listen_lost") == 1 and _count(worker, "jobs.listening") == 2
    )
    [again] = await _listening_backends(fresh_postgres_url)
    assert again != listening
    # and a webhook's job is taken as soon as before
    seconds = await _pushed_soon(stack, stack.paid_order())
    assert seconds < WAKE_WITHIN < POLL_SECONDS
    assert worker.process is not None
    assert worker.process.poll() is None
