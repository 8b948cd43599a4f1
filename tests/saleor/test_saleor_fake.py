"""The Saleor fake behaves like the recorded Saleor 3.23.28 where the app can tell."""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from saleor_gordon.saleor import headers as saleor_headers
from saleor_gordon.saleor.manifest import build_manifest
from saleor_gordon.saleor.signature import (
    SignatureKeyUnknown,
    verify_webhook_signature,
)
from tests.saleor.conftest import Receiver
from tests.support import saleor_fake
from tests.support.fixtures import RunningSaleorFake
from tests.support.saleor_fake import (
    SaleorFakeState,
    create_saleor_fake,
    event_typename,
    load_schema,
    rfc7638_thumbprint,
)


def recorded_body(samples_dir: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((samples_dir / "graphql_responses" / name).read_text())
    return data


async def post_graphql(
    api_url: str, query: str, variables: dict[str, Any] | None = None, token: str | None = None
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient() as http:
        return await http.post(
            api_url, json={"query": query, "variables": variables}, headers=headers
        )


def decode_segment(segment: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    return data


def test_the_schema_is_looked_for_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake asks for its schema on every request and every webhook it renders: finding the
    file (stat, realpath) each time was 5 % of the harness in bench/pipeline.py's CPU regime."""
    schema = load_schema()

    def not_again() -> Path:
        raise AssertionError("the schema's file was looked for again")

    monkeypatch.setattr(saleor_fake, "schema_path", not_again)

    assert load_schema() is schema


class ScannedOrders(dict[str, dict[str, Any]]):
    """Orders that count how often all of them are read."""

    scans = 0

    def values(self) -> Any:
        self.scans += 1
        return super().values()


def test_an_order_line_is_found_where_it_was_last_without_reading_every_order() -> None:
    """``order_line`` (asked for each line of every order read) looks at the order it found the
    line in last before it scans every order: a scan took milliseconds once a benchmark had
    stored a hundred thousand orders. What it answers stays live: the order's line, none once
    the order is deleted, the order that has the line now."""
    state = SaleorFakeState(orders=ScannedOrders())
    first = state.add_order()
    line_id = first["lines"][0]["id"]
    orders = state.orders
    assert isinstance(orders, ScannedOrders)

    found_first = state.order_line(line_id)
    scans_first = orders.scans
    found_again = state.order_line(line_id)
    scans_again = orders.scans
    state.delete_order(first["id"])
    found_deleted = state.order_line(line_id)
    second = state.add_order(copy.deepcopy(first), id="T3JkZXI6c2Vjb25k", number="2")
    found_second = state.order_line(line_id)

    assert (found_first, scans_first) == ((first, first["lines"][0]), 1)
    assert (found_again, scans_again) == ((first, first["lines"][0]), 1)
    assert found_deleted is None
    assert found_second == (second, second["lines"][0])
    assert state.fulfillment("RnVsZmlsbG1lbnQ6bm9uZQ==") is None


class TestGraphQLEndpoint:
    """POST /graphql/."""

    @pytest.mark.parametrize(
        ("query", "message"),
        [
            ("{ app { nope } }", "Cannot query field 'nope' on type 'App'."),
            ('{ order(nope: "x") { id } }', "Unknown argument 'nope'"),
            ("query { app { id } ", "Syntax Error"),
        ],
    )
    async def test_rejects_invalid_graphql(
        self, query: str, message: str, saleor_fake: RunningSaleorFake
    ) -> None:
        response = await post_graphql(
            saleor_fake.api_url, query, token=saleor_fake.state.issue_token()
        )

        assert response.status_code == 400
        assert message in json.dumps(response.json()["errors"])

    async def test_rejects_a_body_without_query(self, saleor_fake: RunningSaleorFake) -> None:
        async with httpx.AsyncClient() as http:
            response = await http.post(saleor_fake.api_url, content=b"not json")

        assert response.status_code == 400

    @pytest.mark.parametrize("name", ["app_id_invalid_token.json", "app_id_no_token.json"])
    async def test_refused_token_answers_like_saleor(
        self, name: str, saleor_fake: RunningSaleorFake, samples_dir: Path
    ) -> None:
        """HTTP 200, ``app: null`` and the very same PermissionDenied error."""
        recorded = recorded_body(samples_dir, name)
        token = "x" * 30 if "invalid" in name else None

        response = await post_graphql(
            saleor_fake.api_url, recorded["request"]["query"], token=token
        )

        assert response.status_code == 200
        assert response.json()["data"] == recorded["body"]["data"]
        assert response.json()["errors"] == recorded["body"]["errors"]

    async def test_app_id_answers_like_saleor(
        self, saleor_fake: RunningSaleorFake, samples_dir: Path
    ) -> None:
        recorded = recorded_body(samples_dir, "app_id_app_token.json")
        token = saleor_fake.state.issue_token()

        response = await post_graphql(
            saleor_fake.api_url, recorded["request"]["query"], token=token
        )

        assert response.json()["data"] == recorded["body"]["data"]
        assert len(token) == 30

    @pytest.mark.parametrize(
        "name", ["order_malformed_id_app_token.json", "order_not_found_app_token.json"]
    )
    async def test_order_lookups_answer_like_saleor(
        self, name: str, saleor_fake: RunningSaleorFake, samples_dir: Path
    ) -> None:
        recorded = recorded_body(samples_dir, name)
        request = recorded["request"]

        response = await post_graphql(
            saleor_fake.api_url, request["query"], request["variables"],
            token=saleor_fake.state.issue_token(),
        )  # fmt: skip

        assert response.json()["data"] == recorded["body"]["data"]
        assert response.json().get("errors") == recorded["body"].get("errors")

    async def test_recorded_order_query_returns_the_recorded_order(
        self, saleor_fake: RunningSaleorFake, samples_dir: Path, recorded_order: dict[str, Any]
    ) -> None:
        """Fragment O of the recording, executed by the fake, gives back the recorded data."""
        recorded = recorded_body(samples_dir, "order_by_id_app_token.json")
        saleor_fake.state.add_order(recorded_order)

        response = await post_graphql(
            saleor_fake.api_url, recorded["request"]["query"], recorded["request"]["variables"],
            token=saleor_fake.state.issue_token(),
        )  # fmt: skip

        assert response.json()["data"] == recorded["body"]["data"]

    async def test_shop_and_channels(self, saleor_fake: RunningSaleorFake) -> None:
        token = saleor_fake.state.issue_token()

        response = await post_graphql(
            saleor_fake.api_url,
            "query ShopInfo { shop { version } channels { slug } }",
            token=token,
        )

        assert response.json()["data"] == {
            "shop": {"version": "3.23.28"},
            "channels": [{"slug": "sverige"}],
        }
        assert saleor_fake.state.requests["ShopInfo"] == 1

    async def test_orders_filters_sorts_and_pages(self, saleor_fake: RunningSaleorFake) -> None:
        state = saleor_fake.state
        token = state.issue_token()
        orders = [
            state.add_order(
                created=f"2026-11-{10 + i}T12:00:00+00:00",
                updatedAt=f"2026-11-{20 - i}T12:00:00+00:00",
            )
            for i in range(5)
        ]
        numbers = [o["number"] for o in orders]
        query = """query Orders($where: OrderWhereInput, $filter: OrderFilterInput,
              $sort: OrderSortingInput, $after: String) {
          orders(where: $where, filter: $filter, sortBy: $sort, first: 2, after: $after) {
            totalCount edges { node { number } } pageInfo { hasNextPage endCursor } } }"""

        async def page(**variables: Any) -> dict[str, Any]:
            response = await post_graphql(saleor_fake.api_url, query, variables, token=token)
            assert response.status_code == 200, response.text
            result: dict[str, Any] = response.json()["data"]["orders"]
            return result

        def got(result: dict[str, Any]) -> list[str]:
            return [edge["node"]["number"] for edge in result["edges"]]

        created = {"createdAt": {"gte": "2026-11-11T00:00:00+00:00",
                                 "lte": "2026-11-13T12:00:00+00:00"}}  # fmt: skip
        first = await page(where=created)
        second = await page(where=created, after=first["pageInfo"]["endCursor"])
        assert (got(first), first["totalCount"], first["pageInfo"]["hasNextPage"]) == (
            numbers[1:3], 3, True,
        )  # fmt: skip
        assert (got(second), second["pageInfo"]["hasNextPage"]) == (numbers[3:4], False)
        updated = {"updatedAt": {"gte": "2026-11-19T00:00:00+00:00"}}
        assert got(await page(where=updated)) == numbers[0:2]
        assert got(await page(filter=updated)) == numbers[0:2]
        by_update = {"field": "LAST_MODIFIED_AT", "direction": "ASC"}
        assert got(await page(sort=by_update)) == [numbers[4], numbers[3]]
        descending = {"field": "NUMBER", "direction": "DESC"}
        last = await page(sort=descending)
        assert got(last) == [numbers[4], numbers[3]]
        after = await page(sort=descending, after=last["pageInfo"]["endCursor"])
        assert got(after) == [numbers[2], numbers[1]]
        assert (
            got(await page(filter={"created": {"gte": "2026-11-13", "lte": "2026-11-14"}}))
            == (numbers[3:5])
        )
        assert got(await page(where={"ids": [orders[2]["id"]]})) == [numbers[2]]
        assert got(await page(filter={"numbers": [numbers[0]]})) == [numbers[0]]
        state.update_order(orders[1]["id"], status="CANCELED")
        assert got(await page(where={"status": {"oneOf": ["CANCELED"]}})) == [numbers[1]]

    async def test_orders_where_refused_like_a_saleor_before_3_22(
        self, saleor_fake: RunningSaleorFake
    ) -> None:
        saleor_fake.state.orders_where = False
        token = saleor_fake.state.issue_token()

        refused = await post_graphql(
            saleor_fake.api_url, "{ orders(where: {}, first: 1) { totalCount } }", token=token
        )
        legacy = await post_graphql(
            saleor_fake.api_url, "{ orders(filter: {}, first: 1) { totalCount } }", token=token
        )

        assert refused.status_code == 400
        assert refused.json()["errors"][0]["message"] == (
            "Unknown argument 'where' on field 'Query.orders'."
        )
        assert legacy.json()["data"] == {"orders": {"totalCount": 0}}

    async def test_down_and_failing(self, saleor_fake: RunningSaleorFake) -> None:
        state = saleor_fake.state
        state.fail_next(2, status=502)

        statuses = [
            (await post_graphql(saleor_fake.api_url, "{ shop { version } }")).status_code
            for _ in range(3)
        ]
        state.down = True
        down = await post_graphql(saleor_fake.api_url, "{ shop { version } }")

        assert statuses == [502, 502, 200]
        assert down.status_code == 503

        assert state.refused == 3

    async def test_unavailable_for_a_stretch(self, saleor_fake: RunningSaleorFake) -> None:
        state = saleor_fake.state
        base_url = saleor_fake.api_url.removesuffix("/graphql/")
        state.unavailable_for(600)

        async with httpx.AsyncClient() as http:
            jwks = await http.get(base_url + "/.well-known/jwks.json")
        during = await post_graphql(saleor_fake.api_url, "{ shop { version } }")
        assert (jwks.status_code, during.status_code) == (503, 503)
        assert state.unavailable
        assert state.refused == 2

        state.unavailable_for(0)  # the stretch is over
        after = await post_graphql(saleor_fake.api_url, "{ shop { version } }")
        assert after.status_code == 200
        assert not state.unavailable
        assert state.refused == 2


class TestSigning:
    """Keys, JWKS and signatures."""

    def test_signature_header_is_like_saleors(self, samples_dir: Path) -> None:
        """Same protected header as the recorded webhooks, except the kid."""
        sample = json.loads((samples_dir / "s01_se_paid/02_order_created/headers.json").read_text())
        state = SaleorFakeState()

        ours = state.sign(b'{"a": 1}').split(".")
        theirs = sample["Saleor-Signature"].split(".")

        assert ours[1] == theirs[1] == ""
        assert decode_segment(ours[0]) == decode_segment(theirs[0]) | {"kid": state.signing_key.kid}
        assert list(decode_segment(ours[0])) == list(decode_segment(theirs[0]))

    def test_kid_is_the_thumbprint(self) -> None:
        key = SaleorFakeState().signing_key
        jwk = key.public_jwk

        assert key.kid == jwk["kid"] == rfc7638_thumbprint(n=str(jwk["n"]), e=str(jwk["e"]))

    def test_rotation(self) -> None:
        state = SaleorFakeState()
        old_jwks, old_signature = state.jwks, state.sign(b"{}")

        state.rotate_key(keep_old=True)
        verify_webhook_signature(b"{}", old_signature, state.jwks)
        verify_webhook_signature(b"{}", state.sign(b"{}"), state.jwks)
        state.rotate_key()

        with pytest.raises(SignatureKeyUnknown):
            verify_webhook_signature(b"{}", old_signature, state.jwks)
        with pytest.raises(SignatureKeyUnknown):
            verify_webhook_signature(b"{}", state.sign(b"{}"), old_jwks)

    async def test_jwks_endpoint(self, saleor_fake: RunningSaleorFake) -> None:
        state = saleor_fake.state
        state.rotate_key(keep_old=True)
        origin = saleor_fake.api_url.removesuffix("/graphql/")

        async with httpx.AsyncClient() as http:
            served = (await http.get(f"{origin}/.well-known/jwks.json")).json()
            state.serve_jwks({"keys": []})
            overridden = (await http.get(f"{origin}/.well-known/jwks.json")).json()

        assert [k["kid"] for k in served["keys"]] == [k.kid for k in state.keys]
        assert overridden == {"keys": []}
        assert state.jwks_fetches == 2


class TestWebhooks:
    """Webhook requests, installation and deliveries."""

    def test_webhook_request_is_like_saleors(self, samples_dir: Path) -> None:
        state = SaleorFakeState()
        order = state.add_order()
        sample = json.loads(
            (samples_dir / "s01_se_paid/04_order_fully_paid/headers.json").read_text()
        )

        headers, body = state.webhook_request(
            "ORDER_FULLY_PAID", state.order_event_payload("ORDER_FULLY_PAID", order["id"])
        )

        verify_webhook_signature(body, headers[saleor_headers.SIGNATURE], state.jwks)
        assert headers[saleor_headers.EVENT] == "order_fully_paid"
        assert headers[saleor_headers.API_URL] == state.api_url
        assert headers[saleor_headers.DOMAIN] == "127.0.0.1:8000"
        expected = {k for k in sample if k.lower().startswith(("saleor-", "x-saleor-"))}
        assert expected <= set(headers)

    def test_body_is_serialised_like_saleors(self) -> None:
        """``", "`` / ``": "`` separators and \\u escapes, as in samples/*/body.raw."""
        _, body = SaleorFakeState().webhook_request("ORDER_UPDATED", {"city": "ÄLVSJÖ", "n": 1})

        assert body == b'{"city": "\\u00c4LVSJ\\u00d6", "n": 1}'

    def test_order_event_payload_shape(self) -> None:
        """Like the OrderEvents subscription: typename, times, principal, recipient, order."""
        state = SaleorFakeState()
        order = state.add_order()
        state.install(build_manifest(app_url="http://127.0.0.1:1", version="1"))

        payload = state.order_event_payload("ORDER_FULLY_PAID", order["id"], principal=state.app())

        assert payload["__typename"] == "OrderFullyPaid"
        assert payload["version"] == "3.23.28"
        assert payload["issuingPrincipal"] == {"__typename": "App", "id": "QXBwOjQ="}
        assert payload["recipient"] == {"id": "QXBwOjQ="}
        assert payload["order"] == {
            "id": order["id"],
            "number": order["number"],
            "status": "UNFULFILLED",
        }
        assert event_typename("order_metadata_updated") == "OrderMetadataUpdated"

    async def test_install_app_registers_with_a_working_token(
        self, saleor_fake: RunningSaleorFake, receiver: Receiver
    ) -> None:
        """GET manifest, create webhooks, POST {"auth_token": ...} with Saleor's headers."""
        state = saleor_fake.state

        async with httpx.AsyncClient() as http:
            response = await state.install_app(http, f"{receiver.base_url}/api/manifest")

        path, headers, body = receiver.requests[0]
        token = json.loads(body)["auth_token"]
        assert response.status_code == 200
        assert path == "/api/register"
        assert headers["saleor-api-url"] == saleor_fake.api_url
        assert headers["saleor-schema-version"] == "3.23"
        assert state.accepts(token)
        assert [w.name for w in state.webhooks] == ["gordon-orders", "gordon-app-deleted"]

    async def test_metadata_write_emits_one_signed_webhook(
        self, saleor_fake: RunningSaleorFake, receiver: Receiver
    ) -> None:
        """A changing write sends ORDER_METADATA_UPDATED by the app; an identical one nothing."""
        state = saleor_fake.state
        token = state.install(build_manifest(app_url=receiver.base_url, version="1"))
        order = state.add_order()
        mutation = (
            "mutation($id: ID!, $input: [MetadataInput!]!) "
            "{ updatePrivateMetadata(id: $id, input: $input) { errors { code } } }"
        )
        variables = {"id": order["id"], "input": [{"key": "gordon.status", "value": "synced"}]}

        await post_graphql(saleor_fake.api_url, mutation, variables, token=token)
        await receiver.wait_for(1)
        await post_graphql(saleor_fake.api_url, mutation, variables, token=token)
        # witness instead of a pause: a changing write on another order, sent after the
        # identical one, whose webhook therefore comes after anything the identical one sent
        witness = state.add_order()
        witness_variables = {**variables, "id": witness["id"]}
        await post_graphql(saleor_fake.api_url, mutation, witness_variables, token=token)
        await receiver.wait_for(2)

        assert [json.loads(r[2])["order"]["id"] for r in receiver.requests] == [
            order["id"],
            witness["id"],
        ]
        assert [m.changed for m in state.mutations] == [True, False, True]
        path, headers, body = receiver.requests[0]
        verify_webhook_signature(body, headers["saleor-signature"], state.jwks)
        payload = json.loads(body)
        assert path == "/api/webhooks/orders"
        assert headers["saleor-event"] == "order_metadata_updated"
        assert payload["issuingPrincipal"] == {"__typename": "App", "id": state.app_id}
        assert payload["order"]["id"] == order["id"]
        assert state.deliveries[0].status == 200

    async def test_a_changing_metadata_write_is_told_to_the_listener_as_it_lands(
        self, saleor_fake: RunningSaleorFake, receiver: Receiver
    ) -> None:
        """``on_metadata_changed`` hears the order of each write that changed it, with the
        change already in the order; an identical write is not told."""
        state = saleor_fake.state
        token = state.install(build_manifest(app_url=receiver.base_url, version="1"))
        order = state.add_order()
        told: list[tuple[str, list[dict[str, str]]]] = []
        state.on_metadata_changed = lambda order_id: told.append(
            (order_id, copy.deepcopy(state.orders[order_id]["privateMetadata"]))
        )
        mutation = (
            "mutation($id: ID!, $input: [MetadataInput!]!) "
            "{ updatePrivateMetadata(id: $id, input: $input) { errors { code } } }"
        )
        synced = {"id": order["id"], "input": [{"key": "gordon.status", "value": "synced"}]}
        failed = {"id": order["id"], "input": [{"key": "gordon.status", "value": "failed"}]}

        await post_graphql(saleor_fake.api_url, mutation, synced, token=token)
        await post_graphql(saleor_fake.api_url, mutation, synced, token=token)
        await post_graphql(saleor_fake.api_url, mutation, failed, token=token)

        assert told == [
            (order["id"], [{"key": "gordon.status", "value": "synced"}]),
            (order["id"], [{"key": "gordon.status", "value": "failed"}]),
        ]

    async def test_the_webhooks_a_request_caused_are_in_flight_until_the_app_answers(
        self, saleor_fake: RunningSaleorFake, receiver: Receiver
    ) -> None:
        """``webhook_sends`` counts the echo of a metadata write as started when the write's
        answer starts to leave, and as finished only once the app has answered the echo; a
        write that changes nothing causes no webhook and counts nothing. (The request is made
        on the fake's ASGI app directly, to look at the count as the answer starts.)"""
        state = saleor_fake.state
        token = state.install(build_manifest(app_url=receiver.base_url, version="1"))
        order = state.add_order()
        receiver.gate = threading.Event()
        mutation = (
            "mutation($id: ID!, $input: [MetadataInput!]!) "
            "{ updatePrivateMetadata(id: $id, input: $input) { errors { code } } }"
        )
        variables = {"id": order["id"], "input": [{"key": "gordon.status", "value": "synced"}]}
        body = json.dumps({"query": mutation, "variables": variables}).encode()
        as_answered: list[tuple[int, int]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Mapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                assert message["status"] == 200
                as_answered.append(state.webhook_sends)

        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
            "scheme": "http", "path": "/graphql/", "raw_path": b"/graphql/", "query_string": b"",
            "root_path": "", "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
            "headers": [
                (b"content-type", b"application/json"),
                (b"authorization", f"Bearer {token}".encode()),
            ],
        }  # fmt: skip
        call = asyncio.create_task(create_saleor_fake(state)(scope, receive, send))
        await receiver.wait_for(1)  # the echo came; the receiver holds its answer

        assert as_answered == [(1, 0)]
        assert state.webhook_sends == (1, 0)
        receiver.gate.set()
        await call  # the request's webhooks are sent after its answer, in the same call
        assert state.webhook_sends == (1, 1)
        assert [(d.event, d.status) for d in state.deliveries] == [("order_metadata_updated", 200)]

        await post_graphql(saleor_fake.api_url, mutation, variables, token=token)  # identical
        assert state.webhook_sends == (1, 1)
        assert len(state.deliveries) == 1

    async def test_uninstall_sends_app_deleted(
        self, saleor_fake: RunningSaleorFake, receiver: Receiver
    ) -> None:
        state = saleor_fake.state
        token = state.install(build_manifest(app_url=receiver.base_url, version="1"))

        async with httpx.AsyncClient() as http:
            deliveries = await state.uninstall(http)

        path, headers, body = receiver.requests[0]
        assert [d.status for d in deliveries] == [200]
        assert path == "/api/webhooks/app-deleted"
        assert headers["saleor-event"] == "app_deleted"
        assert set(json.loads(body)) == {"__typename", "issuedAt", "version", "app"}
        assert not state.accepts(token)

    async def test_deliver_retries_like_saleor(self, receiver: Receiver) -> None:
        """5xx is retried; 4xx is not."""
        state = SaleorFakeState()
        receiver.statuses = [500, 503, 200, 404]
        target = f"{receiver.base_url}/api/webhooks/orders"
        payload = {"__typename": "OrderUpdated"}

        async with httpx.AsyncClient() as http:
            first = await state.deliver(http, target, "ORDER_UPDATED", payload, retries=5)
            second = await state.deliver(http, target, "ORDER_UPDATED", payload, retries=5)

        assert (first.status, second.status) == (200, 404)
        assert [d.status for d in state.deliveries] == [500, 503, 200, 404]
