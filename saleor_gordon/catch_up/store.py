"""What backfill and reconcile keep: the job facts they decide with, their checkpoints, leases.

- ``known_jobs``: what the job table knows of some orders (core.backfill.KnownJob);
- ``BackfillRun``: one backfill of a shop and time range; ``record_page`` queues a page's orders
  and moves the run's cursor past the page in one transaction, so an interrupted run resumes
  after the last page it recorded, with no order queued twice;
- reconcile leases: one row per shop; ``claim_reconcile`` succeeds for one process per period.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from saleor_gordon.catch_up.plan import KnownJob
from saleor_gordon.core.job_status import JobStatus
from saleor_gordon.core.order_events import CATCH_UP_EVENT, event_names
from saleor_gordon.jobs.queue import JobQueue, OrderJobRequest, QueueWrites
from saleor_gordon.store.error_mapping import map_database_errors
from saleor_gordon.store.tables import backfill_runs, reconcile_leases, sync_jobs


@dataclass(frozen=True)
class BackfillRun:
    id: int
    time_field: str
    since: datetime
    until: datetime
    cursor: str | None
    pages: int
    seen: int
    enqueued: int
    skipped: int
    resumed: bool
    """An earlier run of the same range was interrupted; this one goes on from its cursor."""


@dataclass(frozen=True)
class OrderToQueue:
    order_id: str
    order_number: str | None


class CatchUpStore:
    """What backfill and reconcile read and keep; the orders they queue go through ``queue``."""

    def __init__(self, engine: AsyncEngine, queue: JobQueue) -> None:
        self._engine = engine
        self._queue = queue

    async def known_jobs(
        self, installation_id: int, order_ids: Sequence[str]
    ) -> dict[str, KnownJob]:
        if not order_ids:
            return {}
        query = select(
            sync_jobs.c.order_id,
            sync_jobs.c.status,
            sync_jobs.c.pushed_hash,
            sync_jobs.c.events_mask,
            sync_jobs.c.tracking_id,
        ).where(
            sync_jobs.c.installation_id == installation_id,
            sync_jobs.c.order_id.in_(list(order_ids)),
        )
        async with map_database_errors(), self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return {
            row.order_id: KnownJob(
                status=JobStatus(row.status),
                in_gordon=row.pushed_hash is not None,
                events_seen=event_names(row.events_mask),
                tracking_id=row.tracking_id,
            )
            for row in rows
        }

    async def enqueue(
        self, installation_id: int, orders: Sequence[OrderToQueue], *, now: datetime
    ) -> int:
        """Queue orders without a checkpoint (reconcile); returns how many."""
        async with self._queue.transaction() as writes:
            return await _enqueue_found(writes, installation_id, orders, now=now)

    # -- backfill runs ----------------------------------------------------------------------

    async def start_run(
        self,
        installation_id: int,
        *,
        time_field: str,
        since: datetime,
        until: datetime | None,
        now: datetime,
    ) -> BackfillRun:
        """The unfinished run of this shop and range (resumed), or a new one.

        ``until`` None is "up to now": an interrupted run up to its own "now" is resumed with that
        end, so repeating the same command resumes it.
        """
        query = select(backfill_runs).where(
            backfill_runs.c.installation_id == installation_id,
            backfill_runs.c.time_field == time_field,
            backfill_runs.c.since == since,
            backfill_runs.c.finished_at.is_(None),
        )
        if until is not None:
            query = query.where(backfill_runs.c.until == until)
        async with map_database_errors(), self._engine.begin() as connection:
            row = (
                await connection.execute(query.order_by(backfill_runs.c.id.desc()).limit(1))
            ).first()
            if row is not None:
                m = row._mapping
                return BackfillRun(
                    m["id"], time_field, since, m["until"], m["cursor"], m["pages"], m["seen"],
                    m["enqueued"], m["skipped"], resumed=True,
                )  # fmt: skip
            until = until or now
            run_id = (
                await connection.execute(
                    insert(backfill_runs)
                    .values(
                        installation_id=installation_id,
                        time_field=time_field,
                        since=since,
                        until=until,
                        cursor=None,
                        pages=0,
                        seen=0,
                        enqueued=0,
                        skipped=0,
                        started_at=now,
                        updated_at=now,
                    )
                    .returning(backfill_runs.c.id)
                )
            ).scalar_one()
        return BackfillRun(run_id, time_field, since, until, None, 0, 0, 0, 0, resumed=False)

    async def record_page(
        self,
        run: BackfillRun,
        installation_id: int,
        orders: Sequence[OrderToQueue],
        *,
        cursor: str | None,
        seen: int,
        skipped: int,
        now: datetime,
    ) -> BackfillRun:
        """Queue a page's orders and move the run past the page, all or nothing."""
        async with self._queue.transaction() as writes:
            await _enqueue_found(writes, installation_id, orders, now=now)
            after = dataclasses.replace(
                run,
                cursor=cursor,
                pages=run.pages + 1,
                seen=run.seen + seen,
                enqueued=run.enqueued + len(orders),
                skipped=run.skipped + skipped,
            )
            await writes.connection.execute(
                update(backfill_runs)
                .where(backfill_runs.c.id == run.id)
                .values(
                    cursor=after.cursor,
                    pages=after.pages,
                    seen=after.seen,
                    enqueued=after.enqueued,
                    skipped=after.skipped,
                    updated_at=now,
                )
            )
        return after

    async def finish_run(self, run: BackfillRun, *, now: datetime) -> None:
        async with map_database_errors(), self._engine.begin() as connection:
            await connection.execute(
                update(backfill_runs)
                .where(backfill_runs.c.id == run.id)
                .values(finished_at=now, updated_at=now)
            )

    # -- reconcile leases -------------------------------------------------------------------

    async def claim_reconcile(
        self, installation_id: int, *, owner: str, now: datetime, lease_seconds: float
    ) -> bool:
        """Take the shop's reconcile if it is due and nobody holds it; True when taken.

        One conditional UPDATE of the shop's row: of several processes exactly one matches.
        """
        insert_ = postgresql.insert if self._engine.dialect.name == "postgresql" else sqlite.insert
        async with map_database_errors(), self._engine.begin() as connection:
            await connection.execute(
                insert_(reconcile_leases)
                .values(installation_id=installation_id, next_due_at=now)
                .on_conflict_do_nothing(index_elements=["installation_id"])
            )
            result = await connection.execute(
                update(reconcile_leases)
                .where(
                    reconcile_leases.c.installation_id == installation_id,
                    or_(
                        reconcile_leases.c.next_due_at.is_(None),
                        reconcile_leases.c.next_due_at <= now,
                    ),
                    or_(
                        reconcile_leases.c.lease_expires_at.is_(None),
                        reconcile_leases.c.lease_expires_at < now,
                    ),
                )
                .values(
                    lease_owner=owner,
                    lease_expires_at=now + timedelta(seconds=lease_seconds),
                    last_started_at=now,
                )
            )
        return bool(result.rowcount)

    async def finish_reconcile(
        self,
        installation_id: int,
        *,
        owner: str,
        now: datetime,
        next_due_at: datetime,
        enqueued: int | None,
    ) -> None:
        """Release the lease; the shop is due again at ``next_due_at`` (sooner after a failure)."""
        values: dict[str, object] = {
            "lease_owner": None,
            "lease_expires_at": None,
            "next_due_at": next_due_at,
        }
        if enqueued is not None:
            values.update(last_finished_at=now, last_enqueued=enqueued)
        async with map_database_errors(), self._engine.begin() as connection:
            await connection.execute(
                update(reconcile_leases)
                .where(
                    reconcile_leases.c.installation_id == installation_id,
                    reconcile_leases.c.lease_owner == owner,
                )
                .values(values)
            )


async def _enqueue_found(
    writes: QueueWrites,
    installation_id: int,
    orders: Sequence[OrderToQueue],
    *,
    now: datetime,
) -> int:
    """Queue each order's job as a scan found it; how many."""
    requests = [
        OrderJobRequest(installation_id, order.order_id, order.order_number, CATCH_UP_EVENT, now)
        for order in orders
    ]
    if requests:
        await writes.enqueue(requests)
    return len(requests)
