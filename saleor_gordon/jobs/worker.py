"""Workers: claim due jobs, run them under a renewed lease, record what became of them.

An attempt (``jobs/attempt.py``) says what it found; the worker turns that into the job's next
state with the transition table (``jobs/lifecycle.py``), has the attempt write that state to the
order, and records it (``jobs/queue.py``): this is the one place that applies a transition.

Several worker tasks run in one process (``serve`` beside the web app, or ``worker`` alone), and
several processes can share one database. A worker that dies stops renewing its lease; the job is
claimed again once the lease expires (``SALEOR_GORDON_LEASE_SECONDS``, 30 s by default). A live
worker renews every third of the lease, and a renewal that does not get through is tried again
every thirtieth of it, so a database outage of up to about nine tenths of the lease keeps the
lease. Stopping (SIGTERM) stops claiming and lets in-flight jobs finish.

Every attempt has a deadline (``AttemptLimit``, ``SALEOR_GORDON_ATTEMPT_DEADLINE_SECONDS``), shorter
than the lease: past it, the attempt is cancelled where it stands (its outbound call gives its
connection slot back) and recorded as stopped, unanswered if a Gordon request was under way, to
be retried with backoff. An attempt running longer than ``SLOW_ATTEMPT_SECONDS`` is *slow*, and so
are the servers (Saleor's and Gordon's, keyed as the outbound policy keys them) it calls. While
other shops have work due, slow attempts hold at most half of the pool's workers (``FairShare``):
the newest beyond that are stopped the same way, and while slow attempts hold their share the
claims skip every shop that calls a slow server (whatever URL spelling it registered), so other
shops' orders keep flowing. With nobody else waiting, slow shops may use the idle workers (a
Gordon slow for everyone is not made slower).
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
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from saleor_gordon import metrics
from saleor_gordon.catch_up.scan import reconcile_due_shops, reconciler_id
from saleor_gordon.core.job_status import JobStatus
from saleor_gordon.core.messages import Message, Param
from saleor_gordon.errors import PruneCutShort, StoreUnavailable
from saleor_gordon.jobs import lifecycle
from saleor_gordon.jobs.attempt import Attempt, JobServices
from saleor_gordon.jobs.lifecycle import Crashed, Outcome, Transition, WriteBackFailed
from saleor_gordon.jobs.queue import Claim, ClaimedJob
from saleor_gordon.outbound import origin_of
from saleor_gordon.store.job_wake import DueJobListener, process_token

logger = logging.getLogger(__name__)

PRUNE_INTERVAL_SECONDS = 3600.0
PRUNE_PAUSE_SECONDS = 0.2
"""The prune's pause after each full batch: twice the longest sleep of SQLite's busy handler
(100 ms), so a writer waiting for the write lock meanwhile (the webhooks' writer process, a
claim, a lease renewal) gets it, and a backlog of millions of rows is not deleted back to back.
A pool that stops ends the pause and the prune."""
SLOW_MEMORY_SECONDS = 300.0
"""A server stays slow this long after an attempt found it slow, unless one finds it quick."""
RENEW_EVERY_SHARE_OF_LEASE = 1 / 3
"""A lease is renewed every third of it: two renewals may fail before it runs out."""
RENEWAL_RETRY_SHARE_OF_LEASE = 1 / 30
"""A renewal that did not get through is tried again this soon (a share of the lease), until
the lease runs out here: an outage shorter than the lease's hold (nine tenths of it, less this)
keeps it, where waiting for the next third would have lost it after one or two thirds."""

LISTEN_START_SECONDS = 5.0
"""How long a pool on PostgreSQL waits for its listener (``store/job_wake.py``) before its
first claims; a database that does not answer by then leaves the pool to its poll until the
listener gets through."""

_Result = TypeVar("_Result")


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


class AttemptStopped(Exception):
    """The attempt's deadline passed (or was brought forward): ``message`` for its history."""

    def __init__(self, message: Message, short: Message) -> None:
        super().__init__(str(message))
        self.message = message
        self.short = short
        """The same code, its English as a clause (what a failed write-back's sentence says)."""


def deadline_passed(seconds: float) -> AttemptStopped:
    """Why an attempt that ran out of time was stopped."""
    return AttemptStopped(
        Message.of(
            "job.stopped_at_deadline",
            f"The attempt was stopped: it did not finish within its deadline ({seconds:g} s).",
            seconds=seconds,
        ),
        Message.of(
            "job.stopped_at_deadline",
            f"not done within the attempt's deadline of {seconds:g} s",
            seconds=seconds,
        ),
    )


class AttemptLimit:
    """The deadline of one attempt, which the pool may bring forward (``cut``)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = asyncio.get_running_loop().time()
        self.when = self.started + seconds
        self.destinations: set[str] = set()
        """The servers the attempt calls (its ``Attempt.destinations``, once it runs)."""
        self.stop = deadline_passed(seconds)
        self.cut_short = False
        """``cut`` brought the deadline forward."""
        self.stopped = False
        """The deadline (or the cut) ended the attempt's work."""
        self._timeout: asyncio.Timeout | None = None

    async def run(self, work: Awaitable[_Result]) -> _Result:
        """``await work`` until the deadline; AttemptStopped when the deadline ended it (the
        work is cancelled where it stands)."""
        try:
            async with asyncio.timeout_at(self.when) as timeout:
                self._timeout = timeout
                return await work
        except TimeoutError:
            if timeout.expired():
                self.stopped = True
                raise self.stop from None
            raise
        finally:
            self._timeout = None

    def cut(self, stop: AttemptStopped) -> None:
        """End the attempt now, as if its deadline had passed, for the reason ``stop`` gives."""
        self.stop, self.cut_short = stop, True
        self.when = asyncio.get_running_loop().time()
        if self._timeout is not None:
            self._timeout.reschedule(self.when)


async def run_attempt(
    services: JobServices, job: ClaimedJob, limit: AttemptLimit | None = None
) -> Transition:
    """Run one attempt of ``job`` within its deadline and decide its next state; Saleor, Gordon
    and store failures become states, never exceptions (a bug is raised: the worker records it as
    ``Crashed``).

    The attempt acts, the transition table decides, the attempt writes that decision to the order,
    and if the write failed the table decides again with that outcome. An attempt stopped by its
    deadline (``limit``; by default ``ATTEMPT_DEADLINE_SECONDS`` from now) is what
    ``Attempt.stopped`` says (an ``Unavailable``, or a failed fulfillment once Gordon has the
    order; the order's status is written by the next attempt), or a failed write-back.
    """
    attempt = Attempt(services, job)
    if limit is None:
        limit = AttemptLimit(services.runtime.settings.attempt_deadline)
    limit.destinations = attempt.destinations
    outcome: lifecycle.AttemptOutcome
    written: Outcome | None = None
    try:
        outcome = await limit.run(attempt.act())
    except AttemptStopped as stopped:
        # Out of time: no write-back either; the next attempt writes the order's status.
        outcome = attempt.stopped(stopped.message)
        act_stopped = True
    else:
        act_stopped = False
    random = services.random()
    done = _transition(services, job, outcome, now=attempt.now, random=random)
    if not act_stopped:
        try:
            written = await limit.run(attempt.write_back(outcome, done))
        except AttemptStopped as stopped:
            written = WriteBackFailed(outcome, stopped.short)
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
    done = lifecycle.transition(
        job.state, outcome, policy=services.retry_policy, now=now, random=random
    )
    return lifecycle.unnoticed(done, outcome, last=job.last_recorded, asked=job.asked)


@dataclass(eq=False)
class _Running:
    """An attempt in flight in this pool."""

    job: ClaimedJob
    limit: AttemptLimit
    slow: bool = False


@dataclass
class FairShare:
    """Which servers are slow, and how many of the pool's workers slow attempts may hold.

    A server (``outbound.origin_of``: scheme, host and port) is slow from the moment an attempt
    calling it has run ``slow_after`` seconds, for ``SLOW_MEMORY_SECONDS`` or until an attempt
    calling it ends quicker. Keyed by server, not by shop: shops registered under URL variants of
    one Saleor, or sharing one Gordon, count as one.
    """

    workers: int
    slow_after: float
    slow_until: dict[str, float] = field(default_factory=dict)

    @property
    def share(self) -> int:
        """Workers that slow attempts may hold at once: half, at least one (so they are retried)."""
        return max(1, self.workers // 2)

    def mark_slow(self, servers: Iterable[str], *, now: float) -> None:
        for server in servers:
            self.slow_until[server] = now + SLOW_MEMORY_SECONDS

    def mark_quick(self, servers: Iterable[str]) -> None:
        for server in servers:
            self.slow_until.pop(server, None)

    def slow_servers(self, *, now: float) -> frozenset[str]:
        for server, until in list(self.slow_until.items()):
            if until <= now:
                del self.slow_until[server]
        return frozenset(self.slow_until)

    def to_stop(self, running: Iterable[_Running]) -> list[_Running]:
        """The newest slow attempts beyond the share (the oldest are nearest their answer)."""
        slow = sorted(
            (item for item in running if item.slow and not item.limit.cut_short),
            key=lambda item: item.limit.started,
        )
        return slow[self.share :]

    def stop_reason(self) -> AttemptStopped:
        params: dict[str, Param] = {
            "seconds": self.slow_after,
            "share": self.share,
            "workers": self.workers,
        }
        return AttemptStopped(
            Message.of(
                "job.stopped_for_other_shops",
                f"The attempt was stopped: it waited over {self.slow_after:g} s for servers that "
                f"are slow, and slow servers may hold at most {self.share} of this process's "
                f"{self.workers} workers, so that other shops' orders keep flowing.",
                **params,
            ),
            Message.of(
                "job.stopped_for_other_shops",
                "stopped to give the worker back: its servers are slow",
                **params,
            ),
        )

    def claims_skip(self, running: Iterable[_Running], *, now: float) -> frozenset[str]:
        """The slow servers whose shops the next claim skips: all of them while slow attempts
        hold their share, none otherwise."""
        if sum(1 for item in running if item.slow) < self.share:
            return frozenset()
        return self.slow_servers(now=now)


def calls_any(urls: Iterable[str | None], servers: frozenset[str]) -> bool:
    """Does a shop whose Saleor API URL and Gordon base URL are ``urls`` call one of ``servers``?"""
    return any(url is not None and origin_of(url) in servers for url in urls)


class WorkerPool:
    """``concurrency`` worker tasks over one ``JobServices``.

    A worker that finds nothing to claim waits until it is woken: a job became due (``wake``),
    a claim of another worker found a job (more may be due), or the pool's poll (every
    ``SALEOR_GORDON_WORKER_POLL_SECONDS``: retries that come due, other processes' writes) wakes
    one of them; on PostgreSQL, so does each notification of a job another process made due
    (``store/job_wake.py``). One worker per wake, not all: with many workers and many webhooks, waking all of
    them made most of their claims find nothing, each one a database transaction.
    """

    def __init__(
        self,
        services: JobServices,
        *,
        concurrency: int,
        monotonic: Callable[[], float] = time.monotonic,
        pause: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.services = services
        self.concurrency = concurrency
        self._monotonic = monotonic
        """The clock a lease is held by here (tests: one that moves only when told)."""
        self._pause = pause
        """How the lease renewer waits for its next renewal (tests: one that moves the clock
        above when they let the time pass)."""
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
        settings = services.runtime.settings
        self.fair_share = FairShare(concurrency, settings.slow_attempt_seconds)
        self._running: set[_Running] = set()
        """The attempts in flight (a job whose lease this pool lost may briefly run twice here)."""
        self._check_fair_share = asyncio.Event()
        """Set when the fair share may need a slow attempt stopped (an attempt became slow, work
        was queued, the poll)."""

    def wake(self, installation_id: int | None = None) -> None:
        """A job (of ``installation_id``, if known) became due: one idle worker looks for it now
        instead of at the next poll, unless the installation's share of workers is busy."""
        self._check_fair_share.set()  # the new work may be waiting behind slow attempts
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
        self._check_fair_share.set()
        while self._idle_workers:
            idle = self._idle_workers.popleft()
            if not idle.done():
                idle.set_result(None)

    async def run(self) -> None:
        """Run until ``stop()``; returns once every in-flight job is recorded."""
        if self.concurrency == 0:
            return
        logger.info("worker.started concurrency=%s", self.concurrency)
        listening: list[asyncio.Task[None]] = []
        tasks: list[asyncio.Task[None]] = []
        try:
            engine = self.services.runtime.engine
            if engine.dialect.name == "postgresql":
                # Other processes' due jobs (store/job_wake.py), until the pool has stopped.
                # Listening before the first claims: a job queued before the listener listened
                # is found by them.
                listener = DueJobListener(engine, self.wake, ignore=process_token())
                listening.append(asyncio.create_task(listener.run()))
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(LISTEN_START_SECONDS):
                        await listener.connected.wait()
            tasks += [asyncio.create_task(self._work(worker_id)) for worker_id in self._worker_ids]
            tasks.append(asyncio.create_task(self._poll_periodically()))
            tasks.append(asyncio.create_task(self._prune_periodically()))
            tasks.append(asyncio.create_task(self._keep_fair_share()))
            if self.services.runtime.settings.reconcile_interval_seconds > 0:
                tasks.append(asyncio.create_task(self._reconcile_periodically()))
            await asyncio.gather(*tasks)
        finally:
            # gather() returns at the first child that ends cancelled (or fails): the others may
            # still be in their cleanup, so they are waited for.
            try:
                await _cancel_and_wait([*tasks, *listening])
            finally:
                logger.info("worker.stopped")

    async def _work(self, worker_id: str) -> None:
        # The last claim found a job: more are likely due, so the next claim does not look in
        # a read transaction first (``JobQueue.claim(look_first=)``).
        found = False
        while not self.stopping.is_set():
            try:
                # Cleared as the claim begins: a wake during the claim that finds no idle
                # worker makes this one claim again instead of waiting.
                self._missed = False
                claim = await self._claim(worker_id, look_first=not found)
                self._saturated = claim.saturated
                found = claim.job is not None
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
                found = False
                logger.warning("worker.store_unavailable error=%s", exc.message)
            except Exception:  # the outermost loop: a worker must outlive any one failure
                _reraise_a_cancellation()
                found = False
                logger.exception("worker.error worker_id=%s", worker_id)
            await self._idle()

    async def _claim(self, worker_id: str, *, look_first: bool = True) -> Claim:
        """The next job, skipping the shops of slow servers while slow attempts hold their share;
        a slow shop's job when nobody else has one due (the idle worker has nothing else to do).
        ``look_first``: as ``JobQueue.claim``'s."""
        settings = self.services.runtime.settings
        skip = await self._installations_to_skip()
        while True:
            claim = await self.services.runtime.queue.claim(
                worker_id=worker_id,
                now=self.services.runtime.clock(),
                lease_seconds=settings.lease_seconds,
                per_installation_limit=settings.shop_concurrency_limit,
                skip_installations=skip,
                look_first=look_first,
            )
            if claim.job is not None or not skip:
                return claim
            skip = frozenset()

    async def _installations_to_skip(self) -> frozenset[int]:
        """The shops that call a slow server, while slow attempts hold their share."""
        now = asyncio.get_running_loop().time()
        slow = self.fair_share.claims_skip(self._running, now=now)
        return await self._installations_calling(slow)

    async def _installations_calling(self, servers: frozenset[str]) -> frozenset[int]:
        if not servers:
            return frozenset()
        urls = await self.services.runtime.installations.servers_by_installation()
        return frozenset(id_ for id_, shop in urls.items() if calls_any(shop, servers))

    async def _keep_fair_share(self) -> None:
        """Whenever an attempt becomes slow or work is queued (and every poll meanwhile): if slow
        attempts hold more than their share while another shop's job is due, stop the newest."""
        while not self.stopping.is_set():
            await self._check_fair_share.wait()
            self._check_fair_share.clear()
            if self.stopping.is_set():
                return
            try:
                await self._stop_slow_attempts_beyond_the_share()
            except StoreUnavailable as exc:
                _reraise_a_cancellation()
                logger.warning("worker.store_unavailable error=%s", exc.message)
            except Exception:  # the loop must outlive any one failure
                _reraise_a_cancellation()
                logger.exception("worker.fair_share_error")

    async def _stop_slow_attempts_beyond_the_share(self) -> None:
        if not self.fair_share.to_stop(self._running):
            return
        loop = asyncio.get_running_loop()
        skip = await self._installations_calling(self.fair_share.slow_servers(now=loop.time()))
        waiting = await self.services.runtime.queue.has_due_job(
            now=self.services.runtime.clock(),
            per_installation_limit=self.services.runtime.settings.shop_concurrency_limit,
            skip_installations=skip,
        )
        if not waiting:
            return  # nobody else has work: the slow attempts keep the workers
        for item in self.fair_share.to_stop(self._running):
            item.limit.cut(self.fair_share.stop_reason())

    async def _idle(self) -> None:
        """Wait until woken (``wake``, another worker's claim, the poll, ``stop``)."""
        if self.stopping.is_set():
            return
        idle = asyncio.get_running_loop().create_future()
        self._idle_workers.append(idle)
        logger.debug("worker.idle idle_workers=%s", len(self._idle_workers))
        try:
            await idle
        finally:
            if not idle.done():  # cancelled: no wake may go to a worker that is gone
                idle.cancel()

    async def _poll_periodically(self) -> None:
        """Every poll interval, wake one idle worker (jobs that came due by the clock, retries,
        or by another process's writes have nobody else to wake a worker here) and look at the
        fair share (work another process queued may wait behind slow attempts here)."""
        poll = self.services.runtime.settings.worker_poll_seconds
        while not self.stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), timeout=poll)
            self._wake_one()
            self._check_fair_share.set()

    async def _run_claimed(self, job: ClaimedJob) -> None:
        limit = AttemptLimit(self.services.runtime.settings.attempt_deadline)
        running = _Running(job, limit)
        self._running.add(running)
        slow_timer = asyncio.get_running_loop().call_later(
            self.fair_share.slow_after, self._became_slow, running
        )
        attempt = asyncio.create_task(self._attempt(job, limit))
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
            slow_timer.cancel()
            self._running.discard(running)
            await _cancel_and_wait([renewer])
        if limit.stopped:
            logger.warning(
                "job.stopped job_id=%s order_number=%s reason=%s",
                job.id,
                job.order_number,
                "fair_share" if limit.cut_short else "deadline",
            )
            now = asyncio.get_running_loop().time()
            self.fair_share.mark_slow(limit.destinations, now=now)
        elif not running.slow:
            self.fair_share.mark_quick(limit.destinations)
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

    def _became_slow(self, running: _Running) -> None:
        """``running`` has run ``slow_after`` seconds: it and its servers are slow."""
        running.slow = True
        now = asyncio.get_running_loop().time()
        self.fair_share.mark_slow(running.limit.destinations, now=now)
        logger.info(
            "job.slow job_id=%s order_number=%s servers=%s",
            running.job.id,
            running.job.order_number,
            ",".join(sorted(running.limit.destinations)),
        )
        self._check_fair_share.set()

    async def _attempt(self, job: ClaimedJob, limit: AttemptLimit) -> Transition:
        try:
            return await run_attempt(self.services, job, limit)
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
        Renewed every third of the lease; a renewal that did not get through is tried again after
        a thirtieth, never later than the moment the lease runs out here.
        """
        settings = self.services.runtime.settings
        lease = settings.lease_seconds
        margin = lease / 10  # the claim's own clock reading came a moment before this one
        held_until = self._monotonic() + lease - margin
        wait = lease * RENEW_EVERY_SHARE_OF_LEASE
        while True:
            await self._pause(min(wait, max(held_until - self._monotonic(), 0.0)))
            asked_at, now = self._monotonic(), self.services.runtime.clock()
            renewed: bool | None = None
            if asked_at < held_until:
                renewal = self.services.runtime.queue.renew_lease(
                    job.id, worker_id=job.lease_owner, now=now, lease_seconds=lease
                )
                try:
                    async with asyncio.timeout(held_until - asked_at):
                        renewed = await renewal
                except StoreUnavailable as exc:
                    logger.warning("worker.renewal_failed job_id=%s error=%s", job.id, exc.message)
                except TimeoutError:
                    pass
            if renewed:
                held_until = asked_at + lease - margin
                wait = lease * RENEW_EVERY_SHARE_OF_LEASE
                logger.debug(
                    "worker.lease_renewed job_id=%s until=%s",
                    job.id,
                    (now + timedelta(seconds=lease)).isoformat(),
                )
                continue
            if renewed is None and self._monotonic() < held_until:
                # not renewed this time, but the lease still holds: try again soon
                wait = lease * RENEWAL_RETRY_SHARE_OF_LEASE
                continue
            if renewed is None:
                logger.warning(
                    "worker.lease_expired job_id=%s: no renewal got through in time", job.id
                )
            attempt.cancel()
            return

    async def _prune_periodically(self) -> None:
        """Every period (and at start), delete the history older than the retention, pausing
        between batches (``_between_prune_batches``). A prune the database failed is logged
        with what it deleted before (whole batches, which stay deleted), any other failure
        with its traceback; the next period goes on from there."""
        runtime = self.services.runtime
        while not self.stopping.is_set():
            cutoff = runtime.clock() - timedelta(days=runtime.settings.history_retention_days)
            try:
                pruned = await runtime.queue.prune_history(
                    older_than=cutoff, between_batches=self._between_prune_batches
                )
            except PruneCutShort as exc:
                _reraise_a_cancellation()
                logger.warning("history.prune_failed error=%s entries=%s", exc.message, exc.pruned)
            except Exception:  # housekeeping must not end the pool: the workers sync orders
                _reraise_a_cancellation()
                logger.exception("history.prune_error")
            else:
                if pruned:
                    logger.info("history.pruned entries=%s", pruned)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), timeout=PRUNE_INTERVAL_SECONDS)

    async def _between_prune_batches(self) -> bool:
        """Pause ``PRUNE_PAUSE_SECONDS`` between two prune batches; False (the prune ends there)
        once the pool is stopping, so a long prune does not hold up its stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), timeout=PRUNE_PAUSE_SECONDS)
        return not self.stopping.is_set()

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
