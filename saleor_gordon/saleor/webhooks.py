"""Saleor's webhooks, read and checked without I/O (as gidgethub's ``Event.from_http``): headers and
raw body in, a signed webhook, a verified one or a coded refusal (``WebhookRejected``, with the
HTTP status Saleor should get) out.

The checks run in the order of Saleor's SDK (saleor-webhook-validator.ts, protocol §3.3), so that a
request is refused for its first fault: ``parse_headers`` (``Saleor-Api-Url``, ``Saleor-Event``,
``Saleor-Signature`` present; the URL usable; the event one the endpoint handles) before the body is
read, then ``parse_body`` (a JSON object of the event the header names). The caller looks the
installation up by its API URL and verifies the detached JWS with ``SignedWebhook.verify`` against
the installation's JWKS (``web/signing_keys.py`` refetches it once when Saleor rotated its keys).
``order_event`` then says what the app keeps of an order event, and whether it is ignored.

Headers are given by lower-case name, the first of repeated ones (as Starlette reads them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from saleor_gordon.core.kept_text import keepable_text
from saleor_gordon.core.order import MAX_ORDER_ID_CHARS, MAX_ORDER_NUMBER_CHARS
from saleor_gordon.core.order_events import ORDER_EVENTS, OrderEvent
from saleor_gordon.errors import WebhookRejected
from saleor_gordon.json_text import parse_json_object
from saleor_gordon.saleor import headers
from saleor_gordon.saleor.api_url import saleor_api_url_problem
from saleor_gordon.saleor.signature import verify_webhook_signature

APP_DELETED: Final = "APP_DELETED"
ORDER_WEBHOOKS: Final = frozenset(ORDER_EVENTS)
"""The events of the order webhook endpoint."""
APP_DELETED_WEBHOOKS: Final = frozenset({APP_DELETED})
"""The events of the app-deleted webhook endpoint."""

API_URL_HEADER: Final = headers.API_URL.lower()
EVENT_HEADER: Final = headers.EVENT.lower()
SIGNATURE_HEADER: Final = headers.SIGNATURE.lower()

OWN_METADATA_WRITE: Final = "the app's own metadata write"
"""Why an event is ignored: Saleor tells the app about the metadata the app wrote itself."""


@dataclass(frozen=True, slots=True)
class WebhookHeaders:
    """The headers of a webhook request, present and usable; the body not read yet."""

    saleor_api_url: str
    event: str
    """Upper-case event name, as in the manifest (``ORDER_FULLY_PAID``)."""
    signature: str


@dataclass(frozen=True, slots=True)
class SignedWebhook:
    """A webhook whose headers and body are well-formed; not verified yet (``verify``)."""

    saleor_api_url: str
    event: str
    signature: str
    body: bytes
    payload: dict[str, Any]

    def verify(self, jwks: Mapping[str, Any]) -> None:
        """Return only when the detached JWS signs this body with a key of ``jwks``.

        Raises:
            SignatureInvalid: (or a subclass) it does not.
        """
        verify_webhook_signature(self.body, self.signature, jwks)


def parse_headers(
    request_headers: Mapping[str, str], *, allowed_events: frozenset[str]
) -> WebhookHeaders:
    """The webhook's headers, checked before its body is read.

    Raises:
        WebhookRejected: MISSING_HEADER, INVALID_SALEOR_API_URL or WRONG_EVENT (400).
    """
    saleor_api_url = _required(request_headers, API_URL_HEADER, headers.API_URL)
    event = _required(request_headers, EVENT_HEADER, headers.EVENT).upper()
    signature = _required(request_headers, SIGNATURE_HEADER, headers.SIGNATURE)
    problem = saleor_api_url_problem(saleor_api_url)
    if problem is not None:
        raise WebhookRejected(
            "INVALID_SALEOR_API_URL", f"The {headers.API_URL} header {problem}.", status_hint=400
        )
    if event not in allowed_events:
        raise WebhookRejected(
            "WRONG_EVENT", f"This endpoint does not handle {event.lower()} events.", status_hint=400
        )
    return WebhookHeaders(saleor_api_url, event, signature)


def _required(request_headers: Mapping[str, str], key: str, name: str) -> str:
    value = request_headers.get(key, "").strip()
    if not value:
        raise WebhookRejected("MISSING_HEADER", f"The {name} header is missing.", status_hint=400)
    return value


def parse_body(head: WebhookHeaders, body: bytes) -> SignedWebhook:
    """The webhook with its body: a JSON object of the event its ``Saleor-Event`` header names.

    Raises:
        WebhookRejected: MALFORMED_JSON or WRONG_EVENT (400).
    """
    payload = parse_json_object(body)
    # Saleor signs the body, not the headers: the event is what the body says it is.
    expected = event_typename(head.event)
    if payload.get("__typename") != expected:
        raise WebhookRejected(
            "WRONG_EVENT",
            f"The body is not an {expected} event, as the {headers.EVENT} header says; is the "
            "webhook's subscription query the app's own?",
            status_hint=400,
        )
    return SignedWebhook(head.saleor_api_url, head.event, head.signature, body, payload)


def event_typename(event: str) -> str:
    """The GraphQL type of an event's payload: ``ORDER_FULLY_PAID`` -> ``OrderFullyPaid``."""
    return "".join(word.capitalize() for word in event.split("_"))


def order_event(
    webhook: SignedWebhook, *, installation_id: int, app_id: str
) -> tuple[OrderEvent, str | None]:
    """What the app keeps of a verified order webhook of the installation (``installation_id``,
    whose app is ``app_id``), and why it is ignored (None: it makes the order's job due).

    Raises:
        WebhookRejected: INVALID_PAYLOAD (400): the payload names no usable order.
    """
    payload = webhook.payload
    order = payload.get("order")
    order_id = (
        _storable_text(order.get("id"), MAX_ORDER_ID_CHARS) if isinstance(order, dict) else None
    )
    if not isinstance(order, dict) or not order_id:
        # Refused for good (Saleor does not redeliver a 4xx): it cannot become storable.
        raise WebhookRejected(
            "INVALID_PAYLOAD",
            "The payload has no usable order id (one line of at most "
            f"{MAX_ORDER_ID_CHARS} characters); is the webhook's subscription query the app's own?",
            status_hint=400,
        )
    principal = payload.get("issuingPrincipal")
    principal = principal if isinstance(principal, dict) else {}
    number = order.get("number")
    event = OrderEvent(
        installation_id=installation_id,
        event=webhook.event,
        order_id=order_id,
        order_number=_storable_text(
            str(number) if isinstance(number, str | int) else None, MAX_ORDER_NUMBER_CHARS
        ),
        issued_at=_storable_text(payload.get("issuedAt"), 64),
        principal_type=_storable_text(principal.get("__typename"), 16),
        principal_id=_storable_text(principal.get("id"), 255),
        body_sha256=hashlib.sha256(webhook.body).hexdigest(),
    )
    own_write = (
        event.event == "ORDER_METADATA_UPDATED"
        and event.principal_type == "App"
        and event.principal_id == app_id
    )
    return event, OWN_METADATA_WRITE if own_write else None


def deleted_app_id(webhook: SignedWebhook) -> str:
    """The id of the app an APP_DELETED webhook reports deleted.

    Raises:
        WebhookRejected: INVALID_PAYLOAD (400): the payload names no app.
    """
    app = webhook.payload.get("app")
    app_id = app.get("id") if isinstance(app, dict) else None
    if not isinstance(app_id, str):
        raise WebhookRejected(
            "INVALID_PAYLOAD", "The APP_DELETED payload names no app (app.id).", status_hint=400
        )
    return app_id


def _storable_text(value: object, limit: int) -> str | None:
    """``value`` if it is a string both databases can store in a column of ``limit`` characters
    and a log line shows as it is (``keepable_text``: no NUL, which PostgreSQL refuses, no lone
    surrogate, which JSON can carry and UTF-8 cannot, no line break), else None."""
    return value if isinstance(value, str) and keepable_text(value, limit) else None
