"""Workers: claim due jobs, run them under a renewed lease, record what became of them.

An attempt (``jobs/attempt.py``) says what it found; the worker turns that into the job's next
state with the transition table (``jobs/lifecycle.py``), has the attempt write that state to the
order, and records it (``jobs/queue.py``): this is the one place that applies a transition.

Several worker tasks run in one process (``serve`` beside the web app, or ``worker`` alone), and
several processes can share one database. A worker that dies stops renewing its lease; the job is
claimed again once the lease expires (``SALEOR_GORDON_LEASE_SECONDS``, 30 s by default). Stopping
(SIGTERM) stops claiming and lets in-flight jobs finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections import deque
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from saleor_gordon import metrics
from saleor_gordon.catch_up.scan import reconcile_due_shops, reconciler_id
from saleor_gordon.core.job_status import JobStatus
from saleor_gordon.errors import StoreUnavailable
from saleor_gordon.jobs import lifecycle
from saleor_gordon.jobs.attempt import Attempt, JobServices
from saleor_gordon.jobs.lifecycle import Crashed, Transition
from saleor_gordon.jobs.queue import Claim, ClaimedJob

logger = logging.getLogger(__name__)

PRUNE_INTERVAL_SECONDS = 3600.0


async def _cancel_and_wait(tasks: Sequence[asyncio.Task[Any]]) -> None:
    """Cancel those of ``tasks`` not cancelled yet, and wait until every one of them has ended.

    A task already cancelled is not cancelled again: a second cancellation would break into its
    cleanup (SQLAlchemy closes a connection interrupted mid-query under ``asyncio.shield``; cut
    short, it leaves its closing task and the connection's thread behind). The wait goes on if
    the caller is cancelled meanwhile, so no task outlives it; that cancellation is raised after.
    """
    for task in tasks:
        if not task.done() and task.cancelling() == 0:
            task.cancel()
    pending = {task for task in tasks if not task.done()}
    interrupted = False
    while pending:
        try:
            _, pending = await asyncio.wait(pending)
        except asyncio.CancelledError:
            interrupted = True
    if interrupted:
        raise asyncio.CancelledError


def _reraise_a_cancellation() -> None:
    """Inside an ``except``: if the task is being cancelled, end it cancelled. A cleanup that
    failed during the cancellation (a ``finally`` writing to a store that is gone) raised the
    error in place of the CancelledError; the loop catching it must not swallow the cancel."""
    if _being_cancelled():
        raise asyncio.CancelledError


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def run_attempt(services: JobServices, job: ClaimedJob) -> Transition:
    """Run one attempt of ``job`` and decide its next state; Saleor, Gordon and store failures
    become states, never exceptions (a bug is raised: the worker records it as ``Crashed``).

    The attempt acts, the transition table decides, the attempt writes that decision to the order,
    and if the write failed the table decides again with that outcome.
    """
    attempt = Attempt(services, job)
    outcome = await attempt.act()
    random = services.random()
    done = _transition(services, job, outcome, now=attempt.now, random=random)
    written = await attempt.write_back(outcome, done)
    if written is not None:
        done = _transition(services, job, written, now=attempt.now, random=random)
    if done.status is JobStatus.RETRYING:
        metrics.RETRIES.inc()
    return done


def _transition(
    services: JobServices,
    job: ClaimedJob,
    outcome: lifecycle.Outcome,
    *,
    now: datetime,
    random: float,
) -> Transition:
    return lifecycle.transition(
        job.state, outcome, policy=services.retry_policy, now=now, random=random
    )


class WorkerPool:
    """``concurrency`` worker tasks over one ``JobServices``.

    A worker that finds nothing to claim waits until it is woken: a job became due (``wake``),
    a claim of another worker found a job (more may be due), or the pool's poll (every
    ``SALEOR_GORDON_WORKER_POLL_SECONDS``: retries that come due, other processes' writes) wakes
    one of them. One worker per wake, not all: with many workers and many webhooks, waking all of
    them made most of their claims find nothing, each one a database transaction.
    """

    def __init__(self, services: JobServices, *, concurrency: int) -> None:
        self.services = services
        self.concurrency = concurrency
        self.stopping = asyncio.Event()
        self._idle_workers: deque[asyncio.Future[None]] = deque()
        """One future per idle worker, the longest idle first; a wake resolves one."""
        self._missed = False
        """A wake found no idle worker since the last claim began: a claim that began before it
        may not have seen its job, so a worker claims again before waiting."""
        self._saturated: frozenset[int] = frozenset()
        """Installations whose due jobs wait for one of their leases to end (the last claim's
        ``Claim.saturated``): a new job of theirs is left to the worker that ends a lease, which
        claims again at once."""
        prefix = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._worker_ids = [f"{prefix}:{index}" for index in range(concurrency)]

    def wake(self, installation_id: int | None = None) -> None:
        """A job (of ``installation_id``, if known) became due: one idle worker looks for it now
        instead of at the next poll, unless the installation's share of workers is busy."""
        if installation_id is not None and installation_id in self._saturated:
            return
        self._wake_one()

    def _wake_one(self) -> None:
        while self._idle_workers:
            idle = self._idle_workers.popleft()
            if not idle.done():
                idle.set_result(None)
                return
        self._missed = True

    def stop(self) -> None:
        """Stop claiming; jobs in flight finish."""
        if not self.stopping.is_set():
            logger.info("worker.stopping")
        self.stopping.set()
        while self._idle_workers:
            idle = self._idle_workers.popleft()
            if not idle.done():
                idle.set_result(None)

    async def run(self) -> None:
        """Run until ``stop()``; returns once every in-flight job is recorded."""
        if self.concurrency == 0:
            return
        logger.info("worker.started concurrency=%s", self.concurrency)
        tasks = [asyncio.create_task(self._work(worker_id)) for worker_id in self._worker_ids]
        tasks.append(asyncio.create_task(self._poll_periodically()))
        tasks.append(asyncio.create_task(self._prune_periodically()))
        if self.services.runtime.settings.reconcile_interval_seconds > 0:
            tasks.append(asyncio.create_task(self._reconcile_periodically()))
        try:
            await asyncio.gather(*tasks)
        finally:
            # gather() returns at the first child that ends cancelled (or fails): the others may
            # still be in their cleanup, so they are waited for.
            try:
                await _cancel_and_wait(tasks)
            finally:
                logger.info("worker.stopped")

    async def _work(self, worker_id: str) -> None:
        while not self.stopping.is_set():
            try:
                # Cleared as the claim begins: a wake during the claim that finds no idle
                # worker makes this one claim again instead of waiting.
                self._missed = False
                claim = await self._claim(worker_id)
                self._saturated = claim.saturated
                if claim.job is not None:
                    self._wake_one()  # more may be due: one more worker looks
                    await self._run_claimed(claim.job)
                    # Its lease ended: the installation has a free worker again.
                    self._saturated -= {claim.job.installation_id}
                    continue
                if self._missed:
                    continue
            except StoreUnavailable as exc:
                _reraise_a_cancellation()
                logger.warning("worker.store_unavailable error=%s", exc.message)
            except Exception:  # the outermost loop: a worker must outlive any one failure
                _reraise_a_cancellation()
                logger.exception("worker.error worker_id=%s", worker_id)
            await self._idle()

    async def _claim(self, worker_id: str) -> Claim:
        settings = self.services.runtime.settings
        return await self.services.runtime.queue.claim(
            worker_id=worker_id,
            now=self.services.runtime.clock(),
            lease_seconds=settings.lease_seconds,
            per_installation_limit=settings.shop_concurrency_limit,
        )

    async def _idle(self) -> None:
        """Wait until woken (``wake``, another worker's claim, the poll, ``stop``)."""
        if self.stopping.is_set():
            return
        idle = asyncio.get_running_loop().create_future()
        self._idle_workers.append(idle)
        try:
            await idle
        finally:
            if not idle.done():  # cancelled: no wake may go to a worker that is gone
                idle.cancel()

    async def _poll_periodically(self) -> None:
        """Wake one idle worker every poll interval: jobs that came due by the clock (retries),
        or by another process's writes, have nobody else to wake a worker here."""
        poll = self.services.runtime.settings.worker_poll_seconds
        while not self.stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), timeout=poll)
            self._wake_one()

    async def _run_claimed(self, job: ClaimedJob) -> None:
        attempt = asyncio.create_task(self._attempt(job))
        renewer = asyncio.create_task(self._renew_lease(job, attempt))
        try:
            done = await attempt
        except asyncio.CancelledError:
            if _being_cancelled():
                raise
            # The lease was lost: another worker owns the job now; record nothing.
            logger.warning("worker.lease_lost job_id=%s", job.id)
            return
        finally:
            await _cancel_and_wait([renewer])
        try:
            recorded = await self.services.runtime.queue.finish_job(
                job, done, now=self.services.runtime.clock()
            )
        except StoreUnavailable as exc:
            # The lease expires and another attempt repeats the work; pushes are idempotent.
            logger.warning("worker.finish_failed job_id=%s error=%s", job.id, exc.message)
            return
        if not recorded:
            logger.warning("worker.lease_lost job_id=%s", job.id)
        logger.info(
            "job.finished job_id=%s order_number=%s status=%s action=%s outcome=%s attempt=%s",
            job.id,
            job.order_number,
            done.status.value,
            done.action,
            done.outcome,
            job.attempts,
        )

    async def _attempt(self, job: ClaimedJob) -> Transition:
        try:
            return await run_attempt(self.services, job)
        except Exception as exc:  # one broken job must not stop the worker
            logger.exception("job.crashed job_id=%s", job.id)
            crashed = Crashed(type(exc).__name__)
            now = self.services.runtime.clock()
            return _transition(self.services, job, crashed, now=now, random=self.services.random())

    async def _renew_lease(self, job: ClaimedJob, attempt: asyncio.Task[Transition]) -> None:
        """Keep the lease while ``attempt`` runs; cancel the attempt once the lease is lost.

        Lost means another worker took it (the renewal says so) or the lease ran out here without
        a renewal getting through (database unreachable, or a renewal stuck behind SQLite's write
        lock): from then on another worker may run the job, so this attempt must stop acting.
        """
        settings = self.services.runtime.settings
        lease = settings.lease_seconds
        margin = lease / 10  # the claim's own clock reading came a moment before this one
        held_until = time.monotonic() + lease - margin
        while True:
            await asyncio.sleep(lease / 3)
            asked_at = time.monotonic()
            renewal = self.services.runtime.queue.renew_lease(
                job.id,
                worker_id=job.lease_owner,
                now=self.services.runtime.clock(),
                lease_seconds=lease,
            )
            try:
                async with asyncio.timeout(max(held_until - asked_at, 0.0)):
                    renewed: bool | None = await renewal
            except (StoreUnavailable, TimeoutError):
                renewed = None
            if renewed:
                held_until = asked_at + lease - margin
                continue
            if renewed is None and time.monotonic() < held_until:
                continue  # not renewed this time, but the lease still holds
            if renewed is None:
                logger.warning(
                    "worker.lease_expired job_id=%s: no renewal got through in time", job.id
                )
            attempt.cancel()
            return

    async def _prune_periodically(self) -> None:
        runtime = self.services.runtime
        while not self.stopping.is_set():
            cutoff = runtime.clock() - timedelta(days=runtime.settings.history_retention_days)
            try:
                pruned = await runtime.queue.prune_history(older_than=cutoff)
            except StoreUnavailable:
                _reraise_a_cancellation()
                pruned = 0
            if pruned:
                logger.info("history.pruned entries=%s", pruned)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), timeout=PRUNE_INTERVAL_SECONDS)

    async def _reconcile_periodically(self) -> None:
        """Every period (and at start), queue the orders whose webhooks were lost (catch_up/scan.py).

        Each shop is reconciled by one process per period: the others find it taken or not due.
        """
        runtime = self.services.runtime
        owner = reconciler_id()
        # Shops are looked at more often than the period, so a shop whose last reconcile was
        # done by a process that stopped is picked up soon after it is due.
        pause = min(runtime.settings.reconcile_interval_seconds, 60.0)
        while not self.stopping.is_set():
            try:
                reconciled = await reconcile_due_shops(runtime, owner=owner)
                logger.debug("reconcile.round shops_reconciled=%s", len(reconciled))
            except StoreUnavailable as exc:
                _reraise_a_cancellation()
                logger.warning("reconcile.store_unavailable error=%s", exc.message)
            except Exception:  # the loop must outlive any one failure
                _reraise_a_cancellation()
                logger.exception("reconcile.error")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), timeout=pause)
