"""`saleor-gordon serve`: the manifest's URLs follow what is served."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
import uvloop
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from saleor_gordon.cli import serve as serve_command
from saleor_gordon.cli.serve import _listen, _with_app_url, served_app_url
from saleor_gordon.errors import ConfigurationError
from saleor_gordon.jobs.worker import WorkerPool
from saleor_gordon.settings import Settings
from tests.conftest import PORT_ATTEMPTS, TEST_SECRET_KEY, candidate_port

STARTUP_SECONDS = 30.0


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("127.0.0.1", 8123, "http://127.0.0.1:8123"),
        ("localhost", 8000, "http://localhost:8000"),
        ("gordon.internal", 80, "http://gordon.internal:80"),
        ("0.0.0.0", 9000, "http://localhost:9000"),  # noqa: S104 - a value, nothing listens
        ("::", 9000, "http://localhost:9000"),
        ("::1", 9001, "http://[::1]:9001"),
    ],
)
def test_served_app_url(host: str, port: int, expected: str) -> None:
    assert served_app_url(host, port) == expected


class PortTaken(Exception):
    """serve could not listen: another process took the port first."""


class Served:
    def __init__(self, process: subprocess.Popen[bytes], log: Path) -> None:
        self.process = process
        self.log = log

    def wait_for_port(self) -> int:
        """The port from the start-up log line, once the app answers on it."""
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = self.log.read_text()
                if "Cannot listen on" in output and "Address already in use" in output:
                    raise PortTaken(output)
                raise AssertionError(f"serve ended:\n{output}")
            found = re.search(r"listen=127\.0\.0\.1:(\d+)", self.log.read_text())
            if found and _answers(int(found.group(1))):
                return int(found.group(1))
            time.sleep(0.05)  # polling the process's state, not standing in for it
        raise AssertionError(f"serve did not start:\n{self.log.read_text()}")


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
def start_serve(tmp_path: Path) -> Iterator[object]:
    processes: list[subprocess.Popen[bytes]] = []

    def start(*args: str, app_url: str | None = None) -> Served:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SALEOR_GORDON_")}
        env |= {
            "SALEOR_GORDON_DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
            "SALEOR_GORDON_SECRET_KEY": TEST_SECRET_KEY,
            "SALEOR_GORDON_WORKERS": "0",
        }
        if app_url is not None:
            env["SALEOR_GORDON_APP_URL"] = app_url
        log = tmp_path / f"serve-{len(processes)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "saleor_gordon", "serve", "--host", "127.0.0.1", *args],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        processes.append(process)
        return Served(process, log)

    yield start
    for process in processes:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _manifest(port: int) -> dict[str, object]:
    response = httpx.get(f"http://127.0.0.1:{port}/api/manifest", timeout=5)
    assert response.status_code == 200
    manifest: dict[str, object] = response.json()
    return manifest


@pytest.mark.slow
def test_manifest_follows_the_port_served(start_serve: object) -> None:
    """`serve --port P` without SALEOR_GORDON_APP_URL: every URL is http://127.0.0.1:P/…."""
    for _ in range(PORT_ATTEMPTS):  # another port when one was taken before serve bound it
        port = candidate_port()
        served = start_serve("--port", str(port))  # type: ignore[operator]
        try:
            assert served.wait_for_port() == port
            break
        except PortTaken:
            continue
    else:
        pytest.fail(f"{PORT_ATTEMPTS} ports were taken before serve could bind them")
    manifest = _manifest(port)

    assert manifest["tokenTargetUrl"] == f"http://127.0.0.1:{port}/api/register"
    assert manifest["appUrl"] == f"http://127.0.0.1:{port}/app"
    hooks = manifest["webhooks"]
    assert isinstance(hooks, list)
    assert {hook["targetUrl"].rsplit("/api/", 1)[0] for hook in hooks} == {
        f"http://127.0.0.1:{port}"
    }


@pytest.mark.slow
def test_port_zero_serves_a_free_port_and_says_which(start_serve: object) -> None:
    served = start_serve("--port", "0")  # type: ignore[operator]

    port = served.wait_for_port()

    assert port != 0
    assert _manifest(port)["tokenTargetUrl"] == f"http://127.0.0.1:{port}/api/register"


@pytest.mark.parametrize(
    ("app_url", "expected"),
    [
        (None, "http://127.0.0.1:{port}"),
        ("https://gordon.example.com/", "https://gordon.example.com"),
    ],
    ids=["unset-follows-the-socket", "setting-wins"],
)
def test_app_url_of_the_served_settings(
    monkeypatch: pytest.MonkeyPatch, app_url: str | None, expected: str
) -> None:
    """SALEOR_GORDON_APP_URL, when set, is kept; else the listening socket's address is used."""
    monkeypatch.delenv("SALEOR_GORDON_APP_URL", raising=False)
    if app_url is not None:
        monkeypatch.setenv("SALEOR_GORDON_APP_URL", app_url)
    with _listen("127.0.0.1", 0) as listener:
        port = listener.getsockname()[1]

        settings = _with_app_url(Settings(), "127.0.0.1", listener)

    assert settings.app_url == expected.format(port=port)


def test_a_port_in_use_is_a_configuration_error() -> None:
    """Reported by `serve` as a message with exit status 2, not a traceback."""
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]

        with pytest.raises(ConfigurationError, match=f"Cannot listen on 127.0.0.1:{port}: "):
            _listen("127.0.0.1", port)


def test_serve_runs_on_uvloop_with_the_httptools_parser(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """What `serve` runs (README, docs/deploy.md): uvloop's event loop and uvicorn's httptools
    HTTP/1.1 parser; the server's own run is replaced by a look at both."""
    seen: dict[str, object] = {}

    async def look(self: uvicorn.Server, sockets: list[socket.socket] | None = None) -> None:
        self.config.load()
        seen["loop"] = type(asyncio.get_running_loop())
        seen["http"] = self.config.http_protocol_class

    monkeypatch.setattr(serve_command._Server, "serve", look)
    monkeypatch.setenv("SALEOR_GORDON_DATABASE_URL", f"sqlite:///{tmp_path / 'app.db'}")
    monkeypatch.setenv("SALEOR_GORDON_SECRET_KEY", TEST_SECRET_KEY)
    monkeypatch.setenv("SALEOR_GORDON_WORKERS", "0")

    status = serve_command.run(argparse.Namespace(host="127.0.0.1", port=0, workers=None))

    assert (status, seen) == (0, {"loop": uvloop.Loop, "http": HttpToolsProtocol})


async def test_serve_stops_when_its_workers_fail(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A worker pool that ends with an error ends serve with that error (a non-zero exit, which
    its supervisor restarts), instead of a web app acknowledging webhooks that nobody syncs."""

    async def fail(self: WorkerPool) -> None:
        raise RuntimeError("the pool broke")

    monkeypatch.setattr(WorkerPool, "run", fail)
    monkeypatch.setenv("SALEOR_GORDON_DATABASE_URL", f"sqlite:///{tmp_path / 'app.db'}")
    monkeypatch.setenv("SALEOR_GORDON_SECRET_KEY", TEST_SECRET_KEY)
    monkeypatch.setenv("SALEOR_GORDON_WORKERS", "1")

    with pytest.raises(RuntimeError, match=r"^the pool broke$"):
        # (without the stop, serve serves on until the deadline cancels it, unlogged)
        await asyncio.wait_for(serve_command.serve(Settings(), host="127.0.0.1", port=0), 30)

    [failed] = [r for r in caplog.records if r.getMessage().startswith("app.workers_failed")]
    assert (failed.levelno, failed.getMessage()) == (
        logging.CRITICAL,
        "app.workers_failed: serve stops",
    )
    assert failed.exc_info is not None
    assert str(failed.exc_info[1]) == "the pool broke"
