"""``ConnectionPool``: kept-alive connections per origin, against loopback servers."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpcore
import pytest

from saleor_gordon.outbound.network import AsyncioBackend
from saleor_gordon.outbound.pool import SWEEP_SECONDS, ConnectionPool
from tests.outbound.servers import Server, answer, not_http, serving


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@asynccontextmanager
async def pool_of(
    *, max_idle: int = 8, idle_seconds: float = 5.0, clock: Clock | None = None
) -> AsyncIterator[ConnectionPool]:
    pool = ConnectionPool(
        ssl.create_default_context(),
        AsyncioBackend(),
        max_idle=max_idle,
        idle_seconds=idle_seconds,
        monotonic=clock or Clock(),
    )
    try:
        yield pool
    finally:
        await pool.aclose()


def request_to(server: Server) -> httpcore.Request:
    headers = [(b"Host", f"127.0.0.1:{server.port}".encode()), (b"Content-Length", b"2")]
    return httpcore.Request("POST", f"{server.url}/graphql/", headers=headers, content=b"{}")


async def get(pool: ConnectionPool, server: Server) -> bytes:
    """One whole exchange: the answer read and closed (its connection given back)."""
    response = await pool.handle_async_request(request_to(server))
    try:
        return b"".join([part async for part in response.aiter_stream()])
    finally:
        await response.aclose()


async def test_one_connection_serves_requests_one_after_another() -> None:
    async with pool_of() as pool, serving(answer({"data": {}})) as server:
        answers = [await get(pool, server) for _ in range(3)]
        assert (pool.idle_connections, pool.busy_connections) == (1, 0)
    assert answers == [b'{"data": {}}'] * 3
    assert server.connections == 1


async def test_concurrent_requests_get_connections_of_their_own_then_share_them() -> None:
    async with pool_of() as pool, serving(answer({"data": {}})) as server:
        await asyncio.gather(*(get(pool, server) for _ in range(3)))
        assert (server.connections, pool.idle_connections) == (3, 3)
        await asyncio.gather(*(get(pool, server) for _ in range(3)))
        assert (server.connections, pool.idle_connections) == (3, 3)


async def test_the_tls_context_is_made_at_the_first_https_connection_only(
    closed_port: int,
) -> None:
    """Loading the system's certificates costs tens of milliseconds: a pool that calls only
    http origins never does it, one that calls https does it once."""
    made: list[ssl.SSLContext] = []

    def make_tls() -> ssl.SSLContext:
        made.append(ssl.create_default_context())
        return made[-1]

    pool = ConnectionPool(make_tls, AsyncioBackend(), max_idle=8, idle_seconds=5.0)
    try:
        async with serving(answer({"data": {}})) as server:
            assert [await get(pool, server) for _ in range(2)] == [b'{"data": {}}'] * 2
            assert made == []
            https = httpcore.Request("POST", f"https://127.0.0.1:{closed_port}/", content=b"{}")
            for _ in range(2):  # nothing listens there: each connection is refused
                with pytest.raises(httpcore.ConnectError):
                    await pool.handle_async_request(https)
            assert len(made) == 1
    finally:
        await pool.aclose()


async def test_origins_do_not_share_connections() -> None:
    async with (
        pool_of() as pool,
        serving(answer({"a": 1})) as first,
        serving(answer({"b": 2})) as second,
    ):
        assert await get(pool, first) == b'{"a": 1}'
        assert await get(pool, second) == b'{"b": 2}'
        assert await get(pool, first) == b'{"a": 1}'
    assert (first.connections, second.connections) == (1, 1)


async def test_an_expired_connection_is_closed_not_handed_out() -> None:
    """A keep-alive that ran out (here: at once) is closed when next looked at."""
    async with pool_of(idle_seconds=-1.0) as pool, serving(answer({"data": {}})) as server:
        await get(pool, server)
        await get(pool, server)
        await server.wait_for(lambda: server.open_connections == 1)
        assert server.connections == 2


async def test_idle_connections_beyond_the_limit_are_closed() -> None:
    async with pool_of(max_idle=1) as pool, serving(answer({"data": {}})) as server:
        await asyncio.gather(*(get(pool, server) for _ in range(2)))
        await server.wait_for(lambda: server.open_connections == 1)
        assert (server.connections, pool.idle_connections) == (2, 1)


async def test_a_sweep_closes_the_connections_of_an_origin_nobody_calls_any_more() -> None:
    clock = Clock()
    async with (
        pool_of(idle_seconds=-1.0, clock=clock) as pool,
        serving(answer({"a": 1})) as forgotten,
        serving(answer({"b": 2})) as called,
    ):
        await get(pool, forgotten)
        assert pool.idle_connections == 1  # not swept yet: the sweep's time has not come
        clock.now += SWEEP_SECONDS
        await get(pool, called)  # its release sweeps
        await forgotten.wait_for(lambda: forgotten.open_connections == 0)
        assert pool.idle_connections == 0


async def test_the_connection_of_a_failed_request_is_closed() -> None:
    async with pool_of() as pool, serving(not_http()) as server:
        with pytest.raises(httpcore.RemoteProtocolError):
            await get(pool, server)
        assert (pool.idle_connections, pool.busy_connections) == (0, 0)
        await server.wait_for(lambda: server.open_connections == 0)


async def test_a_url_that_is_not_http_is_refused() -> None:
    async with pool_of() as pool:
        with pytest.raises(httpcore.UnsupportedProtocol):
            await pool.handle_async_request(httpcore.Request("GET", "ftp://127.0.0.1/x"))


async def test_closing_the_pool_closes_idle_and_busy_connections() -> None:
    async with serving(answer({"data": {}})) as server:
        async with pool_of() as pool:
            await get(pool, server)
            busy = await pool.handle_async_request(request_to(server))
            assert (pool.idle_connections, pool.busy_connections) == (0, 1)  # took the idle one
            await get(pool, server)
            assert (pool.idle_connections, pool.busy_connections) == (1, 1)
        await server.wait_for(lambda: server.open_connections == 0)
        await busy.aclose()  # after the pool's end: nothing to give back to
        assert server.connections == 2
