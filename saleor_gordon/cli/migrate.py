"""``saleor-gordon migrate``: apply the database migrations."""

from __future__ import annotations

import argparse
import asyncio

from saleor_gordon.cli.settings_loading import load_settings, report_error
from saleor_gordon.errors import GordonAppError
from saleor_gordon.observability import configure_logging, sanitize_url
from saleor_gordon.store.database import create_engine, migrate, migration_status


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (
        "The database is SALEOR_GORDON_DATABASE_URL (default: sqlite:///saleor-gordon.db)."
    )


def run(args: argparse.Namespace) -> int:
    try:
        settings = load_settings()
        configure_logging(settings.log_level_number, settings.log_format)
        revision = asyncio.run(
            _migrate(settings.database_url, settings.database_connect_timeout_seconds)
        )
    except GordonAppError as exc:
        return report_error(exc.message)
    print(f"Database {sanitize_url(settings.database_url)} is at migration {revision}.")  # noqa: T201
    return 0


async def _migrate(database_url: str, connect_timeout: float) -> str | None:
    # No statement timeout (DATABASE_STATEMENT_TIMEOUT_SECONDS): a data migration may run one
    # long statement on a big table, and one cut short would fail the upgrade.
    engine = create_engine(database_url, connect_timeout=connect_timeout, statement_timeout=None)
    try:
        await migration_status(engine)  # reachable?
        await migrate(engine)
        return (await migration_status(engine)).current
    finally:
        await engine.dispose()
