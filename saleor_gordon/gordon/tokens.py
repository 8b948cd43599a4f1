"""OAuth2 access tokens for Gordon, cached per account (gordon-api.md B2, D3.4).

A token lives 3600 s; it is reused until ``refresh_margin`` (60 s) before it expires. One
``TokenCache`` is meant to be shared by every ``GordonClient`` of the process, so that installations
using the same Gordon account share a token and concurrent first calls cause one token request.

A caller that knows it will call Gordon soon may ask for the token ahead (``fetch_ahead``): when
none is cached, the token request starts at once, in a task the caller owns, and overlaps what
the caller does meanwhile (a job reads the order from Saleor); the first ``get`` then takes its
outcome, a failure included, instead of asking again (or asks itself, if the owner cancelled
the request because it no longer needed it).
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
        self._ahead: dict[TokenKey, asyncio.Task[str | Rejected | Retryable]] = {}
        """Token requests started ahead, until a ``get`` takes one or it ended (held here: the
        event loop keeps only weak references to tasks)."""

    async def get(
        self, key: TokenKey, fetch: Callable[[], Awaitable[TokenOutcome]]
    ) -> str | Rejected | Retryable:
        """Return a valid access token for ``key``, calling ``fetch`` only when none is cached.

        Concurrent callers for one key wait for a single ``fetch``. Failures are returned, not cached.
        A request started by ``fetch_ahead`` and still under way is waited for and its outcome
        returned.
        """
        cached = self._valid(key)
        if cached is not None:
            return cached
        ahead = self._ahead.pop(key, None)
        if ahead is not None:
            try:
                # shielded: a caller cancelled (its deadline) leaves the request to finish
                return await asyncio.shield(ahead)
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if not ahead.cancelled() or (current is not None and current.cancelling()):
                    raise
                # the request's owner cancelled it, not this caller's: ask here
        return await self._fetch(key, fetch)

    async def _fetch(
        self, key: TokenKey, fetch: Callable[[], Awaitable[TokenOutcome]]
    ) -> str | Rejected | Retryable:
        """``fetch`` a token for ``key``, one caller at a time (the others wait, then find it)."""
        async with self._locks.setdefault(key, asyncio.Lock()):
            cached = self._valid(key)
            if cached is not None:
                return cached
            outcome = await fetch()
            if not isinstance(outcome, TokenGranted):
                return outcome
            self._store(key, outcome)
            return outcome.access_token

    def fetch_ahead(
        self, key: TokenKey, fetch: Callable[[], Awaitable[TokenOutcome]]
    ) -> asyncio.Task[str | Rejected | Retryable] | None:
        """Start fetching a token for ``key`` in the background when none is cached and none
        is on its way: the next ``get`` for ``key`` waits for it rather than asking again.
        The request's task, which the caller owns (cancels it when it no longer needs it);
        None when a token is cached or already on its way."""
        lock = self._locks.get(key)
        if (
            self._valid(key) is not None
            or key in self._ahead
            or (lock is not None and lock.locked())
        ):
            return None
        task = asyncio.get_running_loop().create_task(self._fetch(key, fetch))
        self._ahead[key] = task
        task.add_done_callback(lambda done: self._forget_ahead(key, done))
        return task

    def _forget_ahead(self, key: TokenKey, task: asyncio.Task[str | Rejected | Retryable]) -> None:
        """A request ahead that ended before a ``get`` took it: a token is cached by now, and a
        failure is not kept for later (the next ``get`` asks again)."""
        if not task.cancelled():
            task.exception()  # retrieved: a failure nobody waited for is not logged as lost
        if self._ahead.get(key) is task:
            del self._ahead[key]

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
