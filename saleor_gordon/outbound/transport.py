"""``OutboundTransport``: the httpx transport under every call the app makes.

For each request, in this order:

1. the request's ``Destination`` is judged by the policy (refused: ``DestinationNotAllowed``, and
   nothing is sent);
2. the deadline of the whole exchange starts: waiting for one of the destination's connection
   slots, resolving, connecting, sending and reading the complete answer;
3. the connection goes through the pool (``pool.ConnectionPool``) whose network backend permits
   the addresses the policy allowed (``network.CheckedNetworkBackend``), or through the transport
   a test gave;
4. the answer is streamed under the same deadline and cut at the byte cap (``AnswerTooLarge``);
   it is asked for and read without content encoding, so a small compressed answer cannot unpack
   into a large one.

Every other failure (refused connection, reset, TLS, protocol, timeout) is one ``NoAnswer``: what
is behind a destination (an open or a closed port) does not show in what the app says.

Connection slots are per destination (scheme, host and port, a default port written or not:
``policy.origin_of``), ``connections_per_destination``
each: a destination that answers slowly holds its own slots only, never another one's.
``calls_to(url)`` says how many calls hold or wait for a destination's slots. A call cancelled
from outside (a job attempt's own deadline) gives its slot and its connection back at once.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import httpcore
import httpx

from saleor_gordon.core.destinations import AddressRule
from saleor_gordon.outbound.errors import AnswerTooLarge, NoAnswer, OutboundFailure
from saleor_gordon.outbound.network import CheckedNetworkBackend, Resolver, SystemResolver
from saleor_gordon.outbound.policy import (
    DESTINATION,
    Destination,
    OutboundPolicy,
    origin_of,
    server_of,
)
from saleor_gordon.outbound.pool import ConnectionPool

KEEPALIVE_CONNECTIONS = 32
KEEPALIVE_SECONDS = 5.0
JUDGED_KEPT = 4096
"""Permitted (destination, URL) judgements remembered; all are forgotten when more are asked."""

_NETWORK_ERRORS = (
    httpx.TransportError,
    httpcore.TimeoutException,
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
    httpcore.ProxyError,
    OSError,
)


@dataclass
class _Slots:
    """The connection slots of one destination, forgotten when nobody holds or waits for one."""

    semaphore: asyncio.Semaphore
    users: int = 0


@dataclass
class _Exchange:
    """One request's hold on its destination's slot, released once."""

    release_slot: Callable[[], None]
    released: bool = field(default=False)

    def release(self) -> None:
        if not self.released:
            self.released = True
            self.release_slot()


class OutboundTransport(httpx.AsyncBaseTransport):
    """Applies ``policy`` to every request (see the module docstring).

    Args:
        policy: the destinations, caps and deadlines.
        inner: a transport for every request instead of the checked connection pools (tests: a
            ``MockTransport`` or a transport that refuses everything); the policy still applies,
            except the check of resolved addresses, which only the pools' backend makes.
        resolve: the resolver of the pools (default: ``getaddrinfo`` in threads of its own).
    """

    def __init__(
        self,
        policy: OutboundPolicy,
        *,
        inner: httpx.AsyncBaseTransport | None = None,
        resolve: Resolver | None = None,
    ) -> None:
        self._policy = policy
        self._inner = inner
        self._resolver: SystemResolver | None = None
        if resolve is None:
            resolve = self._resolver = SystemResolver()
        self._resolve = resolve
        self._pools: dict[AddressRule, _PoolTransport] = {}
        self._slots: dict[str, _Slots] = {}
        self._judged: dict[tuple[Destination, str], tuple[AddressRule, str]] = {}
        self._ssl_context: ssl.SSLContext | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        target = request.extensions.get(DESTINATION)
        if not isinstance(target, Destination):
            raise OutboundFailure("is not labelled with its destination", request=request)
        rule, server = self._judge(target, request.url)
        limits = self._policy.limits(target.kind)
        request.headers["Accept-Encoding"] = "identity"
        deadline = asyncio.get_running_loop().time() + limits.deadline
        exchange = await self._take_slot(server, deadline, limits.deadline)
        try:
            async with asyncio.timeout_at(deadline):
                response = await self._transport(rule).handle_async_request(request)
        except OutboundFailure:
            exchange.release()
            raise
        except (TimeoutError, *_NETWORK_ERRORS) as exc:
            exchange.release()
            raise NoAnswer(limits.deadline, request=request) from exc
        except BaseException:
            exchange.release()
            raise
        return _bounded(response, request, exchange, limits.max_bytes, deadline, limits.deadline)

    def _judge(self, target: Destination, url: httpx.URL) -> tuple[AddressRule, str]:
        """The policy's judgement of a request to ``target`` sent to ``url`` and the server its
        slots are keyed by; a permitted pair is remembered (the policy does not change in a
        process), a refused one judged again each time."""
        key = (target, str(url))
        judged = self._judged.get(key)
        if judged is None:
            judged = self._policy.judge(target, url), server_of(url)
            if len(self._judged) >= JUDGED_KEPT:
                self._judged.clear()
            self._judged[key] = judged
        return judged

    def calls_to(self, url: str) -> int:
        """Calls to the server of ``url`` (scheme, host, port) now holding or waiting for one of
        its connection slots: how busy, or how stuck, that destination is right now."""
        origin = origin_of(url)
        slots = None if origin is None else self._slots.get(origin)
        return 0 if slots is None else slots.users

    async def aclose(self) -> None:
        for pool in self._pools.values():
            await pool.aclose()
        self._pools.clear()
        if self._inner is not None:
            await self._inner.aclose()
        if self._resolver is not None:
            self._resolver.close()

    async def _take_slot(self, origin: str, deadline: float, seconds: float) -> _Exchange:
        slots = self._slots.get(origin)
        if slots is None:
            slots = self._slots[origin] = _Slots(
                asyncio.Semaphore(self._policy.connections_per_destination)
            )
        slots.users += 1

        def release() -> None:
            slots.semaphore.release()
            forget()

        def forget() -> None:
            slots.users -= 1
            if slots.users == 0 and self._slots.get(origin) is slots:
                del self._slots[origin]

        try:
            async with asyncio.timeout_at(deadline):
                await slots.semaphore.acquire()
        except TimeoutError:
            forget()
            raise NoAnswer(seconds) from None
        except BaseException:
            forget()
            raise
        if asyncio.get_running_loop().time() >= deadline:  # woken by a release at the deadline
            release()
            raise NoAnswer(seconds)
        return _Exchange(release)

    def _tls(self) -> ssl.SSLContext:
        """The process's TLS context, made at its first https connection (the pools ask)."""
        if self._ssl_context is None:
            self._ssl_context = httpx.create_ssl_context()
        return self._ssl_context

    def _transport(self, rule: AddressRule) -> httpx.AsyncBaseTransport:
        if self._inner is not None:
            return self._inner
        pool = self._pools.get(rule)
        if pool is None:
            backend = CheckedNetworkBackend(rule, self._resolve)
            pool = self._pools[rule] = _PoolTransport(self._tls, backend)
        return pool


def _bounded(
    response: httpx.Response,
    request: httpx.Request,
    exchange: _Exchange,
    max_bytes: int,
    deadline: float,
    seconds: float,
) -> httpx.Response:
    headers = httpx.Headers(response.headers)
    if headers.get("content-encoding", "identity").strip().lower() != "identity":
        # Asked for none; httpx would unpack it without a limit. Passed on as the bytes it is
        # (not JSON to the clients), cut at the cap like any other answer.
        del headers["content-encoding"]
    stream = _BoundedStream(response.stream, request, exchange, max_bytes, deadline, seconds)
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        stream.refuse_at_once = True
    return httpx.Response(
        response.status_code, headers=headers, stream=stream, extensions=response.extensions
    )


class _BoundedStream(httpx.AsyncByteStream):
    def __init__(
        self,
        inner: httpx.SyncByteStream | httpx.AsyncByteStream,
        request: httpx.Request,
        exchange: _Exchange,
        max_bytes: int,
        deadline: float,
        seconds: float,
    ) -> None:
        self._inner = inner
        self._request = request
        self._exchange = exchange
        self._max_bytes = max_bytes
        self._deadline = deadline
        self._seconds = seconds
        self.refuse_at_once = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self.refuse_at_once:
            raise AnswerTooLarge(self._max_bytes, request=self._request)
        if not isinstance(self._inner, httpx.AsyncByteStream):
            raise TypeError("an async transport answered with a sync stream")
        received = 0
        chunks = self._inner.__aiter__()
        try:
            while True:
                try:
                    async with asyncio.timeout_at(self._deadline):
                        chunk = await anext(chunks)
                except StopAsyncIteration:
                    return
                except OutboundFailure:
                    raise
                except (TimeoutError, *_NETWORK_ERRORS) as exc:
                    raise NoAnswer(self._seconds, request=self._request) from exc
                received += len(chunk)
                if received > self._max_bytes:
                    raise AnswerTooLarge(self._max_bytes, request=self._request)
                yield chunk
        finally:
            close = getattr(chunks, "aclose", None)
            if close is not None:
                await close()

    async def aclose(self) -> None:
        try:
            if isinstance(self._inner, httpx.AsyncByteStream):
                await self._inner.aclose()
        finally:
            self._exchange.release()


class _PoolTransport(httpx.AsyncBaseTransport):
    """httpx over a ``ConnectionPool`` with a checked network backend."""

    def __init__(
        self, ssl_context: Callable[[], ssl.SSLContext], backend: httpcore.AsyncNetworkBackend
    ) -> None:
        self._pool = ConnectionPool(
            ssl_context,
            backend,
            max_idle=KEEPALIVE_CONNECTIONS,
            idle_seconds=KEEPALIVE_SECONDS,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        answer = await self._pool.handle_async_request(
            httpcore.Request(
                method=request.method,
                url=httpcore.URL(
                    scheme=request.url.raw_scheme,
                    host=request.url.raw_host,
                    port=request.url.port,
                    target=request.url.raw_path,
                ),
                headers=request.headers.raw,
                content=request.stream,
                extensions=request.extensions,
            )
        )
        return httpx.Response(
            status_code=answer.status,
            headers=answer.headers,
            stream=_PoolStream(answer),
            extensions=answer.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


class _PoolStream(httpx.AsyncByteStream):
    def __init__(self, answer: httpcore.Response) -> None:
        self._answer = answer

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self._answer.aiter_stream():
            yield part

    async def aclose(self) -> None:
        await self._answer.aclose()
