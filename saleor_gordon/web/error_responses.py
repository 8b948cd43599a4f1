"""One table from error codes to HTTP statuses, and the JSON error body.

Saleor retries 5xx and never 4xx (saleor-app-protocol.md §3.4): 4xx means "this request will
never be accepted", 503 means "try again". During installation Saleor shows ``error.message`` to
the person installing, so messages say what to do.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from saleor_gordon.errors import (
    ConfigProblem,
    DashboardRequestRefused,
    RegistrationRefused,
    SecretsError,
    StoreUnavailable,
    WebhookRejected,
)

logger = logging.getLogger(__name__)

STATUS_BY_CODE: dict[str, int] = {
    "MISSING_HEADER": 400,
    "MISSING_SALEOR_API_URL": 400,
    "INVALID_SALEOR_API_URL": 400,
    "WRONG_EVENT": 400,
    "INVALID_REQUEST_JSON": 400,
    "MISSING_AUTH_TOKEN": 400,
    "MALFORMED_JSON": 400,
    "INVALID_PAYLOAD": 400,
    "NOT_REGISTERED": 401,
    "SIGNATURE_VERIFICATION_FAILED": 401,
    "UNKNOWN_APP_ID": 401,
    "JWKS_NOT_AVAILABLE": 401,
    "FOREIGN_APP_TOKEN": 401,
    "SALEOR_URL_PROHIBITED": 403,
    "NOT_FOUND": 404,
    "INVALID_REQUEST": 422,
    "WRONG_METHOD": 405,
    "PAYLOAD_TOO_LARGE": 413,
    "TOO_MANY_REGISTRATIONS": 429,
    "INTERNAL_ERROR": 500,
    "SECRETS_UNREADABLE": 500,
    "STORE_UNAVAILABLE": 503,
    "JWKS_UNAVAILABLE": 503,
}


def error_response(
    code: str,
    message: str,
    *,
    status: int | None = None,
    problems: Sequence[ConfigProblem] = (),
    params: Mapping[str, object] | None = None,
) -> JSONResponse:
    """``{"success": false, "error": {code, message, [params], [problems]}}``: ``message`` in
    English; ``code`` and ``params`` (and each problem's) for pages that word it themselves."""
    error: dict[str, object] = {"code": code, "message": message}
    if params:
        error["params"] = dict(params)
    if problems:
        error["problems"] = [
            {"path": p.path, "message": p.message, "code": p.code, "params": dict(p.params)}
            for p in problems
        ]
    return JSONResponse(
        {"success": False, "error": error}, status_code=status or STATUS_BY_CODE.get(code, 500)
    )


def refusal_response(
    exc: WebhookRejected | RegistrationRefused | DashboardRequestRefused,
) -> JSONResponse:
    """The answer to a request the app refuses: its code, message and the code's status."""
    return error_response(
        exc.code,
        exc.message,
        status=STATUS_BY_CODE.get(exc.code, exc.status_hint),
        problems=exc.problems if isinstance(exc, DashboardRequestRefused) else (),
        params=exc.params if isinstance(exc, DashboardRequestRefused) else None,
    )


def store_unavailable_response() -> JSONResponse:
    return error_response(
        "STORE_UNAVAILABLE",
        "The app cannot reach its database right now; the request can be retried.",
    )


def secrets_unreadable_response(path: str) -> JSONResponse:
    logger.error(
        "secrets.unreadable path=%s: a stored secret cannot be decrypted; is "
        "SALEOR_GORDON_SECRET_KEY the key the secrets were stored with?",
        path,
    )
    return error_response(
        "SECRETS_UNREADABLE",
        "The app cannot decrypt its stored secrets; its operator must check "
        "SALEOR_GORDON_SECRET_KEY (it must be the key the secrets were stored with).",
    )


def internal_error_response(scope: Scope, error: Exception) -> JSONResponse:
    """The answer to a request that failed in the app with ``error`` (logged here, with its
    traceback)."""
    logger.error(
        "request.failed method=%s path=%s",
        scope.get("method"),
        scope.get("path"),
        exc_info=error,
    )
    return error_response(
        "INTERNAL_ERROR",
        "The app failed while handling this request; the error is in its log. "
        "The request can be retried.",
    )


def log_client_disconnected(scope: Scope) -> None:
    """A client left while its request body was on the way: its doing, not the app's, so INFO
    (no traceback). Nothing is answered (nobody is left to read it) and nothing was stored: every
    endpoint reads its whole body before it acts on it."""
    logger.info(
        "request.client_disconnected method=%s path=%s: the client left before sending the "
        "whole body",
        scope.get("method"),
        scope.get("path"),
    )


async def _request_refused(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, WebhookRejected | RegistrationRefused | DashboardRequestRefused)
    return refusal_response(exc)


async def _store_unavailable(_request: Request, _exc: Exception) -> JSONResponse:
    return store_unavailable_response()


async def _secrets_unreadable(request: Request, _exc: Exception) -> JSONResponse:
    return secrets_unreadable_response(request.url.path)


async def _invalid_request(_request: Request, exc: Exception) -> JSONResponse:
    """A path or query parameter FastAPI could not validate, in the app's error shape."""
    assert isinstance(exc, RequestValidationError)
    where = "; ".join(
        f"{'.'.join(str(part) for part in error.get('loc', ())) or 'request'}: {error.get('msg')}"
        for error in exc.errors()
    )
    return error_response("INVALID_REQUEST", f"The request is not usable: {where}.")


async def _http_exception(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405:
        return error_response("WRONG_METHOD", "Method not allowed on this endpoint.")
    if exc.status_code == 404:
        return error_response("NOT_FOUND", "There is nothing at this address.")
    return error_response("HTTP_ERROR", str(exc.detail), status=exc.status_code)


class InternalErrorMiddleware:
    """Any exception no handler took becomes a logged, coded JSON 500 without a traceback.

    Starlette's own handler for ``Exception`` answers and then re-raises; this one answers only.
    A client that left mid-body (``ClientDisconnect``) is no error: logged, not answered.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except ClientDisconnect:
            log_client_disconnected(scope)
        except Exception as exc:
            response = internal_error_response(scope, exc)
            if started:
                raise
            await response(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(WebhookRejected, _request_refused)
    app.add_exception_handler(RegistrationRefused, _request_refused)
    app.add_exception_handler(DashboardRequestRefused, _request_refused)
    app.add_exception_handler(StoreUnavailable, _store_unavailable)
    app.add_exception_handler(SecretsError, _secrets_unreadable)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_middleware(InternalErrorMiddleware)
