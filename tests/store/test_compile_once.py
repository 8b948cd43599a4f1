"""Statements run at the driver's level are compiled once per process (``Prepared.once``), not
per call or per object: a job's store work (claim, finish, Gordon rate slot, installation read)
done a second time, by new queues, stores and limiters as a process makes them, compiles nothing;
and a statement built per call fails loudly instead of being compiled per call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine

from saleor_gordon.jobs.queue import JobQueue, OrderJobRequest
from saleor_gordon.secret_box import SecretBox
from saleor_gordon.store import driver_sql
from saleor_gordon.store.driver_sql import Prepared
from saleor_gordon.store.installations import InstallationStore
from saleor_gordon.store.rate import DatabaseRateLimiter
from saleor_gordon.store.tables import installations
from tests.conftest import TEST_SECRET_KEY
from tests.jobs.test_queue import GORDON_DOWN, _synced
from tests.jobs.test_queue import NOW as QUEUE_NOW
from tests.store.test_installations import API_URL, JWKS, TOKEN
from tests.support.fixtures import count_compiles

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


async def _a_job_s_store_work(engine: AsyncEngine, installation_id: int, round_: int) -> None:
    """What a worker's job does in the store, with objects made anew (as per webhook/process):
    enqueue, claim, a Gordon rate slot, the installation read, finish (settled, and once with
    the lease lost: the row read after the conditional update matched nothing)."""
    now = QUEUE_NOW + timedelta(minutes=round_)
    queue = JobQueue(engine)
    order = f"T3JkZXI6{round_}"
    await queue.enqueue([OrderJobRequest(installation_id, order, "1", "ORDER_FULLY_PAID", now)])
    job = await queue.claim_next_job(
        worker_id="w", now=now, lease_seconds=30, per_installation_limit=4
    )
    assert job is not None
    assert job.order_id == order
    await DatabaseRateLimiter(engine, 100.0, clock=lambda: 1000.0 + round_).reserve(("a", "b"))
    store = InstallationStore(engine, SecretBox(TEST_SECRET_KEY))
    found = await store.get_installation_by_id(installation_id)
    assert found is not None
    assert found.saleor_api_url == API_URL
    assert await queue.finish_job(job, _synced(), now=now)
    assert not await queue.finish_job(job, _synced(GORDON_DOWN), now=now)  # no lease any more


async def test_a_job_s_store_work_done_again_compiles_nothing(
    migrated_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved = await InstallationStore(migrated_engine, SecretBox(TEST_SECRET_KEY)).save_installation(
        saleor_api_url=API_URL, app_id="QXBwOjQ=", token=TOKEN, jwks=JWKS, now=NOW
    )
    await _a_job_s_store_work(migrated_engine, saved.id, 1)
    compiled = count_compiles(monkeypatch)

    await _a_job_s_store_work(migrated_engine, saved.id, 2)

    assert compiled == []


def test_a_statement_built_per_call_fails_loudly(
    migrated_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(driver_sql, "_COMPILED", {})
    dialect = migrated_engine.dialect
    kept = select(installations.c.id).where(installations.c.id == bindparam("id"))
    for _ in range(driver_sql.MAX_STATEMENTS):
        assert Prepared.once(kept, dialect) is Prepared.once(kept, dialect)  # compiled once

    for _ in range(driver_sql.MAX_STATEMENTS - 1):  # each call builds its statement anew
        Prepared.once(select(installations.c.id), dialect)

    with pytest.raises(RuntimeError, match="a statement is built per call"):
        Prepared.once(select(installations.c.id), dialect)
