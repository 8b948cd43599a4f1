"""SQLite files: created for their owner only; connections give the write lock back when closed."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from saleor_gordon.store.database import create_engine, migrate


async def test_a_query_cancelled_midway_leaves_no_write_lock(tmp_path: Path) -> None:
    # given a read (in a BEGIN IMMEDIATE transaction, as every one is) that is cancelled while
    # SQLite runs it
    path = tmp_path / "db.sqlite"
    engine = create_engine(f"sqlite:///{path}")
    running, may_end = threading.Event(), threading.Event()

    def slow(value: int) -> int:
        running.set()
        may_end.wait(5)
        return value

    def add_slow(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.create_function("slow", 1, slow)

    event.listen(engine.sync_engine, "connect", add_slow)

    async def read() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT slow(1)"))

    task = asyncio.create_task(read())
    assert await asyncio.to_thread(running.wait, 5)
    task.cancel()
    may_end.set()
    cancellation: BaseException | None = None
    try:
        await task
    except asyncio.CancelledError as exc:
        cancellation = exc  # kept, as a log record or an error report may keep it
    assert cancellation is not None

    # then another connection takes the write lock at once
    other = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    finally:
        other.close()
        del cancellation
        await engine.dispose()


async def test_the_database_and_its_wal_and_shm_files_are_readable_by_their_owner_only(
    tmp_path: Path,
) -> None:
    # given a umask that would leave new files readable by everyone
    previous = os.umask(0o022)
    try:
        path = tmp_path / "data" / "saleor-gordon.db"
        engine = create_engine(f"sqlite:///{path}")
        # when the app creates the database and writes to it (WAL mode: -wal and -shm appear)
        await migrate(engine)
        async with engine.connect() as connection:
            await connection.execute(text("SELECT count(*) FROM installations"))
            modes = {file.name: stat.S_IMODE(file.stat().st_mode) for file in path.parent.iterdir()}
        await engine.dispose()
    finally:
        os.umask(previous)
    # then
    assert modes == {
        "saleor-gordon.db": 0o600,
        "saleor-gordon.db-wal": 0o600,
        "saleor-gordon.db-shm": 0o600,
    }


async def test_an_existing_database_keeps_its_permissions(tmp_path: Path) -> None:
    path = tmp_path / "saleor-gordon.db"
    path.touch(mode=0o640)
    path.chmod(0o640)  # an operator's choice (a backup group), not the umask's

    engine = create_engine(f"sqlite:///{path}")
    await migrate(engine)
    await engine.dispose()

    assert stat.S_IMODE(path.stat().st_mode) == 0o640


async def test_every_connection_checkpoints_the_wal_after_4000_pages(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        async with engine.connect() as connection:
            pages = (await connection.execute(text("PRAGMA wal_autocheckpoint"))).scalar_one()
    finally:
        await engine.dispose()

    assert pages == 4000
