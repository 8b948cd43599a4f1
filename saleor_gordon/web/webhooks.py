"""Webhook endpoints: read the request, have it checked, record it durably, acknowledge fast.

The checks are Saleor's protocol and live in ``saleor/webhooks.py`` (pure); this module is the
plumbing around them: the ASGI request's headers and body (with its size limit), the installation
looked up by the webhook's API URL before any network call, the signature verified against its
cached JWKS or a refetched one (``web/signing_keys.py``: at most one refetch per installation per
limiter window), the inbox, and the answers. No Gordon call happens here; the worker does that.

Saleor retries 5xx only (protocol §3.4), so an unknown key id that cannot be checked because
Saleor's keys cannot be fetched right now is answered 503, never 401: a rotated key must not lose
the event.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterable, Awaitable, Callable, Mapping
from dataclasses import dataclass

from prometheus_client import Counter
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from saleor_gordon import metrics
from saleor_gordon.errors import InstallationGone, SecretsError, StoreUnavailable, WebhookRejected
from saleor_gordon.observability import sanitize_url
from saleor_gordon.runtime import Runtime
from saleor_gordon.saleor import webhooks
from saleor_gordon.saleor.manifest import APP_DELETED_WEBHOOK_PATH, ORDERS_WEBHOOK_PATH
from saleor_gordon.saleor.webhooks import SignedWebhook
from saleor_gordon.web.error_responses import (
    error_response,
    internal_error_response,
    log_client_disconnected,
    refusal_response,
    secrets_unreadable_response,
    store_unavailable_response,
)
from saleor_gordon.web.request_body import asgi_body_chunks, read_limited_chunks
from saleor_gordon.web.signing_keys import (
    VerifyingInstallation,
    load_verifying_installation,
    verify_with_fresh_keys,
)

logger = logging.getLogger(__name__)

IDENTITY_MAX_AGE_SECONDS = 10.0
"""How old the installation data that verifies a webhook may be (store/installations.py says
how it stays correct: this process forgets it on every change, other processes' deletions fail
the insert, a key rotation refetches)."""


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
        self._endpoints: dict[str, Callable[[SignedRequestSource], Awaitable[ASGIApp]]] = {
            ORDERS_WEBHOOK_PATH: self.order_webhook,
            APP_DELETED_WEBHOOK_PATH: self.app_deleted_webhook,
        }

    def serves(self, scope: Scope) -> bool:
        return scope["type"] == "http" and _route_path(scope) in self._endpoints

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = _route_path(scope)
        response: ASGIApp
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

    async def order_webhook(self, request: SignedRequestSource) -> ASGIApp:
        runtime = self.runtime
        try:
            webhook = await read_webhook(request, allowed_events=webhooks.ORDER_WEBHOOKS)
            installation = await verify_webhook(runtime, webhook, max_age=IDENTITY_MAX_AGE_SECONDS)
            try:
                return await record_order_event(runtime, installation, webhook)
            except InstallationGone:
                # Deleted by another process since it was read (or reinstalled under a new id):
                # check again against what is stored now.
                installation = await verify_webhook(runtime, webhook, max_age=0)
                try:
                    return await record_order_event(runtime, installation, webhook)
                except InstallationGone as exc:
                    raise _not_registered(webhook.saleor_api_url) from exc
        except WebhookRejected:
            event = request.headers.get(webhooks.EVENT_HEADER, "").upper()
            label = event if event in webhooks.ORDER_WEBHOOKS else "other"  # bounded values
            _count(label, "rejected")
            raise

    async def app_deleted_webhook(self, request: SignedRequestSource) -> ASGIApp:
        webhook = await read_webhook(request, allowed_events=webhooks.APP_DELETED_WEBHOOKS)
        installation = await verify_webhook(self.runtime, webhook)
        return await remove_installation(self.runtime, installation, webhook)


@dataclass(frozen=True)
class SignedRequestSource:
    """A webhook request as it arrives: the headers the endpoints read (by lower-case name, the
    first value of each) and its body, not yet read."""

    headers: Mapping[str, str]
    body_chunks: AsyncIterable[bytes]


_CONTENT_LENGTH_HEADER = "content-length"
_READ_HEADERS = {
    name.encode("latin-1"): name
    for name in (
        webhooks.API_URL_HEADER,
        webhooks.EVENT_HEADER,
        webhooks.SIGNATURE_HEADER,
        _CONTENT_LENGTH_HEADER,
    )
}


async def read_webhook(
    request: SignedRequestSource, *, allowed_events: frozenset[str]
) -> SignedWebhook:
    """The request's headers checked, then its body read (size-limited) and checked; raise
    WebhookRejected (coded, with a status) for the first fault."""
    head = webhooks.parse_headers(request.headers, allowed_events=allowed_events)
    body = await read_limited_chunks(
        request.headers.get(_CONTENT_LENGTH_HEADER), request.body_chunks
    )
    return webhooks.parse_body(head, body)


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


async def verify_webhook(
    runtime: Runtime, webhook: SignedWebhook, *, max_age: float = 0.0
) -> VerifyingInstallation:
    """The installation that ``webhook`` verifiably comes from; raise WebhookRejected (coded,
    with a status) otherwise.

    ``max_age``: how old the installation's data may be (see IDENTITY_MAX_AGE_SECONDS).
    """
    installation = await load_verifying_installation(
        runtime, webhook.saleor_api_url, max_age=max_age
    )
    if installation is None:
        raise _not_registered(webhook.saleor_api_url)
    await verify_with_fresh_keys(
        runtime,
        installation,
        webhook.verify,
        unavailable_message=(
            "The webhook is signed with a key the app does not know yet, and Saleor's signing "
            "keys cannot be fetched right now; Saleor may retry the delivery later."
        ),
    )
    return installation


def _not_registered(saleor_api_url: str) -> WebhookRejected:
    return WebhookRejected(
        "NOT_REGISTERED",
        f"No installation for {sanitize_url(saleor_api_url)}; install the app in this Saleor "
        "first.",
        status_hint=401,
    )


async def record_order_event(
    runtime: Runtime, installation: VerifyingInstallation, webhook: SignedWebhook
) -> ASGIApp:
    received, ignored = webhooks.order_event(
        webhook, installation_id=installation.id, app_id=installation.app_id
    )
    if ignored is not None:
        # Verified, and it only tells the app about its own metadata write: nothing to do and
        # nothing to keep, so no database write (two of every synced order's three webhooks).
        _count(webhook.event, "ignored")
        return JsonAnswer({"success": True, "duplicate": False, "ignored": ignored, "job_id": None})
    result = await runtime.inbox.record_order_event(received, now=runtime.clock())
    outcome = "duplicate" if result.duplicate else "accepted"
    _count(webhook.event, outcome)
    # DEBUG: one line per webhook costs a tenth of the ingest path; Saleor's delivery log, the
    # webhooks counter of /metrics and the job's own lines tell the same story at INFO.
    logger.debug(
        "webhook.received event=%s order_id=%s duplicate=%s job_id=%s",
        webhook.event,
        received.order_id,
        result.duplicate,
        result.job_id,
    )
    return JsonAnswer(
        {"success": True, "duplicate": result.duplicate, "ignored": None, "job_id": result.job_id}
    )


class JsonAnswer:
    """A webhook endpoint's 200 answer (both endpoints; refusals are ``web/error_responses.py``'s):
    the JSON body and headers ``JSONResponse`` sends (compact JSON, ``content-length``,
    ``content-type: application/json``), sent as its two ASGI messages without building a
    Starlette response and its header list per webhook of a burst."""

    __slots__ = ("body",)

    def __init__(self, content: Mapping[str, object]) -> None:
        self.body = json.dumps(
            content, ensure_ascii=False, allow_nan=False, separators=(",", ":")
        ).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-length", b"%d" % len(self.body)), _JSON_CONTENT_TYPE]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": self.body})


_JSON_CONTENT_TYPE = (b"content-type", b"application/json")
_COUNTERS: dict[tuple[str, str], Counter] = {}


def _count(event: str, outcome: str) -> None:
    """One more webhook of ``event`` with ``outcome`` on /metrics (the labelled counter looked
    up once per pair: both are from small fixed sets)."""
    counter = _COUNTERS.get((event, outcome))
    if counter is None:
        counter = _COUNTERS[(event, outcome)] = metrics.WEBHOOKS.labels(event, outcome)
    counter.inc()


async def remove_installation(
    runtime: Runtime, installation: VerifyingInstallation, webhook: SignedWebhook
) -> ASGIApp:
    if webhooks.deleted_app_id(webhook) != installation.app_id:
        return JsonAnswer({"success": True, "ignored": "another app was deleted"})
    await runtime.installations.delete_installation(installation.id)
    logger.info("installation.deleted saleor_api_url=%s", sanitize_url(installation.saleor_api_url))
    return JsonAnswer({"success": True})
