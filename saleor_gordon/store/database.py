"""Database engines and migrations.

``DATABASE_URL`` keeps the usual synchronous forms (``sqlite:///path``,
``postgresql://user:pass@host/db``); the app picks its async drivers itself (aiosqlite, asyncpg).
SQLite runs in WAL mode with a busy timeout so that the web process and worker processes can share
one file.

Alembic (12 MB of a process's memory) is imported only to migrate: which migration a database is
at is read from its ``alembic_version`` table, and the newest one from the migration files'
``revision`` lines, so a process whose database is current (``serve``'s every start but the
first, ``/readyz``, ``doctor``) never loads it.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import logging
import os
import re
import sqlite3
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from saleor_gordon.errors import StoreError, StoreUnavailable
from saleor_gordon.settings import (
    DATABASE_CONNECT_TIMEOUT_SECONDS,
    DATABASE_STATEMENT_TIMEOUT_SECONDS,
)
from saleor_gordon.store.error_mapping import unreachable_reason

if TYPE_CHECKING:
    from alembic.config import Config

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 10_000  # well under the default lease (30 s)


def async_database_url(database_url: str) -> str:
    """``sqlite:///x`` -> ``sqlite+aiosqlite:///x``; ``postgresql://…`` -> ``postgresql+asyncpg://…``."""
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        return url.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if backend in {"postgresql", "postgres"}:
        return url.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise ValueError(f"unsupported database URL scheme: {url.drivername}")


def create_engine(
    database_url: str,
    *,
    connect_timeout: float = DATABASE_CONNECT_TIMEOUT_SECONDS,
    statement_timeout: float | None = DATABASE_STATEMENT_TIMEOUT_SECONDS,
) -> AsyncEngine:
    """An async engine for ``database_url``, with SQLite set up for several processes.

    On PostgreSQL, opening a connection fails after ``connect_timeout`` seconds (asyncpg's
    ``timeout``: TCP connect, TLS and authentication together), and a statement on an open
    connection after ``statement_timeout`` seconds (asyncpg's ``command_timeout``: the default
    timeout of every execute and fetch that passes none, SQLAlchemy's statements, its pool's
    ping and its set-up queries after connecting among them; None: no bound, for migrations),
    both with ``TimeoutError``, which ``store/error_mapping.py`` makes StoreUnavailable. A
    connection whose statement timed out is in an unknown state (asyncpg is cancelling the
    statement; the server may be gone) and is never used again: SQLAlchemy counts a
    ``TimeoutError`` as a disconnect (``util.is_exit_exception``) and closes that connection, not
    the pool's others (a failed ping does the same), and ``on_postgres`` closes its own. Every
    connection the app opens is made by this engine's pool: its own, and the ones ``driver_sql``
    detaches from it (``on_postgres``, the job listener), so they all get both. The entry points
    pass the settings (``DATABASE_CONNECT_TIMEOUT_SECONDS``,
    ``DATABASE_STATEMENT_TIMEOUT_SECONDS``); ``migrate`` passes no statement timeout.

    A failed statement's error shows its SQL but not its parameters (``hide_parameters``): the
    traceback ``job.crashed`` or ``request.failed`` logs would otherwise carry what the app was
    writing (Gordon's words about an order, encrypted secrets)."""
    url = async_database_url(database_url)
    if url.startswith("sqlite"):
        sqlite_path = make_url(url).database
        if sqlite_path and sqlite_path != ":memory:":
            create_private_file(Path(sqlite_path))
        engine = create_async_engine(
            url,
            hide_parameters=True,
            connect_args={
                "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
                "factory": _RollbackOnCloseConnection,
            },
        )
        event.listen(engine.sync_engine, "connect", _configure_sqlite_connection)
        event.listen(engine.sync_engine, "begin", _begin_immediate)
        return engine
    return create_async_engine(
        url,
        hide_parameters=True,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
        connect_args={"timeout": connect_timeout, "command_timeout": statement_timeout},
    )


def create_private_file(path: Path) -> None:
    """Create the SQLite file ``path`` (and its directory) readable by this user only, if absent.

    SQLite creates the ``-wal`` and ``-shm`` files with the database file's permissions, so they
    are 0600 too. An existing file keeps the permissions it has.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


SQLITE_CHECKPOINT_PAGES = 4000
"""WAL pages after which the committing connection copies them into the database file (SQLite's
``wal_autocheckpoint``; its default is 1000). A checkpoint is paid inside a commit, and while it
runs the inbox's next group waits: under a burst of webhooks the default made one commit in 26
a checkpoint of 7 ms (random index pages: each group of seven events writes about 38 pages), 30 %
of the writer's time. Four times fewer checkpoints write back the same page once instead of
several times (bench/RESULTS.md, "Eighth round"): the WAL file grows to about 16 MB before it
starts over, and a checkpoint then holds a commit for 10 to 35 ms. Checkpointing from another
connection instead does not keep up: a busy writer appends before the WAL can start over, so
it grows without end."""


def sqlite_file(database_url: str) -> str | None:
    """The path of the SQLite file ``database_url`` names; None for PostgreSQL and in-memory."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in {None, "", ":memory:"}:
        return None
    return url.database


SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
    f"PRAGMA wal_autocheckpoint={SQLITE_CHECKPOINT_PAGES}",
)
"""How every connection to a SQLite file is set up (the inbox's writer process too)."""


class _RollbackOnCloseConnection(sqlite3.Connection):
    """A SQLite connection that ends its transaction when it is closed, whatever still refers to
    its statements.

    ``close()`` keeps the transaction (with BEGIN IMMEDIATE: the database's write lock) while a
    statement of the connection is not finalized: SQLite only marks the connection to be closed
    once its last statement goes. A task cancelled mid-query leaves such a statement: the cursor
    it was reading stays referenced from the cancellation's traceback, and SQLAlchemy closes the
    invalidated connection without closing that cursor. Every other connection, in this process
    and in others, then waits for the lock, and fails ("database is locked") unless the garbage
    collector happens to free the cursor first. Rolling back first releases the lock at close.
    """

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):  # closed already, or nothing left to end
            if self.in_transaction:
                self.rollback()
        super().close()


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions start.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


READ_ONLY = {"saleor_gordon_read_only": True}
"""Execution options of a connection whose transaction only reads
(``await connection.execution_options(**READ_ONLY)`` before its first statement): on SQLite it
begins deferred, so it neither takes nor waits for the write lock (WAL readers never wait)."""


@contextlib.asynccontextmanager
async def reading(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for a transaction that only reads (``READ_ONLY``)."""
    async with engine.connect() as connection:
        await connection.execution_options(**READ_ONLY)
        yield connection


def _begin_immediate(connection: Connection) -> None:
    # Take the write lock when the transaction starts, so concurrent writers wait for each other
    # (busy_timeout) instead of failing with "database is locked" when upgrading a read lock.
    # A transaction that only reads (READ_ONLY) needs no lock.
    if connection.get_execution_options().get("saleor_gordon_read_only"):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def alembic_config() -> Config:
    from alembic.config import Config  # here: Alembic only to migrate (module docstring)

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def _move_schema(connection: Connection, revision: str, down: bool) -> None:
    from alembic import command  # here: Alembic only to migrate (module docstring)

    config = alembic_config()
    config.attributes["connection"] = connection
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # SQLite changes a table by building it anew and dropping the old one, and dropping a
        # table whose rows others refer to ON DELETE CASCADE deletes those rows too while foreign
        # keys are enforced. SQLite's own procedure (https://sqlite.org/lang_altertable.html,
        # "other kinds of table schema changes"): enforcement off outside the transaction (it is
        # ignored inside one), every reference checked before the commit.
        _set_sqlite_foreign_keys(connection, on=False)
    try:
        with connection.begin():
            (command.downgrade if down else command.upgrade)(config, revision)
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise StoreError(
                        f"Migrating to {revision} would leave {len(broken)} row(s) referring to "
                        f"rows that do not exist (first: {tuple(broken[0])}); nothing was changed."
                    )
    finally:
        if sqlite:
            _set_sqlite_foreign_keys(connection, on=True)


def _set_sqlite_foreign_keys(connection: Connection, *, on: bool) -> None:
    """Foreign key enforcement of ``connection``'s SQLite connection, set on the driver's
    connection: through SQLAlchemy the statement would begin a transaction first."""
    cursor = connection.connection.cursor()
    try:
        cursor.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    finally:
        cursor.close()


def _current_revision(connection: Connection) -> str | None:
    """The revision in ``alembic_version`` (Alembic's table); None before the first migration."""
    if not inspect(connection).has_table(ALEMBIC_VERSION_TABLE):
        return None
    versions = connection.execute(text("SELECT version_num FROM alembic_version"))
    found = [row[0] for row in versions]
    if len(found) > 1:
        raise StoreUnavailable(f"The database is at several migrations at once: {found}.")
    return found[0] if found else None


ALEMBIC_VERSION_TABLE = "alembic_version"
_REVISION_LINE = re.compile(r"^(revision|down_revision)\b[^=\n]*=\s*(.+?)\s*$", re.MULTILINE)


@cache
def head_revision() -> str | None:
    """The newest migration: the one no other names as its ``down_revision`` (the migrations
    form one line), read from the files' ``revision`` / ``down_revision`` assignments.
    ``tests/store/test_migrations.py`` holds it to Alembic's own answer."""
    revisions: dict[str, str | None] = {}
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        assigned = dict(_REVISION_LINE.findall(path.read_text(encoding="utf-8")))
        if "revision" in assigned:
            revisions[ast.literal_eval(assigned["revision"])] = ast.literal_eval(
                assigned.get("down_revision", "None")
            )
    heads = set(revisions) - set(revisions.values())
    if len(heads) > 1:
        raise RuntimeError(f"the migrations have several heads: {sorted(heads)}")
    return heads.pop() if heads else None


async def migrate(engine: AsyncEngine) -> None:
    """Apply every pending migration (Alembic is loaded only when one is pending)."""
    if (await migration_status(engine)).up_to_date:
        return
    await move_schema(engine, "head")


async def move_schema(engine: AsyncEngine, revision: str, *, down: bool = False) -> None:
    """Upgrade (``down``: downgrade) the schema to ``revision``, in one transaction. On SQLite,
    foreign keys are not enforced while the migrations run (a rebuilt table must not take the
    rows that refer to it along) and every reference is checked before the commit.

    Raises:
        StoreError: the migrations would leave a reference to a row that does not exist;
            nothing is changed.
    """
    async with engine.connect() as connection:
        await connection.run_sync(_move_schema, revision, down)


@dataclass(frozen=True)
class MigrationStatus:
    current: str | None
    head: str | None

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


async def migration_status(engine: AsyncEngine) -> MigrationStatus:
    """Which migration the database is at, and which is the newest.

    Raises:
        StoreUnavailable: the database cannot be reached.
    """
    try:
        async with engine.connect() as connection:
            current = await connection.run_sync(_current_revision)
    except (SQLAlchemyError, OSError) as exc:
        raise StoreUnavailable(
            f"The database cannot be reached: {unreachable_reason(exc)}"
        ) from exc
    return MigrationStatus(current=current, head=head_revision())


async def wait_for_database(engine: AsyncEngine, *, within: float) -> MigrationStatus:
    """The migration status, asked again while the database cannot be reached, for up to
    ``within`` seconds: a process started beside a database server that is still starting (or
    restarting) waits for it instead of ending.

    Raises:
        StoreUnavailable: the database still cannot be reached after ``within`` seconds.
    """
    give_up_at = time.monotonic() + within
    pause = 0.25
    while True:
        try:
            return await migration_status(engine)
        except StoreUnavailable as exc:
            left = give_up_at - time.monotonic()
            if left <= 0:
                raise StoreUnavailable(
                    f"{exc.message}. Waited {within:g} s for it "
                    "(SALEOR_GORDON_DATABASE_STARTUP_WAIT_SECONDS): check SALEOR_GORDON_DATABASE_URL "
                    "and that the database server runs."
                ) from exc
            pause = min(pause * 2, 5.0, left)
            logger.warning("database.unavailable retry_in=%.1fs %s", pause, exc.message)
            await asyncio.sleep(pause)
