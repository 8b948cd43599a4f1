"""The resources a running process shares: database, stores, HTTP client, clock.

Built once by an entry point (``serve``, ``worker``, CLI commands) or by a test, then passed down.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from saleor_gordon.saleor.jwks import JwksRefetchLimiter
from saleor_gordon.secret_box import SecretBox, load_secret_keys
from saleor_gordon.settings import Settings
from saleor_gordon.store.database import create_engine
from saleor_gordon.store.inbox import EventInbox
from saleor_gordon.store.installations import InstallationStore
from saleor_gordon.store.jobs import JobStore

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    secret_box: SecretBox
    http: httpx.AsyncClient
    clock: Clock = utc_now
    jwks_limiter: JwksRefetchLimiter = field(default_factory=JwksRefetchLimiter)
    wake_workers: Callable[[], None] = lambda: None
    """Called when a job became due, so in-process workers need not wait for their next poll."""
    _jwks_locks: dict[str, asyncio.Lock] = field(default_factory=dict, repr=False)

    def jwks_refetch_lock(self, saleor_api_url: str) -> asyncio.Lock:
        """Serialises JWKS refetches of one installation (keyed by its Saleor API URL)."""
        return self._jwks_locks.setdefault(saleor_api_url, asyncio.Lock())

    @cached_property
    def installations(self) -> InstallationStore:
        """One per runtime: it keeps the process's cache of webhook identities."""
        return InstallationStore(self.engine, self.secret_box)

    @cached_property
    def inbox(self) -> EventInbox:
        """One per runtime: it commits the process's webhooks in groups."""
        return EventInbox(self.engine)

    @property
    def jobs(self) -> JobStore:
        return JobStore(self.engine)


@asynccontextmanager
async def open_runtime(
    settings: Settings, *, clock: Clock = utc_now, transport: httpx.AsyncBaseTransport | None = None
) -> AsyncIterator[Runtime]:
    """Open the database engine and the outbound HTTP client; close both on exit."""
    secret_box = SecretBox.from_keys(load_secret_keys(settings))
    engine = create_engine(settings.database_url)
    timeout = httpx.Timeout(settings.saleor_timeout_seconds, connect=5.0)
    async with httpx.AsyncClient(timeout=timeout, transport=transport) as http:
        runtime = Runtime(
            settings=settings, engine=engine, secret_box=secret_box, http=http, clock=clock
        )
        try:
            yield runtime
        finally:
            try:
                await runtime.inbox.close()  # events handed in are committed before the end
            finally:
                await engine.dispose()
