"""Hostile tenants against the app as the README starts it, on a public-looking ``APP_URL``.

Servers on loopback play an internal service (it answers with secrets), an attacker's Saleor and
an attacker's Gordon (300 MB answers, one byte every 3 s). What the app must not do shows on
their side (nothing reached the internal service), in its answers (nothing of the internal
service's text, the same answer for an open and a closed port) and in its peak resident set.
"""

from __future__ import annotations

import asyncio
import json
import re
import stat
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.outbound.app import PublicApp, error, public_app
from tests.outbound.servers import (
    CHUNK,
    Behaviour,
    Server,
    huge,
    internal_service,
    response_head,
    serving,
    trickle,
)
from tests.support.fixtures import RunningSaleorFake
from tests.support.shop import CLIENT_ID, CLIENT_SECRET, shop_config

pytestmark = pytest.mark.slow

INTERNAL_HOSTS = [
    "127.0.0.1",
    "localhost",
    "127.1",
    "2130706433",
    "0.0.0.0",  # noqa: S104 - the address under test
    "[::1]",
    "[::ffff:127.0.0.1]",
]
INTERNAL_TEXT = ("INTERNAL-ONLY", "db_password", "hunter2")
MB = 1024 * 1024
LOOPBACK_SALEORS = r"http://127\.0\.0\.1:\d+/graphql/"
LOOPBACK_GORDONS = r"http://127\.0\.0\.1:\d+"
SHORT_DEADLINES = {
    "SALEOR_GORDON_SALEOR_TIMEOUT_SECONDS": "2",
    "SALEOR_GORDON_GORDON_TIMEOUT_SECONDS": "2",
}


async def register(app: PublicApp, saleor_api_url: str, token: str = "t" * 30) -> httpx.Response:
    return await app.http.post(
        "/api/register",
        headers={"Saleor-Api-Url": saleor_api_url, "Saleor-Domain": "shop"},
        json={"auth_token": token},
    )


def quiet(response: httpx.Response) -> None:
    for text in INTERNAL_TEXT:
        assert text not in response.text


# --- SSRF through /api/register ---------------------------------------------------------------


async def test_register_claiming_an_internal_saleor_calls_nothing(
    tmp_path: Path, closed_port: int
) -> None:
    """Default settings (no allow-list): every spelling of loopback is refused, uncalled."""
    closed = closed_port
    answers: dict[tuple[str, bool], tuple[int, str]] = {}
    async with serving(internal_service()) as internal, public_app(tmp_path, {}) as app:
        for host in INTERNAL_HOSTS:
            for port in (internal.port, closed):
                response = await register(app, f"http://{host}:{port}/graphql/")
                quiet(response)
                answers[host, port == closed] = (
                    response.status_code,
                    response.text.replace(str(port), "PORT"),
                )
    assert internal.connections == 0
    for host in INTERNAL_HOSTS:
        assert answers[host, False] == answers[host, True]  # open or closed: the same answer
        status, text = answers[host, False]
        assert status == 403
        assert error(httpx.Response(status, text=text)) == {
            "code": "SALEOR_URL_PROHIBITED",
            "message": f"This app does not serve http://{host}:PORT/graphql/: the URL points to "
            "a private or local network address. Ask its operator to allow this Saleor with "
            "the setting SALEOR_GORDON_ALLOWED_SALEOR_URLS.",
        }


# --- SSRF through the Gordon base URL -------------------------------------------------------


async def test_host_confusion_and_internal_gordon_base_urls_are_refused_and_never_called(
    tmp_path: Path, saleor_fake: RunningSaleorFake
) -> None:
    """An allow-list with a wildcard (no host hidden in the path, fragment, query or userinfo
    passes it); a shop that sets its Gordon base URL to an internal address (Dashboard save,
    Test connection, ``config set``)."""
    allow = rf"http://.*\.saleor\.example/graphql/|{re.escape(saleor_fake.api_url)}"
    settings = {"SALEOR_GORDON_ALLOWED_SALEOR_URLS": allow}
    async with serving(internal_service()) as internal, public_app(tmp_path, settings) as app:
        port = internal.port
        claims = {
            f"http://127.0.0.1:{port}/x.saleor.example/graphql/": 403,
            f"http://127.0.0.1:{port}/graphql/#.saleor.example/graphql/": 400,
            f"http://127.0.0.1:{port}/graphql/?.saleor.example/graphql/": 400,
            f"http://shop.saleor.example@127.0.0.1:{port}/graphql/": 400,
        }
        statuses = {}
        for url in claims:
            response = await register(app, url)
            quiet(response)
            statuses[url] = response.status_code

        await app.install(saleor_fake.state)
        headers = app.dashboard_headers(saleor_fake.state)
        bases = [
            f"http://127.0.0.1:{port}/admin/reset?x=1#",
            f"http://127.0.0.1:{port}",
            f"https://127.0.0.1:{port}",
            f"https://backend.gordondelivery.com@127.0.0.1:{port}",
            f"https://backend.gordondelivery.com#@127.0.0.1:{port}",
            f"https://127.1:{port}",
            f"https://2130706433:{port}",
            f"https://[::1]:{port}",
            f"https://[::ffff:127.0.0.1]:{port}",
            f"https://localhost:{port}",
        ]
        for base_url in bases:
            config = shop_config(base_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
            saved = await app.http.put(
                "/api/dashboard/config",
                json={"config": config, "config_version": 0},
                headers=headers,
            )
            tested = await app.http.post(
                "/api/dashboard/config/test-connection",
                json={"gordon": config["gordon"]},
                headers=headers,
            )
            for response in (saved, tested):
                quiet(response)
                assert response.status_code == 422, (base_url, response.text)
                problems = error(response)["problems"]
                assert [problem["path"] for problem in problems] == ["gordon.base_url"]
        stored = (await app.http.get("/api/dashboard/config", headers=headers)).json()

        async def config_set(number: int, base_url: str) -> str:
            config_file = tmp_path / f"config-{number}.json"
            config = shop_config(base_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
            config_file.write_text(json.dumps(config))
            arguments = ["--saleor-api-url", saleor_fake.api_url, "--file", str(config_file)]
            done = await asyncio.to_thread(app.command, "config", "set", *arguments)
            assert done.returncode == 1, done.stdout + done.stderr
            return done.stderr

        refusals = await asyncio.gather(config_set(0, bases[0]), config_set(1, bases[5]))
        database = tmp_path / "app"
        modes = {f.name: stat.S_IMODE(f.stat().st_mode) for f in database.glob("saleor-gordon.db*")}
    assert statuses == claims
    assert refusals == [
        "The configuration was not stored; fix these problems:\n"
        f"  - gordon.base_url: {bases[0]!r} must not contain a user name, a query (?) or a "
        "fragment (#); use e.g. https://backend.staging.gordondelivery.com\n",
        "The configuration was not stored; fix these problems:\n"
        f"  - gordon.base_url: {bases[5]!r} points to a private or local network address; use "
        "e.g. https://backend.staging.gordondelivery.com\n",
    ]
    assert stored["config"] is None  # nothing was saved
    assert internal.connections == 0
    db = ("saleor-gordon.db", "saleor-gordon.db-wal", "saleor-gordon.db-shm")
    assert modes == dict.fromkeys(db, 0o600)


# --- unbounded answers ------------------------------------------------------------------------


def saleor_with_huge_jwks(total: int) -> Behaviour:
    """A Saleor that says the token is ours, then serves ``total`` bytes as its JWKS."""
    identity = b'{"data": {"app": {"id": "QXBwOjc=", "identifier": "se.gordondelivery.saleor"}}}'

    async def behave(
        server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while True:
            request = await server.read_request(reader)
            if request.line.startswith("POST"):
                writer.write(response_head(200, {"Content-Length": str(len(identity))}) + identity)
                await writer.drain()
                continue
            writer.write(response_head(200, {"Connection": "close"}))
            for _ in range(total // CHUNK):
                await server.write(writer, b"1" * CHUNK)
            return

    return behave


async def test_huge_and_trickling_answers_end_within_their_deadlines_in_little_memory(
    tmp_path: Path, saleor_fake: RunningSaleorFake, closed_port: int
) -> None:
    settings = {
        "SALEOR_GORDON_ALLOWED_SALEOR_URLS": LOOPBACK_SALEORS,
        "SALEOR_GORDON_ALLOWED_GORDON_URLS": LOOPBACK_GORDONS,
        **SHORT_DEADLINES,
    }
    async with (
        public_app(tmp_path, settings) as app,
        serving(huge(300 * MB, declared=False)) as huge_server,
        # a byte a second: no read waits long enough for a per-read timeout (2 s) to end it
        serving(trickle(every=1.0)) as trickling,
        serving(saleor_with_huge_jwks(300 * MB)) as huge_jwks,
    ):
        await app.install(saleor_fake.state)  # warm: every module the calls below use is loaded
        headers = app.dashboard_headers(saleor_fake.state)

        async def test_connection(base_url: str) -> httpx.Response:
            gordon = {"base_url": base_url, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
            return await app.http.post(
                "/api/dashboard/config/test-connection", json={"gordon": gordon}, headers=headers
            )

        await test_connection(f"http://127.0.0.1:{closed_port}")
        baseline = app.peak_rss_kib()
        timings: dict[str, float] = {}
        outcomes: dict[str, Any] = {}
        calls = {
            "register 300 MB": lambda: register(app, f"{huge_server.url}/graphql/"),
            "register 300 MB JWKS": lambda: register(app, f"{huge_jwks.url}/graphql/"),
            "register trickle": lambda: register(app, f"{trickling.url}/graphql/"),
            "test connection 300 MB": lambda: test_connection(huge_server.url),
            "test connection trickle": lambda: test_connection(trickling.url),
        }
        for name, call in calls.items():
            started = time.monotonic()
            response = await call()
            timings[name] = time.monotonic() - started
            body = response.json()
            outcomes[name] = (
                response.status_code,
                body.get("error", {}).get("code") or body.get("ok"),
            )
        growth_kib = app.peak_rss_kib() - baseline
    assert outcomes == {
        "register 300 MB": (401, "UNKNOWN_APP_ID"),
        "register 300 MB JWKS": (401, "JWKS_NOT_AVAILABLE"),
        "register trickle": (401, "UNKNOWN_APP_ID"),
        "test connection 300 MB": (200, False),
        "test connection trickle": (200, False),
    }
    # one call (2 s) for the trickles; register and Test connection answer within 20 s always
    assert all(seconds < 2 * 2 + 3 for seconds in timings.values()), timings
    assert growth_kib < 64 * 1024, f"peak RSS grew by {growth_kib} KiB"


# --- one pool for everyone ------------------------------------------------------------------


async def test_a_real_shop_installs_while_120_trickling_registrations_are_in_flight(
    tmp_path: Path, saleor_fake: RunningSaleorFake
) -> None:
    settings = {
        "SALEOR_GORDON_ALLOWED_SALEOR_URLS": LOOPBACK_SALEORS,
        # the limits per address and per Saleor have tests of their own; here: the connections
        "SALEOR_GORDON_REGISTER_RATE_PER_CLIENT": "1000",
        "SALEOR_GORDON_REGISTER_RATE_PER_SALEOR": "1000",
    }
    async with public_app(tmp_path, settings) as app, serving(trickle(every=3.0)) as trickling:
        hostile = [
            asyncio.create_task(register(app, f"{trickling.url}/graphql/")) for _ in range(120)
        ]
        try:
            await trickling.wait_for(lambda: trickling.open_connections >= 16, seconds=30)
            started = time.monotonic()
            await app.install(saleor_fake.state)
            seconds = time.monotonic() - started
            in_flight = sum(not task.done() for task in hostile)
        finally:
            for task in hostile:
                task.cancel()
            await asyncio.gather(*hostile, return_exceptions=True)
    assert in_flight == 120
    assert seconds < 5.0
    assert trickling.most_open <= 16  # CONNECTIONS_PER_DESTINATION: the rest waited, unconnected
