"""What the app may call, and how much of it: one ``Destination`` per request, judged by the policy.

Every request the app sends carries a ``Destination`` in its extensions (``destination(...)``):
which kind of server it calls (Saleor's GraphQL API, Saleor's signing keys, Gordon) and the URL the
shop gave for it (the Saleor API URL, the Gordon base URL). The policy judges that URL with the
kind's rules (``core.destinations``), checks that the request goes to the same origin, and gives the
call its limits: a byte cap for the answer and a deadline for the whole exchange.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass
from typing import Final

import httpx

from saleor_gordon.core.destinations import (
    AddressRule,
    DestinationRefused,
    DestinationRules,
    UrlParts,
    url_form_problem,
)
from saleor_gordon.outbound.errors import DestinationNotAllowed
from saleor_gordon.settings import Settings

DESTINATION: Final = "saleor_gordon.destination"
"""The request extension that names a request's ``Destination``."""

JWKS_MAX_BYTES: Final = 64 * 1024


class DestinationKind(enum.Enum):
    SALEOR = "Saleor"
    JWKS = "Saleor's signing keys"
    GORDON = "Gordon"


@dataclass(frozen=True, slots=True)
class Destination:
    """Whom a request calls: ``url`` is the URL the shop gave (API URL or base URL)."""

    kind: DestinationKind
    url: str


def destination(kind: DestinationKind, url: str) -> dict[str, object]:
    """The request extensions that label a request for ``url`` (httpx ``extensions=``)."""
    return {DESTINATION: Destination(kind, url)}


@dataclass(frozen=True, slots=True)
class CallLimits:
    max_bytes: int
    """Longest answer body read (after any content decoding)."""
    deadline: float
    """Seconds for the whole exchange: waiting for a connection slot, resolving, connecting,
    sending and receiving the complete answer."""


@dataclass(frozen=True, slots=True)
class OutboundPolicy:
    saleor: DestinationRules
    gordon: DestinationRules
    saleor_limits: CallLimits
    jwks_limits: CallLimits
    gordon_limits: CallLimits
    connections_per_destination: int

    @classmethod
    def from_settings(cls, settings: Settings) -> OutboundPolicy:
        saleor_deadline = settings.saleor_timeout_seconds
        return cls(
            saleor=settings.saleor_url_rules,
            gordon=settings.gordon_url_rules,
            saleor_limits=CallLimits(settings.saleor_max_response_bytes, saleor_deadline),
            jwks_limits=CallLimits(JWKS_MAX_BYTES, saleor_deadline),
            gordon_limits=CallLimits(
                settings.gordon_max_response_bytes, settings.gordon_timeout_seconds
            ),
            connections_per_destination=settings.connections_per_destination_limit,
        )

    def limits(self, kind: DestinationKind) -> CallLimits:
        if kind is DestinationKind.GORDON:
            return self.gordon_limits
        return self.jwks_limits if kind is DestinationKind.JWKS else self.saleor_limits

    def rules(self, kind: DestinationKind) -> DestinationRules:
        return self.gordon if kind is DestinationKind.GORDON else self.saleor

    def check(self, kind: DestinationKind, url: str) -> None:
        """Refuse a URL the shop gave before anything is sent to it.

        Raises:
            DestinationNotAllowed: with the reason (a clause after the URL).
        """
        self.judge(Destination(kind, url), None)

    def judge(self, target: Destination, request_url: httpx.URL | None) -> AddressRule:
        """The addresses a request to ``target`` (sent to ``request_url``) may connect to.

        Raises:
            DestinationNotAllowed: the URL the shop gave, or this request's URL, is refused.
        """
        problem = url_form_problem(target.url)
        if problem is not None:
            raise DestinationNotAllowed(problem)
        try:
            given = url_parts(httpx.URL(target.url))
            sent = given if request_url is None else url_parts(request_url)
        except (httpx.InvalidURL, UnicodeError):
            raise DestinationNotAllowed("is not a usable URL") from None
        if sent.origin != given.origin or sent.has_userinfo or sent.has_fragment:
            raise DestinationNotAllowed("is not where this request was sent")
        try:
            return self.rules(target.kind).judge(given)
        except DestinationRefused as refused:
            raise DestinationNotAllowed(refused.reason) from None


def url_parts(url: httpx.URL) -> UrlParts:
    """``url`` as httpx (which connects) parses it, for the rules of ``core.destinations``."""
    host = url.raw_host.decode("ascii").lower()
    if not host:
        raise httpx.InvalidURL("no host")
    return UrlParts(
        scheme=url.scheme,
        host=host,
        port=url.port,
        path=url.path,
        has_userinfo=bool(url.userinfo),
        has_query=bool(url.query),
        has_fragment=bool(url.fragment),
    )


@functools.lru_cache(maxsize=1024)
def origin_of(url: str) -> str | None:
    """The server of ``url`` (``UrlParts.server``: scheme, host and port, written one way) as the
    policy and its connection slots key it, or None when ``url`` has no host:
    ``HTTPS://Shop.example.com:443/x`` and ``https://shop.example.com/y`` are one server.
    Remembered per URL (a pure function of it:
    every attempt asks it of its shop's URLs)."""
    try:
        return server_of(httpx.URL(url))
    except (httpx.InvalidURL, UnicodeError):
        return None


def server_of(url: httpx.URL) -> str:
    """``origin_of`` for a parsed URL (raises ``httpx.InvalidURL`` without a host)."""
    return url_parts(url).server
