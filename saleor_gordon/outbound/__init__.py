"""Every call the app makes to another server goes through here.

One policy (``OutboundPolicy``, from the settings) for registration, JWKS, Saleor GraphQL, Gordon
OAuth and orders, *Test connection*, ``doctor``, backfill and reconcile:

- **destinations**: the URL a shop gave is judged against the allow-lists and the internal-address
  rules of ``core.destinations``; the connection goes to an address checked after resolving;
- **bounded**: a byte cap for every answer and a deadline for every whole exchange;
- **isolated**: connection slots per destination;
- **quiet**: one failure per kind (``errors``), in the app's own words.

A request is labelled with ``destination(kind, url)`` in its extensions; the process's HTTP client
(``outbound_client``) refuses a request without a label. Clients built on a plain
``httpx.AsyncClient`` (unit tests) send the label along, and nothing checks it.

The app's clients (Saleor, Gordon) send with ``exchange``: the request as built, straight to the
``OutboundTransport`` of the process's client (none of httpx's client layers: authentication,
redirects, cookies, default headers, event hooks, which the app never uses), the whole answer
read under the policy's cap and deadline.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

import httpx

from saleor_gordon.outbound.errors import (
    AnswerTooLarge,
    DestinationNotAllowed,
    NoAnswer,
    OutboundFailure,
)
from saleor_gordon.outbound.network import Resolver
from saleor_gordon.outbound.policy import (
    DESTINATION,
    JWKS_MAX_BYTES,
    CallLimits,
    Destination,
    DestinationKind,
    OutboundPolicy,
    destination,
    origin_of,
)
from saleor_gordon.outbound.transport import OutboundTransport
from saleor_gordon.settings import Settings

__all__ = [
    "DESTINATION",
    "JWKS_MAX_BYTES",
    "AnswerTooLarge",
    "CallLimits",
    "Destination",
    "DestinationKind",
    "DestinationNotAllowed",
    "NoAnswer",
    "OutboundClient",
    "OutboundFailure",
    "OutboundPolicy",
    "OutboundTransport",
    "WholeAnswer",
    "destination",
    "exchange",
    "json_body",
    "origin_of",
    "outbound_client",
    "parsed_url",
    "request_extensions",
]


class OutboundClient(httpx.AsyncClient):
    """An httpx client over an ``OutboundTransport``, which ``outbound`` exposes."""

    def __init__(self, transport: OutboundTransport, *, timeout: float) -> None:
        super().__init__(
            transport=transport,
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            trust_env=False,  # no proxy from the environment: connect where the policy checked
        )
        self.outbound = transport


def outbound_client(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    resolve: Resolver | None = None,
) -> OutboundClient:
    """The process's HTTP client: every request through ``OutboundTransport`` (close it after use).

    ``transport`` replaces the connection pools (tests); ``resolve`` the system resolver.
    """
    policy = OutboundPolicy.from_settings(settings)
    longest = max(policy.saleor_limits.deadline, policy.gordon_limits.deadline)
    return OutboundClient(
        OutboundTransport(policy, inner=transport, resolve=resolve), timeout=longest
    )


@dataclass(frozen=True, slots=True)
class WholeAnswer:
    """An answer read to its end (within the destination's byte cap and deadline)."""

    status: int
    headers: httpx.Headers
    body: bytes


async def exchange(http: httpx.AsyncClient, request: httpx.Request) -> WholeAnswer:
    """Sends ``request`` and reads its whole answer.

    Through the process's ``OutboundClient`` the request goes to its ``OutboundTransport`` as
    built (what httpx's client would add is for features the app does not use, and costs about
    a third of a call); through any other client (tests) it is sent as the client sends it.

    Raises:
        httpx.TransportError: as the transport fails (``OutboundFailure`` and its kinds).
        RuntimeError: the client is closed.
    """
    if not isinstance(http, OutboundClient):
        response = await http.send(request)
        return WholeAnswer(response.status_code, response.headers, response.content)
    if http.is_closed:
        raise RuntimeError("Cannot send a request, as the client has been closed.")
    response = await http.outbound.handle_async_request(request)
    stream = response.stream
    assert isinstance(stream, httpx.AsyncByteStream)
    try:
        body = b"".join([chunk async for chunk in stream])
    finally:
        await stream.aclose()
    return WholeAnswer(response.status_code, response.headers, body)


def json_body(value: object) -> bytes:
    """``value`` as a request's JSON body, encoded as httpx encodes ``json=``."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def request_extensions(target: dict[str, object], timeout: httpx.Timeout) -> dict[str, Any]:
    """A request's extensions: its destination label and httpx's per-phase timeouts."""
    return {**target, "timeout": timeout.as_dict()}


@functools.lru_cache(maxsize=1024)
def parsed_url(url: str) -> httpx.URL:
    """``httpx.URL(url)``, parsed once per process for the URLs the clients call again and again.

    Raises:
        httpx.InvalidURL, UnicodeError: as ``httpx.URL`` does (never remembered).
    """
    return httpx.URL(url)
