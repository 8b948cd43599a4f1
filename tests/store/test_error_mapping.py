"""Database failures become StoreUnavailable (answered 503, so Saleor retries), in one place."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from saleor_gordon.errors import StoreUnavailable
from saleor_gordon.store.error_mapping import map_database_errors


async def test_an_exhausted_connection_pool_is_store_unavailable(tmp_path: Path) -> None:
    # given a pool whose only connection is taken
    engine = create_async_engine(
        f"sqlite+aiosqlite:///{tmp_path}/app.db", pool_size=1, max_overflow=0, pool_timeout=0.05
    )
    try:
        async with engine.connect() as holder:
            await holder.execute(text("SELECT 1"))
            # when another caller needs one
            with pytest.raises(StoreUnavailable):
                async with map_database_errors(), engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
    finally:
        await engine.dispose()
