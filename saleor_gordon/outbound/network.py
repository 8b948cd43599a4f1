"""Connections that go only where the policy allows: resolve, check every address, connect to it.

``CheckedNetworkBackend`` is httpcore's network backend for the app's outbound pool. It resolves the
host itself, refuses the connection when any address the name resolves to is not permitted
(``AddressRule``), and connects to a checked address, never to the name: a DNS answer that changes
between the check and the connection (rebinding) cannot move the connection elsewhere. TLS still
uses the host name (httpcore passes it as ``server_hostname``), and so does the Host header.

The connections are asyncio's own transports (``AsyncioBackend``, ``AsyncioStream``), not
anyio's: the pool asks a kept connection whether the server closed it before handing it out, and
the stream answers from what asyncio already told it (no system call, no poll object per
question; a TLS server's ``close_notify`` counts).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final, cast

import httpcore

from saleor_gordon.core.destinations import (
    INTERNAL_ADDRESS,
    AddressRule,
    IPAddress,
    literal_address,
)
from saleor_gordon.outbound.errors import DestinationNotAllowed

DNS_THREADS: Final = 16
"""Lookups that may run at once: a slow name server holds a thread until the resolver gives up,
so they get threads of their own rather than the event loop's default executor."""

Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]


class SystemResolver:
    """``getaddrinfo`` (hosts file, search domains, the system's name servers) in its own threads."""

    def __init__(self, threads: int = DNS_THREADS) -> None:
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="outbound-dns")

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        address = literal_address(host)
        if address is not None:
            return [address]
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.run_in_executor(
                self._executor, socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM
            )
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError("the host name does not resolve") from exc
        found: list[IPAddress] = []
        for *_, sockaddr in infos:
            address = literal_address(str(sockaddr[0]).partition("%")[0])
            if address is not None and address not in found:
                found.append(address)
        return found

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend on asyncio's own transports (``AsyncioStream``)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        local = None if local_address is None else (local_address, 0)
        try:
            async with asyncio.timeout(timeout):
                transport, protocol = await loop.create_connection(
                    lambda: _StreamProtocol(loop), host, port, local_addr=local
                )
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout("the connection was not made in time") from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        stream = AsyncioStream(transport, protocol)
        sock = transport.get_extra_info("socket")
        try:
            for option in socket_options or ():
                sock.setsockopt(*option)
        except OSError as exc:
            await stream.aclose()
            raise httpcore.ConnectError(str(exc)) from exc
        return stream

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise DestinationNotAllowed("is not a network address")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class CheckedNetworkBackend(AsyncioBackend):
    """Connects only to addresses ``rule`` permits, after resolving the name once (on asyncio's
    transports, as ``AsyncioBackend``; no Unix sockets, as it)."""

    def __init__(self, rule: AddressRule, resolve: Resolver) -> None:
        self._rule = rule
        self._resolve = resolve

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._resolve(host, port)
        if not addresses:
            raise httpcore.ConnectError("the host name does not resolve")
        if not all(self._rule.permits(address) for address in addresses):
            raise DestinationNotAllowed(INTERNAL_ADDRESS)
        failure: Exception | None = None
        for address in addresses:
            try:
                stream = await super().connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
            else:
                return stream
        assert failure is not None
        raise failure


READ_BUFFER_LIMIT: Final = 256 * 1024
"""Bytes received and not yet read at which the connection stops reading from its socket."""


class _StreamProtocol(asyncio.Protocol):
    """What a connection received and whether it ended, kept as asyncio hands it over."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.received = bytearray()
        self.ended = False
        """The other side closed (FIN, or TLS close_notify), or the connection was lost."""
        self.error: BaseException | None = None
        self.reading_paused = False
        self.writing_paused = False
        self._read_waiter: asyncio.Future[None] | None = None
        self._drain_waiter: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (uvloop's are not subclasses of asyncio's classes).
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.received += data
        if len(self.received) > READ_BUFFER_LIMIT and not self.reading_paused:
            self.reading_paused = True
            assert self.transport is not None
            self.transport.pause_reading()
        self._wake_reader()

    def eof_received(self) -> bool:
        self.ended = True
        self._wake_reader()
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended = True
        if exc is not None and self.error is None:
            self.error = exc
        self._wake_reader()
        self._wake_writer()

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        self._wake_writer()

    async def wait_readable(self) -> None:
        self._read_waiter = self.loop.create_future()
        try:
            await self._read_waiter
        finally:
            self._read_waiter = None

    async def wait_drained(self) -> None:
        self._drain_waiter = self.loop.create_future()
        try:
            await self._drain_waiter
        finally:
            self._drain_waiter = None

    def resume_reading_if_read(self) -> None:
        if self.reading_paused and len(self.received) <= READ_BUFFER_LIMIT // 2:
            self.reading_paused = False
            if self.transport is not None and not self.transport.is_closing():
                self.transport.resume_reading()

    def _wake_reader(self) -> None:
        waiter = self._read_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _wake_writer(self) -> None:
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class AsyncioStream(httpcore.AsyncNetworkStream):
    """A connection on an asyncio transport, TLS by asyncio's own ``start_tls``.

    asyncio reads the socket whenever data arrives and tells the protocol when the other side
    ends the connection, so whether an idle connection is still usable (``is_readable``, asked
    by the pool before it hands the connection out) is known without a system call: anything
    received, an end or an error means the server is done with it. That holds for TLS too: a server's ``close_notify`` on a kept
    connection is an end here, while its socket stays open until the server's close times out.
    """

    def __init__(self, transport: asyncio.Transport, protocol: _StreamProtocol) -> None:
        self._transport = transport
        self._protocol = protocol

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        protocol = self._protocol
        if not protocol.received and not protocol.ended:
            try:
                async with asyncio.timeout(timeout):
                    await protocol.wait_readable()
            except TimeoutError as exc:
                raise httpcore.ReadTimeout("no answer in time") from exc
        received = protocol.received
        if received:
            if len(received) <= max_bytes:
                data = bytes(received)
                received.clear()
            else:
                data = bytes(received[:max_bytes])
                del received[:max_bytes]
            protocol.resume_reading_if_read()
            return data
        if protocol.error is not None:
            raise httpcore.ReadError(str(protocol.error)) from protocol.error
        return b""

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        if not buffer:
            return
        protocol = self._protocol
        if protocol.ended or self._transport.is_closing():
            raise httpcore.WriteError("the connection is closed")
        self._transport.write(buffer)
        if not protocol.writing_paused:
            return
        try:
            async with asyncio.timeout(timeout):
                while protocol.writing_paused and not protocol.ended:
                    await protocol.wait_drained()
        except TimeoutError as exc:
            raise httpcore.WriteTimeout("the request was not sent in time") from exc
        if protocol.ended:
            raise httpcore.WriteError("the connection was lost while sending")

    async def aclose(self) -> None:
        # No TLS close handshake and no wait: what a server still has to say is not read.
        self._transport.abort()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
    ) -> httpcore.AsyncNetworkStream:
        loop = self._protocol.loop
        try:
            async with asyncio.timeout(timeout):
                transport = await loop.start_tls(
                    self._transport,
                    self._protocol,
                    ssl_context,
                    server_hostname=server_hostname,
                )
        except TimeoutError as exc:
            self._transport.abort()
            raise httpcore.ConnectTimeout("the TLS handshake did not end in time") from exc
        except (OSError, ssl.SSLError, ConnectionError) as exc:
            self._transport.abort()
            raise httpcore.ConnectError(str(exc)) from exc
        except BaseException:
            self._transport.abort()
            raise
        if transport is None:  # the server closed during the handshake
            self._transport.abort()
            raise httpcore.ConnectError("the connection closed during the TLS handshake")
        self._protocol.transport = transport
        return AsyncioStream(transport, self._protocol)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            protocol = self._protocol
            return bool(protocol.received) or protocol.ended or self._transport.is_closing()
        if info == "ssl_object":
            return self._transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._transport.get_extra_info("sockname")
        if info == "server_addr":
            return self._transport.get_extra_info("peername")
        if info == "socket":
            return self._transport.get_extra_info("socket")
        return None
