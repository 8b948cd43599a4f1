"""Connections that go only where the policy allows: resolve, check every address, connect to it.

``CheckedNetworkBackend`` is httpcore's network backend for the app's outbound pool. It resolves the
host itself, refuses the connection when any address the name resolves to is not permitted
(``AddressRule``), and connects to a checked address, never to the name: a DNS answer that changes
between the check and the connection (rebinding) cannot move the connection elsewhere. TLS still
uses the host name (httpcore passes it as ``server_hostname``), and so does the Host header.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Final

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
                return await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
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
