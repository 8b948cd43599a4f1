"""The migrations produce exactly the schema that store/tables.py declares."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from saleor_gordon.store.database import head_revision, migration_status
from saleor_gordon.store.tables import metadata


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
