"""Fixtures shared by every test package."""

from __future__ import annotations

import asyncio
import glob
import logging
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy.engine import make_url

from tests.support.fixtures import (  # noqa: F401 - the fakes' fixtures, for every test package
    _fake_schema,
    _gordon_server,
    _saleor_server,
    _signing_key,
    gordon_sandbox,
    saleor_fake,
    saleor_fake_factory,
    start_gordon_sandbox,
    unreachable_engine,
)
from tests.support.saleor_schema import SchemaNotFound, find_schema

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLES_DIR = REPO_ROOT / "tests" / "data" / "saleor" / "samples"


@pytest.fixture(scope="session")
def saleor_schema_path() -> Path:
    """Saleor's schema, as the Saleor fake finds it (tests/support/saleor_schema.py).

    Missing is a failure with one message saying how to provide it, never a skip (also in CI,
    where ``CI`` is set): the GraphQL documents must be validated."""
    try:
        return find_schema()
    except SchemaNotFound as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """Requests recorded from a real Saleor 3.23.28, kept in tests/data (see its README)."""
    return SAMPLES_DIR


@pytest.fixture(scope="session")
def graphql_dir() -> Path:
    return REPO_ROOT / "graphql"


# --- logging --------------------------------------------------------------------------------


def _pytests_own(handler: logging.Handler) -> bool:
    """pytest's capture handlers, which it adds and removes around every test phase itself."""
    return type(handler).__module__.startswith("_pytest")


@contextmanager
def logging_restored() -> Iterator[None]:
    """Every logger that existed keeps its level, propagation, disabled flag and handlers
    (pytest's own capture handlers aside, which pytest manages per test phase)."""
    manager = logging.Logger.manager
    loggers = [logging.getLogger()]
    loggers += [item for item in manager.loggerDict.values() if isinstance(item, logging.Logger)]
    saved = [(lg, lg.level, lg.propagate, lg.disabled, list(lg.handlers)) for lg in loggers]
    try:
        yield
    finally:
        for logger, level, propagate, disabled, handlers in saved:
            logger.setLevel(level)
            logger.propagate, logger.disabled = propagate, disabled
            for handler in list(logger.handlers):
                if handler not in handlers and not _pytests_own(handler):
                    logger.removeHandler(handler)
            for handler in handlers:
                if handler not in logger.handlers and not _pytests_own(handler):
                    logger.addHandler(handler)


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """Logging as before the test, after it.

    A test that runs a command in-process (``main(["migrate"])``) configures logging: a handler on
    the ``sys.stderr`` of that moment (``capsys``'s, closed when the test ends) and levels. Left in
    place, every later test that logs printed "--- Logging error --- ValueError: I/O operation on
    closed file"."""
    with logging_restored():
        yield


# --- databases ------------------------------------------------------------------------------
#
# Every store test runs on SQLite and on PostgreSQL. PostgreSQL comes from
# SALEOR_GORDON_TEST_POSTGRES_URL (set by .ci/run), or from a throwaway cluster this session
# starts with initdb/pg_ctl: found on PATH, else where Debian's postgresql package puts them
# (/usr/lib/postgresql/<version>/bin, the newest version). In CI a missing PostgreSQL is a failure,
# never a skip; a local run that skips says so in one line at the end (pytest_terminal_summary).

POSTGRES_SEARCH = "/usr/lib/postgresql/*/bin"
"""Where server binaries are looked for when they are not on PATH (``:``-separated globs;
``SALEOR_GORDON_TEST_POSTGRES_SEARCH`` replaces it)."""
POSTGRES_UNAVAILABLE = "PostgreSQL unavailable: "
"""How the skip reason of a PostgreSQL test starts, when there is no PostgreSQL to run it on."""
HOW_TO_ENABLE_POSTGRES = (
    "set SALEOR_GORDON_TEST_POSTGRES_URL=postgresql://USER@HOST:PORT/postgres (a user that may "
    "create databases), or install PostgreSQL's server (Debian: apt-get install postgresql)"
)
PORT_ATTEMPTS = 5


def postgres_bin_dir(path: str | None = None, search: str | None = None) -> Path | None:
    """The directory of ``initdb`` and ``pg_ctl``: on ``path`` (default: PATH), else the newest
    version under the ``search`` globs (default: ``POSTGRES_SEARCH``); None when there is none."""
    initdb = shutil.which("initdb", path=path)
    if initdb is not None and shutil.which("pg_ctl", path=path) is not None:
        return Path(initdb).parent
    patterns = search or os.environ.get("SALEOR_GORDON_TEST_POSTGRES_SEARCH") or POSTGRES_SEARCH
    found = [
        Path(directory)
        for pattern in patterns.split(":")
        for directory in glob.glob(pattern)
        if all(os.access(Path(directory) / name, os.X_OK) for name in ("initdb", "pg_ctl"))
    ]
    return max(found, key=_version_key, default=None)


def _version_key(directory: Path) -> tuple[int, ...]:
    """``/usr/lib/postgresql/15/bin`` -> (15,): 15 before 9.6, by number."""
    version = directory.parent.name
    return tuple(int(part) for part in re.findall(r"\d+", version)) or (-1,)


def candidate_port() -> int:
    """A loopback port free a moment ago, for a server that binds it itself: a caller retries with
    another one when the server reports it taken (``PORT_ATTEMPTS``)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections for the whole test: bound, so no other process
    can take it meanwhile, and not listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def _as_postgres_user(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def _no_postgres(why: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL tests cannot run in CI: {why}; {HOW_TO_ENABLE_POSTGRES}")
    pytest.skip(POSTGRES_UNAVAILABLE + why)


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """URL of a PostgreSQL server whose superuser may create databases."""
    configured = os.environ.get("SALEOR_GORDON_TEST_POSTGRES_URL")
    if configured:
        yield configured
        return
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        searched = os.environ.get("SALEOR_GORDON_TEST_POSTGRES_SEARCH") or POSTGRES_SEARCH
        _no_postgres(f"no initdb/pg_ctl on PATH or in {searched}")
        return  # pragma: no cover - skip and fail raise
    workdir = Path(tempfile.mkdtemp(prefix="saleor-gordon-test-pg-"))
    data = workdir / "data"
    initdb, pg_ctl = str(bin_dir / "initdb"), str(bin_dir / "pg_ctl")
    try:
        if os.geteuid() == 0:
            shutil.chown(workdir, user="postgres")  # LookupError without that user
        subprocess.run(
            _as_postgres_user([initdb, "-D", str(data), "-U", "postgres", "--auth=trust"]),
            check=True,
            capture_output=True,
        )
        port = _start_postgres(pg_ctl, data, workdir)
    except (subprocess.CalledProcessError, OSError, LookupError) as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        detail = getattr(exc, "stderr", None) or b""
        _no_postgres(
            f"{bin_dir} did not start a server ({exc}; {detail.decode(errors='replace').strip()[-300:]})"
        )
        return  # pragma: no cover - skip and fail raise
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres_user([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(workdir, ignore_errors=True)


def _start_postgres(pg_ctl: str, data: Path, workdir: Path, extra_options: str = "") -> int:
    """Start the cluster on a free port, another one when the port was taken meanwhile."""
    log = workdir / "log"
    for _ in range(PORT_ATTEMPTS):
        port = candidate_port()
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} -k {workdir} -c fsync=off {extra_options}"
        )
        started = subprocess.run(
            _as_postgres_user(
                [pg_ctl, "-D", str(data), "-l", str(log), "-w", "-o", options, "start"]
            ),
            check=False,
            capture_output=True,
        )
        if started.returncode == 0:
            return port
        if "Address already in use" not in log.read_text(errors="replace"):
            raise subprocess.CalledProcessError(
                started.returncode,
                started.args,
                started.stdout,
                started.stderr + log.read_bytes()[-500:],
            )
        log.unlink()
    raise OSError(f"every one of {PORT_ATTEMPTS} ports was taken before PostgreSQL could bind it")


def _is_postgres_skip(report: pytest.TestReport) -> bool:
    return isinstance(report.longrepr, tuple) and str(report.longrepr[2]).startswith(
        "Skipped: " + POSTGRES_UNAVAILABLE
    )


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter: Any) -> Iterator[None]:
    """Tests skipped for want of PostgreSQL: one line at the very end (how many, how to run them),
    instead of one line per test in the short summary (``-ra``); the final count still has them."""
    skipped: list[pytest.TestReport] = terminalreporter.stats.get("skipped", [])
    postgres = [report for report in skipped if _is_postgres_skip(report)]
    if postgres:
        terminalreporter.stats["skipped"] = [r for r in skipped if not _is_postgres_skip(r)]
    try:
        return (yield)
    finally:
        if postgres:
            terminalreporter.stats["skipped"] = skipped
            why = str(postgres[0].longrepr[2]).removeprefix("Skipped: " + POSTGRES_UNAVAILABLE)
            terminalreporter.write_line(
                f"PostgreSQL: {len(postgres)} test(s) skipped ({why}); to run them, "
                f"{HOW_TO_ENABLE_POSTGRES}.",
                yellow=True,
                bold=True,
            )


async def _admin(server_url: str, statement: str) -> None:
    import asyncpg

    url = make_url(server_url)
    connection = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, database=url.database or "postgres"
    )
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture
def fresh_postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for one test (dropped afterwards)."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    asyncio.run(_admin(postgres_server_url, f'CREATE DATABASE "{name}"'))
    yield make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
    asyncio.run(_admin(postgres_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: SQLite in a temporary file, and PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'saleor-gordon.db'}"
    url: str = request.getfixturevalue("fresh_postgres_url")
    return url


TEST_SECRET_KEY = "test-secret-key-0123456789abcdef0123456789"


@pytest_asyncio.fixture
async def migrated_engine(database_url: str) -> AsyncIterator[object]:
    from saleor_gordon.store.database import create_engine, migrate

    engine = create_engine(database_url)
    await migrate(engine)
    yield engine
    await engine.dispose()


MAX_CONNECTIONS = "-c max_connections=200"
"""A throwaway cluster serves the chaos suite's two worker processes, serve and its own reads."""


@dataclass
class ThrowawayPostgres:
    """A PostgreSQL cluster of one test, on a free loopback port, that the test may restart."""

    workdir: Path
    bin_dir: Path
    port: int = 0
    """Chosen by the first start (another one when a port was taken meanwhile); kept by restarts."""

    @property
    def data(self) -> Path:
        return self.workdir / "data"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        if not self.port:
            self.port = _start_postgres(
                str(self.bin_dir / "pg_ctl"), self.data, self.workdir, MAX_CONNECTIONS
            )
            return
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.workdir} -c fsync=off "
            + MAX_CONNECTIONS
        )
        self._pg_ctl("-l", str(self.workdir / "log"), "-w", "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        self._pg_ctl("-m", mode, "-w", "stop")

    def restart(self) -> float:
        """Stop the server as a crash would (``-m immediate``: connections cut, no checkpoint) and
        start it again once it is gone; returns the seconds it was unavailable."""
        started = time.monotonic()
        self.stop("immediate")
        self.start()
        return time.monotonic() - started

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            _as_postgres_user([str(self.bin_dir / "pg_ctl"), "-D", str(self.data), *args]),
            check=True,
            capture_output=True,
            timeout=120,
        )


@pytest.fixture
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    """A PostgreSQL cluster started for one test with initdb/pg_ctl (never the shared server), for
    tests that stop or restart the database server."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("a throwaway PostgreSQL cluster needs PostgreSQL's initdb and pg_ctl")
        pytest.skip(POSTGRES_UNAVAILABLE + "no initdb/pg_ctl for a throwaway cluster")
    workdir = Path(tempfile.mkdtemp(prefix="saleor-gordon-throwaway-pg-"))
    if os.geteuid() == 0:
        shutil.chown(workdir, user="postgres")
    server = ThrowawayPostgres(workdir, bin_dir)
    subprocess.run(
        _as_postgres_user(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(server.data),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-locale",
            ]
        ),
        check=True,
        capture_output=True,
    )
    server.start()
    try:
        yield server
    finally:
        subprocess.run(
            _as_postgres_user(
                [str(bin_dir / "pg_ctl"), "-D", str(server.data), "-m", "immediate", "stop"]
            ),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(workdir, ignore_errors=True)
