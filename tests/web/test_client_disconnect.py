"""A client that goes away while its request body is on the way: the app served by uvicorn on
loopback, the client a raw socket that sends the headers (with the full Content-Length) and half
the body, then closes. Nobody is left to answer, so nothing is answered; the app logs it below
WARNING (a client leaving is not a server error) and stores nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from saleor_gordon.web.app import create_app
from tests.support.fixtures import RunningSaleorFake
from tests.web.conftest import (
    ORDERS_PATH,
    REGISTER_PATH,
    InstallRecorded,
    OpenApp,
    WebApp,
    install_from_fake,
    recorded_webhooks,
)

SERVER_TIMEOUT = 30.0  # seconds: generous, for a loaded machine; never reached when all is well


@dataclass(frozen=True)
class HalfRequest:
    """What the client sends before it leaves, and how to tell that nothing was stored."""

    path: str
    head: bytes
    """The request line and headers, Content-Length announcing the whole body."""
    half_body: bytes
    nothing_stored: Callable[[], Awaitable[bool]]


def request_head(method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def half_request(
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
    nothing_stored: Callable[[], Awaitable[bool]],
) -> HalfRequest:
    return HalfRequest(
        path, request_head(method, path, headers, body), body[: len(body) // 2], nothing_stored
    )


async def dashboard_config_request(app: WebApp, fake: RunningSaleorFake) -> HalfRequest:
    await install_from_fake(app, fake)
    token = fake.state.dashboard_token(
        now=datetime.now(UTC), user_permissions=["MANAGE_ORDERS", "MANAGE_APPS"]
    )
    headers = {
        "authorization-bearer": token,
        "saleor-api-url": fake.api_url,
        "content-type": "application/json",
    }
    body = json.dumps(
        {
            "gordon": {
                "base_url": "https://api.gordon.example",
                "client_id": "client",
                "client_secret": "a secret that must not be half stored",
            },
            "trigger_events": ["ORDER_FULLY_PAID"],
            "delivery_groups": [{"deliverygroup": "Gordon Store", "channel": "sverige"}],
            "default_time_window": "14:00 - 16:00",
        }
    ).encode()

    async def not_configured() -> bool:
        response = await app.client.get("/api/dashboard/session", headers=headers)
        assert response.status_code == 200, response.text
        return response.json()["configured"] is False

    return half_request("PUT", "/api/dashboard/config", headers, body, not_configured)


async def registration_request(app: WebApp, fake: RunningSaleorFake) -> HalfRequest:
    headers = {"saleor-api-url": fake.api_url, "content-type": "application/json"}
    body = json.dumps({"auth_token": "a token Saleor would have handed over"}).encode()

    async def not_installed() -> bool:
        return await app.installation(fake.api_url) is None

    return half_request("POST", REGISTER_PATH, headers, body, not_installed)


async def order_webhook_request(
    app: WebApp, samples_dir: Path, install_recorded_shop: InstallRecorded
) -> HalfRequest:
    await install_recorded_shop(app)
    (recorded,) = [
        r for r in recorded_webhooks(samples_dir) if r.name == "s01_se_paid/02_order_created"
    ]

    async def no_event() -> bool:
        return await app.count_events() == 0

    return half_request("POST", ORDERS_PATH, recorded.replay_headers(), recorded.body, no_event)


class WatchedApp:
    """An ASGI app that says when a request entered it and when it left."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.entered = asyncio.Event()
        self.left = asyncio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.entered.set()
        try:
            await self.app(scope, receive, send)
        finally:
            self.left.set()


@asynccontextmanager
async def serving(app: WebApp) -> AsyncIterator[tuple[int, WatchedApp]]:
    """The app (over ``app.runtime``) served by uvicorn on 127.0.0.1 in this event loop: its port
    (listening already, so a client may connect at once) and the app as served."""
    watched = WatchedApp(create_app(app.runtime))
    config = uvicorn.Config(watched, lifespan="off", access_log=False, log_config=None)
    server = uvicorn.Server(config)
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        task = asyncio.create_task(server.serve(sockets=[listening]))
        try:
            yield listening.getsockname()[1], watched
        finally:
            server.should_exit = True  # uvicorn finishes its connections and requests first
            await asyncio.wait_for(task, SERVER_TIMEOUT)


@pytest.mark.parametrize("endpoint", ["dashboard", "registration", "webhook"])
async def test_a_client_that_leaves_mid_body_is_no_server_error_and_nothing_is_stored(
    endpoint: str,
    open_sqlite_app: OpenApp,
    saleor_fake: RunningSaleorFake,
    samples_dir: Path,
    install_recorded_shop: InstallRecorded,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given the app served for real, and a request whose client will leave after half its body
    caplog.set_level(logging.DEBUG, logger="saleor_gordon")
    app = await open_sqlite_app()
    if endpoint == "dashboard":
        request = await dashboard_config_request(app, saleor_fake)
    elif endpoint == "registration":
        request = await registration_request(app, saleor_fake)
    else:
        request = await order_webhook_request(app, samples_dir, install_recorded_shop)
    async with serving(app) as (port, served):
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        # when it sends the headers and half the body, and leaves once the request reached the app
        writer.write(request.head + request.half_body)
        await writer.drain()
        await asyncio.wait_for(served.entered.wait(), SERVER_TIMEOUT)
        writer.close()
        await writer.wait_closed()
        # then the app finishes the request (nobody is left to answer), and so does the server
        await asyncio.wait_for(served.left.wait(), SERVER_TIMEOUT)
    # and logs it as the client's doing, not as an error
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert problems == [], [(r.name, r.getMessage()) for r in problems]
    disconnects = [
        r.getMessage() for r in caplog.records if r.getMessage().startswith("request.client_")
    ]
    assert disconnects == [
        f"request.client_disconnected method={request.head.split()[0].decode()} "
        f"path={request.path}: the client left before sending the whole body"
    ]
    # and nothing is stored
    assert await request.nothing_stored()
