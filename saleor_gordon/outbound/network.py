"""Connections that go only where the policy allows: resolve, check every address, connect to it.

``CheckedNetworkBackend`` is httpcore's network backend for the app's outbound pool. It resolves the
host itself, refuses the connection when any address the name resolves to is not permitted
(``AddressRule``), and connects to a checked address, never to the name: a DNS answer that changes
between the check and the connection (rebinding) cannot move the connection elsewhere. TLS still
uses the host name (httpcore passes it as ``server_hostname``), and so does the Host header.

Each connection's stream knows its socket (``KnownSocketStream``): httpcore's pool asks every
idle connection whether the server closed it on each request it places and on each answer it
releases, and anyio answered each question by building the socket's whole attribute table (a
``getpeername`` call included).
"""

from __future__ import annotations

import asyncio
import select
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

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


class CheckedNetworkBackend(httpcore.AsyncNetworkBackend):
    """Connects only to addresses ``rule`` permits, after resolving the name once."""

    def __init__(
        self,
        rule: AddressRule,
        resolve: Resolver,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._rule = rule
        self._resolve = resolve
        self._inner = inner or httpcore.AnyIOBackend()

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
                stream = await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
            else:
                return KnownSocketStream(stream)
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise DestinationNotAllowed("is not a network address")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class KnownSocketStream(httpcore.AsyncNetworkStream):
    """A connection's stream that looks its socket up once.

    httpcore's pool asks each idle connection ``is_readable`` (has the server closed it?) for
    every request it places and every answer it releases; the answer is one ``poll`` of the
    socket here. Everything else is the inner stream's.
    """

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._socket: socket.socket | None = inner.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
    ) -> httpcore.AsyncNetworkStream:
        return KnownSocketStream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "socket":
            return self._socket
        if info == "is_readable":
            return socket_readable(self._socket)
        return self._inner.get_extra_info(info)


def socket_readable(sock: socket.socket | None) -> bool:
    """Whether reading ``sock`` would not block (for an idle connection: the server closed it,
    or sent what it should not have); True for a socket that is gone."""
    if sock is None or sock.fileno() < 0:
        return True
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))
