"""The Gordon Delivery REST API over httpx (gordon-api.md B2-B6, D1, D3), sent with
``outbound.exchange`` (the outbound policy, none of httpx's client layers).

Each method sends a request and hands the answer to the pure classifier in ``core.outcomes``; transport
exceptions are turned into outcomes in one place (``_transport_failure``). Nothing here sleeps for
retries: ``Retryable`` outcomes go back to the worker, which schedules the next attempt.

Secrets stay out of logs and messages: the client secret is sent only in the token request body, the
access token only in the Authorization header; neither is formatted into any string here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import quote

import httpx

from saleor_gordon import __version__, metrics
from saleor_gordon.core.messages import Message
from saleor_gordon.core.outcomes import (
    BASE_URL_HINT,
    Accepted,
    NotFound,
    Outcome,
    Rejected,
    Retryable,
    TokenOutcome,
    classify_gordon_response,
    classify_token_response,
)
from saleor_gordon.gordon.rate_limit import RequestPacer
from saleor_gordon.gordon.tokens import TokenCache, TokenKey
from saleor_gordon.observability import sanitize_url
from saleor_gordon.outbound import (
    AnswerTooLarge,
    DestinationKind,
    DestinationNotAllowed,
    NoAnswer,
    destination,
    exchange,
    json_body,
    parsed_url,
    request_extensions,
)

__all__ = ["CredentialCheck", "GordonClient", "TokenCache"]

logger = logging.getLogger(__name__)

DEFAULT_AUDIENCE = "https://gordonapi.herokuapp.com/"  # B2, VERIFIED
TOKEN_PATH = "/oauth/token"  # noqa: S105 -- a URL path, not a password
ORDERS_PATH = "/api/orders"
# check_credentials() reads this ref; any JSON answer (usually "not found") proves the API works.
PROBE_REF = "saleor-gordon-connection-test"

CredentialProblem = Literal["credentials", "unreachable", "base_url", "unavailable"]


@dataclass(frozen=True, slots=True)
class CredentialCheck:
    """The result of "Test connection": ``ok``, a message for the shop owner, and what is wrong."""

    ok: bool
    message: str
    problem: CredentialProblem | None = None


@dataclass(frozen=True, slots=True)
class _Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes


class GordonClient:
    """One Gordon account, reached through a shared ``httpx.AsyncClient``.

    Args:
        base_url: e.g. ``https://backend.staging.gordondelivery.com`` (no trailing path needed).
        client_id: the account's API client id.
        client_secret: the account's API client secret; never logged.
        http: the process's HTTP client (owned and closed by the caller).
        token_cache: shared by every client of the process.
        rate_limiter: when given, every request (token requests too) waits for a slot of the
            account these credentials prove (``TokenKey``: base URL, client id, secret digest).
        timeout: seconds for connect, read, write and pool, on every request (the outbound
            policy's deadline bounds the whole exchange).
        audience: the OAuth2 audience sent with the token request.
    """

    def __init__(
        self,
        *,
        base_url: str,
        client_id: str,
        client_secret: str,
        http: httpx.AsyncClient,
        token_cache: TokenCache,
        rate_limiter: RequestPacer | None = None,
        timeout: float = 15.0,
        audience: str = DEFAULT_AUDIENCE,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._http = http
        self._tokens = token_cache
        self._rate_limiter = rate_limiter
        self._timeout = httpx.Timeout(timeout)
        self._audience = audience
        self._token_key = TokenKey.for_credentials(base_url, client_id, client_secret)
        # The rate schedule of the account these credentials prove: a tenant that names another
        # shop's client id without its secret paces on a schedule of its own.
        self._account = self._token_key
        self._extensions = request_extensions(
            destination(DestinationKind.GORDON, self._base_url), self._timeout
        )

    def __repr__(self) -> str:
        return f"GordonClient(base_url={self._base_url!r}, client_id={self._client_id!r})"

    def fetch_token_ahead(self) -> asyncio.Task[str | Rejected | Retryable] | None:
        """Start the token request now when no token is cached (``TokenCache.fetch_ahead``):
        it overlaps what the caller does before its first call. Its task, owned by the caller
        (cancelled once not needed); None: a token is cached or on its way."""
        return self._tokens.fetch_ahead(self._token_key, self._fetch_token)

    async def push_order(self, order_json: Mapping[str, object]) -> Accepted | Rejected | Retryable:
        """Create or update an order: PUT, then POST when Gordon does not know it (D3.1).

        When the POST answers "External Ref in Use" (someone created it in between), PUT once more.

        Returns:
            ``Accepted`` with the tracking id, ``Rejected`` with Gordon's message, or ``Retryable``.
            Never ``NotFound``: a "not found" after the fallback becomes ``Rejected``.
        """
        ref = order_json.get("external_ref")
        if not isinstance(ref, str) or not ref:
            english = "The order has no external_ref, so it cannot be sent to Gordon"
            return Rejected(Message.of("gordon.no_external_ref", english), None)
        path = _order_path(ref)
        outcome = await self._call("PUT", path, order_json)
        if isinstance(outcome, NotFound):
            logger.info("gordon.order_missing ref=%s: creating it with POST", ref)
            outcome = await self._call("POST", ORDERS_PATH, order_json)
            if _is_ref_in_use(outcome):
                outcome = await self._call("PUT", path, order_json)
        if isinstance(outcome, NotFound):
            message = f"Gordon answered 'not found' while creating order {ref}: {outcome.message}"
            english = f"{message}; {BASE_URL_HINT}"
            return Rejected(Message.of("gordon.not_found_on_create", english, ref=ref), 404)
        return outcome

    async def get_order(self, ref: str) -> Outcome:
        """Read an order (B4). ``NotFound`` when Gordon does not know it."""
        return await self._call("GET", _order_path(ref))

    async def delete_order(self, ref: str) -> Outcome:
        """Delete an order before it is planned (B4).

        Returns:
            ``Accepted``; ``NotFound`` when already gone; ``Rejected`` with Gordon's message, e.g. when
            the order is planned and must be cancelled in the Gordon platform; or ``Retryable``.
        """
        return await self._call("DELETE", _order_path(ref))

    async def check_credentials(self) -> CredentialCheck:
        """Fetch a fresh token and read a probe order, for the Dashboard's "Test connection"."""
        granted = await self._fetch_token()
        if isinstance(granted, Retryable):
            where = sanitize_url(self._base_url)
            return CredentialCheck(
                False, f"Could not reach Gordon at {where}: {granted.reason}", "unreachable"
            )
        if isinstance(granted, Rejected):
            problem: CredentialProblem = "credentials" if granted.is_auth_failure else "base_url"
            return CredentialCheck(False, granted.message, problem)
        probe = await self._send("GET", _order_path(PROBE_REF), token=granted.access_token)
        return self._judge_probe(probe)

    def _judge_probe(self, probe: _Reply | Rejected | Retryable) -> CredentialCheck:
        if isinstance(probe, Retryable):
            return CredentialCheck(
                False, f"Gordon's order API failed: {probe.reason}", "unavailable"
            )
        if isinstance(probe, Rejected):
            return CredentialCheck(False, probe.message, "base_url")
        if probe.status in (401, 403):
            message = (
                "Gordon issued a token but its order API refused it; the base URL and the "
                "credentials may belong to different environments (staging vs production)"
            )
            return CredentialCheck(False, message, "credentials")
        outcome = classify_gordon_response(probe.status, probe.headers, probe.body, now=_utcnow())
        if isinstance(outcome, Retryable):
            return CredentialCheck(
                False, f"Gordon's order API failed: {outcome.reason}", "unavailable"
            )
        if not _looks_like_json(probe.body):
            message = f"Gordon's order API answered HTTP {probe.status} with a non-JSON body; {BASE_URL_HINT}"
            return CredentialCheck(False, message, "base_url")
        return CredentialCheck(True, f"Connected to Gordon at {sanitize_url(self._base_url)}")

    async def _call(
        self, method: str, path: str, payload: Mapping[str, object] | None = None
    ) -> Outcome:
        """Send an API request with a token; on 401 refresh the token and send once more."""
        token = await self._tokens.get(self._token_key, self._fetch_token)
        if not isinstance(token, str):
            return token
        reply = await self._send(method, path, payload=payload, token=token)
        if isinstance(reply, _Reply) and reply.status == 401:
            logger.info("gordon.token_refused %s %s: refreshing the token once", method, path)
            self._tokens.invalidate(self._token_key, token)
            token = await self._tokens.get(self._token_key, self._fetch_token)
            if not isinstance(token, str):
                return token
            reply = await self._send(method, path, payload=payload, token=token)
        if not isinstance(reply, _Reply):
            return reply
        return classify_gordon_response(reply.status, reply.headers, reply.body, now=_utcnow())

    async def _fetch_token(self) -> TokenOutcome:
        payload = {
            "audience": self._audience,
            "client_id": self._client_id,
            "client_secret": self._client_secret,
            "grant_type": "client_credentials",
        }
        reply = await self._send("POST", TOKEN_PATH, payload=payload, token=None)
        if not isinstance(reply, _Reply):
            return reply
        outcome = classify_token_response(reply.status, reply.headers, reply.body, now=_utcnow())
        logger.info(
            "gordon.token_requested client_id=%s -> %s", self._client_id, type(outcome).__name__
        )
        return outcome

    async def _send(
        self,
        method: str,
        path: str,
        *,
        payload: Mapping[str, object] | None = None,
        token: str | None,
    ) -> _Reply | Rejected | Retryable:
        """The one place where requests leave and transport exceptions become outcomes."""
        if self._rate_limiter is not None:
            await self._rate_limiter.acquire(self._account)
        headers = {"Accept": "application/json", "User-Agent": f"saleor-gordon/{__version__}"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        body = None
        if payload is not None:
            headers["Content-Type"] = "application/json"
            body = json_body(payload)
        started = time.monotonic()
        try:
            request = httpx.Request(
                method,
                parsed_url(self._base_url + path),
                headers=headers,
                content=body,
                extensions=self._extensions,
            )
            response = await exchange(self._http, request)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            metrics.GORDON_REQUESTS.labels(method, "error").observe(time.monotonic() - started)
            failure = _transport_failure(exc, self._timeout)
            logger.warning("gordon.request_failed %s %s: %s", method, path, _describe(failure))
            return failure
        elapsed = time.monotonic() - started
        metrics.GORDON_REQUESTS.labels(method, metrics.status_class(response.status)).observe(
            elapsed
        )
        elapsed_ms = elapsed * 1000
        logger.debug(
            "gordon.response %s %s -> %d in %.0f ms", method, path, response.status, elapsed_ms
        )
        return _Reply(response.status, response.headers, response.body)


def _transport_failure(
    exc: httpx.HTTPError | httpx.InvalidURL, timeout: httpx.Timeout
) -> Rejected | Retryable:
    """Map an httpx exception to an outcome: refused and bad URLs are refusals, the rest may pass.

    In the app's words only: what the network said (refused, reset, timed out) is one kind, so
    a tenant cannot tell an open port from a closed one.
    """
    if isinstance(exc, DestinationNotAllowed):
        english = f"The Gordon base URL {exc.reason}; {BASE_URL_HINT}"
        return Rejected(Message.of("gordon.base_url_not_allowed", english), None)
    if isinstance(exc, AnswerTooLarge):  # no usable answer: Gordon may have done it
        english = f"Gordon {exc.reason}"
        return Retryable(
            Message.of("gordon.answer_too_large", english, limit=exc.limit), answered=False
        )
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        english = f"The Gordon base URL cannot be used; {BASE_URL_HINT}"
        return Rejected(Message.of("gordon.base_url_unusable", english), None)
    if isinstance(exc, NoAnswer):
        seconds = exc.deadline
    else:  # an httpx failure the transport did not turn into NoAnswer: no answer either
        seconds = timeout.read if timeout.read is not None else 0.0
    english = f"Gordon {NoAnswer(seconds).reason}"
    return Retryable(Message.of("gordon.no_answer", english, seconds=seconds), answered=False)


def _describe(failure: Rejected | Retryable) -> str:
    return failure.message if isinstance(failure, Rejected) else failure.reason


def _is_ref_in_use(outcome: Outcome) -> bool:
    """Gordon's answer to a POST of an existing ref (B6, OBSERVED: 'External Ref in Use', HTTP 400)."""
    return isinstance(outcome, Rejected) and "external ref in use" in outcome.message.lower()


def _order_path(ref: str) -> str:
    return f"{ORDERS_PATH}/{quote(ref, safe='')}"


def _looks_like_json(body: bytes) -> bool:
    return body.lstrip()[:1] in (b"{", b"[")


def _utcnow() -> datetime:
    return datetime.now(UTC)
