"""The resources a running process shares: database, stores, HTTP client, clock.

Built once by an entry point (``serve``, ``worker``, CLI commands) or by a test, then passed down.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from saleor_gordon.jobs.queue import JobQueue
from saleor_gordon.jobs.views import JobViews
from saleor_gordon.outbound import outbound_client
from saleor_gordon.saleor.graphql_client import SaleorClient
from saleor_gordon.saleor.jwks import JwksRefetchLimiter
from saleor_gordon.secret_box import SecretBox, load_secret_keys
from saleor_gordon.settings import Settings
from saleor_gordon.store.database import create_engine
from saleor_gordon.store.inbox import EventInbox, SqliteWriter
from saleor_gordon.store.installations import (
    DecodedShops,
    InstallationStore,
    WebhookIdentityCache,
)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    secret_box: SecretBox
    http: httpx.AsyncClient
    """The outbound client: every request through the outbound policy (``outbound_client``)."""
    clock: Clock = utc_now
    jwks_limiter: JwksRefetchLimiter = field(default_factory=JwksRefetchLimiter)
    wake_workers: Callable[[int | None], None] = lambda _installation_id: None
    """This process's workers look for due jobs now (``serve`` sets it); the queue and the inbox
    call it when they made a job due (the inbox with its installation), so the workers need not
    wait for their next poll."""
    inbox_writer: SqliteWriter | None = None
    """The SQLite writer the inbox commits through (``open_runtime`` opens one for SQLite)."""
    _jwks_locks: dict[str, asyncio.Lock] = field(default_factory=dict, repr=False)
    _identities: WebhookIdentityCache = field(default_factory=WebhookIdentityCache, repr=False)
    _decoded_shops: DecodedShops = field(default_factory=DecodedShops, repr=False)
    _inbox: EventInbox | None = field(default=None, repr=False)

    def saleor_client(self, saleor_api_url: str, token: str) -> SaleorClient:
        """The one way to build a client of a shop's Saleor: this process's HTTP client and the
        configured Saleor timeout."""
        return SaleorClient(
            saleor_api_url=saleor_api_url,
            token=token,
            http=self.http,
            timeout=self.settings.saleor_timeout_seconds,
        )

    def jwks_refetch_lock(self, saleor_api_url: str) -> asyncio.Lock:
        """Serialises JWKS refetches of one installation (keyed by its Saleor API URL)."""
        return self._jwks_locks.setdefault(saleor_api_url, asyncio.Lock())

    @property
    def installations(self) -> InstallationStore:
        """The installations, with the process's cache of webhook identities."""
        return InstallationStore(
            self.engine,
            self.secret_box,
            self._identities,
            queue=self.queue,
            decoded=self._decoded_shops,
        )

    @property
    def inbox(self) -> EventInbox:
        """The process's one inbox (per engine): it commits webhooks in groups."""
        if self._inbox is None or self._inbox.engine is not self.engine:
            # The writer belongs to the engine the runtime was opened with.
            writer = self.inbox_writer if self._inbox is None else None
            self._inbox = EventInbox(self.engine, writer=writer, wake_workers=self._wake_workers)
        return self._inbox

    @property
    def queue(self) -> JobQueue:
        """The job table's writes (enqueue, claim, finish, retry)."""
        return JobQueue(self.engine, wake_workers=self._wake_workers)

    @property
    def jobs(self) -> JobViews:
        """The job table's reads (lists, counts, one job with its history)."""
        return JobViews(self.engine)

    def _wake_workers(self, installation_id: int | None = None) -> None:
        self.wake_workers(installation_id)  # whatever it is set to by then


@asynccontextmanager
async def open_runtime(
    settings: Settings, *, clock: Clock = utc_now, transport: httpx.AsyncBaseTransport | None = None
) -> AsyncIterator[Runtime]:
    """Open the database engine and the outbound HTTP client; close both on exit.

    Every outbound call goes through the outbound policy (``saleor_gordon.outbound``);
    ``transport`` (tests) replaces only its connection pools.
    """
    secret_box = SecretBox.from_keys(load_secret_keys(settings))
    engine = create_engine(
        settings.database_url,
        connect_timeout=settings.database_connect_timeout_seconds,
        statement_timeout=settings.database_statement_timeout_seconds,
    )
    async with outbound_client(settings, transport=transport) as http:
        runtime = Runtime(
            settings=settings,
            engine=engine,
            secret_box=secret_box,
            http=http,
            clock=clock,
            inbox_writer=SqliteWriter.for_database(settings.database_url),
        )
        try:
            yield runtime
        finally:
            try:
                await runtime.inbox.close()  # events handed in are committed before the end
            finally:
                if runtime.inbox_writer is not None:
                    runtime.inbox_writer.close()
                await engine.dispose()
