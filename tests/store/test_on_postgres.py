"""A job's statements on PostgreSQL at the driver level (``driver_sql.on_postgres``): a database
that refuses connections is StoreUnavailable (the worker's designed answer), never another
error; connections the server ended are replaced, not used."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from saleor_gordon.errors import StoreUnavailable
from saleor_gordon.jobs.queue import JobQueue, OrderJobRequest
from saleor_gordon.secret_box import SecretBox
from saleor_gordon.store.database import create_engine, migrate
from saleor_gordon.store.installations import InstallationStore
from saleor_gordon.store.rate import DatabaseRateLimiter
from tests.conftest import TEST_SECRET_KEY
from tests.store.test_installations import API_URL, JWKS, TOKEN

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


async def test_a_database_that_refuses_connections_is_store_unavailable(
    fresh_postgres_url: str,
) -> None:
    # a database that does not exist: the server refuses the connection, as it does while it
    # is starting up ("the database system is starting up")
    missing = make_url(fresh_postgres_url).set(database="no_such_database_here")
    engine = create_engine(missing.render_as_string(hide_password=False))
    try:
        with pytest.raises(StoreUnavailable):
            await JobQueue(engine).claim_next_job(
                worker_id="w", now=NOW, lease_seconds=30, per_installation_limit=4
            )
        with pytest.raises(StoreUnavailable):
            await DatabaseRateLimiter(engine, 10.0).reserve(("a", "b"))
        with pytest.raises(StoreUnavailable):
            await InstallationStore(engine, SecretBox(TEST_SECRET_KEY)).get_installation_by_id(1)
    finally:
        await engine.dispose()


async def test_connections_the_server_ended_are_replaced(fresh_postgres_url: str) -> None:
    engine = create_engine(fresh_postgres_url)
    try:
        await migrate(engine)
        store = InstallationStore(engine, SecretBox(TEST_SECRET_KEY))
        saved = await store.save_installation(
            saleor_api_url=API_URL, app_id="QXBwOjQ=", token=TOKEN, jwks=JWKS, now=NOW
        )
        queue = JobQueue(engine)
        request = OrderJobRequest(saved.id, "T3JkZXI6MQ==", "1", "ORDER_FULLY_PAID", NOW)
        await queue.enqueue([request])
        assert await store.get_installation_by_id(saved.id) == saved

        # when the server ends every other connection to the database (a restart, an admin)
        url = make_url(fresh_postgres_url)
        admin = await asyncpg.connect(
            host=url.host, port=url.port, user=url.username, database=url.database
        )
        try:
            ended = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        finally:
            await admin.close()
        assert ended >= 1

        # then each ended connection costs at most one StoreUnavailable (one asyncpg had not
        # yet seen closed), and the statements run on new connections
        failures = 0
        while True:
            try:
                found = await store.get_installation_by_id(saved.id)
            except StoreUnavailable:
                failures += 1
                assert failures <= ended
                continue
            break
        assert found == saved
        job = await queue.claim_next_job(
            worker_id="w", now=NOW, lease_seconds=30, per_installation_limit=4
        )
        assert job is not None
        assert job.order_id == "T3JkZXI6MQ=="
    finally:
        await engine.dispose()
