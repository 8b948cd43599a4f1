"""The app as the README starts it (``saleor-gordon serve``), on a public-looking ``APP_URL``.

    async with public_app(tmp_path, {"SALEOR_GORDON_ALLOWED_SALEOR_URLS": ...}) as app:
        response = await app.http.post("/api/register", ...)   # to the app on loopback
        app.peak_rss_kib()                                     # its peak resident set so far

The manifest names ``https://gordon.example.com``; the test reaches the process on its loopback
port. Nothing here talks to the app's database: what the app did shows in its answers, its logs
and what the servers on loopback received.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import TEST_SECRET_KEY
from tests.support.app_process import AppProcess, app_env, memory_kib
from tests.support.saleor_fake import SaleorFakeState

PUBLIC_APP_URL = "https://gordon.example.com"
STAFF_PERMISSIONS = ["MANAGE_ORDERS", "MANAGE_APPS", "MANAGE_SHIPPING"]


@dataclass
class PublicApp:
    process: AppProcess
    local_url: str
    http: httpx.AsyncClient
    env: dict[str, str]

    @property
    def pid(self) -> int:
        return self.process.pid

    def peak_rss_kib(self) -> int:
        return memory_kib(self.pid, "VmHWM")

    def log(self) -> str:
        return self.process.log()

    async def install(self, saleor: SaleorFakeState) -> None:
        """Saleor installs the app: its manifest read, a token posted to ``/api/register``."""
        manifest = (await self.http.get("/api/manifest")).json()
        token = saleor.install(manifest)
        response = await saleor.register(self.http, f"{self.local_url}/api/register", token)
        assert response.status_code == 200, response.text

    def dashboard_headers(self, saleor: SaleorFakeState) -> dict[str, str]:
        token = saleor.dashboard_token(now=datetime.now(UTC), user_permissions=STAFF_PERMISSIONS)
        return {"authorization-bearer": token, "saleor-api-url": saleor.api_url}

    def command(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """``saleor-gordon ARGS`` with the app's settings (another process, same database)."""
        return subprocess.run(
            [sys.executable, "-m", "saleor_gordon", *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


@asynccontextmanager
async def public_app(
    tmp_path: Path, settings: Mapping[str, str], *, name: str = "app", workers: int = 0
) -> AsyncIterator[PublicApp]:
    """``serve`` with ``APP_URL`` public-looking, ``settings`` added to its environment, and
    ``workers`` worker tasks beside the web app."""
    directory = tmp_path / name
    directory.mkdir()
    env = app_env(
        f"sqlite:///{directory / 'saleor-gordon.db'}",
        PUBLIC_APP_URL,
        TEST_SECRET_KEY,
        {"SALEOR_GORDON_LOG_FORMAT": "json", **settings},
    )
    process = AppProcess(
        ["serve", "--host", "127.0.0.1", "--port", "0", "--workers", str(workers)],
        env,
        directory / "app.log",
    )
    process.start()
    try:
        port = await process.listening_port(within=30)
        local_url = f"http://127.0.0.1:{port}"
        limits = httpx.Limits(max_connections=500, max_keepalive_connections=20)
        async with httpx.AsyncClient(base_url=local_url, timeout=60, limits=limits) as http:
            await _wait_ready(http, process)
            yield PublicApp(process, local_url, http, env)
    finally:
        process.stop()


async def _wait_ready(http: httpx.AsyncClient, process: AppProcess) -> None:
    async with asyncio.timeout(30):
        while True:
            try:
                if (await http.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            _fail_if_exited(process)
            await asyncio.sleep(0.05)


def _fail_if_exited(process: AppProcess) -> None:
    if process.process is not None and process.process.poll() is not None:
        raise AssertionError(f"serve exited:\n{process.log()}")


def error(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    return dict(body["error"])


def logged_events(app: PublicApp) -> list[dict[str, Any]]:
    return [json.loads(line) for line in app.log().splitlines() if line.startswith("{")]
