"""``worker.WorkerPool`` in process: claiming, leases, crashes, draining and store outages.

The pool runs as a task of the test's event loop over the bench (tests/jobs/conftest.py). Polling
is slowed to a minute, so a job only runs this soon because ``wake()`` or the work itself says
so; tests wait on the job's state, on a log record, or on a ``Gate`` the attempt reaches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from saleor_gordon.core.job_status import JobStatus
from saleor_gordon.errors import StoreUnavailable
from saleor_gordon.jobs import worker as worker_module
from saleor_gordon.jobs.queue import (
    LEASE_TAKEN_OVER,
    PRUNE_BATCH,
    JobQueue,
    lease_takeover_message,
)
from saleor_gordon.jobs.worker import WorkerPool, _cancel_and_wait
from saleor_gordon.store.tables import job_history, sync_jobs, webhook_events
from tests.jobs.conftest import FIRST_DELAY, MAX_AGE, Bench
from tests.support.fixtures import unreachable_engine_like

WAIT_SECONDS = 15.0  # a deadline for what should happen at once, not a pause


async def until(condition: Callable[[], Any], what: str) -> None:
    """Wait until ``condition()`` (sync or async) holds; fail after WAIT_SECONDS."""
    async with asyncio.timeout(WAIT_SECONDS):
        while True:
            outcome = condition()
            if asyncio.iscoroutine(outcome):
                outcome = await outcome
            if outcome:
                return
            await asyncio.sleep(0.01)
    pytest.fail(f"not reached: {what}")  # pragma: no cover - timeout raises first


class Gate:
    """A request pacer that holds every Gordon request until released."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.released = asyncio.Event()

    async def acquire(self, key: Hashable) -> None:
        self.entered.set()
        await self.released.wait()


class Exploding:
    """A request pacer that fails like a bug would."""

    async def acquire(self, key: Hashable) -> None:
        raise RuntimeError("boom")


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="saleor_gordon")
    return caplog


def logged(logs: pytest.LogCaptureFixture, prefix: str) -> list[logging.LogRecord]:
    return [record for record in logs.records if record.getMessage().startswith(prefix)]


class LeaseClock:
    """The pool's monotonic clock, by which it holds a lease: moves only when told, so a lease
    runs out here when the test says (a machine too busy to run the renewals on time ends
    none). Renewals still run every third of the lease, in real time."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class SteppedLeaseTime(LeaseClock):
    """The pool's monotonic clock and the pauses of its lease renewer together: a pause lasts
    until the test lets it pass, which moves the clock by exactly what the renewer asked for. The
    renewals happen at the lease times the worker chose, one step at a time."""

    def __init__(self) -> None:
        super().__init__()
        self.pauses: list[float] = []
        """Every pause that passed, in order: the renewer's schedule."""
        self._asked: asyncio.Queue[tuple[float, asyncio.Future[None]]] = asyncio.Queue()
        self._waiting: tuple[float, asyncio.Future[None]] | None = None

    async def pause(self, seconds: float) -> None:
        passed = asyncio.get_running_loop().create_future()
        self._asked.put_nowait((seconds, passed))
        await passed

    async def waiting(self) -> float:
        """Wait until the renewer pauses (the renewal before is over): how long it asked for."""
        if self._waiting is None:
            async with asyncio.timeout(WAIT_SECONDS):
                self._waiting = await self._asked.get()
        return self._waiting[0]

    async def let_pass(self) -> None:
        """The renewer's pause passes: the clock moves by it and the renewer goes on."""
        seconds = await self.waiting()
        assert self._waiting is not None
        self.now += seconds
        self.pauses.append(seconds)
        self._waiting[1].set_result(None)
        self._waiting = None


@contextlib.asynccontextmanager
async def running(
    bench: Bench,
    *,
    concurrency: int = 1,
    lease_clock: LeaseClock | None = None,
    **settings: Any,
) -> AsyncIterator[WorkerPool]:
    """A pool running as a task; stopped (and awaited) at the end.

    Attempts here wait at gates past one-second leases on purpose (renewals, lost leases), which
    the settings' validation would refuse beside an attempt deadline: the deadline stays at a
    minute unless a test sets it (tests/jobs/test_attempt_deadline.py)."""
    bench.runtime.settings = bench.runtime.settings.model_copy(
        update={"worker_poll_seconds": 60.0, "attempt_deadline_seconds": 60.0, **settings}
    )
    pool = WorkerPool(
        bench.services,
        concurrency=concurrency,
        monotonic=lease_clock or time.monotonic,
        pause=lease_clock.pause if isinstance(lease_clock, SteppedLeaseTime) else asyncio.sleep,
    )
    task = asyncio.create_task(pool.run())
    try:
        yield pool
    finally:
        pool.stop()
        async with asyncio.timeout(WAIT_SECONDS):
            await task


async def settled_as(bench: Bench, order: dict[str, Any], status: JobStatus) -> None:
    async def recorded() -> bool:
        job = await bench.job(order)
        return job.status == status.value and not job.leased

    await until(recorded, f"the job recorded as {status.value}")


@dataclass
class AttemptAtGordon:
    """A job's attempt that a running pool holds at ``gate``, waiting for Gordon."""

    pool: WorkerPool
    job_id: int
    order: dict[str, Any]
    gate: Gate


@contextlib.asynccontextmanager
async def attempt_waiting_for_gordon(
    bench: Bench, **running_options: Any
) -> AsyncIterator[AttemptAtGordon]:
    """Given a paid order's job, claimed by a pool ``running(bench, **running_options)`` and
    waiting at the gate for Gordon; the pool stops at the end."""
    gate = Gate()
    bench.services.rate_limiter = gate
    order = bench.paid_order()
    async with running(bench, **running_options) as pool:
        job_id = await bench.event(order)
        pool.wake()
        await gate.entered.wait()
        yield AttemptAtGordon(pool, job_id, order, gate)


async def test_a_woken_pool_claims_runs_and_records_the_job(
    bench: Bench, logs: pytest.LogCaptureFixture
) -> None:
    order = bench.paid_order()
    async with running(bench) as pool:
        await bench.event(order)
        pool.wake()  # the poll is a minute away: only the wake-up makes it run now
        await settled_as(bench, order, JobStatus.SYNCED)

    job = await bench.job(order)
    assert job.attempts == 1
    assert job.tracking_id == bench.gordon.state.orders[order["number"]].tracking_id
    [finished] = [record.getMessage() for record in logged(logs, "job.finished")]
    assert finished == (
        f"job.finished job_id={job.id} order_number={order['number']} status=synced "
        "action=push outcome=accepted attempt=1"
    )
    assert [r.getMessage() for r in logged(logs, "worker.")] == [
        "worker.started concurrency=1",
        "worker.stopping",
        "worker.stopped",
    ]


async def test_a_pool_without_workers_returns_at_once(bench: Bench) -> None:
    order = bench.paid_order()
    await bench.event(order)

    await WorkerPool(bench.services, concurrency=0).run()

    assert (await bench.job(order)).attempts == 0


async def test_stopping_lets_the_job_in_flight_finish(bench: Bench) -> None:
    gate = Gate()
    bench.services.rate_limiter = gate
    order = bench.paid_order()
    pool = WorkerPool(bench.services, concurrency=1)
    await bench.event(order)
    task = asyncio.create_task(pool.run())
    await gate.entered.wait()

    # when the pool is told to stop while the job waits for Gordon
    pool.stop()
    assert not task.done()
    gate.released.set()
    async with asyncio.timeout(WAIT_SECONDS):
        await task

    # then the job finished and was recorded
    job = await bench.job(order)
    assert (job.status, job.attempts, job.leased) == ("synced", 1, False)


async def test_a_crashed_attempt_is_logged_and_retried(
    bench: Bench, logs: pytest.LogCaptureFixture
) -> None:
    bench.services.rate_limiter = Exploding()
    order = bench.paid_order()
    async with running(bench) as pool:
        await bench.event(order)
        pool.wake()
        await settled_as(bench, order, JobStatus.RETRYING)

    job = await bench.job(order)
    assert (job.last_action, job.last_outcome) == ("run", "crashed")
    assert job.last_message == "Unexpected error (RuntimeError); the job will be retried."
    assert job.next_attempt_at == bench.clock() + timedelta(seconds=FIRST_DELAY)
    [crash] = logged(logs, "job.crashed")
    assert crash.getMessage() == f"job.crashed job_id={job.id}"
    assert crash.exc_info is not None
    assert str(crash.exc_info[1]) == "boom"


async def test_a_crash_past_the_maximum_age_fails_the_job(bench: Bench) -> None:
    bench.services.rate_limiter = Exploding()
    order = bench.paid_order()
    await bench.event(order)
    bench.clock.advance(MAX_AGE.total_seconds() + 1)
    async with running(bench) as pool:
        pool.wake()
        await settled_as(bench, order, JobStatus.FAILED)

    job = await bench.job(order)
    assert job.last_outcome == "crashed"
    assert job.last_message == (
        "Unexpected error (RuntimeError); the job will be retried. "
        "Retries stopped: gave up after 1 attempt over 1 hour."
    )
    assert job.next_attempt_at is None


async def test_a_lease_lost_mid_attempt_cancels_it_and_records_nothing(
    bench: Bench, logs: pytest.LogCaptureFixture
) -> None:
    # given a worker renewing a one-second lease while its attempt waits for Gordon
    async with attempt_waiting_for_gordon(bench, lease_seconds=1.0) as attempt:
        # when another worker takes the job over after the lease expired
        thief = await bench.runtime.queue.claim_next_job(
            worker_id="thief", now=bench.clock() + timedelta(seconds=2), lease_seconds=60,
            per_installation_limit=8,
        )  # fmt: skip
        assert thief is not None

        # then the renewal notices, the attempt is cancelled, and nothing is recorded
        await until(lambda: logged(logs, "worker.lease_lost"), "worker.lease_lost")

    job = await bench.job(attempt.order)
    # the only entry is the thief's: it took over a lease that had expired
    [taken_over] = job.history
    assert (taken_over["action"], taken_over["outcome"], taken_over["attempt"]) == (
        "claim",
        LEASE_TAKEN_OVER,
        2,
    )
    assert taken_over["message"] == lease_takeover_message(
        attempt.pool._worker_ids[0], bench.clock() + timedelta(seconds=1)
    )
    assert job.leased
    assert bench.gordon_calls() == []  # the attempt never got past the gate
    assert [r.getMessage() for r in logged(logs, "worker.lease_lost")] == [
        f"worker.lease_lost job_id={job.id}"
    ]
    assert logged(logs, "job.finished") == []


async def test_an_attempt_that_lost_its_lease_is_not_recorded(
    bench: Bench, logs: pytest.LogCaptureFixture
) -> None:
    # given an attempt whose lease another worker takes before it finishes
    # (a long lease: no renewal runs during the test)
    async with attempt_waiting_for_gordon(bench) as attempt:
        async with bench.runtime.engine.begin() as connection:
            await connection.execute(
                update(sync_jobs)
                .where(sync_jobs.c.id == attempt.job_id)
                .values(lease_owner="thief")
            )
        attempt.gate.released.set()
        await until(lambda: logged(logs, "job.finished"), "job.finished")

    job = await bench.job(attempt.order)
    assert job.history == []
    assert job.status == "pending"
    assert [r.getMessage() for r in logged(logs, "worker.lease_lost")] == [
        f"worker.lease_lost job_id={attempt.job_id}"
    ]


async def test_renewals_outlast_a_store_outage(
    bench: Bench, logs: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    # given an attempt waiting for Gordon under a one-second lease (renewed every third of a
    # second), whose time here does not run out meanwhile
    unreachable = unreachable_engine_like("sqlite://", tmp_path)
    engine = bench.runtime.engine
    tries: list[object] = []

    def back_at_once(*args: object) -> None:
        """The outage lasts one connection attempt: the next renewal finds the database."""
        tries.append(args)
        bench.runtime.engine = engine

    event.listen(unreachable.sync_engine, "do_connect", back_at_once)
    # (no reconcile: nothing but the renewals may meet the outage)
    lease_clock = LeaseClock()
    async with attempt_waiting_for_gordon(
        bench, lease_seconds=1.0, reconcile_interval_seconds=0, lease_clock=lease_clock
    ) as attempt:
        # when a renewal finds the database unreachable (the bench clock moved on by less than
        # the lease: a renewal from now on is told apart, and no claim could take the job)
        renewed_until = bench.clock.advance(0.5) + timedelta(seconds=1)
        lease_clock.now += 0.5  # less than the lease since the claim
        bench.runtime.engine = unreachable
        await until(lambda: logged(logs, "worker.renewal_failed"), "worker.renewal_failed")

        # then the next renewal, the database back, keeps the lease
        async def renewed() -> bool:
            async with engine.connect() as connection:
                query = select(sync_jobs.c.lease_expires_at, sync_jobs.c.attempts).where(
                    sync_jobs.c.id == attempt.job_id
                )
                expiry, attempts = (await connection.execute(query)).one()
            return (expiry.replace(tzinfo=UTC), attempts) == (renewed_until, 1)

        await until(renewed, "the lease renewed after the outage")
        # and the attempt goes on and is recorded
        attempt.gate.released.set()
        await settled_as(bench, attempt.order, JobStatus.SYNCED)
    await unreachable.dispose()
    assert len(tries) == 1
    [failed] = [record.getMessage() for record in logged(logs, "worker.renewal_failed")]
    assert failed.startswith(
        f"worker.renewal_failed job_id={attempt.job_id} error=The database failed"
    )
    assert logged(logs, "worker.lease_expired") == logged(logs, "worker.lease_lost") == []
    assert (await bench.job(attempt.order)).attempts == 1


@dataclass
class WaitingAttempt(AttemptAtGordon):
    """An attempt waiting for Gordon at ``gate`` under a 30-second lease (renewed every 10 s, held
    here for 27 s), whose lease time passes only when the test lets the renewer's pauses pass."""

    lease_time: SteppedLeaseTime
    unreachable: AsyncEngine
    """An engine like the bench's that reaches no database: ``bench.runtime.engine`` during an
    outage (given back when the pool stops)."""


@contextlib.asynccontextmanager
async def waiting_under_a_stepped_lease(
    bench: Bench, tmp_path: Path
) -> AsyncIterator[WaitingAttempt]:
    unreachable = unreachable_engine_like("sqlite://", tmp_path)
    engine = bench.runtime.engine
    lease_time = SteppedLeaseTime()
    try:
        # (no reconcile: nothing but the renewals may meet an outage)
        async with attempt_waiting_for_gordon(
            bench, lease_seconds=30.0, reconcile_interval_seconds=0, lease_clock=lease_time
        ) as attempt:
            try:
                yield WaitingAttempt(
                    attempt.pool,
                    attempt.job_id,
                    attempt.order,
                    attempt.gate,
                    lease_time,
                    unreachable,
                )
            finally:
                bench.runtime.engine = engine
    finally:
        await unreachable.dispose()


async def test_a_failed_renewal_is_tried_again_soon_so_a_long_outage_keeps_the_lease(
    bench: Bench, logs: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    logs.set_level(logging.DEBUG, logger="saleor_gordon.jobs.worker")
    engine = bench.runtime.engine
    async with waiting_under_a_stepped_lease(bench, tmp_path) as attempt:
        lease_time = attempt.lease_time
        # when the database is unreachable from the claim on for 85 % of the lease: the
        # renewals at 10 s and then every second until 25 s fail
        bench.runtime.engine = attempt.unreachable
        for _ in range(16):
            await lease_time.let_pass()
        await lease_time.waiting()  # the renewal at 25 s is over
        renewed_until = bench.clock.advance(26) + timedelta(seconds=30)
        bench.runtime.engine = engine

        # then the renewal a second later, the database back, keeps the lease
        await lease_time.let_pass()
        await lease_time.waiting()  # the renewal at 26 s is over
        renewal = f"worker.lease_renewed job_id={attempt.job_id} until={renewed_until.isoformat()}"
        assert [r.getMessage() for r in logged(logs, "worker.lease_renewed")] == [renewal]
        # and the next renewal is a third of the lease later again
        assert await lease_time.waiting() == 10.0
        # and the attempt goes on and is recorded
        attempt.gate.released.set()
        await settled_as(bench, attempt.order, JobStatus.SYNCED)
    assert lease_time.pauses == [10.0] + [1.0] * 16
    failed = logged(logs, f"worker.renewal_failed job_id={attempt.job_id} error=")
    assert len(failed) == 16
    assert logged(logs, "worker.lease_expired") == logged(logs, "worker.lease_lost") == []
    assert (await bench.job(attempt.order)).attempts == 1


async def test_an_outage_past_the_lease_stops_the_attempt_when_the_lease_runs_out_here(
    bench: Bench, logs: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    async with waiting_under_a_stepped_lease(bench, tmp_path) as attempt:
        lease_time = attempt.lease_time

        def slow_to_fail(*args: object) -> None:
            """Each renewal takes a quarter of a second to find the database unreachable."""
            lease_time.now += 0.25

        event.listen(attempt.unreachable.sync_engine, "do_connect", slow_to_fail)
        # when no renewal gets through: at 10 s, then a second after each failure (11.25 s,
        # 12.5 s, ... 26.25 s, which fails at 26.5 s)
        bench.runtime.engine = attempt.unreachable
        for _ in range(15):
            await lease_time.let_pass()

        # then the attempt is stopped when the lease runs out here, at 27 s (half a second
        # later: not a whole second, not at the next renewal's time)
        await until(lambda: logged(logs, "worker.lease_lost"), "worker.lease_lost")
    assert lease_time.pauses == [10.0] + [1.0] * 13 + [0.5]
    failed = logged(logs, f"worker.renewal_failed job_id={attempt.job_id} error=")
    assert len(failed) == 14
    assert [r.getMessage() for r in logged(logs, "worker.lease_expired")] == [
        f"worker.lease_expired job_id={attempt.job_id}: no renewal got through in time"
    ]
    job = await bench.job(attempt.order)
    assert (job.history, job.status) == ([], "pending")  # nothing recorded: the next claim runs it
    assert bench.gordon_calls() == []


async def test_a_result_the_store_cannot_take_is_left_to_the_lease(
    bench: Bench, logs: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    # given the database lost while an attempt is under way
    unreachable = unreachable_engine_like("sqlite://", tmp_path)
    async with attempt_waiting_for_gordon(bench) as attempt:
        engine, bench.runtime.engine = bench.runtime.engine, unreachable
        attempt.gate.released.set()

        # then the result is dropped (the lease expires and the work is repeated), and the
        # worker carries on once it has said so
        await until(lambda: logged(logs, "worker.store_unavailable"), "the next claim failing")
        bench.runtime.engine = engine
    await unreachable.dispose()

    [failed] = [record.getMessage() for record in logged(logs, "worker.finish_failed")]
    assert failed.startswith(
        f"worker.finish_failed job_id={attempt.job_id} error=The database failed"
    )
    assert logged(logs, "job.finished") == []
    job = await bench.job(attempt.order)
    assert (job.status, job.leased, job.history) == ("pending", True, [])
    assert (
        attempt.order["number"] in bench.gordon.state.orders
    )  # pushed; the retry finds it unchanged


async def test_a_pool_without_its_database_keeps_trying(
    bench: Bench, logs: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    unreachable = unreachable_engine_like("sqlite://", tmp_path)
    engine, bench.runtime.engine = bench.runtime.engine, unreachable
    async with running(bench, worker_poll_seconds=0.01):
        await until(lambda: len(logged(logs, "worker.store_unavailable")) >= 2, "two failed claims")
    bench.runtime.engine = engine
    await unreachable.dispose()

    assert logged(logs, "worker.error") == []
    assert logged(logs, "history.pruned") == []


async def test_an_unexpected_claim_failure_is_logged_and_the_worker_lives_on(
    bench: Bench, logs: pytest.LogCaptureFixture
) -> None:
    # given a job row the store cannot read back (a status no version wrote)
    broken_order, order = bench.paid_order(), bench.paid_order()
    broken_id = await bench.event(broken_order)
    async with bench.runtime.engine.begin() as connection:
        await connection.execute(
            update(sync_jobs).where(sync_jobs.c.id == broken_id).values(status="bogus")
        )

    async with running(bench) as pool:
        pool.wake()
        await until(lambda: logged(logs, "worker.error"), "worker.error")

        # then the same worker goes on with the next job
        await bench.event(order)
        pool.wake()
        await settled_as(bench, order, JobStatus.SYNCED)

    [error] = logged(logs, "worker.error")
    assert error.exc_info is not None
    assert isinstance(error.exc_info[1], ValueError)


async def test_old_history_is_pruned(bench: Bench, logs: pytest.LogCaptureFixture) -> None:
    order = bench.paid_order()
    await bench.event(order)
    await bench.attempt()  # two history entries: push, write-back
    bench.clock.advance(timedelta(days=31).total_seconds())

    async with running(bench):
        await until(lambda: logged(logs, "history.pruned"), "history.pruned")

    assert [r.getMessage() for r in logged(logs, "history.pruned")] == ["history.pruned entries=2"]
    assert (await bench.job(order)).history == []


async def test_a_stop_during_the_pause_between_prune_batches_ends_the_prune(
    bench: Bench, logs: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a full batch and one entry more of history past the retention, and a pause between
    # batches far longer than the test waits for the pool to stop
    job_id = await bench.event(bench.paid_order())
    old = bench.clock()
    entry = {"job_id": job_id, "attempt": 1, "action": "push", "outcome": "synced", "at": old}
    async with bench.runtime.engine.begin() as connection:
        await connection.execute(insert(job_history), [entry] * (PRUNE_BATCH + 1))
    bench.clock.advance(timedelta(days=31).total_seconds())
    monkeypatch.setattr(worker_module, "PRUNE_PAUSE_SECONDS", 600.0)

    async def history_left() -> int:
        """The old entries left (the pool also runs the job: its entries are new)."""
        async with bench.runtime.engine.connect() as connection:
            count = select(func.count()).where(job_history.c.at == old)
            return int((await connection.execute(count)).scalar_one())

    async def first_batch_deleted() -> bool:
        return await history_left() == 1

    # (running() fails unless the pool has stopped within WAIT_SECONDS)
    async with running(bench, reconcile_interval_seconds=0):
        # when the pool stops once the first batch is deleted: the prune pauses
        await until(first_batch_deleted, "the first batch deleted")

    # then the pause and the prune ended there, with what they deleted
    assert [r.getMessage() for r in logged(logs, "history.pruned")] == [
        f"history.pruned entries={PRUNE_BATCH}"
    ]
    assert await history_left() == 1


async def test_a_prune_the_database_fails_is_logged_with_what_it_deleted_and_tried_again(
    bench: Bench, logs: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given two history entries (push, write-back) and a received event past the retention, the
    # events' table gone: the database fails the prune after the history's batch
    order = bench.paid_order()
    await bench.event(order)
    await bench.attempt()
    async with bench.runtime.engine.begin() as connection:
        await connection.execute(
            insert(webhook_events).values(
                installation_id=bench.installation.id,
                dedupe_key="ORDER_FULLY_PAID:old",
                event="ORDER_FULLY_PAID",
                body_sha256="0" * 64,
                received_at=bench.clock(),
            )
        )
        await connection.execute(text("ALTER TABLE webhook_events RENAME TO webhook_events_gone"))
    bench.clock.advance(timedelta(days=31).total_seconds())
    monkeypatch.setattr(worker_module, "PRUNE_INTERVAL_SECONDS", 0.01)  # a period, at once

    # (no reconcile: nothing but the prune may meet the missing table)
    async with running(bench, reconcile_interval_seconds=0) as pool:
        # then the failure is logged with the entries the prune deleted before it
        await until(lambda: logged(logs, "history.prune_failed"), "history.prune_failed")
        # and the pool lives on: a job queued now runs
        other = bench.paid_order()
        await bench.event(other)
        pool.wake()
        await settled_as(bench, other, JobStatus.SYNCED)
        # and a later period, the table back, prunes what was left
        async with bench.runtime.engine.begin() as connection:
            await connection.execute(
                text("ALTER TABLE webhook_events_gone RENAME TO webhook_events")
            )
        await until(lambda: logged(logs, "history.pruned"), "history.pruned")

    failure = (
        "history.prune_failed error=The database failed (OperationalError); is it running and "
        "migrated (`saleor-gordon migrate`)? entries="
    )
    first, *again = logged(logs, "history.prune_failed")
    assert (first.levelno, first.getMessage()) == (logging.WARNING, f"{failure}2")
    assert {record.getMessage() for record in again} <= {f"{failure}0"}  # nothing left to delete
    assert [r.getMessage() for r in logged(logs, "history.pruned")] == ["history.pruned entries=1"]
    assert (await bench.job(order)).history == []


async def test_an_unexpected_prune_failure_is_logged_and_the_pool_lives_on(
    bench: Bench, logs: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a prune that fails the first time with an error no store failure maps to
    prune = JobQueue.prune_history
    calls = 0

    async def prune_failing_once(queue: JobQueue, **kwargs: Any) -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ValueError("a bug in the prune")
        return await prune(queue, **kwargs)

    monkeypatch.setattr(JobQueue, "prune_history", prune_failing_once)
    monkeypatch.setattr(worker_module, "PRUNE_INTERVAL_SECONDS", 0.01)  # a period, at once

    async with running(bench, reconcile_interval_seconds=0) as pool:
        await until(lambda: logged(logs, "history.prune_error"), "history.prune_error")
        # then the pool lives on: a job queued now runs, and the next period prunes again
        order = bench.paid_order()
        await bench.event(order)
        pool.wake()
        await settled_as(bench, order, JobStatus.SYNCED)
        await until(lambda: calls >= 2, "a second prune")

    [error] = logged(logs, "history.prune_error")
    assert error.levelno == logging.ERROR
    assert error.exc_info is not None
    assert isinstance(error.exc_info[1], ValueError)
    assert str(error.exc_info[1]) == "a bug in the prune"


async def test_cancelling_the_pool_cancels_the_attempt_without_a_lease_loss(
    bench: Bench, logs: pytest.LogCaptureFixture
) -> None:
    gate = Gate()
    bench.services.rate_limiter = gate
    order = bench.paid_order()
    await bench.event(order)
    bench.runtime.settings = bench.runtime.settings.model_copy(update={"worker_poll_seconds": 60.0})
    task = asyncio.create_task(WorkerPool(bench.services, concurrency=1).run())
    await gate.entered.wait()

    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task
    # nothing of the pool outlives it: no task (workers, renewal, prune, reconcile, SQLAlchemy's
    # closing of a connection the cancel interrupted) and no connection left checked out
    assert asyncio.all_tasks() == {asyncio.current_task()}
    assert bench.runtime.engine.pool.checkedout() == 0
    assert logged(logs, "worker.lease_lost") == []
    assert [r.getMessage() for r in logged(logs, "worker.")][-1] == "worker.stopped"
    assert (await bench.job(order)).leased  # the lease expires; another worker takes over


async def test_children_are_waited_for_through_their_cleanup_even_if_the_wait_is_cancelled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given two children whose cleanup takes a while, one of them cancelled already
    cleanup_may_end = asyncio.Event()
    waits: list[asyncio.Task[Any] | None] = []  # the task of every asyncio.wait, in order
    real_wait = asyncio.wait

    async def counted_wait(*args: Any, **kwargs: Any) -> Any:
        waits.append(asyncio.current_task())
        return await real_wait(*args, **kwargs)

    monkeypatch.setattr(asyncio, "wait", counted_wait)
    started: list[int] = []
    cleaned: list[int] = []

    async def child(number: int) -> None:
        started.append(number)
        try:
            await asyncio.Event().wait()
        finally:
            await cleanup_may_end.wait()  # a second cancellation would cut this short
            cleaned.append(number)

    children = [asyncio.create_task(child(number)) for number in (1, 2)]
    await until(lambda: len(started) == 2, "the children started")
    children[0].cancel()
    waiter = asyncio.create_task(_cancel_and_wait(children))
    await until(lambda: all(task.cancelling() for task in children), "both children cancelled")

    # when the waiter itself is cancelled while the children clean up
    await until(lambda: waits.count(waiter) == 1, "the waiter waits for the children")
    waiter.cancel()
    await until(
        lambda: waits.count(waiter) == 2 or waiter.done(), "the waiter took the cancel and waits on"
    )

    # then neither child was cancelled a second time, and the waiter ends only after both
    assert [task.cancelling() for task in children] == [1, 1]
    assert not waiter.done()
    cleanup_may_end.set()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert sorted(cleaned) == [1, 2]


async def test_a_stop_that_arrives_while_a_worker_claims_is_not_lost(bench: Bench) -> None:
    # given a pool told to stop in the middle of its first claim (the clock is read there)
    pool = WorkerPool(bench.services, concurrency=1)
    clock = bench.runtime.clock

    def stop_while_claiming() -> datetime:
        bench.runtime.clock = clock
        pool.stop()
        return clock()

    bench.runtime.settings = bench.runtime.settings.model_copy(update={"worker_poll_seconds": 60.0})
    bench.runtime.clock = stop_while_claiming

    # then the worker stops once the claim is over, not at its next poll a minute later
    async with asyncio.timeout(WAIT_SECONDS):
        await pool.run()


async def test_a_long_attempt_renews_its_lease(
    bench: Bench, logs: pytest.LogCaptureFixture
) -> None:
    # given an attempt that waits for Gordon past its one-second lease
    logs.set_level(logging.DEBUG, logger="saleor_gordon.jobs.worker")
    lease_clock = LeaseClock()
    async with attempt_waiting_for_gordon(
        bench, lease_seconds=1.0, lease_clock=lease_clock
    ) as attempt:
        job_id = attempt.job_id

        async def lease_expiry() -> datetime:
            async with bench.runtime.engine.connect() as connection:
                query = select(sync_jobs.c.lease_expires_at).where(sync_jobs.c.id == job_id)
                expiry: datetime = (await connection.execute(query)).scalar_one()
            return expiry.replace(tzinfo=UTC) if expiry.tzinfo is None else expiry

        # then the worker renews it, twice, from the time of each renewal (half a lease apart
        # here: more than a lease together), and no other worker can take the job meanwhile
        for _ in range(2):
            renewed_until = bench.clock.advance(10) + timedelta(seconds=1)
            lease_clock.now += 0.5
            renewal = f"worker.lease_renewed job_id={job_id} until={renewed_until.isoformat()}"
            # the worker's own word that the renewal got through: one whose answer came too
            # late may be in the database and still not count here
            await until(lambda line=renewal: logged(logs, line), "the lease renewed from now")
            assert await lease_expiry() == renewed_until
            assert await bench.claim() is None
        attempt.gate.released.set()
        await settled_as(bench, attempt.order, JobStatus.SYNCED)
    # and it held the lease throughout
    assert logged(logs, "worker.lease_expired") == logged(logs, "worker.lease_lost") == []
    assert (await bench.job(attempt.order)).attempts == 1


async def test_a_cleanup_failing_during_the_cancel_does_not_swallow_it(
    bench: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a reconcile whose cleanup fails once it is cancelled (its `finally` writes to a
    # store that has gone away), in place of the cancellation
    started = asyncio.Event()

    async def reconcile_failing_on_cancel(*_args: object, **_kwargs: object) -> list[object]:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            raise StoreUnavailable("The database failed (OperationalError).") from None
        return []

    monkeypatch.setattr(worker_module, "reconcile_due_shops", reconcile_failing_on_cancel)
    bench.runtime.settings = bench.runtime.settings.model_copy(
        update={"worker_poll_seconds": 60.0, "reconcile_interval_seconds": 600.0}
    )
    task = asyncio.create_task(WorkerPool(bench.services, concurrency=1).run())
    await started.wait()
    # when the pool is cancelled
    task.cancel()
    # then it ends, cancelled (the reconcile loop does not take the error for a failed round)
    await asyncio.wait({task}, timeout=10)
    assert task.cancelled()
    assert asyncio.all_tasks() == {asyncio.current_task()}


class CountedClaims:
    """Counts a pool's claims (a spy on ``WorkerPool._claim``)."""

    def __init__(self, pool: WorkerPool) -> None:
        self.count = 0
        self.looked_first: list[bool] = []
        """Each claim's ``look_first``, in order."""
        claim = pool._claim

        async def counted(worker_id: str, *, look_first: bool = True) -> Any:
            self.count += 1
            self.looked_first.append(look_first)
            return await claim(worker_id, look_first=look_first)

        pool._claim = counted  # type: ignore[method-assign]


async def test_a_wake_sends_one_idle_worker_not_all(bench: Bench) -> None:
    """Every accepted webhook wakes the pool: with all idle workers woken, each webhook cost as
    many claims as there were idle workers, nearly all of them finding nothing. One is woken; a
    claim that finds a job wakes one more (more may be due)."""
    order = bench.paid_order()
    async with running(bench, concurrency=4) as pool:
        claims = CountedClaims(pool)
        await until(lambda: len(pool._idle_workers) == 4, "every worker idle")
        claims.count = 0  # their first claims, at start
        claims.looked_first.clear()
        await bench.event(order)
        pool.wake(bench.installation.id)
        assert len(pool._idle_workers) == 3
        await settled_as(bench, order, JobStatus.SYNCED)
        await until(lambda: len(pool._idle_workers) == 4, "every worker idle again")

    # the woken worker's claim, the one it woke (nothing left), the first one's after its job
    assert claims.count == 3
    # only the claim after a job found skips the read-only look (more are likely due)
    assert claims.looked_first == [True, True, False]


async def test_a_wake_for_a_shop_at_its_share_is_left_to_the_worker_that_ends_a_lease(
    bench: Bench,
) -> None:
    gate = Gate()
    bench.services.rate_limiter = gate
    first, second, third = bench.paid_order(), bench.paid_order(), bench.paid_order()
    async with running(bench, concurrency=2, shop_concurrency=1) as pool:
        claims = CountedClaims(pool)
        await until(lambda: len(pool._idle_workers) == 2, "both workers idle")
        claims.count = 0  # their first claims, at start
        await bench.event(first)
        pool.wake(bench.installation.id)
        await gate.entered.wait()
        # the other worker, woken by the first claim, found nothing else due
        await until(lambda: len(pool._idle_workers) == 1, "the other worker idle again")
        # the next job of the shop wakes it: it finds the shop's one worker busy
        await bench.event(second)
        pool.wake(bench.installation.id)
        await until(lambda: len(pool._idle_workers) == 1, "the other worker idle again")
        assert claims.count == 3

        # when another job of the shop comes while its one worker is still busy
        await bench.event(third)
        pool.wake(bench.installation.id)

        # then nobody is woken for it; the busy worker takes the jobs once its own is done
        assert len(pool._idle_workers) == 1
        assert claims.count == 3
        gate.released.set()
        await settled_as(bench, second, JobStatus.SYNCED)
        await settled_as(bench, third, JobStatus.SYNCED)
    assert (await bench.job(first)).status == JobStatus.SYNCED.value
