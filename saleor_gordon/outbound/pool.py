"""``ConnectionPool``: the outbound calls' kept-alive HTTP/1.1 connections, per origin.

A request takes the connection of its origin (scheme, host, port) that was used last and is
still usable, or a new one (httpcore's ``AsyncHTTPConnection``: connect, TLS, HTTP/1.1); when its
answer is closed, a connection that can take another request goes back. Only the connection about
to be handed out is asked whether it is still usable (its keep-alive not run out, nothing received
since: the server closed it, or said what it should not have), so placing a request and releasing
an answer cost the same with 2 or 200 idle connections (httpcore's own pool looks at every
connection, twice per request). Idle connections nobody took are closed at the latest one sweep
(``SWEEP_SECONDS``) after their keep-alive ran out.

No limit on connections here: the outbound transport limits them per destination. A connection
whose request failed or was cancelled, in whatever state, is closed and never handed out again.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import AsyncIterator, Callable
from typing import Final

import httpcore

SWEEP_SECONDS: Final = 1.0

_Key = tuple[bytes, bytes, int]


class ConnectionPool:
    """Kept-alive connections per origin, the most recently used handed out first.

    Args:
        ssl_context: for https origins, or what makes it (called at the first https connection:
            loading the system's certificates costs tens of milliseconds, which a process that
            calls only http origins never spends).
        backend: the network backend every connection connects through.
        max_idle: idle connections kept across all origins; one more is closed instead.
        idle_seconds: how long an idle connection is kept (its keep-alive).
        monotonic: the clock of the sweeps (tests).
    """

    def __init__(
        self,
        ssl_context: ssl.SSLContext | Callable[[], ssl.SSLContext],
        backend: httpcore.AsyncNetworkBackend,
        *,
        max_idle: int,
        idle_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ssl_context = ssl_context
        self._backend = backend
        self._max_idle = max_idle
        self._idle_seconds = idle_seconds
        self._monotonic = monotonic
        self._idle: dict[_Key, list[httpcore.AsyncHTTPConnection]] = {}
        self._idle_count = 0
        self._busy: set[httpcore.AsyncHTTPConnection] = set()
        self._next_sweep = monotonic() + SWEEP_SECONDS

    def _tls(self) -> ssl.SSLContext:
        if not isinstance(self._ssl_context, ssl.SSLContext):
            self._ssl_context = self._ssl_context()
        return self._ssl_context

    @property
    def idle_connections(self) -> int:
        return self._idle_count

    @property
    def busy_connections(self) -> int:
        return len(self._busy)

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        url = request.url
        if url.scheme not in (b"http", b"https"):
            raise httpcore.UnsupportedProtocol("the URL's scheme is neither http nor https")
        if not url.host:
            raise httpcore.UnsupportedProtocol("the URL has no host")
        origin = url.origin
        key = (origin.scheme, origin.host, origin.port)
        connection = await self._take_idle(key)
        if connection is None:
            connection = httpcore.AsyncHTTPConnection(
                origin=origin,
                ssl_context=self._tls() if origin.scheme == b"https" else None,
                keepalive_expiry=self._idle_seconds,
                network_backend=self._backend,
            )
        self._busy.add(connection)
        try:
            response = await connection.handle_async_request(request)
        except BaseException:
            self._busy.discard(connection)
            await connection.aclose()
            raise
        return httpcore.Response(
            status=response.status,
            headers=response.headers,
            content=_Answer(response, connection, key, self),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        connections = [c for stack in self._idle.values() for c in stack] + list(self._busy)
        self._idle.clear()
        self._idle_count = 0
        self._busy.clear()
        for connection in connections:
            await connection.aclose()

    async def _take_idle(self, key: _Key) -> httpcore.AsyncHTTPConnection | None:
        stack = self._idle.get(key)
        while stack:
            connection = stack.pop()
            self._idle_count -= 1
            if connection.is_idle() and not connection.has_expired():
                if not stack:
                    del self._idle[key]
                return connection
            await connection.aclose()
        self._idle.pop(key, None)
        return None

    async def _release(self, key: _Key, connection: httpcore.AsyncHTTPConnection) -> None:
        self._busy.discard(connection)
        if not connection.is_idle() or self._idle_count >= self._max_idle:
            await connection.aclose()
        else:
            self._idle.setdefault(key, []).append(connection)
            self._idle_count += 1
        now = self._monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_SECONDS
            await self._sweep()

    async def _sweep(self) -> None:
        """Closes the idle connections whose keep-alive ran out or whose server hung up."""
        for key, stack in list(self._idle.items()):
            kept = [c for c in stack if c.is_idle() and not c.has_expired()]
            if len(kept) == len(stack):
                continue
            for connection in stack:
                if connection not in kept:
                    await connection.aclose()
            self._idle_count -= len(stack) - len(kept)
            if kept:
                self._idle[key] = kept
            else:
                del self._idle[key]


class _Answer:
    """An answer's body; closing it gives its connection back to the pool (once)."""

    def __init__(
        self,
        response: httpcore.Response,
        connection: httpcore.AsyncHTTPConnection,
        key: _Key,
        pool: ConnectionPool,
    ) -> None:
        self._response = response
        self._connection = connection
        self._key = key
        self._pool = pool
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self._response.aiter_stream():
            yield part

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._response.aclose()
        finally:
            await self._pool._release(self._key, self._connection)
