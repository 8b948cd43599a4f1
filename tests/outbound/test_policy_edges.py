"""The outbound policy's smaller paths: the system resolver, refusals found at connection time,
URLs that cannot be parsed, and what the clients make of each refusal."""

from __future__ import annotations

import ipaddress
from typing import Any

import httpcore
import httpx
import pytest

from saleor_gordon.core.destinations import INTERNAL_ADDRESS, AddressRule
from saleor_gordon.errors import SaleorUnavailable
from saleor_gordon.outbound import (
    DestinationKind,
    DestinationNotAllowed,
    OutboundPolicy,
    destination,
    outbound_client,
)
from saleor_gordon.outbound.network import CheckedNetworkBackend, SystemResolver
from saleor_gordon.saleor.graphql_client import SaleorClient
from saleor_gordon.saleor.jwks import JwksUnavailable, fetch_jwks
from saleor_gordon.settings import Settings

PUBLIC = Settings(app_url="https://gordon.example.com")


async def test_the_system_resolver() -> None:
    resolve = SystemResolver()
    try:
        literal = await resolve("127.1", 80)
        local = await resolve("localhost", 80)
        with pytest.raises(httpcore.ConnectError):
            await resolve("nonexistent.invalid", 80)
        with pytest.raises(httpcore.ConnectError):
            await resolve("bad..name", 80)
    finally:
        resolve.close()
    assert literal == [ipaddress.ip_address("127.0.0.1")]
    assert ipaddress.ip_address("127.0.0.1") in local


async def test_a_name_without_addresses_is_no_connection() -> None:
    async def nothing(host: str, port: int) -> list[Any]:
        return []

    backend = CheckedNetworkBackend(AddressRule.PUBLIC, nothing)
    with pytest.raises(httpcore.ConnectError):
        await backend.connect_tcp("empty.example", 443)
    with pytest.raises(DestinationNotAllowed):
        await backend.connect_unix_socket("/run/docker.sock")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://shop.example.com/graphql/", None),
        ("http://127.0.0.1:8000/graphql/", INTERNAL_ADDRESS),
        ("https://shop.example.com:99999/graphql/", "is not an absolute http(s) URL"),
    ],
)
def test_check_judges_a_url_before_anything_is_sent(url: str, reason: str | None) -> None:
    policy = OutboundPolicy.from_settings(PUBLIC)
    if reason is None:
        policy.check(DestinationKind.SALEOR, url)
        return
    with pytest.raises(DestinationNotAllowed) as raised:
        policy.check(DestinationKind.SALEOR, url)
    assert raised.value.reason == reason


async def test_the_jwks_fetch_says_why_in_the_apps_words() -> None:
    refused = httpx.MockTransport(_raise(DestinationNotAllowed(INTERNAL_ADDRESS)))
    silent = httpx.MockTransport(_raise(httpx.ReadTimeout("remote detail")))
    messages = []
    for inner in (refused, silent):
        async with outbound_client(PUBLIC, transport=inner) as http:
            with pytest.raises(JwksUnavailable) as raised:
                await fetch_jwks(http, "https://shop.example.com/graphql/", timeout=5)
        messages.append(raised.value.message)
    assert messages == [
        "The JWKS at https://shop.example.com/.well-known/jwks.json points to a private or "
        "local network address.",
        "The JWKS at https://shop.example.com/.well-known/jwks.json could not be fetched: Saleor "
        "could not be reached or did not answer within 10 s.",
    ]


async def test_an_unusable_stream_or_url_is_no_answer() -> None:
    """A transport answering with a sync stream (a programming error) fails the call plainly."""

    class SyncStream(httpx.SyncByteStream):
        def __iter__(self) -> Any:
            yield b"{}"

    inner = httpx.MockTransport(lambda request: httpx.Response(200, stream=SyncStream()))
    async with outbound_client(PUBLIC, transport=inner) as http:
        url = "https://shop.example.com/graphql/"
        with pytest.raises(TypeError):
            await http.get(url, extensions=destination(DestinationKind.SALEOR, url))
        assert http.outbound.calls_to("https://shop.example.com:99999/") == 0
        assert http.outbound.calls_to(url) == 0


async def test_saleor_calls_refused_at_connection_time_say_so() -> None:
    inner = httpx.MockTransport(_raise(DestinationNotAllowed(INTERNAL_ADDRESS)))
    async with outbound_client(PUBLIC, transport=inner) as http:
        client = SaleorClient(
            saleor_api_url="https://shop.example.com/graphql/", token="t", http=http
        )
        with pytest.raises(SaleorUnavailable) as raised:
            await client.app_id()
    assert raised.value.message == (
        "Saleor may not be called (AppId at https://shop.example.com/graphql/): the API URL "
        "points to a private or local network address."
    )


def _raise(error: Exception) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    return handler


async def test_a_judgement_remembered_for_one_destination_is_not_another_ones() -> None:
    """The transport remembers permitted (destination, URL) judgements: a URL permitted for a
    Saleor call is still refused as a Gordon call (whose allow-list does not name it), and
    stays refused however often it is asked."""
    settings = Settings(
        app_url="https://gordon.example.com", allowed_gordon_urls=r"https://api\.gordon\.example"
    )
    inner = httpx.MockTransport(lambda request: httpx.Response(200, json={"data": {}}))
    url = "https://shop.example.com/graphql/"
    async with outbound_client(settings, transport=inner) as http:
        for _ in range(2):
            answer = await http.post(url, extensions=destination(DestinationKind.SALEOR, url))
            assert answer.json() == {"data": {}}
            with pytest.raises(DestinationNotAllowed):
                await http.post(url, extensions=destination(DestinationKind.GORDON, url))
            given = "https://other.example.com/graphql/"  # labelled with another server
            with pytest.raises(DestinationNotAllowed, match="where this request was sent"):
                await http.post(url, extensions=destination(DestinationKind.SALEOR, given))
