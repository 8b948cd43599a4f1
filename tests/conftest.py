"""Fixtures shared by every test package."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

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


# --- databases ------------------------------------------------------------------------------
#
# Every store test runs on SQLite and on PostgreSQL. PostgreSQL comes from
# SALEOR_GORDON_TEST_POSTGRES_URL (set by .ci/run), or from a throwaway cluster this session
# starts with initdb/pg_ctl. In CI a missing PostgreSQL is a failure, never a skip.


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres_user(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """URL of a PostgreSQL server whose superuser may create databases."""
    configured = os.environ.get("SALEOR_GORDON_TEST_POSTGRES_URL")
    if configured:
        yield configured
        return
    if shutil.which("initdb") is None or shutil.which("pg_ctl") is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL tests need SALEOR_GORDON_TEST_POSTGRES_URL or initdb/pg_ctl")
        pytest.skip("no PostgreSQL here: set SALEOR_GORDON_TEST_POSTGRES_URL or install initdb")
    workdir = Path(tempfile.mkdtemp(prefix="saleor-gordon-test-pg-"))
    if os.geteuid() == 0:
        shutil.chown(workdir, user="postgres")
    data, port = workdir / "data", _free_port()
    subprocess.run(
        _as_postgres_user(["initdb", "-D", str(data), "-U", "postgres", "--auth=trust"]),
        check=True,
        capture_output=True,
    )
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {workdir} -c fsync=off"
    subprocess.run(
        _as_postgres_user(
            ["pg_ctl", "-D", str(data), "-l", str(workdir / "log"), "-w", "-o", options, "start"]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres_user(["pg_ctl", "-D", str(data), "-m", "immediate", "stop"]),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(workdir, ignore_errors=True)


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
