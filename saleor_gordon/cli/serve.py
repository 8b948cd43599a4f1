"""``saleor-gordon serve``: the web app and its workers in one process (the embedded default)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator

import uvicorn

from saleor_gordon.cli.settings_loading import load_settings, report_error
from saleor_gordon.errors import ConfigurationError, GordonAppError
from saleor_gordon.observability import configure_logging, sanitize_url
from saleor_gordon.runtime import Runtime, open_runtime
from saleor_gordon.settings import Settings
from saleor_gordon.store.database import migrate, migration_status
from saleor_gordon.sync import SyncServices
from saleor_gordon.web.app import create_app
from saleor_gordon.worker import WorkerPool

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    parser.add_argument("--port", type=int, default=8000, help="port (default: %(default)s)")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker tasks beside the web app (default: SALEOR_GORDON_WORKERS, 4)",
    )


def run(args: argparse.Namespace) -> int:
    try:
        overrides = {} if args.workers is None else {"workers": args.workers}
        settings = load_settings(**overrides)
        configure_logging(settings.log_level_number)
        asyncio.run(serve(settings, host=args.host, port=args.port))
    except GordonAppError as exc:
        return report_error(exc.message)
    return 0


async def serve(settings: Settings, *, host: str, port: int) -> None:
    async with open_runtime(settings) as runtime:
        await prepare_database(runtime)
        config = uvicorn.Config(
            create_app(runtime), host=host, port=port, log_config=None, access_log=False
        )
        server = _Server(config)
        pool = WorkerPool(SyncServices.from_runtime(runtime), concurrency=settings.workers)
        runtime.wake_workers = pool.wake
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, _stop, server, pool)
        logger.info(
            "app.starting url=http://%s:%s database=%s workers=%s",
            host,
            port,
            sanitize_url(settings.database_url),
            settings.workers,
        )
        workers = asyncio.create_task(pool.run())
        try:
            await server.serve()  # returns on SIGTERM / SIGINT
        finally:
            pool.stop()
            await workers  # drain: jobs in flight are recorded before the process ends


class _Server(uvicorn.Server):
    """uvicorn's server, minus its signal handling: ``serve`` stops web and workers together.

    uvicorn re-raises a captured SIGTERM once it has stopped, which would end the process before
    the workers have recorded the jobs in flight.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _stop(server: uvicorn.Server, pool: WorkerPool) -> None:
    logger.info("app.stopping")
    server.should_exit = True
    pool.stop()


async def prepare_database(runtime: Runtime) -> None:
    """Migrate an embedded SQLite database; refuse to run on an unmigrated PostgreSQL."""
    if runtime.settings.is_sqlite:
        await migrate(runtime.engine)
        status = await migration_status(runtime.engine)
        logger.info("database.migrated revision=%s", status.current)
        return
    status = await migration_status(runtime.engine)
    if not status.up_to_date:
        raise ConfigurationError(
            f"The database is at migration {status.current or 'none'}, this version needs "
            f"{status.head}. Run `saleor-gordon migrate` first."
        )
