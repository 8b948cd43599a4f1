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
does the same for webhooks), so they need not wait for their next poll; on PostgreSQL the
transaction also notifies the other processes' workers (``store/job_wake.py``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    Connection,
    Dialect,
    Text,
    bindparam,
    cast,
    column,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    true,
    update,
    values,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from saleor_gordon.core.job_status import JobStatus
from saleor_gordon.core.messages import Message
from saleor_gordon.core.order_events import EVENT_BITS, MANUAL_SEND_EVENT, event_names
from saleor_gordon.core.sync_decision import SentBefore
from saleor_gordon.errors import PruneCutShort, StoreUnavailable
from saleor_gordon.jobs.lifecycle import (
    FULFILLMENT_RETRY_STATE,
    FULFILLMENT_RETRY_STATUS,
    SETTLED_STATUSES,
    Episode,
    FulfillmentRecord,
    GordonRecord,
    HistoryEntry,
    JobState,
    LastRecorded,
    PushRecorded,
    RefRecorded,
    Said,
    Transition,
    WithdrawalRecorded,
    on_retry_requested,
    with_newer_work,
)
from saleor_gordon.json_text import JsonUnusable, parse_json
from saleor_gordon.store.database import reading
from saleor_gordon.store.driver_sql import (
    Prepared,
    in_sqlite_thread,
    is_sqlite,
    on_postgres,
    sqlite_transaction,
)
from saleor_gordon.store.error_mapping import map_database_errors
from saleor_gordon.store.job_wake import notify_due_jobs
from saleor_gordon.store.multirow import bind_processor, execute_rows
from saleor_gordon.store.tables import installations, job_history, sync_jobs, webhook_events

#: The outcome of the history entry a claim adds when it takes over an expired lease.
LEASE_TAKEN_OVER = "lease_taken_over"

PRUNE_BATCH = 2000
"""Old history entries or received events ``prune_history`` deletes per transaction."""


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


async def _go_on() -> bool:
    """``prune_history``'s default between its batches: no pause, go on."""
    return True


NOTHING_RECORDED = LastRecorded(
    status=None, message=None, fulfillment_state=None, fulfillment_message=None
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
    shop_row: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)
    """The installation's row (``SHOP_COLUMNS``: token and secret still encrypted) as the
    claim read it with the job, in the same statement or transaction; the attempt decodes it
    (``InstallationStore.shop_of_row``) instead of reading it again. None when this claim did
    not read it (a lease taken over): the attempt reads it."""
    asked: bool = False
    """A person asked for this attempt (``run_now`` was set: Send to Gordon, Retry, Try
    fulfilling again, a saved configuration), or the claim took over an expired lease: its
    result is recorded even when it changes nothing (``lifecycle.unnoticed``)."""
    last_recorded: LastRecorded = NOTHING_RECORDED
    """What the job's last recorded attempt left it saying (read with the claim, same row)."""

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
            if writes.made_due and not is_sqlite(self._engine):
                await notify_due_jobs(connection)  # other processes' workers, at the commit
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
        return (
            await self.claim(
                worker_id=worker_id,
                now=now,
                lease_seconds=lease_seconds,
                per_installation_limit=per_installation_limit,
                skip_installations=skip_installations,
            )
        ).job

    async def claim(
        self,
        *,
        worker_id: str,
        now: datetime,
        lease_seconds: float,
        per_installation_limit: int,
        skip_installations: frozenset[int] = frozenset(),
        look_first: bool = True,
    ) -> Claim:
        """``claim_next_job``, with the installations whose due jobs wait for one of their leases
        to end (``Claim.saturated``; an installation skipped is not saturated by being skipped).

        On SQLite the claim runs whole in the connection's thread (``store/driver_sql.py``), and
        with ``look_first`` the due jobs are looked for first in a read transaction, which does
        not take the database's write lock: a claim that finds nothing writes nothing, and waits
        for no other writer (the webhooks' among them). A worker whose last claim found a job
        claims without looking first (``look_first=False``): more are likely due.
        """
        request = _ClaimRequest(
            worker_id=worker_id,
            now=now,
            expires_at=now + timedelta(seconds=lease_seconds),
            limit=per_installation_limit,
            skip_installations=skip_installations,
        )
        if is_sqlite(self._engine):
            prepared = _sqlite_statements(self._engine.dialect)

            def claim_here(connection: sqlite3.Connection) -> tuple[Any, list[_Candidate]]:
                return _claim_on_sqlite(connection, prepared, request, look_first=look_first)

            async with map_database_errors():
                leased, candidates = await in_sqlite_thread(self._engine, claim_here)
            if leased is None:
                return _nothing_claimable(candidates, request.limit)
            return Claim(_claimed_from_row(leased), _saturated(candidates, request.limit))
        statements = _claim_statements(self._engine.dialect.name)
        return await self._claim_on_postgres(statements, request)

    async def _claim_on_postgres(
        self, statements: _ClaimStatements, request: _ClaimRequest
    ) -> Claim:
        """The claim on PostgreSQL at the driver's level (``store/driver_sql.on_postgres``):
        the candidates read in one statement, then each claimable installation's first due job
        locked and leased in one (``_lock_and_lease``, which returns the installation's row
        too), each its own transaction. The lease is taken only under the lock, so reading the
        candidates outside it changes nothing of what a claim may lease (the lease counts were
        never locked either). A candidate whose first due job holds an expired lease is claimed
        in one transaction with its takeover's history entry (``_claim_in_transaction``)."""
        dialect = self._engine.dialect
        read = Prepared.once(statements.candidates, dialect)
        lease = Prepared.once(statements.lock_and_lease, dialect)
        now, limit, skip = request.now, request.limit, request.skip_installations

        async def claim_on(connection: Any) -> tuple[dict[str, Any] | None, list[_Candidate]]:
            candidates = _candidates_of((await read.fetch(connection, {"now": now})).rows)
            for candidate in _claimable(candidates, limit, skip):
                if candidate.lease_owner is not None:
                    return None, candidates  # a takeover: in one transaction
                parameters = {
                    "now": now,
                    "installation_id": candidate.installation_id,
                    "worker_id": request.worker_id,
                    "expires_at": request.expires_at,
                }
                rows = (await lease.fetch(connection, parameters)).mappings()
                if rows:
                    return {**rows[0], "saleor_api_url": candidate.saleor_api_url}, candidates
            return None, candidates

        async with map_database_errors():
            leased, candidates = await on_postgres(self._engine, claim_on)
        if leased is None:
            claimable = _claimable(candidates, limit, skip)
            if not any(candidate.lease_owner is not None for candidate in claimable):
                return _nothing_claimable(candidates, limit)
            return await self._claim_in_transaction(statements, request)
        previous_owner = leased.pop("previous_owner")
        previous_expiry = leased.pop("previous_expiry")
        leased["asked"] = leased["asked"] or previous_owner is not None
        leased["shop"] = {
            name.removeprefix(SHOP_PREFIX): leased.pop(name)
            for name in list(leased)
            if name.startswith(SHOP_PREFIX)
        }
        if previous_owner is not None and previous_expiry is not None:
            # Another claim took the candidate's first job meanwhile, and the next one held an
            # expired lease: its takeover is recorded right after (rare; the lease stands).
            took_over = _Candidate(
                leased["installation_id"], leased["saleor_api_url"], 0, leased["id"],
                previous_owner, previous_expiry,
            )  # fmt: skip
            async with map_database_errors(), self._engine.begin() as connection:
                await connection.execute(
                    _HISTORY_INSERT, _takeover_entry(took_over, attempt=leased["attempts"], now=now)
                )
        return Claim(_claimed_from_row(leased), _saturated(candidates, limit))

    async def _claim_in_transaction(
        self, statements: _ClaimStatements, request: _ClaimRequest
    ) -> Claim:
        """The claim as one SQLAlchemy transaction (PostgreSQL): candidates, lock, lease, turn
        and a takeover's history entry together."""
        now, limit = request.now, request.limit
        async with map_database_errors(), self._engine.begin() as connection:
            candidates = await _candidates(connection, statements, now)
            for candidate in _claimable(candidates, limit, request.skip_installations):
                # the installation's first due job nobody is claiming
                locked = (
                    await connection.execute(
                        statements.lock_due_job,
                        {"now": now, "installation_id": candidate.installation_id},
                    )
                ).first()
                if locked is None:
                    continue
                due = candidate.with_job(*locked)
                leased = await _lease(connection, statements, due, request)
                break
            else:
                return _nothing_claimable(candidates, limit)
        # Read after the commit: a row the code cannot read (a bug) stays leased, not claimed
        # again by every worker.
        return Claim(_claimed_from_row(leased), _saturated(candidates, limit))

    async def has_due_job(
        self,
        *,
        now: datetime,
        per_installation_limit: int,
        skip_installations: frozenset[int] = frozenset(),
    ) -> bool:
        """Would ``claim`` with these arguments find a job? Reads the claim's candidates and
        leases nothing (the workers' fair share asks before stopping a slow attempt for someone
        else's work)."""
        statements = _claim_statements(self._engine.dialect.name)
        async with map_database_errors(), reading(self._engine) as connection:
            candidates = await _candidates(connection, statements, now)
        return bool(_claimable(candidates, per_installation_limit, skip_installations))

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
        job then stays due (``lifecycle.with_newer_work``). The usual case, the lease held and no
        newer work, is one conditional UPDATE (and the history); otherwise the row is read (on
        PostgreSQL locked: an enqueue must wait, not be overwritten) and the version decides.
        """
        if is_sqlite(self._engine):
            dialect = self._engine.dialect

            def finish_here(connection: sqlite3.Connection) -> bool:
                with sqlite_transaction(connection, write=True):
                    return _finish_on_sqlite(connection, dialect, job, done, now=now)

            async with map_database_errors():
                return await in_sqlite_thread(self._engine, finish_here)
        if not _due_now(done, now):  # the usual case in one statement (its own transaction)
            values = _finish_values(done, now)
            rows = _history_rows(job, done, now=now)
            finish = Prepared.once(
                _finish_and_record(tuple(values), len(rows)), self._engine.dialect
            )
            parameters = {**_prefixed(values), **_held_by(job), **_entry_parameters(rows)}

            async def finish_on(connection: Any) -> bool:
                return bool((await finish.fetch(connection, parameters)).rows)

            async with map_database_errors():
                if await on_postgres(self._engine, finish_on):
                    return True
        # The lease lost or newer work (the row read, locked), or the job stays due (notified).
        async with map_database_errors(), self._engine.begin() as connection:
            values = _finish_values(done, now)
            recorded = await connection.execute(
                _finish_update(tuple(values), conditional=True),
                {**_prefixed(values), **_held_by(job)},
            )
            if not recorded.rowcount:
                current = (
                    await connection.execute(_FINISH_READ_LOCKED, {"job_id": job.id})
                ).first()
                if current is None or current.lease_owner != job.lease_owner:
                    return False
                newer_work = current.version != job.version
                values = _finish_values(done, now, newer_work=newer_work)
                await connection.execute(
                    _finish_update(tuple(values), conditional=False),
                    {**_prefixed(values), "job_id": job.id},
                )
                if newer_work:
                    done = with_newer_work(done, now=now)
            rows = _history_rows(job, done, now=now)
            if rows:
                await connection.execute(_HISTORY_INSERT, rows)
            if _due_now(done, now):  # newer work came: the other processes' workers may take it
                await notify_due_jobs(connection)
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

    async def retry_fulfillment(self, job_id: int, *, now: datetime, installation_id: int) -> bool:
        """Run the job at once (a fresh episode) to fulfil the order again, only while Gordon has
        it and its fulfillment is blocked (``lifecycle.fulfillment_retryable``): checked in the
        same statement, so a worker's result that came meanwhile is not overwritten. False: the
        job is not (or no longer) there or not blocked."""
        async with self.transaction() as writes:
            return bool(
                await writes.retry(
                    sync_jobs.c.id == job_id,
                    sync_jobs.c.installation_id == installation_id,
                    sync_jobs.c.status == FULFILLMENT_RETRY_STATUS.value,
                    sync_jobs.c.fulfillment_state == FULFILLMENT_RETRY_STATE.value,
                    now=now,
                )
            )

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

    async def prune_history(
        self,
        *,
        older_than: datetime,
        batch: int = PRUNE_BATCH,
        between_batches: Callable[[], Awaitable[bool]] = _go_on,
    ) -> int:
        """Delete job history and received-event records older than ``older_than``, oldest
        first, ``batch`` rows per transaction; how many.

        Each batch is a short transaction found through its table's time index, so a large
        backlog of old rows (the first prune after a long pause, a shorter retention) neither
        holds SQLite's write lock, which the webhooks' writer needs, nor runs one statement past
        PostgreSQL's statement timeout; a prune cut short (the database unavailable, the
        process stopping) has deleted whole batches and the next one goes on from there. The
        database failing raises ``PruneCutShort``, which counts the rows deleted before.

        After every full batch (more may be left) it awaits ``between_batches()``, the caller's
        pause (the worker's lets other writers have the database); False ends the prune there."""
        pruned = 0
        for table, time in (
            (job_history, job_history.c.at),
            (webhook_events, webhook_events.c.received_at),
        ):
            while True:
                oldest = select(table.c.id).where(time < older_than).order_by(time).limit(batch)
                try:
                    async with map_database_errors(), self._engine.begin() as connection:
                        deleted = await connection.execute(
                            delete(table).where(table.c.id.in_(oldest.scalar_subquery()))
                        )
                except StoreUnavailable as exc:
                    raise PruneCutShort(exc.message, pruned=pruned) from exc
                pruned += int(deleted.rowcount)
                if deleted.rowcount < batch:
                    break
                if not await between_batches():
                    return pruned
        return pruned


SHOP_COLUMNS: tuple[Any, ...] = (
    *(column for column in installations.c if column.name != "config"),
    cast(installations.c.config, Text).label("config"),
)
"""An installation's row as a job's attempt needs it, the configuration as its stored JSON
text (``store/installations.py`` decodes a text once per change); a claim returns it with the
job it leased (``ClaimedJob.shop_row``), so the attempt reads nothing more to start."""
SHOP_PREFIX = "shop_"
"""How the installation's columns are named beside the job's in the PostgreSQL claim's row."""
SHOP_OF_INSTALLATION = select(*SHOP_COLUMNS).where(installations.c.id == bindparam("id"))
"""``SHOP_COLUMNS`` of one installation."""


@dataclass(frozen=True, slots=True)
class _ClaimRequest:
    """What one claim asks for: the worker leasing, the time and its lease's end, the share of
    leases an installation may hold, the installations to skip."""

    worker_id: str
    now: datetime
    expires_at: datetime
    limit: int
    skip_installations: frozenset[int]


@dataclass(frozen=True)
class Claim:
    """What a claim found: the job it leased, if any, and the installations whose due jobs wait
    for one of their own leases to end (at their share of workers): a new job of theirs needs no
    other worker until then."""

    job: ClaimedJob | None
    saturated: frozenset[int]


@dataclass(frozen=True)
class _Candidate:
    """An installation with due jobs: its most deserving one, and the leases it holds."""

    installation_id: int
    saleor_api_url: str
    held: int
    job_id: int
    lease_owner: str | None
    lease_expires_at: datetime | None
    run_now: bool = False
    """A person asked for the job (``ClaimedJob.asked``): the lease clears it."""

    def with_job(
        self,
        job_id: int,
        lease_owner: str | None,
        lease_expires_at: datetime | None,
        run_now: bool,
    ) -> _Candidate:
        return _Candidate(
            self.installation_id,
            self.saleor_api_url,
            self.held,
            job_id,
            lease_owner,
            lease_expires_at,
            run_now,
        )

    @property
    def asked(self) -> bool:
        """Is the attempt this candidate's claim starts one whose result is always recorded (a
        person asked for it, or it takes over an expired lease)?"""
        return self.run_now or self.lease_owner is not None


@dataclass(frozen=True)
class _ClaimStatements:
    """A claim's statements, built once per database (building one cost as much as running it)."""

    candidates: Any
    """Each installation with due jobs, most deserving first (the order ``claim`` takes them
    in): its first due job and how many leases it holds."""
    lock_due_job: Any
    """PostgreSQL: an installation's first due job that no other claim has locked."""
    lease: Any
    take_turn: Any
    lock_and_lease: Any
    """PostgreSQL: ``lock_due_job``, ``lease`` and ``take_turn`` in one statement."""


def _due(jobs: Any) -> list[Any]:
    """``jobs`` (an alias of the job table) rows that are due and not leased, at ``:now``."""
    now: Any = bindparam("now")
    return [
        jobs.c.next_attempt_at.is_not(None),
        jobs.c.next_attempt_at <= now,
        or_(jobs.c.lease_expires_at.is_(None), jobs.c.lease_expires_at < now),
    ]


@cache
def _claim_statements(dialect_name: str) -> _ClaimStatements:
    # Per installation, its first due job by ``ix_sync_jobs_claim`` and its leases by
    # ``ix_sync_jobs_leased``: neither reads the backlog. Ordering the installations by their
    # first jobs picks the same job as ordering every due job by (run_now, the installation's
    # last claim, next_attempt_at, id), since the installation's part is the same for all of its
    # jobs.
    now: Any = bindparam("now")
    claim_order = (sync_jobs.c.run_now.desc(), sync_jobs.c.next_attempt_at.asc(), sync_jobs.c.id)
    leased = sync_jobs.alias("leased")
    held = (
        select(func.count())
        .where(
            leased.c.installation_id == installations.c.id,
            leased.c.lease_expires_at.is_not(None),
            leased.c.lease_expires_at >= now,
        )
        .scalar_subquery()
        .label("held")
    )
    first_due = (
        select(sync_jobs.c.id, sync_jobs.c.run_now, sync_jobs.c.next_attempt_at)
        .add_columns(sync_jobs.c.lease_owner, sync_jobs.c.lease_expires_at)
        .where(*_due(sync_jobs))
        .order_by(*claim_order)
        .limit(1)
    )
    if dialect_name == "postgresql":
        # A lateral join: PostgreSQL's planner may otherwise hash the whole job table.
        shops: Any = (
            select(installations.c.id, installations.c.saleor_api_url, held)
            .add_columns(installations.c.last_claimed_at)
            .select_from(installations)
            .where(installations.c.revoked_at.is_(None))
            .subquery("shops")
        )
        first: Any = first_due.where(sync_jobs.c.installation_id == shops.c.id).lateral("first_due")
        source = shops.join(first, true())
    else:  # SQLite has no LATERAL: the first due job's id per installation, then its row
        first_id = (
            first_due.with_only_columns(sync_jobs.c.id)
            .where(sync_jobs.c.installation_id == installations.c.id)
            .scalar_subquery()
        )
        shops = (
            select(installations.c.id, installations.c.saleor_api_url, held)
            .add_columns(installations.c.last_claimed_at, first_id.label("job_id"))
            .where(installations.c.revoked_at.is_(None))
            .subquery("shops")
        )
        first = sync_jobs.alias("first_due")
        source = shops.join(first, first.c.id == shops.c.job_id)
    candidates = (
        select(
            shops.c.id,
            shops.c.saleor_api_url,
            shops.c.held,
            first.c.id,
            first.c.lease_owner,
            first.c.lease_expires_at,
            first.c.run_now,
        )
        .select_from(source)
        .order_by(
            first.c.run_now.desc(),
            shops.c.last_claimed_at.asc().nulls_first(),
            first.c.next_attempt_at.asc(),
            first.c.id.asc(),
        )
    )
    lock_due_job = (
        select(
            sync_jobs.c.id,
            sync_jobs.c.lease_owner,
            sync_jobs.c.lease_expires_at,
            sync_jobs.c.run_now,
        )
        .where(sync_jobs.c.installation_id == bindparam("installation_id"), *_due(sync_jobs))
        .order_by(
            sync_jobs.c.run_now.desc(), sync_jobs.c.next_attempt_at.asc(), sync_jobs.c.id.asc()
        )
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    lease = (
        update(sync_jobs)
        .where(sync_jobs.c.id == bindparam("job_id"))
        .values(
            lease_owner=bindparam("worker_id"),
            lease_expires_at=bindparam("expires_at", type_=sync_jobs.c.lease_expires_at.type),
            attempts=sync_jobs.c.attempts + 1,
            run_now=False,
        )
        .returning(*sync_jobs.c)
    )
    take_turn = (
        update(installations)
        .where(installations.c.id == bindparam("installation_id"))
        .values(last_claimed_at=now)
    )
    return _ClaimStatements(
        candidates=candidates,
        lock_due_job=lock_due_job,
        lease=lease,
        take_turn=take_turn,
        lock_and_lease=_lock_and_lease(lock_due_job) if dialect_name == "postgresql" else None,
    )


def _lock_and_lease(lock_due_job: Any) -> Any:
    """PostgreSQL: ``lock_due_job``, ``lease`` and ``take_turn`` as one statement (its own
    transaction in autocommit: one round trip): lock the installation's first due job nobody
    is claiming, lease it, give the installation's turn to others; the leased row with the
    lease it took over (``previous_owner``, ``previous_expiry``: both NULL unless it took over
    an expired one) and the installation's row (``SHOP_COLUMNS``, each named with
    ``SHOP_PREFIX``)."""
    locked = lock_due_job.cte("locked")
    leased = (
        update(sync_jobs)
        .where(sync_jobs.c.id == locked.c.id)
        .values(
            lease_owner=bindparam("worker_id", type_=sync_jobs.c.lease_owner.type),
            lease_expires_at=bindparam("expires_at", type_=sync_jobs.c.lease_expires_at.type),
            attempts=sync_jobs.c.attempts + 1,
            run_now=False,
        )
        .returning(
            *sync_jobs.c,
            locked.c.lease_owner.label("previous_owner"),
            locked.c.lease_expires_at.label("previous_expiry"),
            locked.c.run_now.label("asked"),
        )
        .cte("leased")
    )
    turn = (
        update(installations)
        .where(
            installations.c.id == bindparam("installation_id"),
            exists(select(leased.c.id)),
        )
        .values(last_claimed_at=bindparam("now", type_=installations.c.last_claimed_at.type))
        .cte("turn")
    )
    # The installation's row as the statement began (the turn's update does not show in it).
    shop = [column.label(SHOP_PREFIX + column.name) for column in SHOP_COLUMNS]
    return (
        select(leased, *shop)
        .select_from(leased.join(installations, installations.c.id == leased.c.installation_id))
        .add_cte(turn)
    )


async def _candidates(
    connection: AsyncConnection, statements: _ClaimStatements, now: datetime
) -> list[_Candidate]:
    rows = await connection.execute(statements.candidates, {"now": now})
    return _candidates_of(rows)


async def _lease(
    connection: AsyncConnection,
    statements: _ClaimStatements,
    due: _Candidate,
    request: _ClaimRequest,
) -> dict[str, Any]:
    """Lease the job ``due`` names to the claiming worker, and give its installation's turn to
    others; the leased job's row, with the installation's ``saleor_api_url``."""
    now = request.now
    lease = {"job_id": due.job_id, "worker_id": request.worker_id, "expires_at": request.expires_at}
    leased = (await connection.execute(statements.lease, lease)).one()._mapping
    await connection.execute(
        statements.take_turn, {"installation_id": due.installation_id, "now": now}
    )
    if due.lease_owner is not None and due.lease_expires_at is not None:
        await connection.execute(
            _HISTORY_INSERT, _takeover_entry(due, attempt=leased["attempts"], now=now)
        )
    return {**leased, "saleor_api_url": due.saleor_api_url, "asked": due.asked}


def _typed_parameters(table: Any, names: Sequence[str], prefix: str = "") -> dict[str, Any]:
    """``{column: bindparam(prefix + column)}`` with each column's type (a driver-level statement
    converts its values as SQLAlchemy would: ``store/driver_sql.py``)."""
    return {name: bindparam(prefix + name, type_=table.c[name].type) for name in names}


_HISTORY_COLUMNS = ("job_id", "at", "attempt", "action", "outcome", "message", "code", "params")
_HISTORY_INSERT = insert(job_history).values(_typed_parameters(job_history, _HISTORY_COLUMNS))
"""One history entry (``_history_row``), built once."""


def _takeover_entry(due: _Candidate, *, attempt: int, now: datetime) -> dict[str, Any]:
    assert due.lease_owner is not None
    assert due.lease_expires_at is not None
    message = lease_takeover_message(due.lease_owner, due.lease_expires_at)
    return {
        "job_id": due.job_id,
        "at": now,
        "attempt": attempt,
        "action": "claim",
        "outcome": LEASE_TAKEN_OVER,
        **_history_message(message),
    }


@dataclass(frozen=True)
class _SqliteStatements:
    """The claim's statements (``_claim_statements``) and the history entry's, prepared for
    SQLite's driver (``store/driver_sql.py``)."""

    candidates: Prepared
    lease: Prepared
    take_turn: Prepared
    history: Prepared
    shop: Prepared


def _sqlite_statements(dialect: Dialect) -> _SqliteStatements:
    statements = _claim_statements(dialect.name)
    return _SqliteStatements(
        candidates=Prepared.once(statements.candidates, dialect),
        lease=Prepared.once(statements.lease, dialect),
        take_turn=Prepared.once(statements.take_turn, dialect),
        history=Prepared.once(_HISTORY_INSERT, dialect),
        shop=Prepared.once(SHOP_OF_INSTALLATION, dialect),
    )


def _claim_on_sqlite(
    connection: sqlite3.Connection,
    prepared: _SqliteStatements,
    request: _ClaimRequest,
    *,
    look_first: bool,
) -> tuple[dict[str, Any] | None, list[_Candidate]]:
    """The claim in the connection's thread: with ``look_first`` a read transaction first (a
    claim that finds nothing claimable takes no write lock), then the lease in a write
    transaction. The leased row (with ``saleor_api_url`` and the installation's row as
    ``shop``) or None, and the candidates seen."""
    now, limit, skip = request.now, request.limit, request.skip_installations
    if look_first:
        with sqlite_transaction(connection, write=False):
            candidates = _candidates_of(prepared.candidates.run(connection, {"now": now}).rows)
        if not _claimable(candidates, limit, skip):
            return None, candidates
    with sqlite_transaction(connection, write=True):
        candidates = _candidates_of(prepared.candidates.run(connection, {"now": now}).rows)
        for due in _claimable(candidates, limit, skip):
            lease = {
                "job_id": due.job_id,
                "worker_id": request.worker_id,
                "expires_at": request.expires_at,
            }
            [leased] = prepared.lease.run(connection, lease).mappings()
            prepared.take_turn.run(connection, {"installation_id": due.installation_id, "now": now})
            if due.lease_owner is not None and due.lease_expires_at is not None:
                entry = _takeover_entry(due, attempt=leased["attempts"], now=now)
                prepared.history.run(connection, entry)
            [shop] = prepared.shop.run(connection, {"id": due.installation_id}).mappings()
            leased = {**leased, "saleor_api_url": due.saleor_api_url, "asked": due.asked}
            return {**leased, "shop": shop}, candidates
    return None, candidates


def _candidates_of(rows: Iterable[Sequence[Any]]) -> list[_Candidate]:
    return [_Candidate(*row) for row in rows]


def _claimable(
    candidates: Sequence[_Candidate], limit: int, skip_installations: frozenset[int]
) -> list[_Candidate]:
    """The candidates a claim may lease from, in the claim's order: below their share of leases,
    and not skipped (the workers' fair share: shops whose servers are slow, ``jobs/worker.py``)."""
    return [
        candidate
        for candidate in candidates
        if candidate.held < limit and candidate.installation_id not in skip_installations
    ]


def _saturated(candidates: Sequence[_Candidate], limit: int) -> frozenset[int]:
    return frozenset(c.installation_id for c in candidates if c.held >= limit)


def _nothing_claimable(candidates: Sequence[_Candidate], limit: int) -> Claim:
    return Claim(None, _saturated(candidates, limit))


def lease_takeover_message(previous_owner: str, expired_at: datetime) -> Message:
    """The history message of a claim that took a job over from ``previous_owner``."""
    english = (
        f"Taken over from worker {previous_owner}, whose lease expired at "
        f"{expired_at.isoformat()} before it recorded its attempt (the worker stopped or lost the "
        "database); that attempt may have reached Gordon or Saleor."
    )
    return Message.of("job.lease_taken_over", english, expired_at=expired_at.isoformat())


def _history_message(message: Message) -> dict[str, Any]:
    """A history entry's message columns: the English text, its code and parameters."""
    coded = message.to_json()
    return {"message": coded["message"], "code": coded["code"], "params": _json(coded["params"])}


def _last_message(message: Message) -> dict[str, Any]:
    """The job's last-message columns (as ``_history_message``)."""
    coded = message.to_json()
    return {
        "last_message": coded["message"],
        "last_code": coded["code"],
        "last_params": _json(coded["params"]),
    }


_FINISH_READ = select(sync_jobs.c.version, sync_jobs.c.lease_owner).where(
    sync_jobs.c.id == bindparam("job_id")
)
_FINISH_READ_LOCKED = _FINISH_READ.with_for_update()


def _finish_values(done: Transition, now: datetime, *, newer_work: bool = False) -> dict[str, Any]:
    """The columns of ``sync_jobs`` that record ``done`` and release the lease; with
    ``newer_work``, for a job made due again meanwhile (``with_newer_work``: its status then is
    pending, its ``last_status`` still the one ``done`` says). A transition that ``keeps_last_message``
    leaves the job's last action, outcome and message (and so their status) as they are."""
    due = with_newer_work(done, now=now) if newer_work else done
    said: dict[str, Any] = {}
    if not done.keeps_last_message:
        said = {
            "last_action": done.action,
            "last_outcome": done.outcome,
            **_last_message(done.message),
            "last_status": done.status.value,
        }
    return {
        "status": due.status.value,
        "next_attempt_at": due.next_attempt_at,
        "lease_owner": None,
        "lease_expires_at": None,
        **said,
        "updated_at": now,
        **_episode_columns(due.episode, now),
        **_gordon_columns(done.gordon),
        **_fulfillment_columns(done.fulfillment),
    }


_VALUE = "value_"
"""The prefix of a finish's value parameters (a column's own name is reserved for it)."""


def _prefixed(values: Mapping[str, Any]) -> dict[str, Any]:
    return {_VALUE + name: value for name, value in values.items()}


def _held_by(job: ClaimedJob) -> dict[str, Any]:
    """The condition of a finish under the lease and version the job was claimed with."""
    return {"job_id": job.id, "held_by": job.lease_owner, "held_version": job.version}


@cache
def _finish_update(columns: tuple[str, ...], *, conditional: bool) -> Any:
    """The UPDATE of ``columns`` (values ``value_<column>``) of the job ``:job_id``; with
    ``conditional`` only while ``:held_by`` holds it at ``:held_version``. Built once per set of
    columns (a transition writes one of a handful)."""
    where = [sync_jobs.c.id == bindparam("job_id")]
    if conditional:
        where += [
            sync_jobs.c.lease_owner == bindparam("held_by"),
            sync_jobs.c.version == bindparam("held_version"),
        ]
    return update(sync_jobs).where(*where).values(_typed_parameters(sync_jobs, columns, _VALUE))


def _prepared_finish(dialect: Dialect, columns: tuple[str, ...], *, conditional: bool) -> Prepared:
    return Prepared.once(_finish_update(columns, conditional=conditional), dialect)


def _finish_on_sqlite(
    connection: sqlite3.Connection,
    dialect: Dialect,
    job: ClaimedJob,
    done: Transition,
    *,
    now: datetime,
) -> bool:
    """``JobQueue.finish_job`` in the connection's thread, inside its write transaction."""
    values = _finish_values(done, now)
    update_held = _prepared_finish(dialect, tuple(values), conditional=True)
    if not update_held.run(connection, {**_prefixed(values), **_held_by(job)}).rowcount:
        read = Prepared.once(_FINISH_READ, dialect)
        current = read.run(connection, {"job_id": job.id}).first()
        if current is None or current[1] != job.lease_owner:
            return False
        values = _finish_values(done, now, newer_work=current[0] != job.version)
        update_any = _prepared_finish(dialect, tuple(values), conditional=False)
        update_any.run(connection, {**_prefixed(values), "job_id": job.id})
    _sqlite_statements(dialect).history.run_many(connection, _history_rows(job, done, now=now))
    return True


_ENTRY_COLUMNS = _HISTORY_COLUMNS[1:]
"""A history entry's columns besides its job."""


@cache
def _finish_and_record(columns: tuple[str, ...], entries: int) -> Any:
    """PostgreSQL: ``_finish_update(columns, conditional=True)`` and the attempt's ``entries``
    history entries (parameters ``<column>_<n>``, ``_entry_parameters``) in one statement: the
    entries are inserted only when the update matched (the lease held at the version claimed);
    returns one row per entry inserted, none when it did not match. Without entries (an
    ``unnoticed`` transition), the update alone, returning the job's id when it matched."""
    update_held = _finish_update(columns, conditional=True).returning(sync_jobs.c.id)
    if not entries:
        return update_held
    updated = update_held.cte("updated")
    rows = values(
        *(column(name, job_history.c[name].type) for name in _ENTRY_COLUMNS), name="entries"
    ).data(
        [
            tuple(
                bindparam(f"{name}_{n}", type_=job_history.c[name].type) for name in _ENTRY_COLUMNS
            )
            for n in range(entries)
        ]
    )
    entry_values = select(updated.c.id, *(rows.c[name] for name in _ENTRY_COLUMNS))
    return (
        insert(job_history)
        .from_select(list(_HISTORY_COLUMNS), entry_values.select_from(updated.join(rows, true())))
        .returning(job_history.c.id)
    )


def _entry_parameters(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {f"{name}_{n}": row[name] for n, row in enumerate(rows) for name in _ENTRY_COLUMNS}


def _due_now(done: Transition, now: datetime) -> bool:
    """Does the job stay due (at once) after ``done``?"""
    return done.next_attempt_at is not None and done.next_attempt_at <= now


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


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


def _fulfillment_columns(record: FulfillmentRecord | None) -> dict[str, Any]:
    """The job's columns of where the order's fulfillment stands (``None``: as they are)."""
    if record is None:
        return {}
    coded = record.message.to_json()
    return {
        "fulfillment_state": record.state,
        "fulfillment_message": coded["message"],
        "fulfillment_code": coded["code"],
        "fulfillment_params": _json(coded["params"]),
    }


def _history_rows(job: ClaimedJob, done: Transition, *, now: datetime) -> list[dict[str, Any]]:
    """The history entries of an attempt's transition (``_HISTORY_INSERT``'s parameters); none
    for an ``unnoticed`` one."""
    if done.unnoticed:
        return []
    entries = list(done.history) or [HistoryEntry(done.action, done.outcome, done.message)]
    return [
        {
            "job_id": job.id,
            "at": now,
            "attempt": job.attempts,
            "action": entry.action,
            "outcome": entry.outcome,
            **_history_message(entry.message),
        }
        for entry in entries
    ]


def _claimed_from_row(row: Mapping[str, Any]) -> ClaimedJob:
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
        shop_row=row.get("shop"),
        asked=bool(row["asked"]),
        last_recorded=LastRecorded(
            status=_status_or_none(row["last_status"]),
            message=_said(row["last_code"], row["last_params"]),
            fulfillment_state=row["fulfillment_state"],
            fulfillment_message=_said(row["fulfillment_code"], row["fulfillment_params"]),
        ),
    )


def _status_or_none(value: str | None) -> JobStatus | None:
    return None if value is None else JobStatus(value)


def _said(code: str | None, params: str | None) -> Said | None:
    """A stored message's code and parameters (None: stored before codes existed, or parameters
    that cannot be read: the attempt's result is then recorded, as for a message that differs)."""
    if code is None or params is None:
        return None
    try:
        parsed = parse_json(params)
    except JsonUnusable:
        return None
    return Said(code, parsed) if isinstance(parsed, dict) else None
