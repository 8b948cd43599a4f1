"""SQLite connections give the write lock back when they are closed."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from saleor_gordon.store.database import create_engine


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
