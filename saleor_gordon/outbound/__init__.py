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
"""

from __future__ import annotations

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
    "destination",
    "origin_of",
    "outbound_client",
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
