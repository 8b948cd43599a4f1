"""Serving an ASGI app (a fake, the Gordon sandbox) on 127.0.0.1 in a background thread, for tests
and benchmarks."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from saleor_gordon.fakes.gordon_sandbox import (
    RunningSandbox,
    SandboxOptions,
    create_gordon_sandbox,
    sandbox_state,
)

STARTUP_TIMEOUT = 15.0  # seconds


@contextmanager
def serve_on_loopback(app: Any, *, port: int = 0) -> Iterator[str]:
    """Run ``app`` with uvicorn on 127.0.0.1 (``port`` 0 = a free one); yields the base URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="loopback-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{_wait_for_port(server, thread)}"
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT)


def _wait_for_port(server: uvicorn.Server, thread: threading.Thread) -> int:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the loopback server did not start")
        time.sleep(0.01)
    port: int = server.servers[0].sockets[0].getsockname()[1]
    return port


@contextmanager
def serve_sandbox_in_thread(
    options: SandboxOptions | None = None, *, port: int = 0
) -> Iterator[RunningSandbox]:
    """Serve a Gordon sandbox on 127.0.0.1 in a background thread (port 0: any free one)."""
    app = create_gordon_sandbox(options)
    state = sandbox_state(app)
    try:
        with serve_on_loopback(app, port=port) as base_url:
            yield RunningSandbox(base_url, state)
    finally:
        state.release()  # a held request must not keep the server from stopping
