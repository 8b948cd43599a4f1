"""The webhook path's statements on the driver's cursor (store/multirow.py): errors as SQLAlchemy
raises them, a lost connection invalidated so the next transaction reconnects."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from saleor_gordon.store.database import create_engine, migrate
from saleor_gordon.store.multirow import MAX_ROWS_PER_STATEMENT, execute_rows

VALUES_ECHO = "SELECT * FROM (VALUES {values}) AS t"


@pytest.mark.postgres
async def test_a_lost_connection_is_invalidated_and_the_next_transaction_reconnects(
    fresh_postgres_url: str,
) -> None:
    engine = create_engine(fresh_postgres_url)
    try:
        async with engine.connect() as connection:
            pid = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            await connection.commit()
            # given the server ends this connection's backend (a restart, a failover)
            async with engine.connect() as admin:
                await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            # when a statement runs on it
            with pytest.raises(DBAPIError) as failed:
                async with connection.begin():
                    await connection.run_sync(execute_rows, VALUES_ECHO, [("1", "a")])
            # then it is invalidated, as SQLAlchemy's own statements would have it
            assert failed.value.connection_invalidated is True
            assert connection.invalidated
            # and the next transaction on the same Connection reconnects
            async with connection.begin():
                rows = await connection.run_sync(execute_rows, VALUES_ECHO, [("2", "b")])
            assert rows == [("2", "b")]
    finally:
        await engine.dispose()


async def test_rows_beyond_one_statement_are_sent_in_several(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path}/app.db")
    try:
        rows = [(n, f"row {n}") for n in range(MAX_ROWS_PER_STATEMENT * 2 + 3)]
        async with engine.connect() as connection:
            returned = await connection.run_sync(execute_rows, VALUES_ECHO, rows)
        assert returned == rows
    finally:
        await engine.dispose()


async def test_a_constraint_failure_is_sqlalchemys_integrity_error(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path}/app.db")
    await migrate(engine)
    try:
        async with engine.begin() as connection:
            with pytest.raises(IntegrityError):  # no installation 999: the foreign key refuses
                await connection.run_sync(
                    execute_rows,
                    "INSERT INTO webhook_events (installation_id, dedupe_key, event, body_sha256,"
                    " received_at) VALUES {values}",
                    [(999, "k", "ORDER_CREATED", "0" * 64, "2026-12-02 00:00:00.000000")],
                )
    finally:
        await engine.dispose()
