"""Fetching a Saleor's JWKS, and limiting how often a bad signature may cause a refetch.

Saleor serves its signing keys at ``<scheme>://<host>/.well-known/jwks.json`` of its API URL's origin
(``saleor/urls.py``; ``@saleor/app-sdk`` ``getJwksUrlFromSaleorApiUrl``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final
from urllib.parse import urlsplit, urlunsplit

import httpx

from saleor_gordon.errors import SaleorUnavailable
from saleor_gordon.json_text import JsonUnusable, parse_json
from saleor_gordon.observability import sanitize_url
from saleor_gordon.outbound import (
    JWKS_MAX_BYTES,
    DestinationKind,
    DestinationNotAllowed,
    OutboundFailure,
    destination,
)
from saleor_gordon.saleor.signature import SignatureInvalid, load_jwks_keys

JWKS_PATH: Final = "/.well-known/jwks.json"
MAX_JWKS_BYTES: Final = JWKS_MAX_BYTES
DEFAULT_REFETCH_INTERVAL: Final = 30.0  # seconds
_MAX_TRACKED: Final = 10_000


def jwks_url(saleor_api_url: str) -> str:
    """``https://shop.example.com/graphql/`` -> ``https://shop.example.com/.well-known/jwks.json``."""
    parts = urlsplit(saleor_api_url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError("the Saleor API URL must be an absolute http(s) URL")
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], JWKS_PATH, "", ""))


class JwksUnavailable(SaleorUnavailable):
    """Saleor's JWKS could not be fetched or is not usable.

    ``url`` is the JWKS URL without credentials; ``reason`` a short clause in the app's own words
    ("answered HTTP 503", "could not be reached"), never remote text.
    """

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"The JWKS at {url} {reason}.")


async def fetch_jwks(
    http: httpx.AsyncClient,
    saleor_api_url: str,
    *,
    timeout: float,  # noqa: ASYNC109 - httpx's per-request timeout, not a cancel scope
) -> dict[str, object]:
    """GET the JWKS of the Saleor at ``saleor_api_url``; JwksUnavailable if it is not usable."""
    try:
        url = jwks_url(saleor_api_url)
    except ValueError as exc:
        raise JwksUnavailable(
            sanitize_url(saleor_api_url), f"cannot be derived from this API URL: {exc}"
        ) from exc
    shown = sanitize_url(url)
    try:
        response = await http.get(
            url,
            timeout=timeout,
            follow_redirects=False,
            extensions=destination(DestinationKind.JWKS, saleor_api_url),
        )
    except DestinationNotAllowed as exc:
        raise JwksUnavailable(shown, exc.reason) from exc
    except OutboundFailure as exc:
        raise JwksUnavailable(shown, f"could not be fetched: Saleor {exc.reason}") from exc
    except (httpx.HTTPError, httpx.InvalidURL, UnicodeError) as exc:
        # InvalidURL and UnicodeError (IDNA) are what httpx raises for URLs it cannot use
        raise JwksUnavailable(shown, "could not be reached") from exc
    return _parse_jwks_response(response, shown)


def _parse_jwks_response(response: httpx.Response, shown_url: str) -> dict[str, object]:
    if response.status_code != httpx.codes.OK:
        raise JwksUnavailable(shown_url, f"answered HTTP {response.status_code}")
    if len(response.content) > MAX_JWKS_BYTES:
        raise JwksUnavailable(shown_url, f"is larger than {MAX_JWKS_BYTES} bytes")
    try:
        jwks = parse_json(response.content)
    except JsonUnusable as exc:
        raise JwksUnavailable(shown_url, exc.reason) from exc
    if not isinstance(jwks, dict):
        raise JwksUnavailable(shown_url, "is not a JSON object")
    try:
        load_jwks_keys(jwks)
    except SignatureInvalid as exc:
        raise JwksUnavailable(shown_url, "is unusable: it holds no valid RS256 key") from exc
    return jwks


class JwksRefetchLimiter:
    """Allows at most one JWKS refetch per installation per ``interval`` seconds.

    A flood of badly signed webhooks must not turn the app into a JWKS hammer against Saleor.
    Keyed by the Saleor API URL; the clock is injected (monotonic seconds).
    """

    def __init__(
        self,
        interval: float = DEFAULT_REFETCH_INTERVAL,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if interval < 0:
            raise ValueError("interval must not be negative")
        self._interval = interval
        self._clock = clock
        self._last: dict[str, float] = {}
        self._succeeded: dict[str, float] = {}

    def try_acquire(self, saleor_api_url: str) -> bool:
        """True (and remember now) if a refetch for this installation is allowed now."""
        now = self._clock()
        last = self._last.get(saleor_api_url)
        if last is not None and now - last < self._interval:
            return False
        self._forget_expired(now)
        self._last[saleor_api_url] = now
        self._succeeded.pop(saleor_api_url, None)
        return True

    def now(self) -> float:
        """The limiter's clock; take it when a request arrives, for ``refetched_since``."""
        return self._clock()

    def record_success(self, saleor_api_url: str) -> None:
        """The refetch this limiter allowed last returned a usable JWKS, and it is stored."""
        started = self._last.get(saleor_api_url)
        if started is not None:
            self._succeeded[saleor_api_url] = started

    def refetched_since(self, saleor_api_url: str, moment: float) -> bool:
        """True if a refetch that started at or after ``moment`` brought usable keys.

        Lets a caller whose refetch is refused tell "the keys were fetched after this request
        arrived and still lack its key id" (reject) from "the keys may be older than the request"
        (ask Saleor to retry later).
        """
        started = self._succeeded.get(saleor_api_url)
        return started is not None and started >= moment

    def _forget_expired(self, now: float) -> None:
        if len(self._last) < _MAX_TRACKED:
            return
        self._last = {url: at for url, at in self._last.items() if now - at < self._interval}
        self._succeeded = {url: at for url, at in self._succeeded.items() if url in self._last}
