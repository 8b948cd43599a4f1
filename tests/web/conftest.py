"""Fixtures for end-to-end tests of the web app over HTTP.

``open_app(...)`` builds the real app (``open_runtime`` + ``create_app``) on a migrated database
and returns a ``WebApp``: its runtime and an httpx client that talks to it in-process
(``httpx.ASGITransport``). The app's own outbound HTTP goes wherever the test says: to the Saleor
fakes over loopback (default), or into ``ForbiddenOutbound``, which fails the test on any request.

    async def test_x(open_app, saleor_fake):
        app = await open_app()
        response = await saleor_fake.state.install_app(app.client, app.manifest_url)

``open_app`` runs on SQLite and PostgreSQL (``database_url``); ``open_sqlite_app`` on SQLite only,
for tests of the HTTP shape that the database does not influence.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, select

from saleor_gordon.runtime import Runtime, open_runtime
from saleor_gordon.settings import Settings
from saleor_gordon.store.database import migrate
from saleor_gordon.store.installations import Installation
from saleor_gordon.store.tables import sync_jobs, webhook_events
from saleor_gordon.web.app import create_app
from tests.conftest import TEST_SECRET_KEY
from tests.support.fixtures import RunningSaleorFake

APP_URL = "http://localhost:9000"
"""Base URL of the app under test; ASGITransport ignores the host, the manifest uses it.

A loopback URL: the app runs as in a local trial, where it may call servers on loopback (the
fakes). The rules for an app on a public URL are tested in ``tests/outbound`` and
``tests/hostile/test_outbound_kinds.py``."""

UNLIMITED_REGISTRATIONS = 1_000_000
"""Installation attempts per minute: the suite installs shops far more often than any Saleor does
(the hostile-input suite hundreds of times a minute); tests of the limits set their own."""

RECORDED_API_URL = "http://127.0.0.1:8000/graphql/"
"""The Saleor every recorded sample comes from."""

RECORDED_APP_ID = "QXBwOjQ="
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

ORDERS_PATH = "/api/webhooks/orders"
APP_DELETED_PATH = "/api/webhooks/app-deleted"
REGISTER_PATH = "/api/register"


@dataclass
class ForbiddenOutbound(httpx.AsyncBaseTransport):
    """The app's outbound transport when it must not call anyone: records and fails the test."""

    requests: list[httpx.Request] = field(default_factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        pytest.fail(f"the app made an outbound request: {request.method} {request.url}")


@dataclass
class WebApp:
    runtime: Runtime
    client: httpx.AsyncClient
    """Talks to the app in-process; also usable as the ``http`` of a Saleor fake."""

    @property
    def manifest_url(self) -> str:
        return f"{self.runtime.settings.app_url}/api/manifest"

    async def installation(self, saleor_api_url: str) -> Installation | None:
        return await self.runtime.installations.get_installation(saleor_api_url)

    async def count_events(self) -> int:
        return await self._count(webhook_events.c.id)

    async def count_jobs(self) -> int:
        return await self._count(sync_jobs.c.id)

    async def _count(self, column: Any) -> int:
        async with self.runtime.engine.connect() as connection:
            return int((await connection.execute(select(func.count(column)))).scalar_one())


class OpenApp(Protocol):
    def __call__(
        self,
        *,
        allowed_saleor_urls: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        migrated: bool = True,
        **settings: Any,
    ) -> Awaitable[WebApp]: ...


async def _opener(database_url: str) -> AsyncIterator[OpenApp]:
    async with AsyncExitStack() as stack:

        async def open_app(
            *,
            allowed_saleor_urls: str | None = None,
            transport: httpx.AsyncBaseTransport | None = None,
            migrated: bool = True,
            **settings: Any,
        ) -> WebApp:
            """``settings``: more ``Settings`` (``app_url``, ``register_rate_per_client``, …)."""
            values: dict[str, Any] = {
                "app_url": APP_URL,
                "register_rate_per_client": UNLIMITED_REGISTRATIONS,
                "register_rate_per_saleor": UNLIMITED_REGISTRATIONS,
                **settings,
            }
            runtime = await stack.enter_async_context(
                open_runtime(
                    Settings(
                        database_url=database_url,
                        secret_key=TEST_SECRET_KEY,
                        allowed_saleor_urls=allowed_saleor_urls,
                        **values,
                    ),
                    transport=transport,
                )
            )
            if migrated:
                await migrate(runtime.engine)
            client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=create_app(runtime)), base_url=values["app_url"]
            )
            await stack.enter_async_context(client)
            return WebApp(runtime=runtime, client=client)

        yield open_app


@pytest_asyncio.fixture
async def open_app(database_url: str) -> AsyncIterator[OpenApp]:
    """Open the app on SQLite and on PostgreSQL (one empty database per test)."""
    async for opener in _opener(database_url):
        yield opener


@pytest_asyncio.fixture
async def open_sqlite_app(tmp_path: Path) -> AsyncIterator[OpenApp]:
    """Open the app on a SQLite file: for tests of the HTTP shape only."""
    async for opener in _opener(f"sqlite:///{tmp_path / 'saleor-gordon.db'}"):
        yield opener


# --- recorded samples -----------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedRequest:
    name: str
    """``s01_se_paid/02_order_created``."""
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> str:
        return self.headers["Saleor-Event"]

    @property
    def path(self) -> str:
        return APP_DELETED_PATH if self.event == "app_deleted" else ORDERS_PATH

    def replay_headers(self) -> dict[str, str]:
        """The recorded headers minus those httpx sets for the body and connection it sends."""
        dropped = {"content-length", "host", "connection", "accept-encoding"}
        return {k: v for k, v in self.headers.items() if k.lower() not in dropped}


def load_recorded_request(folder: Path, samples_dir: Path) -> RecordedRequest:
    return RecordedRequest(
        name=str(folder.relative_to(samples_dir)),
        headers=json.loads((folder / "headers.json").read_text(encoding="utf-8")),
        body=(folder / "body.raw").read_bytes(),
    )


def recorded_webhooks(samples_dir: Path) -> list[RecordedRequest]:
    return [
        load_recorded_request(folder, samples_dir)
        for folder in sorted(samples_dir.glob("s*/[0-9][0-9]_*/"))
    ]


@pytest.fixture(scope="session")
def recorded_jwks(samples_dir: Path) -> dict[str, Any]:
    jwks: dict[str, Any] = json.loads((samples_dir / "jwks.json").read_bytes())
    return jwks


InstallRecorded = Callable[[WebApp], Awaitable[Installation]]


@pytest.fixture
def install_recorded_shop(recorded_jwks: dict[str, Any]) -> InstallRecorded:
    """Store the installation the samples were recorded for (its JWKS, app id ``QXBwOjQ=``)."""

    async def install(app: WebApp) -> Installation:
        return await app.runtime.installations.save_installation(
            saleor_api_url=RECORDED_API_URL,
            app_id=RECORDED_APP_ID,
            token="recordedtoken0123456789abcdefg",
            jwks=recorded_jwks,
            now=NOW,
        )

    return install


# --- Saleor fakes ---------------------------------------------------------------------------


async def install_from_fake(app: WebApp, fake: RunningSaleorFake) -> Installation:
    """Saleor installs the app the way the Dashboard does (manifest GET, token POST)."""
    response = await fake.state.install_app(app.client, app.manifest_url)
    assert response.status_code == 200, response.text
    installation = await app.installation(fake.api_url)
    assert installation is not None
    return installation


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The ``{"code", "message"}`` of an error answer (asserting the JSON shape)."""
    assert response.headers["content-type"].startswith("application/json")
    error: dict[str, Any] = response.json()["error"]
    assert set(error) >= {"code", "message"}
    return error
