"""The inbox of verified webhook events; Saleor's redeliveries are recognised and stored once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from saleor_gordon.store.error_mapping import map_database_errors
from saleor_gordon.store.jobs import enqueue_order_job
from saleor_gordon.store.tables import webhook_events


@dataclass(frozen=True)
class ReceivedOrderEvent:
    """What the app keeps of an order webhook: identifiers only, no customer data."""

    installation_id: int
    event: str
    order_id: str
    order_number: str | None
    issued_at: str | None
    principal_type: str | None
    principal_id: str | None
    body_sha256: str

    @property
    def dedupe_key(self) -> str:
        # Saleor resends identical bytes on retry and has no delivery id; these identify an event.
        return f"{self.event}|{self.order_id}|{self.issued_at or self.body_sha256}"


@dataclass(frozen=True)
class InboxResult:
    duplicate: bool
    job_id: int | None


class EventInbox:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def record_order_event(
        self, received: ReceivedOrderEvent, *, now: datetime, ignored_reason: str | None = None
    ) -> InboxResult:
        """Store the event once and, unless ignored, create or refresh its order's sync job.

        Both happen in one transaction: an acknowledged event always has its job.
        """
        async with map_database_errors(), self._engine.begin() as connection:
            inserted = await _insert_event(connection, received, now=now, ignored=ignored_reason)
            if not inserted:
                return InboxResult(duplicate=True, job_id=None)
            if ignored_reason is not None:
                return InboxResult(duplicate=False, job_id=None)
            job_id = await enqueue_order_job(
                connection,
                installation_id=received.installation_id,
                order_id=received.order_id,
                order_number=received.order_number,
                event=received.event,
                now=now,
            )
        return InboxResult(duplicate=False, job_id=job_id)

    async def count_events(self, installation_id: int) -> int:
        async with map_database_errors(), self._engine.connect() as connection:
            rows = await connection.execute(
                select(webhook_events.c.id).where(
                    webhook_events.c.installation_id == installation_id
                )
            )
            return len(rows.all())


async def _insert_event(
    connection: AsyncConnection, received: ReceivedOrderEvent, *, now: datetime, ignored: str | None
) -> bool:
    values = {
        "installation_id": received.installation_id,
        "dedupe_key": received.dedupe_key,
        "event": received.event,
        "order_id": received.order_id,
        "order_number": received.order_number,
        "issued_at": received.issued_at,
        "principal_type": received.principal_type,
        "principal_id": received.principal_id,
        "body_sha256": received.body_sha256,
        "received_at": now,
        "ignored_reason": ignored,
    }
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(webhook_events)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["installation_id", "dedupe_key"])
        .returning(webhook_events.c.id)
    )
    return (await connection.execute(statement)).first() is not None
