"""The outbound pool's connections on asyncio's transports (``AsyncioBackend``, ``AsyncioStream``):
what httpcore asks of them, against plain loopback servers."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import httpcore
import pytest

from saleor_gordon.outbound.network import READ_BUFFER_LIMIT, AsyncioBackend, AsyncioStream

pytestmark = pytest.mark.both_event_loops


class Peer:
    """The server side of one connection: what the test makes it send, and when it hangs up."""

    def __init__(self) -> None:
        self.connected = asyncio.Event()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.connected.set()

    async def send(self, data: bytes) -> None:
        assert self.writer is not None
        self.writer.write(data)
        await self.writer.drain()


@contextlib.asynccontextmanager
async def connected() -> AsyncIterator[tuple[AsyncioStream, Peer]]:
    peer = Peer()
    server = await asyncio.start_server(peer.accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
    assert isinstance(stream, AsyncioStream)
    await peer.connected.wait()
    try:
        yield stream, peer
    finally:
        await stream.aclose()
        if peer.writer is not None:
            peer.writer.transport.abort()
        server.close()
        await server.wait_closed()


async def read_exactly(stream: AsyncioStream, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = await stream.read(64 * 1024, timeout=5)
        assert chunk, "the connection ended early"
        data += chunk
    return data


async def test_an_idle_connection_is_not_readable_until_the_server_says_something() -> None:
    async with connected() as (stream, peer):
        assert stream.get_extra_info("is_readable") is False
        await peer.send(b"HTTP/1.1 400 late\r\n")
        assert await stream.read(1024, timeout=5) == b"HTTP/1.1 400 late\r\n"
        assert stream.get_extra_info("is_readable") is False  # all of it was read
        await peer.send(b"x")
        await asyncio.wait_for(_readable(stream), 5)
        assert stream.get_extra_info("is_readable") is True


async def _readable(stream: AsyncioStream) -> None:
    while not stream.get_extra_info("is_readable"):
        await stream._protocol.wait_readable()  # woken by what arrives, or the end


async def test_a_server_that_hung_up_makes_the_connection_readable_and_reads_end() -> None:
    async with connected() as (stream, peer):
        assert peer.writer is not None
        peer.writer.close()
        await asyncio.wait_for(_readable(stream), 5)
        assert stream.get_extra_info("is_readable") is True
        assert await stream.read(1024, timeout=5) == b""
        with pytest.raises(httpcore.WriteError):
            await stream.write(b"GET / HTTP/1.1\r\n\r\n", timeout=5)


async def test_a_read_with_nothing_to_read_times_out() -> None:
    async with connected() as (stream, _peer):
        with pytest.raises(httpcore.ReadTimeout):
            await stream.read(1024, timeout=0.05)


async def test_what_was_written_reaches_the_server() -> None:
    async with connected() as (stream, peer):
        await stream.write(b"ping", timeout=5)
        assert peer.reader is not None
        assert await peer.reader.readexactly(4) == b"ping"


async def test_a_large_answer_is_read_whole_with_a_bounded_buffer() -> None:
    """While nobody reads, the connection stops reading its socket past the buffer's limit, and
    goes on once read: every byte arrives, in order."""
    body = bytes(range(256)) * (4 * READ_BUFFER_LIMIT // 256)
    async with connected() as (stream, peer):
        sending = asyncio.create_task(peer.send(body))
        protocol = stream._protocol
        await asyncio.wait_for(_paused(stream), 5)
        assert READ_BUFFER_LIMIT < len(protocol.received) < 2 * READ_BUFFER_LIMIT
        assert await read_exactly(stream, len(body)) == body
        await sending
        assert protocol.reading_paused is False


async def _paused(stream: AsyncioStream) -> None:
    while not stream._protocol.reading_paused:
        await stream._protocol.wait_readable()  # woken by each arrival


async def test_a_refused_connection_is_a_connect_error() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]  # bound, not listening: the kernel refuses
        with pytest.raises(httpcore.ConnectError):
            await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)


async def test_socket_options_are_applied() -> None:
    peer = Peer()
    server = await asyncio.start_server(peer.accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    option = (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, socket_options=[option])
    await peer.connected.wait()
    try:
        sock = stream.get_extra_info("socket")
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        assert stream.get_extra_info("server_addr") == ("127.0.0.1", port)
        assert stream.get_extra_info("ssl_object") is None
    finally:
        await stream.aclose()
        assert peer.writer is not None
        peer.writer.transport.abort()
        server.close()
        await server.wait_closed()
