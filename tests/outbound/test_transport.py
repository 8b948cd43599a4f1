"""The outbound policy on real sockets: what it refuses before connecting, where it connects,
how much it reads and for how long, and how one destination's connections are kept apart."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import time
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import httpx
import pytest

from saleor_gordon.core.destinations import INTERNAL_ADDRESS, AddressRule, IPAddress
from saleor_gordon.outbound import (
    AnswerTooLarge,
    DestinationKind,
    DestinationNotAllowed,
    NoAnswer,
    OutboundFailure,
    destination,
    outbound_client,
)
from saleor_gordon.outbound.network import CheckedNetworkBackend
from saleor_gordon.settings import Settings
from tests.outbound.servers import (
    Server,
    answer,
    gzip_bomb,
    huge,
    internal_service,
    not_http,
    response_head,
    serving,
    silent,
    tls_for,
    trickle,
)

PUBLIC_APP = "https://gordon.example.com"
LOOPBACK_NAMED = r"http://127\.0\.0\.1:\d+/.*"
"""An allow-list that names 127.0.0.1 (as an operator names an internal Saleor)."""
DEADLINE = 1.0
SALEOR = DestinationKind.SALEOR


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "app_url": PUBLIC_APP,
        "saleor_timeout_seconds": DEADLINE,
        "gordon_timeout_seconds": DEADLINE,
        "saleor_max_response_bytes": 64 * 1024,
        **overrides,
    }
    return Settings(**values)


class Resolver:
    """Names to addresses, as the test says; counts the lookups."""

    def __init__(self, names: dict[str, Iterable[str]] | None = None) -> None:
        self.names = {
            name: [ipaddress.ip_address(a) for a in found] for name, found in (names or {}).items()
        }
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.lookups.append(host)
        try:
            return self.names[host]
        except KeyError:
            address = ipaddress.ip_address(host)  # literals resolve to themselves
            return [address]


@pytest.fixture
async def client_for() -> AsyncIterator[Any]:
    clients: list[httpx.AsyncClient] = []

    def make(resolver: Resolver | None = None, **overrides: Any) -> httpx.AsyncClient:
        client = outbound_client(settings(**overrides), resolve=resolver or Resolver())
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


async def call(
    client: httpx.AsyncClient, url: str, *, kind: DestinationKind = SALEOR, given: str | None = None
) -> httpx.Response:
    return await client.post(
        url, json={"query": "{ app { id } }"}, extensions=destination(kind, given or url)
    )


# --- destinations -----------------------------------------------------------------------------


async def test_a_request_without_a_destination_is_refused(client_for: Any) -> None:
    async with serving(answer()) as server:
        with pytest.raises(OutboundFailure) as raised:
            await client_for(allowed_saleor_urls=LOOPBACK_NAMED).get(server.url)
    assert raised.value.reason == "is not labelled with its destination"
    assert server.connections == 0


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "localhost",
        "127.1",
        "2130706433",
        "0x7f.1",
        "0.0.0.0",  # noqa: S104 - the address under test
        "[::1]",
        "[::ffff:127.0.0.1]",
    ],
)
async def test_an_internal_destination_is_refused_before_any_connection(
    client_for: Any, host: str
) -> None:
    async with serving(internal_service()) as server:
        with pytest.raises(DestinationNotAllowed) as raised:
            await call(client_for(), f"http://{host}:{server.port}/graphql/")
    assert raised.value.reason == INTERNAL_ADDRESS
    assert server.connections == 0


@pytest.mark.parametrize(
    "addresses",
    [["127.0.0.1"], ["93.184.216.34", "127.0.0.1"], ["10.0.0.7"], ["::ffff:169.254.169.254"]],
)
async def test_a_name_that_resolves_to_an_internal_address_is_refused_before_connecting(
    client_for: Any, addresses: list[str]
) -> None:
    resolver = Resolver({"saleor.attacker.example": addresses})
    async with serving(internal_service()) as server:
        with pytest.raises(DestinationNotAllowed) as raised:
            await call(
                client_for(resolver), f"http://saleor.attacker.example:{server.port}/graphql/"
            )
    assert raised.value.reason == INTERNAL_ADDRESS
    assert server.connections == 0
    assert resolver.lookups == ["saleor.attacker.example"]


async def test_the_connection_goes_to_the_checked_address_and_keeps_the_name(
    client_for: Any,
) -> None:
    """A named internal Saleor: resolved once, connected to by address, asked by name."""
    resolver = Resolver({"saleor.internal": ["127.0.0.1"]})
    client = client_for(resolver, allowed_saleor_urls=r"http://saleor\.internal:\d+/graphql/")
    async with serving(answer({"data": {"app": {"id": "QXBwOjE="}}})) as server:
        url = f"http://saleor.internal:{server.port}/graphql/"
        response = await call(client, url)
    assert response.json() == {"data": {"app": {"id": "QXBwOjE="}}}
    assert resolver.lookups == ["saleor.internal"]
    assert [r.header("host") for r in server.requests] == [f"saleor.internal:{server.port}"]


@pytest.mark.both_event_loops
async def test_tls_goes_to_the_checked_address_and_verifies_the_name(
    client_for: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Connected to the address, the TLS handshake still names the host (SNI) and the
    certificate is checked against the name, as for any https URL."""
    context, ca_file = tls_for("saleor.internal", tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # the client trusts the test CA
    names: list[str | None] = []
    context.sni_callback = lambda _socket, name, _context: names.append(name)
    resolver = Resolver({"saleor.internal": ["127.0.0.1"]})
    client = client_for(resolver, allowed_saleor_urls=r"https://saleor\.internal:\d+/graphql/")
    async with serving(answer({"data": {}}), tls=context) as server:
        response = await call(client, f"https://saleor.internal:{server.port}/graphql/")
    assert response.json() == {"data": {}}
    assert names == ["saleor.internal"]
    assert [r.header("host") for r in server.requests] == [f"saleor.internal:{server.port}"]


def answer_once_then_hang_up(body: dict[str, object]) -> Any:
    """Answers one request as if the connection stayed open (no ``Connection: close``), then
    closes it: what a server does whose keep-alive ran out before the client's."""
    data = json.dumps(body).encode()

    async def behave(
        server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await server.read_request(reader)
        fields = {"Content-Type": "application/json", "Content-Length": str(len(data))}
        writer.write(response_head(200, fields))
        await server.write(writer, data)

    return behave


@pytest.mark.both_event_loops
async def test_a_kept_connection_the_server_closed_is_not_used_again(client_for: Any) -> None:
    """The pool sees that the server hung up on an idle connection and connects anew, instead
    of sending the next request into a closed connection (and getting no answer)."""
    client = client_for(allowed_saleor_urls=LOOPBACK_NAMED)
    async with serving(answer_once_then_hang_up({"data": {}})) as server:
        first = await call(client, f"{server.url}/graphql/")
        await server.wait_for(lambda: server.open_connections == 0)
        second = await call(client, f"{server.url}/graphql/")
    assert (first.json(), second.json()) == ({"data": {}}, {"data": {}})
    assert server.connections == 2


@pytest.mark.both_event_loops
async def test_a_kept_tls_connection_the_server_closed_is_not_used_again(
    client_for: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over TLS a server ends a kept connection with ``close_notify`` and keeps its socket open
    until the client answers (or its close times out): the socket has nothing to read, yet the
    connection is over. The pool connects anew instead of sending the next request into it."""
    context, ca_file = tls_for("saleor.internal", tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    resolver = Resolver({"saleor.internal": ["127.0.0.1"]})
    client = client_for(resolver, allowed_saleor_urls=r"https://saleor\.internal:\d+/graphql/")
    async with serving(answer_once_then_hang_up({"data": {}}), tls=context) as server:
        url = f"https://saleor.internal:{server.port}/graphql/"
        first = await call(client, url)
        # the server's close ends once the client answered its close_notify
        await server.wait_for(lambda: server.open_connections == 0)
        second = await call(client, url)
    assert (first.json(), second.json()) == ({"data": {}}, {"data": {}})
    assert server.connections == 2


async def test_the_backend_never_hands_the_name_on_so_no_second_lookup_can_move_it() -> None:
    """Rebinding: the connection goes to the address checked, never to the name (a name under
    .invalid, which no resolver answers: handed on, it would fail to connect)."""
    lookups: list[str] = []

    async def resolve(host: str, port: int) -> list[IPAddress]:
        lookups.append(host)
        return [ipaddress.ip_address("127.0.0.1")]

    backend = CheckedNetworkBackend(AddressRule.PUBLIC_OR_LOOPBACK, resolve)
    async with serving(internal_service()) as server:
        stream = await backend.connect_tcp("rebind.attacker.invalid", server.port)
        await stream.aclose()
        await server.wait_for(lambda: server.connections == 1)
    assert lookups == ["rebind.attacker.invalid"]


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.test/x.example.com/graphql/",
        "https://evil.test/graphql/#.example.com/graphql/",
        "https://a.example.com@evil.test/graphql/",
    ],
)
async def test_allow_list_host_confusion_is_refused_without_a_lookup(
    client_for: Any, url: str
) -> None:
    resolver = Resolver()
    client = client_for(resolver, allowed_saleor_urls=r"https://.*\.example\.com/graphql/")
    with pytest.raises(DestinationNotAllowed):
        await client.post(url, extensions=destination(SALEOR, url))
    assert resolver.lookups == []


async def test_a_request_elsewhere_than_its_destination_is_refused(client_for: Any) -> None:
    async with serving(internal_service()) as server:
        with pytest.raises(DestinationNotAllowed) as raised:
            await call(
                client_for(allowed_saleor_urls=LOOPBACK_NAMED),
                f"{server.url}/admin",
                given="https://shop.example.com/graphql/",
            )
    assert raised.value.reason == "is not where this request was sent"
    assert server.connections == 0


# --- bounded ----------------------------------------------------------------------------------


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "until-close"])
async def test_an_answer_longer_than_the_cap_is_cut(client_for: Any, declared: bool) -> None:
    client = client_for(allowed_saleor_urls=LOOPBACK_NAMED)
    async with serving(huge(50 * 1024 * 1024, declared=declared)) as server:
        with pytest.raises(AnswerTooLarge) as raised:
            await call(client, f"{server.url}/graphql/")
        await server.wait_for(lambda: server.open_connections == 0)
    assert raised.value.reason == "answered with more than 65536 bytes"
    assert server.sent < 8 * 1024 * 1024  # the app hung up long before the 50 MB


async def test_the_jwks_cap_is_64_kib_whatever_saleors_is(client_for: Any) -> None:
    client = client_for(allowed_saleor_urls=LOOPBACK_NAMED, saleor_max_response_bytes=1024 * 1024)
    async with serving(huge(65 * 1024, declared=True)) as server:
        with pytest.raises(AnswerTooLarge) as raised:
            await client.get(
                f"{server.url}/.well-known/jwks.json",
                extensions=destination(DestinationKind.JWKS, f"{server.url}/graphql/"),
            )
    assert raised.value.limit == 64 * 1024


async def test_a_compressed_answer_is_not_unpacked(client_for: Any) -> None:
    client = client_for(allowed_saleor_urls=LOOPBACK_NAMED)
    async with serving(gzip_bomb(20 * 1024 * 1024)) as server:
        response = await call(client, f"{server.url}/graphql/")
    assert server.requests[0].header("accept-encoding") == "identity"
    assert "content-encoding" not in response.headers
    assert response.content[:2] == b"\x1f\x8b"  # the gzip bytes as they came
    assert len(response.content) < 64 * 1024


async def test_a_trickling_answer_ends_at_the_deadline(client_for: Any) -> None:
    client = client_for(allowed_saleor_urls=LOOPBACK_NAMED)
    async with serving(trickle(every=0.2)) as server:
        started = time.monotonic()
        with pytest.raises(NoAnswer):
            await call(client, f"{server.url}/graphql/")
        elapsed = time.monotonic() - started
    assert server.sent >= 1  # it did answer, a byte at a time
    assert DEADLINE <= elapsed < DEADLINE + 1.5


@pytest.mark.parametrize("behaviour", ["closed", "silent", "not-http", "trickle"])
async def test_every_way_of_not_answering_looks_the_same(
    client_for: Any, behaviour: str, closed_port: int
) -> None:
    client = client_for(allowed_saleor_urls=LOOPBACK_NAMED)
    if behaviour == "closed":
        with pytest.raises(NoAnswer) as raised:
            await call(client, f"http://127.0.0.1:{closed_port}/graphql/")
    else:
        chosen = {"silent": silent(), "not-http": not_http(), "trickle": trickle(every=0.2)}[
            behaviour
        ]
        async with serving(chosen) as server:
            with pytest.raises(NoAnswer) as raised:
                await call(client, f"{server.url}/graphql/")
    assert str(raised.value) == f"could not be reached or did not answer within {DEADLINE:g} s"


# --- isolated ---------------------------------------------------------------------------------


async def test_a_slow_destination_holds_only_its_own_connections(client_for: Any) -> None:
    client = client_for(
        allowed_saleor_urls=LOOPBACK_NAMED,
        connections_per_destination=2,
        saleor_timeout_seconds=3.0,
    )
    async with serving(silent()) as slow, serving(answer({"data": {}})) as quick:
        stuck = [asyncio.create_task(call(client, f"{slow.url}/graphql/")) for _ in range(5)]
        await slow.wait_for(lambda: slow.open_connections == 2)
        response = await call(client, f"{quick.url}/graphql/")
        stuck_ended_meanwhile = [task.done() for task in stuck]
        while_stuck = (slow.connections, slow.most_open)
        results = await asyncio.gather(*stuck, return_exceptions=True)
    assert response.json() == {"data": {}}
    # not behind the slow one's queue: behind it, the call would have had a slot only once
    # slow calls ended (at their 3 s deadline)
    assert stuck_ended_meanwhile == [False] * 5
    assert while_stuck == (2, 2)  # the three others waited for a slot, without a connection
    assert [type(r) for r in results] == [NoAnswer] * 5


async def test_a_slot_is_given_back_whatever_became_of_the_call(client_for: Any) -> None:
    """One slot: each call below could only start if the one before gave it back."""
    client = client_for(allowed_saleor_urls=LOOPBACK_NAMED, connections_per_destination=1)

    async def by_path(
        server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while True:
            path = (await server.read_request(reader)).line.split()[1]
            if path == "/slow":
                await asyncio.Event().wait()
            if path == "/big":
                writer.write(response_head(200, {"Connection": "close"}))
                await server.write(writer, b"1" * 1024 * 1024)
                return
            writer.write(response_head(200, {"Content-Length": "2"}) + b"{}")

    async with serving(by_path) as server:
        outcomes = []
        for path in ["/ok", "/big", "/ok", "/slow", "/ok"]:
            try:
                outcomes.append(
                    (await call(client, f"{server.url}{path}", given=f"{server.url}/")).status_code
                )
            except OutboundFailure as failure:
                outcomes.append(type(failure).__name__)
    assert outcomes == [200, "AnswerTooLarge", 200, "NoAnswer", 200]


# --- helpers ----------------------------------------------------------------------------------


async def test_a_cancelled_call_gives_its_slot_back_at_once(client_for: Any) -> None:
    """What a job attempt's own deadline does to the calls it makes (asyncio.timeout around it)."""
    client = client_for(allowed_saleor_urls=LOOPBACK_NAMED, connections_per_destination=1)
    transport = client.outbound
    async with serving(silent()) as server:
        url = f"{server.url}/graphql/"
        holding = asyncio.create_task(call(client, url))
        waiting = asyncio.create_task(call(client, url))
        await server.wait_for(lambda: server.open_connections == 1)
        busy = transport.calls_to(url)
        holding.cancel()
        waiting.cancel()
        await asyncio.gather(holding, waiting, return_exceptions=True)
        await server.wait_for(lambda: server.open_connections == 0)
        idle = transport.calls_to(url)
    assert (busy, idle) == (2, 0)
