"""``POST /api/register``: Saleor hands over the app token at installation.

The checks run in the order of Saleor's official SDK (register-action-handler.ts, protocol §2.3):
request shape -> allow-list -> the token works against the claimed API URL (``{ app { id } }``)
-> the JWKS of that Saleor can be fetched -> store.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from saleor_gordon.errors import RegistrationRefused, SaleorError, WebhookRejected
from saleor_gordon.json_text import parse_json_object
from saleor_gordon.observability import sanitize_url
from saleor_gordon.runtime import Runtime
from saleor_gordon.saleor import headers
from saleor_gordon.saleor.api_url import saleor_api_url_problem
from saleor_gordon.saleor.graphql_client import failure_summary
from saleor_gordon.saleor.jwks import JwksUnavailable, fetch_jwks
from saleor_gordon.web.request_body import read_limited_body

logger = logging.getLogger(__name__)


def registration_router(runtime: Runtime) -> APIRouter:
    router = APIRouter()

    @router.post("/api/register")
    async def register(request: Request) -> JSONResponse:
        saleor_api_url = _saleor_api_url(request)
        token = _auth_token(await _read_body(request))
        await register_installation(runtime, saleor_api_url=saleor_api_url, token=token)
        return JSONResponse({"success": True})

    return router


async def register_installation(runtime: Runtime, *, saleor_api_url: str, token: str) -> None:
    shown = sanitize_url(saleor_api_url)
    if not runtime.settings.saleor_url_allowed(saleor_api_url):
        raise RegistrationRefused(
            "SALEOR_URL_PROHIBITED",
            f"This app does not serve {shown}. Ask its operator to allow this Saleor with the "
            "setting SALEOR_GORDON_ALLOWED_SALEOR_URLS.",
            status_hint=403,
        )
    app_id = await _verified_app_id(runtime, saleor_api_url, token)
    jwks = await _saleor_jwks(runtime, saleor_api_url)
    await runtime.installations.save_installation(
        saleor_api_url=saleor_api_url, app_id=app_id, token=token, jwks=jwks, now=runtime.clock()
    )
    logger.info("installation.saved saleor_api_url=%s", shown)


async def _verified_app_id(runtime: Runtime, saleor_api_url: str, token: str) -> str:
    client = runtime.saleor_client(saleor_api_url, token)
    shown = sanitize_url(saleor_api_url)
    try:
        return await client.app_id()
    except SaleorError as exc:
        logger.warning(
            "installation.app_id_failed saleor_api_url=%s reason=%s",
            shown,
            type(exc).__name__,
        )
        raise RegistrationRefused(
            "UNKNOWN_APP_ID",
            f"The app could not use the token Saleor sent against {shown}: "
            f"{failure_summary(exc)}. Make sure this API URL is reachable from the app "
            "(Saleor's PUBLIC_URL setting), then retry the installation.",
            status_hint=401,
        ) from exc


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


def _saleor_api_url(request: Request) -> str:
    value = request.headers.get(headers.API_URL, "").strip()
    if not value:
        raise RegistrationRefused(
            "MISSING_SALEOR_API_URL",
            f"The {headers.API_URL} header is missing; install the app from a Saleor Dashboard.",
        )
    problem = saleor_api_url_problem(value)
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
