"""``saleor-gordon worker``: workers without the web app, for multi-process deployments."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from saleor_gordon.cli import event_loop
from saleor_gordon.cli.serve import prepare_database
from saleor_gordon.cli.settings_loading import load_settings, log_error, report_error
from saleor_gordon.errors import GordonAppError
from saleor_gordon.jobs.attempt import JobServices
from saleor_gordon.jobs.worker import WorkerPool
from saleor_gordon.observability import configure_logging
from saleor_gordon.runtime import open_runtime
from saleor_gordon.settings import Settings

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="worker tasks in this process (default: SALEOR_GORDON_WORKERS, 4)",
    )
    parser.epilog = (
        "Several worker processes may share one PostgreSQL database (or one SQLite file on one "
        "machine). SIGTERM stops claiming new jobs and waits for the ones in flight."
    )


def run(args: argparse.Namespace) -> int:
    try:
        overrides = {} if args.concurrency is None else {"workers": args.concurrency}
        settings = load_settings(**overrides)
    except GordonAppError as exc:
        return report_error(exc.message)
    configure_logging(settings.log_level_number, settings.log_format)
    try:
        event_loop.run(work(settings))
    except GordonAppError as exc:
        return log_error(exc.message)
    return 0


async def work(settings: Settings) -> None:
    async with open_runtime(settings) as runtime:
        await prepare_database(runtime)
        pool = WorkerPool(JobServices.from_runtime(runtime), concurrency=max(settings.workers, 1))
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, pool.stop)
        await pool.run()
