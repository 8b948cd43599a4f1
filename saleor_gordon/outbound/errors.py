"""How an outbound call fails, in one word each, and in words a tenant may read.

Every failure is an ``httpx.TransportError``, so the clients' existing ``except httpx.HTTPError``
catches it; each says only what the app itself decided or observed, never text from the other
side or from the network (an open and a closed port give the same ``NoAnswer``).
"""

from __future__ import annotations

import httpx


class OutboundFailure(httpx.TransportError):
    """An outbound call the policy refused or ended.

    ``reason`` is a clause for a person: after the URL for ``DestinationNotAllowed`` ("points to a
    private or local network address"), after the server's name for the others ("could not be
    reached or did not answer within 10 s").
    """

    def __init__(self, reason: str, *, request: httpx.Request | None = None) -> None:
        self.reason = reason
        super().__init__(reason, request=request)


class DestinationNotAllowed(OutboundFailure):
    """The destination may not be called; ``reason`` follows the URL: "points to a private …"."""


class NoAnswer(OutboundFailure):
    """No complete HTTP answer: no connection, a broken one, or not within the deadline."""

    def __init__(self, deadline: float, *, request: httpx.Request | None = None) -> None:
        self.deadline = deadline
        super().__init__(
            f"could not be reached or did not answer within {deadline:g} s", request=request
        )


class AnswerTooLarge(OutboundFailure):
    """The answer was longer than the destination's byte cap (what was read is dropped)."""

    def __init__(self, limit: int, *, request: httpx.Request | None = None) -> None:
        self.limit = limit
        super().__init__(f"answered with more than {limit} bytes", request=request)
