"""SaleorClient against the Saleor fake over a real loopback socket."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from graphql import parse, print_ast

from saleor_gordon.errors import (
    SaleorError,
    SaleorGraphQLError,
    SaleorTokenRevoked,
    SaleorUnavailable,
)
from saleor_gordon.json_text import parse_json
from saleor_gordon.outbound import outbound_client
from saleor_gordon.saleor.documents import load_document
from saleor_gordon.saleor.graphql_client import SaleorClient, failure_summary, request_body
from saleor_gordon.settings import Settings
from tests.support.fixtures import RunningSaleorFake

MISSING_ORDER = "T3JkZXI6MDAwMDAwMDAtMDAwMC00MDAwLTgwMDAtMDAwMDAwMDAwMDAw"
SHOP_URL = "https://shop.example.com/graphql/"
POLICY = Settings(
    app_url="https://gordon.example.com",
    allowed_saleor_urls=r"http://127\.0\.0\.1:\d+/graphql/|https://shop\.example\.com/graphql/",
)


@contextlib.asynccontextmanager
async def client_for(
    fake: RunningSaleorFake, token: str | None = None
) -> AsyncIterator[SaleorClient]:
    """A client of the fake through the app's own outbound client (policy, pool, connections)."""
    token = token if token is not None else fake.state.issue_token()
    async with outbound_client(POLICY) as http:
        yield SaleorClient(saleor_api_url=fake.api_url, token=token, http=http, timeout=5)


@contextlib.asynccontextmanager
async def answering(
    handler: Callable[[httpx.Request], httpx.Response], kind: str
) -> AsyncIterator[SaleorClient]:
    """A client of ``SHOP_URL`` whose answers come from ``handler``: through the app's outbound
    client (``kind`` "outbound": ``outbound.exchange`` straight to its transport) or a plain
    httpx client ("httpx")."""
    transport = httpx.MockTransport(handler)
    http = (
        outbound_client(POLICY, transport=transport)
        if kind == "outbound"
        else httpx.AsyncClient(transport=transport)
    )
    async with http:
        yield SaleorClient(saleor_api_url=SHOP_URL, token="t" * 30, http=http)


CLIENT_KINDS = pytest.mark.parametrize("kind", ["outbound", "httpx"])


async def test_app_id(saleor_fake: RunningSaleorFake) -> None:
    async with client_for(saleor_fake) as client:
        assert await client.app_id() == "QXBwOjQ="
    assert saleor_fake.state.requests["AppId"] == 1


async def test_fetch_recorded_order(
    saleor_fake: RunningSaleorFake, recorded_order: dict[str, Any]
) -> None:
    """The recorded order comes back as OrderDetails selects it."""
    saleor_fake.state.add_order(recorded_order)

    async with client_for(saleor_fake) as client:
        order = await client.fetch_order(recorded_order["id"])

    assert order is not None
    assert order["number"] == "45"
    assert order["shippingAddress"] == recorded_order["shippingAddress"]
    assert order["deliveryMethod"]["metadata"] == [
        {"key": "gordon.time_window", "value": "17:00 - 21:00"}
    ]
    assert order["lines"][0]["variant"]["product"]["metadata"][0]["value"] == "chilled"
    assert "token" not in order  # not selected by OrderDetails


async def test_fetch_order_sees_changes(saleor_fake: RunningSaleorFake) -> None:
    """Tests change the order in the state; the next read sees it."""
    order = saleor_fake.state.add_order()
    saleor_fake.state.update_order(order["id"], status="CANCELED")
    order["shippingAddress"]["streetAddress1"] = "Storgatan 1"

    async with client_for(saleor_fake) as client:
        fetched = await client.fetch_order(order["id"])

    assert fetched is not None
    assert (fetched["status"], fetched["shippingAddress"]["streetAddress1"]) == (
        "CANCELED",
        "Storgatan 1",
    )


async def test_fetch_unknown_order(saleor_fake: RunningSaleorFake) -> None:
    async with client_for(saleor_fake) as client:
        assert await client.fetch_order(MISSING_ORDER) is None


async def test_fetch_malformed_order_id(saleor_fake: RunningSaleorFake) -> None:
    async with client_for(saleor_fake) as client:
        with pytest.raises(SaleorGraphQLError, match=r"Invalid ID: not-an-id\. Expected: Order\."):
            await client.fetch_order("not-an-id")


async def test_metadata_mutations(saleor_fake: RunningSaleorFake) -> None:
    """Writes land in the order and are recorded; an unchanged write changes nothing."""
    state = saleor_fake.state
    order = state.add_order()

    async with client_for(saleor_fake) as client:
        await client.write_metadata(order["id"], public={}, private={"gordon.status": "synced"})
        await client.write_metadata(
            order["id"], public={"gordon.tracking_id": "0Zj7YGCUr"}, private={}
        )
        await client.write_metadata(
            order["id"], public={"gordon.tracking_id": "0Zj7YGCUr"}, private={}
        )
        await client.write_metadata(order["id"], public={}, private={"gordon.error": "x"})
        await client.write_metadata(
            order["id"], public={}, private={}, delete_private=["gordon.error", "absent"]
        )
        await client.write_metadata(order["id"], public={}, private={})  # nothing to send

    assert order["privateMetadata"] == [{"key": "gordon.status", "value": "synced"}]
    assert order["metadata"][-1] == {"key": "gordon.tracking_id", "value": "0Zj7YGCUr"}
    assert len(order["metadata"]) == 3  # the two delivery keys of the sample plus ours
    assert [(m.field, m.changed) for m in state.mutations] == [
        ("updatePrivateMetadata", True),
        ("updateMetadata", True),
        ("updateMetadata", False),
        ("updatePrivateMetadata", True),
        ("deletePrivateMetadata", True),
    ]
    assert state.requests["WriteOrderMetadata"] == 5


async def test_a_write_back_is_one_request_of_its_parts_in_order(
    saleor_fake: RunningSaleorFake,
) -> None:
    """Public keys, private keys and removals in one request, run in that order, each part a
    mutation of its own (with its own ORDER_METADATA_UPDATED); the parts with nothing to do
    are left out."""
    state = saleor_fake.state
    order = state.add_order()
    state.update_order(order["id"], privateMetadata=[{"key": "gordon.error", "value": "x"}])

    async with client_for(saleor_fake) as client:
        await client.write_metadata(
            order["id"],
            public={"gordon.tracking_id": "0Zj7YGCUr"},
            private={"gordon.status": "synced"},
            delete_private=["gordon.error"],
        )
        await client.write_metadata(order["id"], public={}, private={"gordon.status": "failed"})

    assert state.requests["WriteOrderMetadata"] == 2
    assert [(m.field, m.changed) for m in state.mutations] == [
        ("updateMetadata", True),
        ("updatePrivateMetadata", True),
        ("deletePrivateMetadata", True),
        ("updatePrivateMetadata", True),
    ]
    assert state.order(order["id"])["privateMetadata"] == [
        {"key": "gordon.status", "value": "failed"}
    ]


async def test_mutation_errors_are_raised(saleor_fake: RunningSaleorFake) -> None:
    """A mutation answered with ``errors`` (unknown order) is a SaleorGraphQLError."""
    async with client_for(saleor_fake) as client:
        with pytest.raises(SaleorGraphQLError, match="updatePrivateMetadata: NOT_FOUND"):
            await client.write_metadata(MISSING_ORDER, public={}, private={"a": "b"})


CALLS: dict[str, Callable[[SaleorClient, str], Awaitable[object]]] = {
    "app_id": lambda client, _order_id: client.app_id(),
    "fetch_order": lambda client, order_id: client.fetch_order(order_id),
    "write_metadata": lambda client, order_id: client.write_metadata(
        order_id, public={"a": "b"}, private={"a": "b"}, delete_private=["a"]
    ),
}


@pytest.mark.parametrize("call", sorted(CALLS))
async def test_revoked_token(call: str, saleor_fake: RunningSaleorFake) -> None:
    """Every call with a token Saleor no longer accepts says so, and changes nothing."""
    state = saleor_fake.state
    order = state.add_order()
    before = json.dumps(order)
    token = state.issue_token()
    state.revoke_token(token)

    async with client_for(saleor_fake, token) as client:
        with pytest.raises(SaleorTokenRevoked):
            await CALLS[call](client, order["id"])

    assert json.dumps(state.order(order["id"])) == before
    assert state.mutations == []


async def test_unknown_token(saleor_fake: RunningSaleorFake) -> None:
    async with client_for(saleor_fake, "x" * 30) as client:
        with pytest.raises(SaleorTokenRevoked):
            await client.app_id()


async def test_http_401_means_revoked(saleor_fake: RunningSaleorFake) -> None:
    saleor_fake.state.fail_next(1, status=401)

    async with client_for(saleor_fake) as client:
        with pytest.raises(SaleorTokenRevoked):
            await client.app_id()


@pytest.mark.parametrize("status", [500, 502, 503, 429])
async def test_server_errors_are_unavailable(status: int, saleor_fake: RunningSaleorFake) -> None:
    saleor_fake.state.fail_next(1, status=status)

    async with client_for(saleor_fake) as client:
        with pytest.raises(SaleorUnavailable, match=f"HTTP {status}"):
            await client.app_id()
        assert await client.app_id() == "QXBwOjQ="  # the next request succeeds


async def test_other_4xx_is_a_graphql_error(saleor_fake: RunningSaleorFake) -> None:
    saleor_fake.state.fail_next(1, status=400)

    async with client_for(saleor_fake) as client:
        with pytest.raises(SaleorGraphQLError, match="HTTP 400"):
            await client.app_id()


async def test_down(saleor_fake: RunningSaleorFake) -> None:
    saleor_fake.state.down = True

    async with client_for(saleor_fake) as client:
        with pytest.raises(SaleorUnavailable):
            await client.fetch_order(MISSING_ORDER)


async def test_unreachable() -> None:
    async with SaleorClient(saleor_api_url="http://127.0.0.1:9/graphql/", token="t" * 30) as client:
        with pytest.raises(SaleorUnavailable, match="could not be reached"):
            await client.app_id()


async def test_timeout() -> None:
    """A Saleor that does not answer in time is unavailable."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        client = SaleorClient(saleor_api_url="https://s.example/graphql/", token="t", http=http)
        with pytest.raises(SaleorUnavailable, match="ReadTimeout"):
            await client.app_id()


@CLIENT_KINDS
@pytest.mark.parametrize(
    "body",
    [
        b"<html>hi</html>",
        b"[1, 2]",
        b'"errors"',
        b"{}",
        b'{"data": null}',
        b'{"data": [], "errors": []}',
        b"\xff\xfe",
    ],
    ids=["html", "list", "string", "empty", "data-null", "no-data-object", "not-utf8"],
)
async def test_non_graphql_answer_is_unavailable(kind: str, body: bytes) -> None:
    """An answer with 200 that is no GraphQL result (an HTML page from a proxy or a wrong URL,
    JSON without a ``data`` object or ``errors``) is unavailable, never a crash."""
    async with answering(lambda _request: httpx.Response(200, content=body), kind) as client:
        with pytest.raises(SaleorUnavailable, match="did not answer with GraphQL") as raised:
            await client.app_id()
    assert failure_summary(raised.value) == "the URL did not answer like a Saleor GraphQL API"


async def test_shared_http_client_is_not_closed(saleor_fake: RunningSaleorFake) -> None:
    """A caller's httpx client stays open and usable for concurrent calls."""
    async with httpx.AsyncClient() as http:
        token = saleor_fake.state.issue_token()
        async with SaleorClient(saleor_api_url=saleor_fake.api_url, token=token, http=http) as c:
            ids = await asyncio.gather(*(c.app_id() for _ in range(10)))
        assert set(ids) == {"QXBwOjQ="}
        assert not http.is_closed


async def test_token_never_in_logs_or_errors(
    saleor_fake: RunningSaleorFake, caplog: pytest.LogCaptureFixture
) -> None:
    """Debug logs of httpx/httpcore and every exception message are free of the token."""
    state = saleor_fake.state
    token = state.issue_token()
    order = state.add_order()
    messages: list[str] = []
    caplog.set_level(logging.DEBUG)
    for library in ("httpx", "httpcore"):  # other tests may have quietened them
        caplog.set_level(logging.DEBUG, logger=library)

    async with client_for(saleor_fake, token) as client:
        await client.fetch_order(order["id"])
        await client.write_metadata(order["id"], public={"k": "v"}, private={})
        state.revoke_token(token)
        for call in (client.app_id(), client.fetch_order(order["id"])):
            with pytest.raises(SaleorTokenRevoked) as caught:
                await call
            messages.append(str(caught.value))
        state.down = True
        with pytest.raises(SaleorUnavailable) as unavailable:
            await client.app_id()
        messages.append(str(unavailable.value))

    assert caplog.records  # debug logging really was on
    assert token not in caplog.text
    assert all(token not in message for message in messages)
    assert token not in repr(client)


@CLIENT_KINDS
async def test_permission_denied_with_a_working_token_is_not_revocation(kind: str) -> None:
    """PermissionDenied on an order while ``{ app { id } }`` still works: a GraphQL error."""
    denied = {
        "data": {"order": None},
        "errors": [
            {
                "message": "You need one of the following permissions: MANAGE_ORDERS",
                "extensions": {"exception": {"code": "PermissionDenied"}},
            }
        ],
    }

    def handler(request: httpx.Request) -> httpx.Response:
        is_probe = b"AppId" in request.content
        return httpx.Response(
            200, json={"data": {"app": {"id": "QXBwOjQ="}}} if is_probe else denied
        )

    async with answering(handler, kind) as client:
        with pytest.raises(SaleorGraphQLError, match="denied OrderForGordon: You need"):
            await client.fetch_order(MISSING_ORDER)


@CLIENT_KINDS
async def test_permission_denied_and_a_refused_probe_is_revocation(kind: str) -> None:
    """PermissionDenied, and ``{ app { id } }`` answers ``app: null`` with PermissionDenied as
    Saleor does for a deleted app's token: the token is revoked."""
    denied = {
        "data": {"order": None, "app": None},
        "errors": [{"message": "no", "extensions": {"exception": {"code": "PermissionDenied"}}}],
    }
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append("AppId" if b"AppId" in request.content else "order")
        return httpx.Response(200, json=denied)

    async with answering(handler, kind) as client:
        with pytest.raises(SaleorTokenRevoked):
            await client.fetch_order(MISSING_ORDER)
    assert asked == ["order", "AppId"]


@pytest.mark.parametrize(
    "api_url",
    [
        "http://x:99999/graphql/",
        "http://[::1/graphql/",
        "http://x:port/graphql/",
        "http://xn--a.com/graphql/",
        "http://\u00e9\u0301xn--.com/graphql/",
    ],
    ids=["port-out-of-range", "unbalanced-ipv6", "port-not-a-number", "bad-punycode", "bad-idna"],
)
async def test_an_unusable_api_url_is_unavailable_not_a_crash(api_url: str) -> None:
    async with SaleorClient(saleor_api_url=api_url, token="t" * 30, timeout=2) as client:
        with pytest.raises(SaleorUnavailable, match="could not be reached"):
            await client.app_id()


@pytest.mark.parametrize(
    "raised",
    [httpx.InvalidURL("bad"), UnicodeError("idna")],
    ids=["invalid-url", "idna"],
)
def test_url_errors_outside_httpx_http_error_are_mapped(raised: Exception) -> None:
    """httpx.InvalidURL is not an httpx.HTTPError: it must not escape as a bare exception."""
    client = SaleorClient(saleor_api_url="https://s.example/graphql/", token="t")
    with pytest.raises(SaleorUnavailable, match="API URL is not usable"), client._map_errors("Op"):
        raise raised


@pytest.mark.parametrize(
    ("answer", "summary"),
    [
        (httpx.Response(401), "Saleor refused the token"),
        (httpx.Response(502), "Saleor answered HTTP 502"),
        (httpx.Response(404), "Saleor answered HTTP 404"),
        (httpx.Response(200, text="<html>"), "the URL did not answer like a Saleor GraphQL API"),
        (
            httpx.Response(200, json={"errors": [{"message": "remote"}]}),
            "Saleor answered with an error",
        ),
    ],
    ids=["401", "502", "404", "not-graphql", "graphql-error"],
)
@CLIENT_KINDS
async def test_failure_summary_is_a_fixed_clause(
    answer: httpx.Response, summary: str, kind: str
) -> None:
    async with answering(lambda _request: answer, kind) as client:
        with pytest.raises(SaleorError) as caught:
            await client.app_id()
    assert failure_summary(caught.value) == summary
    assert "remote" not in failure_summary(caught.value)


async def test_failure_summary_of_an_unreachable_saleor() -> None:
    async with SaleorClient(saleor_api_url="http://127.0.0.1:9/graphql/", token="t" * 30) as client:
        with pytest.raises(SaleorError) as caught:
            await client.app_id()
    assert failure_summary(caught.value) == "Saleor could not be reached"


@CLIENT_KINDS
@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_of_a_busy_saleor_is_kept(status: int, kind: str) -> None:
    """Saleor asking to wait (429/503 with Retry-After) is honoured by the job's retry."""

    def busy(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers={"Retry-After": "30"}, text="busy")

    async with answering(busy, kind) as client:
        with pytest.raises(SaleorUnavailable) as caught:
            await client.fetch_order("T3JkZXI6MQ==")

    assert caught.value.retry_after == 30.0
    assert caught.value.message == (
        f"Saleor answered HTTP {status} (OrderForGordon at {SHOP_URL})"
        + ("; try again later." if status == 429 else ".")
    )


def test_a_request_body_is_the_printed_document_and_the_variables() -> None:
    """The body gql sent (``query`` as graphql-core prints the document, ``variables`` left out
    when there are none), its query part serialised once per process."""
    first = request_body("OrderForGordon", {"id": "T3JkZXI6MQ=="})
    second = request_body("OrderForGordon", {"id": "T3JkZXI6Mg==", "note": "å \u2028"})
    printed = print_ast(parse(load_document("OrderForGordon")))

    assert parse_json(first) == {"query": printed, "variables": {"id": "T3JkZXI6MQ=="}}
    assert parse_json(second) == {
        "query": printed,
        "variables": {"id": "T3JkZXI6Mg==", "note": "å \u2028"},
    }
    assert parse_json(request_body("AppId", {})) == {
        "query": print_ast(parse(load_document("AppId")))
    }
    assert request_body("AppId", {}) is request_body("AppId", {})  # not serialised again


@CLIENT_KINDS
async def test_a_request_carries_the_token_and_json_and_nothing_of_httpx(kind: str) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": {"app": {"id": "QXBwOjQ="}}})

    async with answering(handler, kind) as client:
        assert await client.app_id() == "QXBwOjQ="
    (request,) = seen
    assert (request.method, str(request.url)) == ("POST", SHOP_URL)
    assert request.headers["authorization"] == "Bearer " + "t" * 30
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("saleor-gordon/")
    assert parse_json(request.content) == {"query": print_ast(parse(load_document("AppId")))}
