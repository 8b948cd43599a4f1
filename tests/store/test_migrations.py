"""The migrations produce exactly the schema that store/tables.py declares."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from saleor_gordon.store.database import (
    alembic_config,
    create_engine,
    head_revision,
    migrate,
    migration_status,
)
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
