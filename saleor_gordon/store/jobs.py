"""Sync jobs: one per (installation, order), coalescing every event of that order.

A job is *due* when ``next_attempt_at`` is set and has passed. Workers claim due jobs with a
lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite serialises writers with BEGIN IMMEDIATE),
renew the lease while working, and finish with the version they claimed: an event that arrived
meanwhile bumped the version, so the job stays due and runs again with the fresh state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Dialect,
    RowMapping,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from saleor_gordon.core.job_status import SETTLED_STATUSES, JobStatus
from saleor_gordon.core.sync_decision import MANUAL_SEND_EVENT
from saleor_gordon.store.error_mapping import map_database_errors
from saleor_gordon.store.multirow import bind_processor, execute_rows
from saleor_gordon.store.tables import installations, job_history, sync_jobs, webhook_events

#: One bit per order event. Stored in the database: never renumber, only add.
EVENT_BITS: dict[str, int] = {
    "ORDER_CREATED": 1,
    "ORDER_CONFIRMED": 2,
    "ORDER_FULLY_PAID": 4,
    "ORDER_UPDATED": 8,
    "ORDER_CANCELLED": 16,
    "ORDER_EXPIRED": 32,
    "ORDER_METADATA_UPDATED": 64,
    MANUAL_SEND_EVENT: 128,
}


def event_names(mask: int) -> frozenset[str]:
    return frozenset(name for name, bit in EVENT_BITS.items() if mask & bit)


@dataclass(frozen=True)
class OrderJobRequest:
    """An order event that makes the order's job due (``enqueue_order_jobs``)."""

    installation_id: int
    order_id: str
    order_number: str | None
    event: str
    now: datetime


#: The outcome of the history entry a claim adds when it takes over an expired lease.
LEASE_TAKEN_OVER = "lease_taken_over"

_SETTLED_SQL = ", ".join(f"'{status.value}'" for status in sorted(SETTLED_STATUSES))


ORDER_JOB_COLUMNS = (
    "installation_id",
    "order_id",
    "order_number",
    "status",
    "events_mask",
    "version",
    "next_attempt_at",
    "pending_since",
    "attempts",
    "run_now",
    "created_at",
    "updated_at",
)
"""The columns of ``order_job_rows``' rows, in their order."""

UPSERT_ORDER_JOBS = f"""\
INSERT INTO sync_jobs ({", ".join(ORDER_JOB_COLUMNS)})
{{rows}}
ON CONFLICT (installation_id, order_id) DO UPDATE SET
    events_mask = sync_jobs.events_mask | excluded.events_mask,
    order_number = coalesce(excluded.order_number, sync_jobs.order_number),
    version = sync_jobs.version + 1,
    next_attempt_at = excluded.next_attempt_at,
    status = CASE WHEN sync_jobs.status IN ({_SETTLED_SQL}) THEN excluded.status
        ELSE sync_jobs.status END,
    pending_since = CASE
        WHEN sync_jobs.status IN ({_SETTLED_SQL}) OR sync_jobs.pending_since IS NULL
        THEN excluded.pending_since ELSE sync_jobs.pending_since END,
    attempts = CASE WHEN sync_jobs.status IN ({_SETTLED_SQL}) THEN 0
        ELSE sync_jobs.attempts END,
    updated_at = excluded.updated_at
RETURNING installation_id, order_id, id"""
"""Create an order's job, or make it due again with the new events (one row per order), for the
rows ``{rows}`` gives (``VALUES …`` or a ``SELECT``).

A settled job (synced, needing attention, failed, cancelled) starts a new episode: pending, its
attempts counted from zero. SQL text both databases run (``store/multirow.py`` says why)."""

UPSERT_JOBS_VALUES = UPSERT_ORDER_JOBS.replace("{rows}", "VALUES {values}")


def enqueue_order_jobs(
    connection: Connection, requests: Sequence[OrderJobRequest]
) -> dict[tuple[int, str], int]:
    """Create each order's job, or make the existing one due again with the events added.

    Returns the job id of every (installation_id, order_id). Requests for one order are combined
    first (their events and the latest time), so a statement touches each job once. One statement
    for all of them on both databases: concurrent events of one order serialise on the row, and
    the webhook path stays short.
    """
    rows = order_job_rows(connection.dialect, requests)
    return {
        (installation_id, order_id): job_id
        for installation_id, order_id, job_id in execute_rows(connection, UPSERT_JOBS_VALUES, rows)
    }


def order_job_rows(dialect: Dialect, requests: Sequence[OrderJobRequest]) -> list[tuple[Any, ...]]:
    """The ``UPSERT_ORDER_JOBS`` rows (``ORDER_JOB_COLUMNS``) for ``requests``: one per order,
    its requests combined (the last order number, every event, the first and the latest time),
    in key order (concurrent transactions lock rows in the same order: no deadlock)."""
    combined: dict[tuple[int, str], _CombinedRequest] = {}
    for request in requests:
        key = (request.installation_id, request.order_id)
        bit = EVENT_BITS.get(request.event, 0)
        seen = combined.get(key)
        if seen is None:
            combined[key] = _CombinedRequest(request.order_number, bit, request.now, request.now)
            continue
        seen.order_number = request.order_number or seen.order_number
        seen.events_mask |= bit
        seen.latest = max(seen.latest, request.now)
    stored_time = bind_processor(sync_jobs.c.updated_at.type, dialect)
    rows = []
    for (installation_id, order_id), order in sorted(combined.items()):
        first, latest = stored_time(order.first), stored_time(order.latest)
        rows.append(
            (
                installation_id,
                order_id,
                order.order_number,
                JobStatus.PENDING.value,  # status
                order.events_mask,
                1,  # version
                latest,  # next_attempt_at
                first,  # pending_since
                0,  # attempts
                False,  # run_now
                first,  # created_at
                latest,  # updated_at
            )
        )
    return rows


@dataclass
class _CombinedRequest:
    """The requests for one order in one call: the last order number, every event, the first and
    the latest time."""

    order_number: str | None
    events_mask: int
    first: datetime
    latest: datetime


async def enqueue_order_job(
    connection: AsyncConnection,
    *,
    installation_id: int,
    order_id: str,
    order_number: str | None,
    event: str,
    now: datetime,
) -> int:
    """``enqueue_order_jobs`` for one order event; returns the job id."""
    request = OrderJobRequest(installation_id, order_id, order_number, event, now)
    job_ids = await connection.run_sync(enqueue_order_jobs, [request])
    return job_ids[(installation_id, order_id)]


async def retry_jobs_needing_attention(
    connection: AsyncConnection, installation_id: int, *, now: datetime
) -> None:
    """Make an installation's jobs that wait for a person due again (after a configuration change)."""
    await connection.execute(
        update(sync_jobs)
        .where(
            sync_jobs.c.installation_id == installation_id,
            sync_jobs.c.status == JobStatus.NEEDS_ATTENTION.value,
        )
        .values(**_retry_values(now))
    )


@dataclass(frozen=True)
class ClaimedJob:
    """A job as a worker holds it under its lease."""

    id: int
    installation_id: int
    saleor_api_url: str
    order_id: str
    order_number: str | None
    status: JobStatus
    events_seen: frozenset[str]
    version: int
    attempts: int
    """Attempts in this episode, including the one now starting."""
    pending_since: datetime | None
    external_ref: str | None
    tracking_id: str | None
    pushed_hash: str | None
    pushed_at: datetime | None
    lease_owner: str
    pushed_delivery_date: date | None = None
    """The deliverydate of the content Gordon accepted last (``pushed_hash``)."""


@dataclass(frozen=True)
class HistoryEntry:
    action: str
    outcome: str
    message: str | None = None


@dataclass(frozen=True)
class JobResult:
    """What a worker records when it finishes an attempt."""

    status: JobStatus
    next_attempt_at: datetime | None
    """When to try again; None when there is nothing left to do."""
    action: str
    outcome: str
    message: str | None = None
    history: Sequence[HistoryEntry] = ()
    changes: Mapping[str, Any] = field(default_factory=dict)
    """Column updates: pushed_hash, pushed_at, pushed_delivery_date, tracking_id, external_ref,
    withdrawn_at."""
    settled: bool = False
    """True when this episode is over (attempts and age start afresh with the next event)."""


@dataclass(frozen=True)
class JobView:
    """A job as operators and the Dashboard see it."""

    id: int
    saleor_api_url: str
    order_id: str
    order_number: str | None
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_action: str | None
    last_outcome: str | None
    last_message: str | None
    external_ref: str | None
    tracking_id: str | None
    events_seen: list[str]
    created_at: datetime
    updated_at: datetime
    leased: bool
    delivery_date: str | None = None
    time_window: str | None = None
    last_attempt_at: datetime | None = None
    pushed_hash: str | None = None
    """Hash of the content Gordon accepted last (internal: not in ``to_dict``)."""
    pushed_at: datetime | None = None
    pushed_delivery_date: date | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "saleor_api_url": self.saleor_api_url,
            "order_id": self.order_id,
            "order_number": self.order_number,
            "status": self.status,
            "attempts": self.attempts,
            "next_attempt_at": _iso(self.next_attempt_at),
            "last_action": self.last_action,
            "last_outcome": self.last_outcome,
            "last_message": self.last_message,
            "external_ref": self.external_ref,
            "tracking_id": self.tracking_id,
            "events_seen": self.events_seen,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
            "last_attempt_at": _iso(self.last_attempt_at),
            "delivery_date": self.delivery_date,
            "time_window": self.time_window,
            "in_progress": self.leased,
            "history": self.history,
        }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


class JobStore:
    """Intent-named operations on sync jobs and their history."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def claim_next_job(
        self, *, worker_id: str, now: datetime, lease_seconds: float, per_installation_limit: int
    ) -> ClaimedJob | None:
        """Lease the most deserving due job, rotating between installations for fairness.

        Jobs of installations whose token was revoked are not claimed. An installation never holds
        more than ``per_installation_limit`` leases, so one shop's backlog leaves workers to others.
        A job whose lease expired without being released (its worker died or lost the database
        mid-attempt) is taken over, and its history says so (``LEASE_TAKEN_OVER``): that attempt
        may have acted in Gordon or Saleor without recording it.
        """
        async with map_database_errors(), self._engine.begin() as connection:
            row = (
                await connection.execute(self._due_job_query(now, per_installation_limit))
            ).first()
            if row is None:
                return None
            job_id, previous_owner = row._mapping["id"], row._mapping["lease_owner"]
            await connection.execute(
                update(sync_jobs)
                .where(sync_jobs.c.id == job_id)
                .values(
                    lease_owner=worker_id,
                    lease_expires_at=now + timedelta(seconds=lease_seconds),
                    attempts=sync_jobs.c.attempts + 1,
                    run_now=False,
                )
            )
            await connection.execute(
                update(installations)
                .where(installations.c.id == row._mapping["installation_id"])
                .values(last_claimed_at=now)
            )
            claimed = (
                (
                    await connection.execute(
                        select(sync_jobs, installations.c.saleor_api_url)
                        .join(installations, installations.c.id == sync_jobs.c.installation_id)
                        .where(sync_jobs.c.id == job_id)
                    )
                )
                .one()
                ._mapping
            )
            if previous_owner is not None:
                expired_at = row._mapping["lease_expires_at"]
                await connection.execute(
                    insert(job_history).values(
                        job_id=job_id,
                        at=now,
                        attempt=claimed["attempts"],
                        action="claim",
                        outcome=LEASE_TAKEN_OVER,
                        message=lease_takeover_message(previous_owner, expired_at),
                    )
                )
        return _claimed_from_row(claimed)

    def _due_job_query(self, now: datetime, per_installation_limit: int) -> Any:
        # Leases held per installation, counted once per claim over the few leased jobs; a
        # subquery correlated with each due job counted them again for every due job, which made
        # a claim quadratic in the backlog (seconds at 1,000 due jobs, minutes at 10,000).
        active = sync_jobs.alias("active")
        leases = (
            select(active.c.installation_id, func.count().label("held"))
            .where(active.c.lease_expires_at.is_not(None), active.c.lease_expires_at >= now)
            .group_by(active.c.installation_id)
            .subquery("leases")
        )
        query = (
            select(
                sync_jobs.c.id,
                sync_jobs.c.installation_id,
                sync_jobs.c.lease_owner,
                sync_jobs.c.lease_expires_at,
            )
            .join(installations, installations.c.id == sync_jobs.c.installation_id)
            .outerjoin(leases, leases.c.installation_id == sync_jobs.c.installation_id)
            .where(
                sync_jobs.c.next_attempt_at.is_not(None),
                sync_jobs.c.next_attempt_at <= now,
                or_(sync_jobs.c.lease_expires_at.is_(None), sync_jobs.c.lease_expires_at < now),
                installations.c.revoked_at.is_(None),
                func.coalesce(leases.c.held, 0) < per_installation_limit,
            )
            .order_by(
                sync_jobs.c.run_now.desc(),
                installations.c.last_claimed_at.asc().nulls_first(),
                sync_jobs.c.next_attempt_at.asc(),
                sync_jobs.c.id.asc(),
            )
            .limit(1)
        )
        if self._engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=sync_jobs)
        return query

    async def renew_lease(
        self, job_id: int, *, worker_id: str, now: datetime, lease_seconds: float
    ) -> bool:
        """Extend a held lease; False when the lease was lost (expired and taken by another)."""
        async with map_database_errors(), self._engine.begin() as connection:
            result = await connection.execute(
                update(sync_jobs)
                .where(sync_jobs.c.id == job_id, sync_jobs.c.lease_owner == worker_id)
                .values(lease_expires_at=now + timedelta(seconds=lease_seconds))
            )
        return bool(result.rowcount)

    async def finish_job(self, job: ClaimedJob, result: JobResult, *, now: datetime) -> bool:
        """Record an attempt and release the lease. False when the lease had been lost.

        An event (or an operator retry) that arrived during the attempt bumped the version: the
        job then stays due, and a settled result opens a fresh episode for the newer work.
        """
        query = select(sync_jobs.c.version, sync_jobs.c.lease_owner).where(sync_jobs.c.id == job.id)
        if self._engine.dialect.name == "postgresql":
            query = query.with_for_update()  # an enqueue must wait, not be overwritten
        async with map_database_errors(), self._engine.begin() as connection:
            current = (await connection.execute(query)).first()
            if current is None or current._mapping["lease_owner"] != job.lease_owner:
                return False
            newer_work = current._mapping["version"] != job.version
            values: dict[str, Any] = {
                "status": result.status.value,
                "next_attempt_at": result.next_attempt_at,
                "lease_owner": None,
                "lease_expires_at": None,
                "last_action": result.action,
                "last_outcome": result.outcome,
                "last_message": result.message,
                "updated_at": now,
                **result.changes,
            }
            if newer_work:
                values["next_attempt_at"] = now
                if result.settled:
                    values.update(status=JobStatus.PENDING.value, attempts=0, pending_since=now)
            elif result.settled:
                values["pending_since"] = None
            await connection.execute(
                update(sync_jobs).where(sync_jobs.c.id == job.id).values(values)
            )
            await _add_history(connection, job, result, now=now)
        return True

    async def retry_job(
        self, job_id: int, *, now: datetime, installation_id: int | None = None
    ) -> bool:
        """Run the job at once, as a fresh episode (a person asked for it).

        With ``installation_id``, only a job of that installation (the Dashboard acts for one shop).
        """
        query = update(sync_jobs).where(sync_jobs.c.id == job_id)
        if installation_id is not None:
            query = query.where(sync_jobs.c.installation_id == installation_id)
        async with map_database_errors(), self._engine.begin() as connection:
            result = await connection.execute(query.values(**_retry_values(now)))
        return bool(result.rowcount)

    async def request_send(
        self, *, installation_id: int, order_id: str, order_number: str | None, now: datetime
    ) -> int:
        """A person chose "Send to Gordon": the order's job runs at once, trigger or not.

        Returns the job id. The job is created when the order has none yet (no webhook seen).
        """
        async with map_database_errors(), self._engine.begin() as connection:
            job_id = await enqueue_order_job(
                connection,
                installation_id=installation_id,
                order_id=order_id,
                order_number=order_number,
                event=MANUAL_SEND_EVENT,
                now=now,
            )
            await connection.execute(
                update(sync_jobs).where(sync_jobs.c.id == job_id).values(run_now=True)
            )
        return job_id

    async def retry_failed_jobs(self, *, now: datetime, saleor_api_url: str | None = None) -> int:
        query = update(sync_jobs).where(sync_jobs.c.status == JobStatus.FAILED.value)
        if saleor_api_url is not None:
            query = query.where(sync_jobs.c.installation_id.in_(_installation_ids(saleor_api_url)))
        async with map_database_errors(), self._engine.begin() as connection:
            result = await connection.execute(query.values(**_retry_values(now)))
        return int(result.rowcount)

    async def get_job(self, job_id: int, *, installation_id: int | None = None) -> JobView | None:
        """The job with its history; with ``installation_id``, only a job of that installation."""
        query = _view_query().where(sync_jobs.c.id == job_id)
        if installation_id is not None:
            query = query.where(sync_jobs.c.installation_id == installation_id)
        async with map_database_errors(), self._engine.connect() as connection:
            row = (await connection.execute(query)).first()
            if row is None:
                return None
            history = (
                await connection.execute(
                    select(job_history)
                    .where(job_history.c.job_id == job_id)
                    .order_by(job_history.c.at, job_history.c.id)
                )
            ).all()
        view = _view_from_row(row._mapping)
        view.history.extend(
            {
                "at": entry._mapping["at"].isoformat(),
                "attempt": entry._mapping["attempt"],
                "action": entry._mapping["action"],
                "outcome": entry._mapping["outcome"],
                "message": entry._mapping["message"],
            }
            for entry in history
        )
        return view

    async def find_job(self, installation_id: int, order_id: str) -> JobView | None:
        async with map_database_errors(), self._engine.connect() as connection:
            row = (
                await connection.execute(
                    select(sync_jobs.c.id).where(
                        sync_jobs.c.installation_id == installation_id,
                        sync_jobs.c.order_id == order_id,
                    )
                )
            ).first()
        return None if row is None else await self.get_job(row._mapping["id"])

    async def list_jobs(
        self,
        *,
        status: str | None = None,
        saleor_api_url: str | None = None,
        installation_id: int | None = None,
        search: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[JobView]:
        """Jobs, most recently changed first, filtered and paginated in the database.

        ``search`` matches an order number (exactly, or as a prefix), an order id, a tracking id
        or an external reference.
        """
        query = _filtered(_view_query(), status, saleor_api_url, installation_id, search)
        query = query.order_by(sync_jobs.c.updated_at.desc(), sync_jobs.c.id.desc())
        async with map_database_errors(), self._engine.connect() as connection:
            rows = (await connection.execute(query.limit(limit).offset(offset))).all()
        return [_view_from_row(row._mapping) for row in rows]

    async def count_jobs(
        self,
        *,
        status: str | None = None,
        installation_id: int | None = None,
        search: str | None = None,
    ) -> int:
        """How many jobs ``list_jobs`` would page through with the same filters."""
        query = _filtered(
            select(func.count()).select_from(
                sync_jobs.join(installations, installations.c.id == sync_jobs.c.installation_id)
            ),
            status,
            None,
            installation_id,
            search,
        )
        async with map_database_errors(), self._engine.connect() as connection:
            return int((await connection.execute(query)).scalar_one())

    async def count_by_status(self, *, installation_id: int | None = None) -> dict[str, int]:
        query = select(sync_jobs.c.status, func.count()).group_by(sync_jobs.c.status)
        if installation_id is not None:
            query = query.where(sync_jobs.c.installation_id == installation_id)
        async with map_database_errors(), self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return {row[0]: int(row[1]) for row in rows}

    async def due_jobs(self, *, now: datetime) -> tuple[int, datetime | None]:
        """Jobs due at ``now`` that no worker holds, revoked installations' aside (what a claim
        would consider): how many, and when the oldest of them became due."""
        query = (
            select(func.count(), func.min(sync_jobs.c.next_attempt_at))
            .select_from(
                sync_jobs.join(installations, installations.c.id == sync_jobs.c.installation_id)
            )
            .where(
                sync_jobs.c.next_attempt_at.is_not(None),
                sync_jobs.c.next_attempt_at <= now,
                or_(sync_jobs.c.lease_expires_at.is_(None), sync_jobs.c.lease_expires_at < now),
                installations.c.revoked_at.is_(None),
            )
        )
        async with map_database_errors(), self._engine.connect() as connection:
            count, oldest = (await connection.execute(query)).one()
        return int(count), oldest

    async def count_stuck(self, installation_id: int, *, before: datetime) -> tuple[int, int]:
        """Jobs no worker took up: ``(leases expired before `before`, due since before it)``.

        A lease that expired long ago means its worker died and no other worker took the job
        over; a job due long ago and never claimed means no worker runs at all.
        """
        stale_lease = sync_jobs.c.lease_expires_at < before
        overdue = (
            sync_jobs.c.lease_expires_at.is_(None)
            & sync_jobs.c.next_attempt_at.is_not(None)
            & (sync_jobs.c.next_attempt_at < before)
        )
        query = select(func.count().filter(stale_lease), func.count().filter(overdue)).where(
            sync_jobs.c.installation_id == installation_id
        )
        async with map_database_errors(), self._engine.connect() as connection:
            row = (await connection.execute(query)).one()
        return int(row[0]), int(row[1])

    async def prune_history(self, *, older_than: datetime) -> int:
        """Delete job history and received-event records older than ``older_than``."""
        async with map_database_errors(), self._engine.begin() as connection:
            history = await connection.execute(
                delete(job_history).where(job_history.c.at < older_than)
            )
            events = await connection.execute(
                delete(webhook_events).where(webhook_events.c.received_at < older_than)
            )
        return int(history.rowcount) + int(events.rowcount)


def lease_takeover_message(previous_owner: str, expired_at: datetime) -> str:
    """The history message of a claim that took a job over from ``previous_owner``."""
    return (
        f"Taken over from worker {previous_owner}, whose lease expired at "
        f"{expired_at.isoformat()} before it recorded its attempt (the worker stopped or lost the "
        "database); that attempt may have reached Gordon or Saleor."
    )


def _retry_values(now: datetime) -> dict[str, Any]:
    return {
        "version": sync_jobs.c.version + 1,  # a worker running the job now leaves it due
        "status": JobStatus.PENDING.value,
        "next_attempt_at": now,
        "pending_since": now,
        "attempts": 0,
        "run_now": True,
        "updated_at": now,
    }


def _installation_ids(saleor_api_url: str) -> Any:
    return select(installations.c.id).where(installations.c.saleor_api_url == saleor_api_url)


async def _add_history(
    connection: AsyncConnection, job: ClaimedJob, result: JobResult, *, now: datetime
) -> None:
    entries = list(result.history) or [HistoryEntry(result.action, result.outcome, result.message)]
    await connection.execute(
        insert(job_history),
        [
            {
                "job_id": job.id,
                "at": now,
                "attempt": job.attempts,
                "action": entry.action,
                "outcome": entry.outcome,
                "message": entry.message,
            }
            for entry in entries
        ],
    )


def _view_query() -> Any:
    last_attempt = (
        select(func.max(job_history.c.at))
        .where(job_history.c.job_id == sync_jobs.c.id)
        .scalar_subquery()
        .label("last_attempt_at")
    )
    return select(sync_jobs, installations.c.saleor_api_url, last_attempt).join(
        installations, installations.c.id == sync_jobs.c.installation_id
    )


def _filtered(
    query: Any,
    status: str | None,
    saleor_api_url: str | None,
    installation_id: int | None,
    search: str | None,
) -> Any:
    if status is not None:
        query = query.where(sync_jobs.c.status == status)
    if saleor_api_url is not None:
        query = query.where(installations.c.saleor_api_url == saleor_api_url)
    if installation_id is not None:
        query = query.where(sync_jobs.c.installation_id == installation_id)
    term = (search or "").strip().removeprefix("#")
    if term:
        escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(
            or_(
                sync_jobs.c.order_number.like(escaped + "%", escape="\\"),
                sync_jobs.c.order_id == term,
                sync_jobs.c.tracking_id == term,
                sync_jobs.c.external_ref == term,
            )
        )
    return query


def _view_from_row(row: RowMapping) -> JobView:
    return JobView(
        id=row["id"],
        saleor_api_url=row["saleor_api_url"],
        order_id=row["order_id"],
        order_number=row["order_number"],
        status=row["status"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        last_action=row["last_action"],
        last_outcome=row["last_outcome"],
        last_message=row["last_message"],
        external_ref=row["external_ref"],
        tracking_id=row["tracking_id"],
        events_seen=sorted(event_names(row["events_mask"])),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        leased=row["lease_owner"] is not None,
        delivery_date=_iso_date(row["pushed_delivery_date"]),
        time_window=row["pushed_time_window"],
        pushed_delivery_date=row["pushed_delivery_date"],
        last_attempt_at=row["last_attempt_at"],
        pushed_hash=row["pushed_hash"],
        pushed_at=row["pushed_at"],
    )


def _iso_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _claimed_from_row(row: RowMapping) -> ClaimedJob:
    return ClaimedJob(
        id=row["id"],
        installation_id=row["installation_id"],
        saleor_api_url=row["saleor_api_url"],
        order_id=row["order_id"],
        order_number=row["order_number"],
        status=JobStatus(row["status"]),
        events_seen=event_names(row["events_mask"]),
        version=row["version"],
        attempts=row["attempts"],
        pending_since=row["pending_since"],
        external_ref=row["external_ref"],
        tracking_id=row["tracking_id"],
        pushed_hash=row["pushed_hash"],
        pushed_at=row["pushed_at"],
        lease_owner=row["lease_owner"],
        pushed_delivery_date=row["pushed_delivery_date"],
    )
