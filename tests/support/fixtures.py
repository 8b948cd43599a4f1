"""The fakes as pytest fixtures, one definition each (``tests/conftest.py`` makes them available to
every test package).

- ``saleor_fake``: a fresh fake Saleor for one test (no tokens, no orders), yielding
  ``RunningSaleorFake(api_url, state)``; ``saleor_fake_factory()`` starts more of them (several shops
  in one test, each on its own port with its own key);
- ``start_gordon_sandbox(**options)``: a Gordon sandbox with ``SandboxOptions`` overrides (the test
  credentials ``CLIENT_ID``/``CLIENT_SECRET``, requests held for at most 2 s); ``gordon_sandbox``:
  one with the defaults;
- ``unreachable_engine``: an engine of the test database's dialect that cannot connect
  (``unreachable_engine_like`` builds one outside a fixture; ``closed_port`` is the root
  conftest's).

Starting and stopping a uvicorn server costs about 0.3 s, and mutation testing runs the attempt's
tests for every mutant: so the first Saleor fake and the first sandbox of a test are served by a
server that lives for the session and passes each request to the app of the current test (a fresh
app and state per test; only the port is shared, and each test's HTTP client opens its own
connections). Further ones get servers of their own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from saleor_gordon.fakes.gordon_sandbox import (
    RunningSandbox,
    SandboxOptions,
    create_gordon_sandbox,
    sandbox_state,
)
from saleor_gordon.store.database import create_engine
from tests.support.loopback import serve_on_loopback, serve_sandbox_in_thread
from tests.support.saleor_fake import (
    SaleorFakeState,
    SigningKey,
    create_saleor_fake,
    load_schema,
    running_saleor_fake,
)
from tests.support.shop import CLIENT_ID, CLIENT_SECRET


class RunningSaleorFake(NamedTuple):
    api_url: str
    state: SaleorFakeState


StartSandbox = Callable[..., RunningSandbox]
SaleorFakeFactory = Callable[[], RunningSaleorFake]


class Slot:
    """An ASGI app that passes every request to the app of the current test."""

    def __init__(self) -> None:
        self.app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert self.app is not None, "a request outside of any test"
        await self.app(scope, receive, send)


@dataclass(frozen=True)
class Served:
    base_url: str
    slot: Slot


@contextmanager
def _served() -> Iterator[Served]:
    slot = Slot()
    with serve_on_loopback(slot) as base_url:
        yield Served(base_url, slot)


@pytest.fixture(scope="session")
def _saleor_server() -> Iterator[Served]:
    with _served() as served:
        yield served


@pytest.fixture(scope="session")
def _gordon_server() -> Iterator[Served]:
    with _served() as served:
        yield served


@pytest.fixture(scope="session")
def _signing_key() -> SigningKey:
    """One RSA key for the session's first fakes (generating one takes 0.1 to 0.2 s)."""
    return SigningKey.generate()


@pytest.fixture(scope="session")
def _fake_schema(saleor_schema_path: Path) -> None:
    """Build the schema once for the session; fails (never skips) when it is missing."""
    load_schema(saleor_schema_path)


@pytest.fixture
def saleor_fake(
    _fake_schema: None, _saleor_server: Served, _signing_key: SigningKey
) -> Iterator[RunningSaleorFake]:
    """A fresh fake Saleor (no tokens, no orders) on 127.0.0.1 for this test."""
    state = SaleorFakeState(api_url=f"{_saleor_server.base_url}/graphql/", keys=[_signing_key])
    _saleor_server.slot.app = create_saleor_fake(state)
    try:
        yield RunningSaleorFake(state.api_url, state)
    finally:
        _saleor_server.slot.app = None


@pytest.fixture
def saleor_fake_factory(_fake_schema: None) -> Iterator[SaleorFakeFactory]:
    """Start as many fake Saleors as a test needs (each its own port and key); all stop at the
    end of the test."""
    with ExitStack() as stack:

        def start() -> RunningSaleorFake:
            api_url, state = stack.enter_context(running_saleor_fake())
            return RunningSaleorFake(api_url, state)

        yield start


@pytest.fixture
def start_gordon_sandbox(_gordon_server: Served) -> Iterator[StartSandbox]:
    """Start Gordon sandboxes with ``SandboxOptions`` overrides; each stops (its held requests
    released) at the end of the test."""
    started: list[RunningSandbox] = []
    with ExitStack() as stack:

        def start(**overrides: Any) -> RunningSandbox:
            options = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "hang_seconds": 2.0}
            sandbox_options = SandboxOptions(**{**options, **overrides})
            if started:
                sandbox = stack.enter_context(serve_sandbox_in_thread(sandbox_options))
            else:
                app = create_gordon_sandbox(sandbox_options)
                _gordon_server.slot.app = app
                sandbox = RunningSandbox(_gordon_server.base_url, sandbox_state(app))
            started.append(sandbox)
            return sandbox

        try:
            yield start
        finally:
            for sandbox in started:
                sandbox.state.release()  # a held request must not outlive its test
            _gordon_server.slot.app = None


@pytest.fixture
def gordon_sandbox(start_gordon_sandbox: StartSandbox) -> RunningSandbox:
    """A sandbox with the default options: ``(base_url, state)`` on 127.0.0.1."""
    return start_gordon_sandbox()


def unreachable_engine_like(
    database_url: str, tmp_path: Path, *, closed_port: int | None = None
) -> AsyncEngine:
    """An engine of ``database_url``'s dialect whose database cannot be opened: a SQLite path that
    is a directory, or PostgreSQL on ``closed_port`` (the ``closed_port`` fixture: bound and not
    listening for the whole test)."""
    if database_url.startswith("sqlite"):
        directory = tmp_path / "a-directory-not-a-database"
        directory.mkdir(exist_ok=True)
        return create_engine(f"sqlite:///{directory}")
    assert closed_port is not None, "PostgreSQL needs the closed_port fixture"
    return create_engine(f"postgresql://postgres@127.0.0.1:{closed_port}/nothing")


@pytest_asyncio.fixture
async def unreachable_engine(
    database_url: str, tmp_path: Path, closed_port: int
) -> AsyncIterator[AsyncEngine]:
    """An engine of the same dialect as ``database_url`` whose database cannot be opened."""
    engine = unreachable_engine_like(database_url, tmp_path, closed_port=closed_port)
    yield engine
    await engine.dispose()


def count_compiles(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """From now on, every statement ``Prepared.of`` compiles (for the rest of the test)."""
    from saleor_gordon.store.driver_sql import Prepared

    compiled: list[object] = []
    original = Prepared.of

    def counting(statement: object, dialect: object) -> Prepared:
        compiled.append(statement)
        return original(statement, dialect)  # type: ignore[arg-type]

    monkeypatch.setattr(Prepared, "of", counting)
    return compiled
