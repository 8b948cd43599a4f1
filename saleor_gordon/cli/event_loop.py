"""How the long-running commands run: the event loop and the HTTP server settings of ``serve``.

``serve`` and ``worker`` run on uvloop's event loop (libuv: the loop's own scheduling, sockets and
transports in C), and ``serve``'s HTTP/1.1 parser is httptools (llhttp, in C) instead of h11 (pure
Python): with three webhooks and three outbound calls per synced order, the loop's hand-offs and
the HTTP parsing were the largest part of ``serve``'s CPU. ``bench/ingest.py`` serves its
baselines (raw ASGI, bare FastAPI) with the same ``server_config``, so the ratios stay fair.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, TypeVar

import uvicorn
import uvloop

T = TypeVar("T")

HTTP_PARSER = "httptools"
"""uvicorn's HTTP/1.1 implementation for ``serve`` (and the benchmarks' baselines)."""
EVENT_LOOP = "uvloop"
"""uvicorn's name of the event loop ``run`` uses (for a server uvicorn runs itself)."""


def run(main: Coroutine[Any, Any, T]) -> T:
    """``main`` run to its end on a new uvloop event loop (as ``asyncio.run`` does)."""
    return uvloop.run(main)


def server_config(app: Any, *, host: str, port: int) -> uvicorn.Config:
    """uvicorn's settings of ``serve``: httptools, uvloop, no access log, logging left to the app."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=HTTP_PARSER,
        loop=EVENT_LOOP,
        log_config=None,
        access_log=False,
    )
