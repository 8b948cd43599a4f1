"""Webhook endpoints: verify, record durably, acknowledge fast.

Verification follows Saleor's SDK (saleor-webhook-validator.ts, protocol §3.3) and fails closed:
headers -> event -> body size and JSON -> installation known (before any network call) -> the
detached RS256 JWS verifies against the cached JWKS, or against a refetched JWKS (at most one
refetch per installation per limiter window). No Gordon call happens here; the worker does that.

The refetch rules are in ``web/signing_keys.py``. Saleor retries 5xx only (protocol §3.4), so an
unknown key id that cannot be checked because Saleor's keys cannot be fetched right now is answered
503, never 401: a rotated key must not lose the event.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from saleor_gordon import metrics
from saleor_gordon.errors import InstallationGone, WebhookRejected
from saleor_gordon.observability import sanitize_url
from saleor_gordon.runtime import Runtime
from saleor_gordon.saleor import headers
from saleor_gordon.saleor.manifest import ORDER_EVENTS
from saleor_gordon.saleor.signature import verify_webhook_signature
from saleor_gordon.store.inbox import ReceivedOrderEvent
from saleor_gordon.web.request_body import parse_json_object, read_limited_body
from saleor_gordon.web.saleor_api_url import saleor_api_url_problem
from saleor_gordon.web.signing_keys import (
    VerifyingInstallation,
    load_verifying_installation,
    verify_with_fresh_keys,
)

logger = logging.getLogger(__name__)

APP_DELETED = "APP_DELETED"
_ORDER_EVENTS = frozenset(ORDER_EVENTS)
IDENTITY_MAX_AGE_SECONDS = 10.0
"""How old the installation data that verifies a webhook may be (store/installations.py says
how it stays correct: this process forgets it on every change, other processes' deletions fail
the insert, a key rotation refetches)."""


@dataclass(frozen=True)
class VerifiedWebhook:
    installation: VerifyingInstallation
    event: str
    """Upper-case event name, as in the manifest (``ORDER_FULLY_PAID``)."""
    body: bytes
    payload: dict[str, Any]


def webhook_router(runtime: Runtime) -> APIRouter:
    router = APIRouter()

    @router.post("/api/webhooks/orders")
    async def order_webhook(request: Request) -> JSONResponse:
        try:
            signed = await read_signed_request(request, allowed_events=_ORDER_EVENTS)
            webhook = await verify_webhook(runtime, signed, max_age=IDENTITY_MAX_AGE_SECONDS)
            try:
                return await record_order_event(runtime, webhook)
            except InstallationGone:
                # Deleted by another process since it was read (or reinstalled under a new id):
                # check again against what is stored now.
                webhook = await verify_webhook(runtime, signed, max_age=0)
                try:
                    return await record_order_event(runtime, webhook)
                except InstallationGone as exc:
                    raise _not_registered(signed.saleor_api_url) from exc
        except WebhookRejected:
            event = request.headers.get(headers.EVENT, "").upper()
            label = event if event in _ORDER_EVENTS else "other"  # bounded label values
            metrics.WEBHOOKS.labels(label, "rejected").inc()
            raise

    @router.post("/api/webhooks/app-deleted")
    async def app_deleted_webhook(request: Request) -> JSONResponse:
        signed = await read_signed_request(request, allowed_events=frozenset({APP_DELETED}))
        return await remove_installation(runtime, await verify_webhook(runtime, signed))

    return router


@dataclass(frozen=True)
class SignedRequest:
    """A webhook request whose headers and body are well-formed, not yet verified."""

    saleor_api_url: str
    event: str
    signature: str
    body: bytes
    payload: dict[str, Any]


async def read_signed_request(request: Request, *, allowed_events: frozenset[str]) -> SignedRequest:
    """Headers, event and body of a webhook; raise WebhookRejected (coded, with a status)."""
    saleor_api_url = _required_header(request, headers.API_URL)
    event = _required_header(request, headers.EVENT).upper()
    signature = _required_header(request, headers.SIGNATURE)
    problem = saleor_api_url_problem(saleor_api_url)
    if problem is not None:
        raise WebhookRejected(
            "INVALID_SALEOR_API_URL", f"The {headers.API_URL} header {problem}.", status_hint=400
        )
    if event not in allowed_events:
        raise WebhookRejected(
            "WRONG_EVENT", f"This endpoint does not handle {event.lower()} events.", status_hint=400
        )
    body = await read_limited_body(request)
    payload = parse_json_object(body)
    # Saleor signs the body, not the headers: the event is what the body says it is.
    expected = event_typename(event)
    if payload.get("__typename") != expected:
        raise WebhookRejected(
            "WRONG_EVENT",
            f"The body is not an {expected} event, as the {headers.EVENT} header says; is the "
            "webhook's subscription query the app's own?",
            status_hint=400,
        )
    return SignedRequest(saleor_api_url, event, signature, body, payload)


def event_typename(event: str) -> str:
    """The GraphQL type of an event's payload: ``ORDER_FULLY_PAID`` -> ``OrderFullyPaid``."""
    return "".join(word.capitalize() for word in event.split("_"))


async def verify_webhook(
    runtime: Runtime, signed: SignedRequest, *, max_age: float = 0.0
) -> VerifiedWebhook:
    """Return the verified webhook; raise WebhookRejected (coded, with a status) otherwise.

    ``max_age``: how old the installation's data may be (see IDENTITY_MAX_AGE_SECONDS).
    """
    installation = await load_verifying_installation(
        runtime, signed.saleor_api_url, max_age=max_age
    )
    if installation is None:
        raise _not_registered(signed.saleor_api_url)
    await verify_with_fresh_keys(
        runtime,
        installation,
        lambda jwks: verify_webhook_signature(signed.body, signed.signature, jwks),
        unavailable_message=(
            "The webhook is signed with a key the app does not know yet, and Saleor's signing "
            "keys cannot be fetched right now; Saleor may retry the delivery later."
        ),
    )
    return VerifiedWebhook(
        installation=installation, event=signed.event, body=signed.body, payload=signed.payload
    )


def _not_registered(saleor_api_url: str) -> WebhookRejected:
    return WebhookRejected(
        "NOT_REGISTERED",
        f"No installation for {sanitize_url(saleor_api_url)}; install the app in this Saleor "
        "first.",
        status_hint=401,
    )


def _required_header(request: Request, name: str) -> str:
    value = request.headers.get(name, "").strip()
    if not value:
        raise WebhookRejected("MISSING_HEADER", f"The {name} header is missing.", status_hint=400)
    return value


async def record_order_event(runtime: Runtime, webhook: VerifiedWebhook) -> JSONResponse:
    received = _received_order_event(webhook)
    ignored = _ignored_reason(webhook, received)
    result = await runtime.inbox.record_order_event(
        received, now=runtime.clock(), ignored_reason=ignored
    )
    if result.job_id is not None:
        runtime.wake_workers()
    outcome = "ignored" if ignored else "duplicate" if result.duplicate else "accepted"
    metrics.WEBHOOKS.labels(webhook.event, outcome).inc()
    # DEBUG: one line per webhook costs a tenth of the ingest path; Saleor's delivery log, the
    # webhooks counter of /metrics and the job's own lines tell the same story at INFO.
    logger.debug(
        "webhook.received event=%s order_id=%s duplicate=%s ignored=%s job_id=%s",
        webhook.event,
        received.order_id,
        result.duplicate,
        ignored or "",
        result.job_id,
    )
    return JSONResponse(
        {
            "success": True,
            "duplicate": result.duplicate,
            "ignored": ignored,
            "job_id": result.job_id,
        }
    )


def _received_order_event(webhook: VerifiedWebhook) -> ReceivedOrderEvent:
    order = webhook.payload.get("order")
    order_id = _storable_text(order.get("id"), 255) if isinstance(order, dict) else None
    if not isinstance(order, dict) or not order_id:
        raise WebhookRejected(
            "INVALID_PAYLOAD",
            "The payload has no usable order id (a string of at most 255 characters); is the "
            "webhook's subscription query the app's own?",
            status_hint=400,
        )
    principal = webhook.payload.get("issuingPrincipal")
    principal = principal if isinstance(principal, dict) else {}
    number = order.get("number")
    return ReceivedOrderEvent(
        installation_id=webhook.installation.id,
        event=webhook.event,
        order_id=order_id,
        order_number=_storable_text(str(number) if isinstance(number, str | int) else None, 64),
        issued_at=_storable_text(webhook.payload.get("issuedAt"), 64),
        principal_type=_storable_text(principal.get("__typename"), 16),
        principal_id=_storable_text(principal.get("id"), 255),
        body_sha256=hashlib.sha256(webhook.body).hexdigest(),
    )


def _ignored_reason(webhook: VerifiedWebhook, received: ReceivedOrderEvent) -> str | None:
    own_write = (
        webhook.event == "ORDER_METADATA_UPDATED"
        and received.principal_type == "App"
        and received.principal_id == webhook.installation.app_id
    )
    return "the app's own metadata write" if own_write else None


def _storable_text(value: object, limit: int) -> str | None:
    """``value`` if it is a string both databases can store in a column of ``limit`` characters
    (UTF-8 encodable: JSON can carry lone surrogates), else None."""
    if not isinstance(value, str) or len(value) > limit:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return value


async def remove_installation(runtime: Runtime, webhook: VerifiedWebhook) -> JSONResponse:
    app = webhook.payload.get("app")
    deleted_app_id = app.get("id") if isinstance(app, dict) else None
    if not isinstance(deleted_app_id, str):
        raise WebhookRejected(
            "INVALID_PAYLOAD", "The APP_DELETED payload names no app (app.id).", status_hint=400
        )
    if deleted_app_id != webhook.installation.app_id:
        return JSONResponse({"success": True, "ignored": "another app was deleted"})
    await runtime.installations.delete_installation(webhook.installation.id)
    logger.info(
        "installation.deleted saleor_api_url=%s",
        sanitize_url(webhook.installation.saleor_api_url),
    )
    return JSONResponse({"success": True})
