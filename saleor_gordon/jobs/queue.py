"""The job queue: every write to the job table. One job per (installation, order), coalescing
every event of that order; reading jobs is ``jobs/views.py``.

- enqueue: an order event makes the order's job due (``enqueue_order_jobs``: one statement for
  many orders; the webhook path runs its SQL inside the inbox's group transaction,
  ``store/inbox.py``), as does "Send to Gordon" (``request_send``) and a catch-up scan;
- claim, renew, finish: a job is *due* when ``next_attempt_at`` is set and has passed. Workers
  claim due jobs with a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite serialises
  writers with BEGIN IMMEDIATE), renew the lease while working, and finish with the version they
  claimed: an event that arrived meanwhile bumped the version, so the job stays due and runs
  again with the fresh state;
- retry: a person asks for a job (or all failed ones, or those a configuration change may fix).

The state each write gives a job is the transition table's (``jobs/lifecycle.py``). Whatever makes
a job due wakes this process's workers once it is committed (``JobQueue.transaction``; the inbox
does the same for webhooks), so they need not wait for their next poll.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
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

from saleor_gordon.core.job_status import JobStatus
from saleor_gordon.core.order_events import EVENT_BITS, MANUAL_SEND_EVENT, event_names
from saleor_gordon.core.sync_decision import SentBefore
from saleor_gordon.jobs.lifecycle import (
    SETTLED_STATUSES,
    Episode,
    GordonRecord,
    HistoryEntry,
    JobState,
    PushRecorded,
    RefRecorded,
    Transition,
    WithdrawalRecorded,
    on_retry_requested,
    with_newer_work,
)
from saleor_gordon.store.error_mapping import map_database_errors
from saleor_gordon.store.multirow import bind_processor, execute_rows
from saleor_gordon.store.tables import installations, job_history, sync_jobs, webhook_events

#: The outcome of the history entry a claim adds when it takes over an expired lease.
LEASE_TAKEN_OVER = "lease_taken_over"


@dataclass(frozen=True)
class OrderJobRequest:
    """An order event that makes the order's job due (``enqueue_order_jobs``)."""

    installation_id: int
    order_id: str
    order_number: str | None
    event: str
    now: datetime


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

``lifecycle.on_new_event`` as SQL: a settled job (``SETTLED_STATUSES``) starts a new episode,
pending, its attempts counted from zero (tests/jobs/test_queue.py holds the two to the same result
for every status). SQL text both databases run (``store/multirow.py`` says why)."""

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


class QueueWrites:
    """Queue writes in one transaction that may hold the caller's own statements too
    (``connection``); ``JobQueue.transaction`` opens one."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection
        self.made_due = False
        """Some job became due: the workers are woken once the transaction has committed."""

    async def enqueue(self, requests: Sequence[OrderJobRequest]) -> dict[tuple[int, str], int]:
        """``enqueue_order_jobs`` in this transaction."""
        job_ids = await self.connection.run_sync(enqueue_order_jobs, requests)
        self.made_due = self.made_due or bool(job_ids)
        return job_ids

    async def retry(self, *conditions: Any, now: datetime) -> int:
        """Run the jobs matching ``conditions`` at once, each as a fresh episode; how many."""
        due = on_retry_requested(now=now)
        result = await self.connection.execute(
            update(sync_jobs)
            .where(*conditions)
            .values(
                version=sync_jobs.c.version + 1,  # a worker running the job now leaves it due
                status=due.status.value,
                next_attempt_at=due.next_attempt_at,
                pending_since=due.pending_since,
                attempts=due.attempts,
                run_now=True,
                updated_at=now,
            )
        )
        count = int(result.rowcount)
        self.made_due = self.made_due or count > 0
        return count

    async def retry_needing_attention(self, installation_id: int, *, now: datetime) -> int:
        """Run an installation's jobs that wait for a person again (after a configuration change:
        it may be their fix)."""
        return await self.retry(
            sync_jobs.c.installation_id == installation_id,
            sync_jobs.c.status == JobStatus.NEEDS_ATTENTION.value,
            now=now,
        )


def _nobody_to_wake() -> None:
    """No workers in this process (the CLI, a test): they poll."""


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

    @property
    def sent_before(self) -> SentBefore:
        return SentBefore(
            external_ref=self.external_ref,
            pushed_at=self.pushed_at,
            pushed_hash=self.pushed_hash,
            pushed_delivery_date=self.pushed_delivery_date,
        )

    @property
    def state(self) -> JobState:
        """Where the job stands in its episode (what its transition depends on)."""
        return JobState(self.status, attempts=self.attempts, pending_since=self.pending_since)


class JobQueue:
    """Intent-named writes of sync jobs and their history.

    ``wake_workers`` is called when a write made a job due (after its commit).
    """

    def __init__(
        self, engine: AsyncEngine, *, wake_workers: Callable[[], None] = _nobody_to_wake
    ) -> None:
        self._engine = engine
        self._wake_workers = wake_workers

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[QueueWrites]:
        """One transaction of queue writes (and the caller's statements on its connection); the
        workers are woken once it has committed, if it made a job due."""
        async with map_database_errors(), self._engine.begin() as connection:
            writes = QueueWrites(connection)
            yield writes
        if writes.made_due:
            self._wake_workers()

    async def enqueue(self, requests: Sequence[OrderJobRequest]) -> dict[tuple[int, str], int]:
        """Create each order's job or make it due again (``enqueue_order_jobs``); the job ids."""
        async with self.transaction() as writes:
            return await writes.enqueue(requests)

    async def claim_next_job(
        self,
        *,
        worker_id: str,
        now: datetime,
        lease_seconds: float,
        per_installation_limit: int,
        skip_installations: frozenset[int] = frozenset(),
    ) -> ClaimedJob | None:
        """Lease the most deserving due job, rotating between installations for fairness.

        Jobs of installations whose token was revoked are not claimed. An installation never holds
        more than ``per_installation_limit`` leases, so one shop's backlog leaves workers to others.
        Jobs of ``skip_installations`` are not claimed (the worker's fair share: shops whose servers
        are slow, ``jobs/worker.py``).
        A job whose lease expired without being released (its worker died or lost the database
        mid-attempt) is taken over, and its history says so (``LEASE_TAKEN_OVER``): that attempt
        may have acted in Gordon or Saleor without recording it.
        """
        async with map_database_errors(), self._engine.begin() as connection:
            query = _skipping(self._due_job_query(now, per_installation_limit), skip_installations)
            row = (await connection.execute(query)).first()
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

    async def has_due_job(
        self,
        *,
        now: datetime,
        per_installation_limit: int,
        skip_installations: frozenset[int] = frozenset(),
    ) -> bool:
        """Would ``claim_next_job`` with these arguments find a job? Leases nothing (the workers'
        fair share asks before stopping a slow attempt for someone else's work)."""
        query = _skipping(self._due_job_query(now, per_installation_limit), skip_installations)
        async with map_database_errors(), self._engine.begin() as connection:
            return (await connection.execute(query)).first() is not None

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

    async def finish_job(self, job: ClaimedJob, done: Transition, *, now: datetime) -> bool:
        """Record an attempt's transition and release the lease. False when the lease had been
        lost.

        An event (or an operator retry) that arrived during the attempt bumped the version: the
        job then stays due (``lifecycle.with_newer_work``).
        """
        query = select(sync_jobs.c.version, sync_jobs.c.lease_owner).where(sync_jobs.c.id == job.id)
        if self._engine.dialect.name == "postgresql":
            query = query.with_for_update()  # an enqueue must wait, not be overwritten
        async with map_database_errors(), self._engine.begin() as connection:
            current = (await connection.execute(query)).first()
            if current is None or current._mapping["lease_owner"] != job.lease_owner:
                return False
            if current._mapping["version"] != job.version:
                done = with_newer_work(done, now=now)
            values: dict[str, Any] = {
                "status": done.status.value,
                "next_attempt_at": done.next_attempt_at,
                "lease_owner": None,
                "lease_expires_at": None,
                "last_action": done.action,
                "last_outcome": done.outcome,
                "last_message": done.message,
                "updated_at": now,
                **_episode_columns(done.episode, now),
                **_gordon_columns(done.gordon),
            }
            await connection.execute(
                update(sync_jobs).where(sync_jobs.c.id == job.id).values(values)
            )
            await _add_history(connection, job, done, now=now)
        return True

    async def retry_job(
        self, job_id: int, *, now: datetime, installation_id: int | None = None
    ) -> bool:
        """Run the job at once, as a fresh episode (a person asked for it).

        With ``installation_id``, only a job of that installation (the Dashboard acts for one shop).
        """
        conditions = [sync_jobs.c.id == job_id]
        if installation_id is not None:
            conditions.append(sync_jobs.c.installation_id == installation_id)
        async with self.transaction() as writes:
            return bool(await writes.retry(*conditions, now=now))

    async def request_send(
        self, *, installation_id: int, order_id: str, order_number: str | None, now: datetime
    ) -> int:
        """A person chose "Send to Gordon": the order's job runs at once, trigger or not.

        Returns the job id. The job is created when the order has none yet (no webhook seen).
        """
        request = OrderJobRequest(installation_id, order_id, order_number, MANUAL_SEND_EVENT, now)
        async with self.transaction() as writes:
            job_id = (await writes.enqueue([request]))[(installation_id, order_id)]
            await writes.connection.execute(
                update(sync_jobs).where(sync_jobs.c.id == job_id).values(run_now=True)
            )
        return job_id

    async def retry_failed_jobs(self, *, now: datetime, saleor_api_url: str | None = None) -> int:
        """Run every failed job (of one shop, with ``saleor_api_url``) at once; how many."""
        conditions = [sync_jobs.c.status == JobStatus.FAILED.value]
        if saleor_api_url is not None:
            conditions.append(sync_jobs.c.installation_id.in_(_installation_ids(saleor_api_url)))
        async with self.transaction() as writes:
            return await writes.retry(*conditions, now=now)

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


def _skipping(due_job_query: Any, installation_ids: frozenset[int]) -> Any:
    """The claim's query without the jobs of ``installation_ids`` (the fair-share predicate)."""
    if not installation_ids:
        return due_job_query
    return due_job_query.where(sync_jobs.c.installation_id.not_in(sorted(installation_ids)))


def lease_takeover_message(previous_owner: str, expired_at: datetime) -> str:
    """The history message of a claim that took a job over from ``previous_owner``."""
    return (
        f"Taken over from worker {previous_owner}, whose lease expired at "
        f"{expired_at.isoformat()} before it recorded its attempt (the worker stopped or lost the "
        "database); that attempt may have reached Gordon or Saleor."
    )


def _installation_ids(saleor_api_url: str) -> Any:
    return select(installations.c.id).where(installations.c.saleor_api_url == saleor_api_url)


def _episode_columns(episode: Episode, now: datetime) -> dict[str, Any]:
    if episode is Episode.ENDS:
        return {"pending_since": None}
    if episode is Episode.STARTS_AGAIN:
        return {"attempts": 0, "pending_since": now}
    return {}


def _gordon_columns(record: GordonRecord | None) -> dict[str, Any]:
    """The job's columns of what Gordon has, as ``record`` changes them."""
    if isinstance(record, PushRecorded):
        return {
            "pushed_hash": record.copy.content_hash,
            "pushed_at": record.at,
            "pushed_delivery_date": record.copy.delivery_date,
            "pushed_time_window": record.copy.time_window,
            "tracking_id": record.copy.tracking_id,
            "external_ref": record.copy.external_ref,
            "withdrawn_at": None,
        }
    if isinstance(record, WithdrawalRecorded):
        return {
            "pushed_hash": None,
            "pushed_delivery_date": None,
            "pushed_time_window": None,
            "withdrawn_at": record.at,
            "pushed_at": record.at,
            "external_ref": record.external_ref,
        }
    if isinstance(record, RefRecorded):
        return {"external_ref": record.external_ref}
    return {}


async def _add_history(
    connection: AsyncConnection, job: ClaimedJob, done: Transition, *, now: datetime
) -> None:
    entries = list(done.history) or [HistoryEntry(done.action, done.outcome, done.message)]
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
