"""What the Gordon client waits on before each request: a ``RequestPacer``.

Gordon documents no rate limit (gordon-api.md B6, UNVERIFIED), so the rate is a setting. All requests
for one Gordon account (base URL, client id and secret) share one schedule, whichever installation,
worker task or process sends them: production paces with ``store.rate.DatabaseRateLimiter``, one
schedule per account in the database. The client only knows this protocol (adapters do not import each other).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Protocol


class RequestPacer(Protocol):
    """Anything that makes a request for an account wait for its turn."""

    async def acquire(self, key: Hashable) -> None: ...
