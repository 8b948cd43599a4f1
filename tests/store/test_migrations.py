"""The migrations produce exactly the schema that store/tables.py declares, and move the data
they are for."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Table, delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from saleor_gordon.core.order_events import OrderEvent
from saleor_gordon.store.database import (
    alembic_config,
    create_engine,
    head_revision,
    migrate,
    migration_status,
    move_schema,
)
from saleor_gordon.store.tables import (
    backfill_runs,
    installations,
    job_history,
    metadata,
    reconcile_leases,
    sync_jobs,
    webhook_events,
)


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_migrated_schema_matches_the_tables(migrated_engine: AsyncEngine) -> None:
    async with migrated_engine.connect() as connection:
        differences = await connection.run_sync(_differences)

    assert differences == []


async def test_migrations_end_at_the_head(migrated_engine: AsyncEngine) -> None:
    status = await migration_status(migrated_engine)

    assert status.current == head_revision()
    assert status.up_to_date


def test_the_head_is_alembics() -> None:
    """head_revision() reads the migration files itself (without Alembic): Alembic agrees."""
    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head_revision() is not None


async def test_an_unmigrated_database_is_at_none_and_migrates_to_the_head(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        before = await migration_status(engine)
        await migrate(engine)
        after = await migration_status(engine)
    finally:
        await engine.dispose()

    assert (before.current, before.up_to_date) == (None, False)
    assert (after.current, after.up_to_date) == (head_revision(), True)


def test_a_current_database_is_checked_and_migrated_without_loading_alembic(
    tmp_path: Path,
) -> None:
    """What serve does at every start but the first (and /readyz, doctor): Alembic, 12 MB of
    memory, stays unloaded when nothing is pending."""
    url = f"sqlite:///{tmp_path / 'current.db'}"
    script = f"""
import asyncio, sys
from saleor_gordon.store.database import create_engine, migrate, migration_status

async def main() -> None:
    engine = create_engine({url!r})
    await migrate(engine)
    first = "alembic" in sys.modules
    await migrate(engine)
    status = await migration_status(engine)
    await engine.dispose()
    print(first, status.up_to_date, status.current, "alembic" in sys.modules)

asyncio.run(main())
"""
    first_start = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    next_start = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    head = head_revision()
    assert first_start.stdout.split() == ["True", "True", str(head), "True"]
    assert next_start.stdout.split() == ["False", "True", str(head), "False"]


async def _an_installation(connection: AsyncConnection, now: datetime) -> int:
    """Insert an installation (as of any revision since 0001); its id."""
    installation = await connection.execute(
        installations.insert().values(
            saleor_api_url="https://shop.example.com/graphql/",
            app_id="QXBwOjE=",
            token_encrypted="x",
            jwks={"keys": []},
            jwks_fetched_at=now,
            installed_at=now,
            updated_at=now,
        )
    )
    installation_id: int = installation.inserted_primary_key[0]
    return installation_id


SETTLED_BEFORE_EXPIRED: dict[str, tuple[str, str | None, str]] = {
    # order id: (status, last_code, last_message) as jobs settled before 0010
    "withdrawn-expired": (
        "cancelled",
        "job.withdrawn.expired",
        "Withdrawn from Gordon: the order is expired in Saleor.",
    ),
    "unsent-expired": (
        "cancelled",
        "job.expired_before_sent",
        "The order expired before it reached Gordon.",
    ),
    # written before codes existed: only a withdrawal said that the order expired
    "withdrawn-expired-uncoded": (
        "cancelled",
        None,
        "Withdrawn from Gordon: the order is expired in Saleor.",
    ),
    "withdrawn-cancelled": (
        "cancelled",
        "job.withdrawn.canceled",
        "Withdrawn from Gordon: the order is canceled in Saleor.",
    ),
    "withdrawn-deleted": (
        "cancelled",
        "job.withdrawn.deleted",
        "Withdrawn from Gordon: the order was deleted in Saleor.",
    ),
    "unsent-cancelled-uncoded": (
        "cancelled",
        None,
        "The order was cancelled before it reached Gordon.",
    ),
    # an expired order's job now retrying (its write-back failed): not settled, left alone
    "retrying-expired": ("retrying", "job.write_back_failed", "Writing back failed."),
    "synced": ("synced", "job.unchanged", "Gordon already has this content."),
}


async def test_jobs_of_expired_orders_say_expired_after_the_migration_and_cancelled_before(
    database_url: str,
) -> None:
    """0010 reclassifies what it can tell expired (and nothing else); going back restores it."""
    engine = create_engine(database_url)
    now = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    try:
        await move_schema(engine, "0009")
        async with engine.begin() as connection:
            installation_id = await _an_installation(connection, now)
            await connection.execute(
                sync_jobs.insert(),
                [
                    {
                        "installation_id": installation_id,
                        "order_id": order_id,
                        "status": status,
                        "last_code": code,
                        "last_params": None if code is None else "{}",
                        "last_message": message,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for order_id, (status, code, message) in SETTLED_BEFORE_EXPIRED.items()
                ],
            )

        async def statuses() -> dict[str, str]:
            async with engine.connect() as connection:
                rows = await connection.execute(select(sync_jobs.c.order_id, sync_jobs.c.status))
                return {row.order_id: row.status for row in rows}

        await migrate(engine)
        migrated = await statuses()
        await move_schema(engine, "0009", down=True)
        restored = await statuses()
    finally:
        await engine.dispose()

    before = {order_id: status for order_id, (status, _, _) in SETTLED_BEFORE_EXPIRED.items()}
    assert migrated == {
        **before,
        "withdrawn-expired": "expired",
        "unsent-expired": "expired",
        "withdrawn-expired-uncoded": "expired",
    }
    assert restored == before


# Keys as 0001-0010 stored them: (event, order id, issued_at, body hash, dedupe key)
KEYS_BEFORE_TIME_FIRST: list[tuple[str, str, str | None, str, str]] = [
    (
        "ORDER_FULLY_PAID",
        "T3JkZXI6MQ==",
        "2026-12-06T09:00:00.123456+00:00",
        "a" * 64,
        "ORDER_FULLY_PAID|T3JkZXI6MQ==|2026-12-06T09:00:00.123456+00:00",
    ),
    (
        "ORDER_UPDATED",
        "T3JkZXI6MQ==",
        "2026-12-06T09:00:01+00:00",
        "b" * 64,
        "ORDER_UPDATED|T3JkZXI6MQ==|2026-12-06T09:00:01+00:00",
    ),
    # no issuedAt: the body's hash stood for it, and still does
    ("ORDER_CREATED", "T3JkZXI6Mg==", None, "c" * 64, "ORDER_CREATED|T3JkZXI6Mg==|" + "c" * 64),
    # a key that is not the old form of its own columns: left as it is
    ("ORDER_CREATED", "T3JkZXI6Mw==", "2026-12-06T09:00:02+00:00", "d" * 64, "something else"),
]


async def test_stored_dedupe_keys_start_with_the_time_after_the_migration_and_not_before(
    database_url: str,
) -> None:
    """0011 rewrites the keys of 0001-0010 into the form ``OrderEvent.dedupe_key`` now has, so a
    redelivery of an event received before the upgrade is still recognised; going back restores
    them."""
    engine = create_engine(database_url)
    now = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    try:
        await move_schema(engine, "0010")
        async with engine.begin() as connection:
            installation_id = await _an_installation(connection, now)
            await connection.execute(
                webhook_events.insert(),
                [
                    {
                        "installation_id": installation_id,
                        "dedupe_key": key,
                        "event": event,
                        "order_id": order_id,
                        "issued_at": issued_at,
                        "body_sha256": body_sha256,
                        "received_at": now,
                    }
                    for event, order_id, issued_at, body_sha256, key in KEYS_BEFORE_TIME_FIRST
                ],
            )

        async def keys() -> list[str]:
            async with engine.connect() as connection:
                query = select(webhook_events.c.dedupe_key).order_by(webhook_events.c.id)
                return list((await connection.execute(query)).scalars())

        await migrate(engine)
        migrated = await keys()
        await move_schema(engine, "0010", down=True)
        restored = await keys()
    finally:
        await engine.dispose()

    assert migrated == [
        "2026-12-06T09:00:00.123456+00:00|ORDER_FULLY_PAID|T3JkZXI6MQ==",
        "2026-12-06T09:00:01+00:00|ORDER_UPDATED|T3JkZXI6MQ==",
        "ORDER_CREATED|T3JkZXI6Mg==|" + "c" * 64,
        "something else",
    ]
    # ... which is what the app now computes for the same events (a redelivery is a duplicate)
    assert migrated[:3] == [
        OrderEvent(
            installation_id=1,
            event=event,
            order_id=order_id,
            order_number=None,
            issued_at=issued_at,
            principal_type=None,
            principal_id=None,
            body_sha256=body_sha256,
        ).dedupe_key
        for event, order_id, issued_at, body_sha256, _ in KEYS_BEFORE_TIME_FIRST[:3]
    ]
    assert restored == [key for *_, key in KEYS_BEFORE_TIME_FIRST]


_REFERRING = (webhook_events, sync_jobs, job_history, backfill_runs, reconcile_leases)
"""The tables whose rows refer to an installation (job history through its job)."""


async def _shops_as_of_0012(connection: AsyncConnection, now: datetime) -> None:
    """Installations 1-3 (their ids given by the database), each with a row in every table that
    refers to it."""
    for number in (1, 2, 3):
        installation = await connection.execute(
            installations.insert().values(
                saleor_api_url=f"https://shop{number}.example.com/graphql/",
                app_id=f"app-{number}",
                token_encrypted=f"token-{number}",
                jwks={"keys": []},
                jwks_fetched_at=now,
                installed_at=now,
                updated_at=now,
                config={"shop": number},
            )
        )
        installation_id = installation.inserted_primary_key[0]
        assert installation_id == number
        await connection.execute(
            webhook_events.insert().values(
                installation_id=installation_id,
                dedupe_key=f"key-{number}",
                event="ORDER_CREATED",
                body_sha256="a" * 64,
                received_at=now,
            )
        )
        job = await connection.execute(
            sync_jobs.insert().values(
                installation_id=installation_id,
                order_id=f"order-{number}",
                status="pending",
                created_at=now,
                updated_at=now,
            )
        )
        await connection.execute(
            job_history.insert().values(
                job_id=job.inserted_primary_key[0], at=now, attempt=1, action="push", outcome="ok"
            )
        )
        await connection.execute(
            backfill_runs.insert().values(
                installation_id=installation_id,
                time_field="createdAt",
                since=now,
                until=now,
                started_at=now,
                updated_at=now,
            )
        )
        await connection.execute(reconcile_leases.insert().values(installation_id=installation_id))


async def _counts(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as connection:
        return {
            table.name: int(
                (await connection.execute(select(func.count()).select_from(table))).scalar_one()
            )
            for table in (installations, *_REFERRING)
        }


async def _kept_installations(engine: AsyncEngine) -> list[tuple[Any, ...]]:
    async with engine.connect() as connection:
        query = select(
            installations.c.id,
            installations.c.saleor_api_url,
            installations.c.token_encrypted,
            installations.c.config,
        ).order_by(installations.c.id)
        return [tuple(row) for row in await connection.execute(query)]


async def _id_after_removing_the_newest(
    engine: AsyncEngine, table: Table, row: dict[str, Any]
) -> int:
    """Remove the row with the largest id of ``table``, insert ``row``: the id it gets."""
    async with engine.begin() as connection:
        newest = (await connection.execute(select(func.max(table.c.id)))).scalar_one()
        await connection.execute(delete(table).where(table.c.id == newest))
        inserted = await connection.execute(table.insert().values(row))
        given: int = inserted.inserted_primary_key[0]
        return given


async def test_ids_of_removed_installations_and_backfill_runs_are_never_given_again_after_0013(
    database_url: str,
) -> None:
    """0013 rebuilds two tables on SQLite (AUTOINCREMENT): every row stays, with its id, and
    every row of other tables still refers to it (deleting an installation still deletes its
    rows); going back to 0012 keeps them all too."""
    engine = create_engine(database_url)
    now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    try:
        await move_schema(engine, "0012")
        async with engine.begin() as connection:
            await _shops_as_of_0012(connection, now)
        before = await _kept_installations(engine)

        await migrate(engine)
        kept, counts = await _kept_installations(engine), await _counts(engine)
        async with engine.begin() as connection:  # the rows of shop 1 still go with it
            await connection.execute(delete(installations).where(installations.c.id == 1))
        after_removal = await _counts(engine)
        new_installation = await _id_after_removing_the_newest(
            engine,
            installations,
            {
                "saleor_api_url": "https://another.example.com/graphql/",
                "app_id": "another",
                "token_encrypted": "another",
                "jwks": {"keys": []},
                "jwks_fetched_at": now,
                "installed_at": now,
                "updated_at": now,
            },
        )
        new_run = await _id_after_removing_the_newest(
            engine,
            backfill_runs,
            {
                "installation_id": 2,
                "time_field": "createdAt",
                "since": now,
                "until": now,
                "started_at": now,
                "updated_at": now,
            },
        )
        await move_schema(engine, "0012", down=True)
        counts_back = await _counts(engine)
    finally:
        await engine.dispose()

    assert kept == before
    assert counts == dict.fromkeys(["installations", *(t.name for t in _REFERRING)], 3)
    assert after_removal == dict.fromkeys(["installations", *(t.name for t in _REFERRING)], 2)
    # removing installation 3 took its backfill run along; run 2, the newest left, was removed
    assert (new_installation, new_run) == (4, 4)
    assert counts_back == {
        "installations": 2,
        "webhook_events": 1,
        "sync_jobs": 1,
        "job_history": 1,
        "backfill_runs": 1,
        "reconcile_leases": 1,
    }


async def _versions(engine: AsyncEngine) -> list[tuple[int, int]]:
    async with engine.connect() as connection:
        query = select(installations.c.id, installations.c.config_version).order_by(
            installations.c.id
        )
        return [(row.id, row.config_version) for row in await connection.execute(query)]


async def _installations_sql(engine: AsyncEngine) -> str:
    """How SQLite declares ``installations`` (empty on PostgreSQL)."""
    if engine.dialect.name != "sqlite":
        return ""
    async with engine.connect() as connection:
        sql = await connection.execute(
            text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'installations'")
        )
        return str(sql.scalar_one())


async def test_stored_configurations_are_at_version_0_after_0014_and_kept_going_back(
    database_url: str,
) -> None:
    """0014 adds the configuration's version: every shop starts at 0 (configured or not), the
    next save is 1; going back to 0013 keeps every row, and on SQLite the AUTOINCREMENT of 0013
    (the column is dropped, not the table rebuilt)."""
    engine = create_engine(database_url)
    now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    try:
        await move_schema(engine, "0013")
        async with engine.begin() as connection:
            await _shops_as_of_0012(connection, now)  # 0013 has the same columns
            await connection.execute(
                installations.update().where(installations.c.id == 3).values(config=None)
            )
        before = await _kept_installations(engine)
        declared_before = await _installations_sql(engine)

        await move_schema(engine, "0014")
        versions = await _versions(engine)
        async with engine.begin() as connection:
            await connection.execute(
                installations.update()
                .where(installations.c.id == 1)
                .values(config_version=installations.c.config_version + 1)
            )
        after_a_save = await _versions(engine)
        await move_schema(engine, "0013", down=True)
        kept_back = await _kept_installations(engine)
        declared_back = await _installations_sql(engine)
    finally:
        await engine.dispose()

    assert versions == [(1, 0), (2, 0), (3, 0)]
    assert after_a_save == [(1, 1), (2, 0), (3, 0)]
    assert kept_back == before
    assert declared_back == declared_before
    if engine.dialect.name == "sqlite":
        assert "AUTOINCREMENT" in declared_back


# Jobs as 0014 stored them: (status, last message); 0015 says which status went with the message
JOBS_BEFORE_LAST_STATUS: dict[str, tuple[str, str | None]] = {
    "synced": ("synced", "Gordon already has this content."),
    "skipped": ("skipped", "Waiting for ORDER_FULLY_PAID."),
    "retrying": ("retrying", "Gordon is unavailable (HTTP 503)."),
    # an event made it pending after it said something: what went with that is not known
    "pending-again": ("pending", "Gordon already has this content."),
    "pending-new": ("pending", None),
}


async def test_jobs_take_the_status_their_last_message_went_with_after_0015_and_going_back(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    try:
        await move_schema(engine, "0014")
        async with engine.begin() as connection:
            installation_id = await _an_installation(connection, now)
            await connection.execute(
                sync_jobs.insert(),
                [
                    {
                        "installation_id": installation_id,
                        "order_id": order_id,
                        "status": status,
                        "last_message": message,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for order_id, (status, message) in JOBS_BEFORE_LAST_STATUS.items()
                ],
            )

        await move_schema(engine, "0015")
        async with engine.connect() as connection:
            rows = await connection.execute(select(sync_jobs.c.order_id, sync_jobs.c.last_status))
            migrated = {row.order_id: row.last_status for row in rows}
        await move_schema(engine, "0014", down=True)
        async with engine.connect() as connection:
            rows = await connection.execute(text("SELECT order_id, status FROM sync_jobs"))
            kept = {row.order_id: row.status for row in rows}
    finally:
        await engine.dispose()

    assert migrated == {
        "synced": "synced",
        "skipped": "skipped",
        "retrying": "retrying",
        "pending-again": None,
        "pending-new": None,
    }
    assert kept == {order_id: status for order_id, (status, _) in JOBS_BEFORE_LAST_STATUS.items()}
