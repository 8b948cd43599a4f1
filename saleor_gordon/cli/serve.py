"""``saleor-gordon serve``: the web app and its workers in one process (the embedded default)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import ipaddress
import logging
import signal
import socket
from collections.abc import Iterator

import uvicorn

from saleor_gordon.cli import event_loop
from saleor_gordon.cli.settings_loading import load_settings, log_error, report_error
from saleor_gordon.errors import ConfigurationError, GordonAppError
from saleor_gordon.jobs.attempt import JobServices
from saleor_gordon.jobs.worker import WorkerPool
from saleor_gordon.observability import configure_logging, sanitize_url
from saleor_gordon.runtime import Runtime, open_runtime
from saleor_gordon.settings import Settings
from saleor_gordon.store.database import migrate, migration_status, wait_for_database
from saleor_gordon.web.app import create_app

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=8000,
        help="port, 0 for any free one (default: %(default)s). Without SALEOR_GORDON_APP_URL the "
        "manifest uses http://HOST:PORT as served",
    )
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
    except GordonAppError as exc:
        return report_error(exc.message)
    configure_logging(settings.log_level_number, settings.log_format)
    try:
        event_loop.run(serve(settings, host=args.host, port=args.port))
    except GordonAppError as exc:
        return log_error(exc.message)
    return 0


def served_app_url(host: str, port: int) -> str:
    """The base URL of the app listening on ``host``:``port``: the manifest's URLs when
    SALEOR_GORDON_APP_URL is not set. Every interface (0.0.0.0, ::) is reached
    as localhost; an IPv6 address is bracketed."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"http://{host}:{port}"
    if address.is_unspecified:
        return f"http://localhost:{port}"
    return f"http://[{address}]:{port}" if address.version == 6 else f"http://{address}:{port}"


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host``:``port`` (0 = any free port), so the port is known at once."""
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:  # a host name
        family = socket.AF_INET
    try:
        listener = socket.create_server((host, port), family=family, backlog=2048)
    except OSError as exc:
        raise ConfigurationError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    # Accepted connections inherit it. asyncio sets it only on sockets created with proto TCP,
    # which create_server's are not: without it each answer's body waited for the client's
    # delayed ACK of its headers (about 40 ms per request).
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return listener


async def serve(settings: Settings, *, host: str, port: int) -> None:
    listener = _listen(host, port)
    with listener:
        await _serve_on(_with_app_url(settings, host, listener), listener)


def _with_app_url(settings: Settings, host: str, listener: socket.socket) -> Settings:
    """Without SALEOR_GORDON_APP_URL, the manifest follows the host and port actually served."""
    if "app_url" in settings.model_fields_set:
        return settings
    port = listener.getsockname()[1]
    return settings.model_copy(update={"app_url": served_app_url(host, port)})


async def _serve_on(settings: Settings, listener: socket.socket) -> None:
    host, port = listener.getsockname()[:2]
    async with open_runtime(settings) as runtime:
        await prepare_database(runtime)
        server = _Server(event_loop.server_config(create_app(runtime), host=host, port=port))
        pool = WorkerPool(JobServices.from_runtime(runtime), concurrency=settings.workers)
        runtime.wake_workers = pool.wake
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, _stop, server, pool)
        logger.info(
            "app.starting listen=%s:%s app_url=%s database=%s workers=%s",
            host,
            port,
            settings.app_url,
            sanitize_url(settings.database_url),
            settings.workers,
        )
        workers = asyncio.create_task(pool.run())
        workers.add_done_callback(functools.partial(_stop_if_the_workers_failed, server))
        try:
            await server.serve(sockets=[listener])  # returns on SIGTERM / SIGINT
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


def _stop_if_the_workers_failed(server: uvicorn.Server, workers: asyncio.Task[None]) -> None:
    """The worker pool ended with an error: the web app must not go on acknowledging webhooks
    that nobody syncs. serve stops; ``await workers`` raises the error again, and the process
    ends with a non-zero status (its supervisor restarts it; the queued jobs wait in the
    database)."""
    if workers.cancelled() or workers.exception() is None:
        return
    logger.critical("app.workers_failed: serve stops", exc_info=workers.exception())
    server.should_exit = True


def _stop(server: uvicorn.Server, pool: WorkerPool) -> None:
    logger.info("app.stopping")
    server.should_exit = True
    pool.stop()


async def prepare_database(runtime: Runtime) -> None:
    """Migrate an embedded SQLite database; wait for a PostgreSQL server that cannot be reached
    yet (DATABASE_STARTUP_WAIT_SECONDS); refuse to run on an unmigrated PostgreSQL."""
    if runtime.settings.is_sqlite:
        await migrate(runtime.engine)
        status = await migration_status(runtime.engine)
        logger.info("database.migrated revision=%s", status.current)
        return
    status = await wait_for_database(
        runtime.engine, within=runtime.settings.database_startup_wait_seconds
    )
    if not status.up_to_date:
        raise ConfigurationError(
            f"The database is at migration {status.current or 'none'}, this version needs "
            f"{status.head}. Run `saleor-gordon migrate` first."
        )
