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
from collections.abc import AsyncIterable, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from saleor_gordon import metrics
from saleor_gordon.errors import InstallationGone, SecretsError, StoreUnavailable, WebhookRejected
from saleor_gordon.observability import sanitize_url
from saleor_gordon.runtime import Runtime
from saleor_gordon.saleor import headers
from saleor_gordon.saleor.manifest import (
    APP_DELETED_WEBHOOK_PATH,
    ORDER_EVENTS,
    ORDERS_WEBHOOK_PATH,
)
from saleor_gordon.saleor.signature import verify_webhook_signature
from saleor_gordon.store.inbox import ReceivedOrderEvent
from saleor_gordon.web.error_responses import (
    error_response,
    internal_error_response,
    log_client_disconnected,
    refusal_response,
    secrets_unreadable_response,
    store_unavailable_response,
)
from saleor_gordon.web.request_body import (
    asgi_body_chunks,
    parse_json_object,
    read_limited_chunks,
)
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


class WebhookEndpoints:
    """Saleor's two webhook endpoints, a bare ASGI app that ``web/app.py`` serves in front of
    FastAPI.

    Webhooks are the app's hot path: a sale or a bulk order update sends thousands at once, and
    Saleor waits for each answer. FastAPI's request machinery (the middleware stack, matching
    every route, dependency solving) cost as much per webhook as verifying and storing it, so
    these two paths skip it; errors get the same coded JSON bodies (``web/error_responses.py``).
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._endpoints: dict[str, Callable[[SignedRequestSource], Awaitable[JSONResponse]]] = {
            ORDERS_WEBHOOK_PATH: self.order_webhook,
            APP_DELETED_WEBHOOK_PATH: self.app_deleted_webhook,
        }

    def serves(self, scope: Scope) -> bool:
        return scope["type"] == "http" and _route_path(scope) in self._endpoints

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = _route_path(scope)
        if scope["method"] != "POST":
            response = error_response("WRONG_METHOD", "Method not allowed on this endpoint.")
        else:
            request = SignedRequestSource(_first_headers(scope), asgi_body_chunks(receive))
            try:
                response = await self._endpoints[path](request)
            except ClientDisconnect:
                log_client_disconnected(scope)
                return  # nobody to answer; an event handed to the inbox is committed anyway
            except WebhookRejected as exc:
                response = refusal_response(exc)
            except StoreUnavailable:
                response = store_unavailable_response()
            except SecretsError:
                response = secrets_unreadable_response(path)
            except Exception as exc:
                response = internal_error_response(scope, exc)
        await response(scope, receive, send)

    async def order_webhook(self, request: SignedRequestSource) -> JSONResponse:
        runtime = self.runtime
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
            event = request.headers.get(_EVENT_HEADER, "").upper()
            label = event if event in _ORDER_EVENTS else "other"  # bounded label values
            metrics.WEBHOOKS.labels(label, "rejected").inc()
            raise

    async def app_deleted_webhook(self, request: SignedRequestSource) -> JSONResponse:
        signed = await read_signed_request(request, allowed_events=frozenset({APP_DELETED}))
        return await remove_installation(self.runtime, await verify_webhook(self.runtime, signed))


@dataclass(frozen=True)
class SignedRequestSource:
    """A webhook request as it arrives: the headers the endpoints read (by lower-case name, the
    first value of each) and its body, not yet read."""

    headers: Mapping[str, str]
    body_chunks: AsyncIterable[bytes]


@dataclass(frozen=True)
class SignedRequest:
    """A webhook request whose headers and body are well-formed, not yet verified."""

    saleor_api_url: str
    event: str
    signature: str
    body: bytes
    payload: dict[str, Any]


_API_URL_HEADER = headers.API_URL.lower()
_EVENT_HEADER = headers.EVENT.lower()
_SIGNATURE_HEADER = headers.SIGNATURE.lower()
_CONTENT_LENGTH_HEADER = "content-length"
_READ_HEADERS = {
    name.encode("latin-1"): name
    for name in (_API_URL_HEADER, _EVENT_HEADER, _SIGNATURE_HEADER, _CONTENT_LENGTH_HEADER)
}


async def read_signed_request(
    request: SignedRequestSource, *, allowed_events: frozenset[str]
) -> SignedRequest:
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
    body = await read_limited_chunks(
        request.headers.get(_CONTENT_LENGTH_HEADER), request.body_chunks
    )
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


def _route_path(scope: Scope) -> str:
    """The path below the app's root path, as Starlette's router matches it."""
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    return path[len(root_path) :] if root_path and path.startswith(root_path) else path


def _first_headers(scope: Scope) -> dict[str, str]:
    """The headers a webhook endpoint reads, by lower-case name, the first of repeated ones (as
    Starlette's ``request.headers.get`` reads them). Only these are decoded: a webhook has a dozen
    others, and this runs for every one of a burst."""
    found: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name = _READ_HEADERS.get(raw_name) or _READ_HEADERS.get(raw_name.lower())
        if name is not None and name not in found:
            found[name] = raw_value.decode("latin-1")
    return found


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


def _required_header(request: SignedRequestSource, name: str) -> str:
    value = request.headers.get(name.lower(), "").strip()
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
