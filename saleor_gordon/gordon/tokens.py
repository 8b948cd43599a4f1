"""OAuth2 access tokens for Gordon, cached per account (gordon-api.md B2, D3.4).

A token lives 3600 s; it is reused until ``refresh_margin`` (60 s) before it expires. One
``TokenCache`` is meant to be shared by every ``GordonClient`` of the process, so that installations
using the same Gordon account share a token and concurrent first calls cause one token request.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from saleor_gordon.core.outcomes import Rejected, Retryable, TokenGranted, TokenOutcome

REFRESH_MARGIN_SECONDS = 60.0


class TokenKey(NamedTuple):
    """Which credentials a token belongs to; the secret is present only as a SHA-256 digest."""

    base_url: str
    client_id: str
    secret_digest: str

    @classmethod
    def for_credentials(cls, base_url: str, client_id: str, client_secret: str) -> TokenKey:
        digest = hashlib.sha256(client_secret.encode("utf-8")).hexdigest()
        return cls(base_url.rstrip("/"), client_id, digest)


@dataclass(slots=True)
class _CachedToken:
    access_token: str = field(repr=False)
    refresh_at: float  # clock() value after which the token is refreshed


class TokenCache:
    """Access tokens per ``TokenKey``, refreshed one at a time per key.

    Args:
        clock: monotonic seconds; injectable for tests.
        refresh_margin: seconds before expiry at which a token is no longer handed out. For tokens
            shorter than twice the margin, half their lifetime is used instead.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        refresh_margin: float = REFRESH_MARGIN_SECONDS,
    ) -> None:
        self._clock = clock
        self._refresh_margin = refresh_margin
        self._tokens: dict[TokenKey, _CachedToken] = {}
        self._locks: dict[TokenKey, asyncio.Lock] = {}

    async def get(
        self, key: TokenKey, fetch: Callable[[], Awaitable[TokenOutcome]]
    ) -> str | Rejected | Retryable:
        """Return a valid access token for ``key``, calling ``fetch`` only when none is cached.

        Concurrent callers for one key wait for a single ``fetch``. Failures are returned, not cached.
        """
        cached = self._valid(key)
        if cached is not None:
            return cached
        async with self._locks.setdefault(key, asyncio.Lock()):
            cached = self._valid(key)
            if cached is not None:
                return cached
            outcome = await fetch()
            if not isinstance(outcome, TokenGranted):
                return outcome
            self._store(key, outcome)
            return outcome.access_token

    def invalidate(self, key: TokenKey, access_token: str) -> None:
        """Forget ``access_token`` (Gordon refused it), unless a newer token already replaced it."""
        cached = self._tokens.get(key)
        if cached is not None and cached.access_token == access_token:
            del self._tokens[key]

    def _valid(self, key: TokenKey) -> str | None:
        cached = self._tokens.get(key)
        if cached is None or self._clock() >= cached.refresh_at:
            return None
        return cached.access_token

    def _store(self, key: TokenKey, granted: TokenGranted) -> None:
        margin = min(self._refresh_margin, granted.expires_in / 2)
        refresh_at = self._clock() + granted.expires_in - margin
        self._tokens[key] = _CachedToken(granted.access_token, refresh_at)
