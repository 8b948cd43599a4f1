"""``POST /api/register``: Saleor hands over the app token at installation.

The checks run in the order of Saleor's official SDK (register-action-handler.ts, protocol §2.3),
with the outbound policy's in front of every call:

request shape -> rate (per client address, then per claimed Saleor's server, however its URL is
spelled) -> the Saleor API URL may be
called (allow-list, no internal address) -> the token is this app's in that Saleor
(``{ app { id identifier } }``: the identifier of this app's manifest) -> the JWKS of that Saleor
can be fetched -> store (a new app id for the same Saleor replaces the old installation: our own
reinstall).

Refusals say what to fix in the app's own words; one message covers every way the claimed Saleor
can fail to answer like a Saleor, so the answer tells nothing about what listens at the URL.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from saleor_gordon.core.destinations import UrlParts, url_form_problem
from saleor_gordon.core.kept_text import keepable_text
from saleor_gordon.errors import (
    RegistrationRefused,
    SaleorError,
    SaleorGraphQLError,
    SaleorTokenRevoked,
    WebhookRejected,
)
from saleor_gordon.json_text import parse_json_object
from saleor_gordon.observability import sanitize_url
from saleor_gordon.outbound import (
    DestinationKind,
    DestinationNotAllowed,
    OutboundPolicy,
)
from saleor_gordon.runtime import Runtime
from saleor_gordon.saleor import headers
from saleor_gordon.saleor.api_url import saleor_api_url_problem
from saleor_gordon.saleor.graphql_client import AppIdentity
from saleor_gordon.saleor.jwks import JwksUnavailable, fetch_jwks
from saleor_gordon.saleor.manifest import APP_ID, APP_NAME
from saleor_gordon.store.tables import MAX_APP_ID_CHARS
from saleor_gordon.web.attempt_limits import AttemptLimiter
from saleor_gordon.web.error_responses import error_response
from saleor_gordon.web.request_body import read_limited_body

logger = logging.getLogger(__name__)

TOO_MANY = "TOO_MANY_REGISTRATIONS"


def registration_router(runtime: Runtime) -> APIRouter:
    router = APIRouter()
    per_client = AttemptLimiter(runtime.settings.register_rate_per_client)
    per_saleor = AttemptLimiter(runtime.settings.register_rate_per_saleor)

    @router.post("/api/register")
    async def register(request: Request) -> JSONResponse:
        saleor_api_url = _saleor_api_url(request)
        token = _auth_token(await _read_body(request))
        client = request.client.host if request.client is not None else "unknown"
        wait = per_client.take(client)
        if wait:
            return _too_many("from this address", wait)
        # Counted per server, not per text: each spelling of one Saleor's URL (host in capitals,
        # ``:443``, another path) is the same Saleor, called as often.
        server = UrlParts.split(saleor_api_url).server
        wait = per_saleor.take(server)
        if wait:
            return _too_many(f"for the Saleor at {server}", wait)
        await register_installation(runtime, saleor_api_url=saleor_api_url, token=token)
        return JSONResponse({"success": True})

    return router


async def register_installation(runtime: Runtime, *, saleor_api_url: str, token: str) -> None:
    shown = sanitize_url(saleor_api_url)
    _check_destination(runtime, saleor_api_url)
    identity = await _verified_identity(runtime, saleor_api_url, token)
    jwks = await _saleor_jwks(runtime, saleor_api_url)
    previous = await runtime.installations.get_installation(saleor_api_url)
    await runtime.installations.save_installation(
        saleor_api_url=saleor_api_url,
        app_id=identity.id,
        token=token,
        jwks=jwks,
        now=runtime.clock(),
    )
    if previous is not None and previous.app_id != identity.id:
        logger.info(
            "installation.replaced saleor_api_url=%s old_app_id=%s new_app_id=%s",
            shown,
            previous.app_id,
            identity.id,
        )
    logger.info("installation.saved saleor_api_url=%s", shown)


def _check_destination(runtime: Runtime, saleor_api_url: str) -> None:
    """Refuse, before any call, a Saleor the outbound policy would not let the app call."""
    try:
        OutboundPolicy.from_settings(runtime.settings).check(DestinationKind.SALEOR, saleor_api_url)
    except DestinationNotAllowed as refused:
        raise _prohibited(saleor_api_url, refused) from None


def _prohibited(saleor_api_url: str, refused: DestinationNotAllowed) -> RegistrationRefused:
    return RegistrationRefused(
        "SALEOR_URL_PROHIBITED",
        f"This app does not serve {sanitize_url(saleor_api_url)}: the URL {refused.reason}. "
        "Ask its operator to allow this Saleor with the setting "
        "SALEOR_GORDON_ALLOWED_SALEOR_URLS.",
        status_hint=403,
    )


async def _verified_identity(runtime: Runtime, saleor_api_url: str, token: str) -> AppIdentity:
    client = runtime.saleor_client(saleor_api_url, token)
    shown = sanitize_url(saleor_api_url)
    try:
        identity = await client.app_identity()
    except SaleorError as exc:
        logger.warning(
            "installation.app_id_failed saleor_api_url=%s reason=%s",
            shown,
            type(exc.__cause__ or exc).__name__,
        )
        if isinstance(exc.__cause__, DestinationNotAllowed):  # resolved to an internal address
            raise _prohibited(saleor_api_url, exc.__cause__) from exc
        raise RegistrationRefused(
            "UNKNOWN_APP_ID",
            f"The app could not use the token Saleor sent against {shown}: "
            f"{_token_check_failure(exc, runtime)}. Make sure this API URL is reachable from "
            "the app (Saleor's PUBLIC_URL setting), then retry the installation.",
            status_hint=401,
        ) from exc
    if not identity.id or not keepable_text(identity.id, MAX_APP_ID_CHARS):
        # Before anything logs or stores it: the claimed Saleor chose it.
        logger.warning("installation.app_id_unusable saleor_api_url=%s", shown)
        raise RegistrationRefused(
            "UNKNOWN_APP_ID",
            f"The Saleor at {shown} answered with an app id the app cannot use (it must be one "
            f"line of at most {MAX_APP_ID_CHARS} characters); nothing was changed. Make sure "
            "this is the API URL of a Saleor, then retry the installation.",
            status_hint=401,
        )
    if identity.identifier != APP_ID:
        logger.warning("installation.foreign_token saleor_api_url=%s app_id=%s", shown, identity.id)
        raise RegistrationRefused(
            "FOREIGN_APP_TOKEN",
            f"The token belongs to another app in the Saleor at {shown}, not to {APP_NAME} "
            f"(manifest id {APP_ID}); nothing was changed. Install {APP_NAME} from its "
            "manifest URL in the Saleor Dashboard.",
            status_hint=401,
        )
    return identity


def _token_check_failure(exc: SaleorError, runtime: Runtime) -> str:
    """One clause per kind: Saleor's own refusals, or "nothing answered like a Saleor"."""
    if isinstance(exc, SaleorTokenRevoked):
        return "Saleor refused the token"
    if isinstance(exc, SaleorGraphQLError) and exc.__cause__ is None:
        return "Saleor answered with an error"
    seconds = runtime.settings.saleor_timeout_seconds
    return f"no Saleor GraphQL API answered there within {seconds:g} s"


async def _saleor_jwks(runtime: Runtime, saleor_api_url: str) -> dict[str, Any]:
    try:
        return await fetch_jwks(
            runtime.http, saleor_api_url, timeout=runtime.settings.saleor_timeout_seconds
        )
    except JwksUnavailable as exc:
        logger.warning(
            "installation.jwks_failed saleor_api_url=%s reason=%s",
            sanitize_url(saleor_api_url),
            exc.reason,
        )
        raise RegistrationRefused(
            "JWKS_NOT_AVAILABLE",
            f"The app could not fetch Saleor's signing keys: {exc.url} {exc.reason}. Without "
            "them webhooks cannot be verified; make sure this URL is reachable from the app, "
            "then retry the installation.",
            status_hint=401,
        ) from exc


def _too_many(whom: str, wait: float) -> JSONResponse:
    seconds = max(1, math.ceil(wait))
    response = error_response(
        TOO_MANY,
        f"Too many installation attempts {whom}; try again in {seconds} s.",
        status=429,
    )
    response.headers["Retry-After"] = str(seconds)
    return response


def _saleor_api_url(request: Request) -> str:
    value = request.headers.get(headers.API_URL, "").strip()
    if not value:
        raise RegistrationRefused(
            "MISSING_SALEOR_API_URL",
            f"The {headers.API_URL} header is missing; install the app from a Saleor Dashboard.",
        )
    problem = saleor_api_url_problem(value) or url_form_problem(value)
    if problem is not None:
        raise RegistrationRefused(
            "INVALID_SALEOR_API_URL",
            f"The {headers.API_URL} header {problem}; check Saleor's PUBLIC_URL setting.",
        )
    return value


async def _read_body(request: Request) -> bytes:
    try:
        return await read_limited_body(request)
    except WebhookRejected as exc:
        raise RegistrationRefused(exc.code, exc.message, status_hint=exc.status_hint) from exc


def _auth_token(body: bytes) -> str:
    try:
        payload = parse_json_object(body, code="INVALID_REQUEST_JSON")
    except WebhookRejected as exc:
        raise RegistrationRefused(exc.code, "Invalid request json.") from exc
    token = payload.get("auth_token")
    if not isinstance(token, str) or not token.strip():
        raise RegistrationRefused("MISSING_AUTH_TOKEN", "Missing auth token.")
    return token.strip()
