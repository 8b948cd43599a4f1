"""``saleor.webhooks``: a webhook's headers and body, checked without I/O, on requests recorded from a
real Saleor 3.23.28 (tests/data/saleor/samples) and on what they must refuse."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from saleor_gordon.core.order_events import OrderEvent
from saleor_gordon.errors import WebhookRejected
from saleor_gordon.saleor import webhooks
from saleor_gordon.saleor.signature import SignatureInvalid
from saleor_gordon.saleor.webhooks import SignedWebhook, WebhookHeaders

PAID = "s01_se_paid/04_order_fully_paid"
METADATA_BY_APP = "s04_metadata_by_app/03_order_metadata_updated"
APP_DELETED = "s11_app_deleted/01_app_deleted"
RECORDED_APP_ID = "QXBwOjQ="


def recorded(samples_dir: Path, name: str) -> tuple[dict[str, str], bytes]:
    """A recorded request's headers (by lower-case name) and body."""
    folder = samples_dir / name
    headers = json.loads((folder / "headers.json").read_text(encoding="utf-8"))
    return {key.lower(): value for key, value in headers.items()}, (
        folder / "body.raw"
    ).read_bytes()


def refusal(exc: pytest.ExceptionInfo[WebhookRejected]) -> tuple[str, int, str]:
    return exc.value.code, exc.value.status_hint, exc.value.message


@pytest.fixture(scope="module")
def jwks(samples_dir: Path) -> dict[str, Any]:
    jwks: dict[str, Any] = json.loads((samples_dir / "jwks.json").read_bytes())
    return jwks


def test_a_recorded_order_webhook_is_read_and_verifies(
    samples_dir: Path, jwks: dict[str, Any]
) -> None:
    headers, body = recorded(samples_dir, PAID)

    head = webhooks.parse_headers(headers, allowed_events=webhooks.ORDER_WEBHOOKS)
    webhook = webhooks.parse_body(head, body)
    webhook.verify(jwks)

    assert head == WebhookHeaders(
        saleor_api_url="http://127.0.0.1:8000/graphql/",
        event="ORDER_FULLY_PAID",
        signature=headers["saleor-signature"],
    )
    assert (webhook.saleor_api_url, webhook.event, webhook.body) == (
        "http://127.0.0.1:8000/graphql/",
        "ORDER_FULLY_PAID",
        body,
    )
    assert webhook.payload["order"]["number"] == "45"


def test_a_tampered_body_does_not_verify(samples_dir: Path, jwks: dict[str, Any]) -> None:
    headers, body = recorded(samples_dir, PAID)
    head = webhooks.parse_headers(headers, allowed_events=webhooks.ORDER_WEBHOOKS)
    tampered = webhooks.parse_body(head, body.replace(b'"number": "45"', b'"number": "46"'))

    with pytest.raises(SignatureInvalid):
        tampered.verify(jwks)


@pytest.mark.parametrize(
    ("drop", "name"),
    [
        ("saleor-api-url", "Saleor-Api-Url"),
        ("saleor-event", "Saleor-Event"),
        ("saleor-signature", "Saleor-Signature"),
    ],
)
def test_a_missing_header_is_refused_by_its_name(samples_dir: Path, drop: str, name: str) -> None:
    headers, _ = recorded(samples_dir, PAID)
    headers[drop] = "  "  # blank counts as missing

    with pytest.raises(WebhookRejected) as exc:
        webhooks.parse_headers(headers, allowed_events=webhooks.ORDER_WEBHOOKS)

    assert refusal(exc) == ("MISSING_HEADER", 400, f"The {name} header is missing.")


def test_the_first_missing_header_is_the_one_named(samples_dir: Path) -> None:
    with pytest.raises(WebhookRejected) as exc:
        webhooks.parse_headers({}, allowed_events=webhooks.ORDER_WEBHOOKS)

    assert refusal(exc) == ("MISSING_HEADER", 400, "The Saleor-Api-Url header is missing.")


def test_an_unusable_api_url_is_refused_before_the_event_is_looked_at(samples_dir: Path) -> None:
    headers, _ = recorded(samples_dir, PAID)
    headers |= {"saleor-api-url": "ftp://shop.example.com/graphql/", "saleor-event": "nonsense"}

    with pytest.raises(WebhookRejected) as exc:
        webhooks.parse_headers(headers, allowed_events=webhooks.ORDER_WEBHOOKS)

    assert refusal(exc) == (
        "INVALID_SALEOR_API_URL",
        400,
        "The Saleor-Api-Url header is not an absolute http(s) URL.",
    )


def test_an_event_the_endpoint_does_not_handle_is_refused(samples_dir: Path) -> None:
    headers, _ = recorded(samples_dir, PAID)

    with pytest.raises(WebhookRejected) as exc:
        webhooks.parse_headers(headers, allowed_events=webhooks.APP_DELETED_WEBHOOKS)

    assert refusal(exc) == (
        "WRONG_EVENT",
        400,
        "This endpoint does not handle order_fully_paid events.",
    )


def test_a_body_of_another_event_than_the_header_says_is_refused(samples_dir: Path) -> None:
    _, body = recorded(samples_dir, PAID)
    head = WebhookHeaders("http://127.0.0.1:8000/graphql/", "ORDER_CREATED", "sig")

    with pytest.raises(WebhookRejected) as exc:
        webhooks.parse_body(head, body)

    assert refusal(exc) == (
        "WRONG_EVENT",
        400,
        "The body is not an OrderCreated event, as the Saleor-Event header says; is the "
        "webhook's subscription query the app's own?",
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[1, 2]", "The body must be a JSON object."),
        (b"{", "The body is not valid JSON (line 1, column 2: Expecting property name enclosed "
         "in double quotes)."),
    ],
)  # fmt: skip
def test_a_body_that_is_no_json_object_is_refused(body: bytes, message: str) -> None:
    head = WebhookHeaders("http://127.0.0.1:8000/graphql/", "ORDER_CREATED", "sig")

    with pytest.raises(WebhookRejected) as exc:
        webhooks.parse_body(head, body)

    assert refusal(exc) == ("MALFORMED_JSON", 400, message)


def _webhook(payload: dict[str, Any], event: str = "ORDER_UPDATED") -> SignedWebhook:
    body = json.dumps(payload).encode()
    return SignedWebhook("http://127.0.0.1:8000/graphql/", event, "sig", body, payload)


def test_an_order_event_keeps_identifiers_only(samples_dir: Path) -> None:
    headers, body = recorded(samples_dir, PAID)
    head = webhooks.parse_headers(headers, allowed_events=webhooks.ORDER_WEBHOOKS)
    webhook = webhooks.parse_body(head, body)

    event, ignored = webhooks.order_event(webhook, installation_id=7, app_id=RECORDED_APP_ID)

    assert ignored is None
    assert event == OrderEvent(
        installation_id=7,
        event="ORDER_FULLY_PAID",
        order_id="T3JkZXI6YjAzMGFmOTYtYmE3Zi00YjkyLTlmOGEtM2M4MTdmMDRhNmRk",
        order_number="45",
        issued_at="2026-11-27T00:29:13.724773+00:00",
        principal_type="User",
        principal_id="VXNlcjoyMQ==",
        body_sha256=hashlib.sha256(body).hexdigest(),
    )


def test_dedupe_keys_of_events_issued_in_time_order_ascend_whatever_their_orders() -> None:
    """The key starts with the time Saleor issued the event, so that the unique index on it
    grows at its end (random order ids first would put each event on a random index page); an
    event without a time is told by its body instead."""
    orders = ["T3JkZXI6eno=", "T3JkZXI6YWE=", "T3JkZXI6bW0="]  # not in key order
    times = ["2026-12-07T01:00:00.000001+00:00", "2026-12-07T01:00:00.000002+00:00"]
    events = [
        OrderEvent(1, event, order, None, issued_at, None, None, "f" * 64)
        for issued_at in times
        for event in ("ORDER_UPDATED", "ORDER_FULLY_PAID")
        for order in orders
    ]
    keys = [event.dedupe_key for event in events]
    timeless = replace(events[0], issued_at=None)

    assert max(keys[:6]) < min(keys[6:])  # every key of the later time after the earlier's
    assert len(set(keys)) == len(keys)
    assert keys[0] == "2026-12-07T01:00:00.000001+00:00|ORDER_UPDATED|T3JkZXI6eno="
    assert timeless.dedupe_key == "ORDER_UPDATED|T3JkZXI6eno=|" + "f" * 64


def test_the_app_s_own_metadata_write_is_ignored_another_app_s_is_not(samples_dir: Path) -> None:
    headers, body = recorded(samples_dir, METADATA_BY_APP)
    head = webhooks.parse_headers(headers, allowed_events=webhooks.ORDER_WEBHOOKS)
    webhook = webhooks.parse_body(head, body)

    _, own = webhooks.order_event(webhook, installation_id=7, app_id=RECORDED_APP_ID)
    _, other = webhooks.order_event(webhook, installation_id=7, app_id="QXBwOjk5")

    assert (own, other) == ("the app's own metadata write", None)


def test_only_a_metadata_event_can_be_the_app_s_own_write() -> None:
    payload = {
        "__typename": "OrderUpdated",
        "order": {"id": "T3JkZXI6MQ==", "number": 1},
        "issuingPrincipal": {"__typename": "App", "id": RECORDED_APP_ID},
    }

    event, ignored = webhooks.order_event(
        _webhook(payload), installation_id=1, app_id=RECORDED_APP_ID
    )

    assert (event.order_number, event.issued_at, ignored) == ("1", None, None)


@pytest.mark.parametrize(
    "order",
    [
        None,
        "T3JkZXI6MQ==",
        {"number": "1"},
        {"id": ""},
        {"id": 12},
        {"id": "x" * 256},
        {"id": "T3JkZXI6MQ==\x00"},
        {"id": "T3JkZXI6MQ==\nforged"},
    ],
    ids=["absent", "not-an-object", "no-id", "empty-id", "number-id", "too-long", "nul", "line"],
)
def test_an_order_event_without_a_usable_order_id_is_refused(order: object) -> None:
    with pytest.raises(WebhookRejected) as exc:
        webhooks.order_event(
            _webhook({"__typename": "OrderUpdated", "order": order}), installation_id=1, app_id="a"
        )

    assert refusal(exc) == (
        "INVALID_PAYLOAD",
        400,
        "The payload has no usable order id (one line of at most 255 characters); is the "
        "webhook's subscription query the app's own?",
    )


@pytest.mark.parametrize("number", ["n" * 65, "4\x005", "4\n5"], ids=["long", "nul", "line"])
def test_fields_a_column_cannot_hold_are_left_out(number: str) -> None:
    """PostgreSQL refuses a NUL in any text (the event's insert failed: 503, and Saleor
    redelivered it for ever)."""
    payload = {
        "__typename": "OrderUpdated",
        "order": {"id": "x" * 255, "number": number},
        "issuedAt": "\ud800",  # a lone surrogate: JSON carries it, UTF-8 cannot
        "issuingPrincipal": {"__typename": "A" * 17, "id": "p\x00"},
    }

    event, _ = webhooks.order_event(_webhook(payload), installation_id=1, app_id="a")

    assert (event.order_id, event.order_number, event.issued_at) == ("x" * 255, None, None)
    assert (event.principal_type, event.principal_id) == (None, None)


def test_the_longest_fields_a_column_holds_are_kept() -> None:
    payload = {
        "__typename": "OrderUpdated",
        "order": {"id": "x" * 255, "number": "9" * 64},
        "issuedAt": "2026-12-01T08:00:00.000000+00:00",
        "issuingPrincipal": {"__typename": "A" * 16, "id": "p" * 255},
    }

    event, _ = webhooks.order_event(_webhook(payload), installation_id=1, app_id="a")

    assert (event.order_id, event.order_number) == ("x" * 255, "9" * 64)
    assert (event.principal_type, event.principal_id) == ("A" * 16, "p" * 255)


def test_app_deleted_names_the_deleted_app(samples_dir: Path) -> None:
    headers, body = recorded(samples_dir, APP_DELETED)
    head = webhooks.parse_headers(headers, allowed_events=webhooks.APP_DELETED_WEBHOOKS)

    assert webhooks.deleted_app_id(webhooks.parse_body(head, body)) == RECORDED_APP_ID


@pytest.mark.parametrize("app", [None, {"name": "x"}, {"id": 4}])
def test_app_deleted_without_an_app_id_is_refused(app: object) -> None:
    with pytest.raises(WebhookRejected) as exc:
        webhooks.deleted_app_id(_webhook({"__typename": "AppDeleted", "app": app}, "APP_DELETED"))

    assert refusal(exc) == (
        "INVALID_PAYLOAD",
        400,
        "The APP_DELETED payload names no app (app.id).",
    )


def test_event_typenames_follow_saleor_s_naming() -> None:
    assert [webhooks.event_typename(e) for e in ("ORDER_FULLY_PAID", "APP_DELETED")] == [
        "OrderFullyPaid",
        "AppDeleted",
    ]
