"""A claim that takes over an expired lease says so in the job's history (SQLite and PostgreSQL).

The chaos suite counts these entries: a job taken over may have been pushed by the attempt that
died, so one more Gordon write than its contents is allowed per takeover, and a SIGKILLed worker's
jobs must each show one naming that worker.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from saleor_gordon.core.job_status import JobStatus
from saleor_gordon.jobs.lifecycle import Episode, Transition
from saleor_gordon.jobs.queue import LEASE_TAKEN_OVER, JobQueue, lease_takeover_message
from saleor_gordon.jobs.views import JobViews
from tests.jobs.test_queue import GORDON_DOWN, LEASE, NOW, _claim, _event, _install


async def _history(engine: AsyncEngine, job_id: int) -> list[tuple[str, int, str, str, str | None]]:
    view = await JobViews(engine).get_job(job_id)
    assert view is not None
    return [(e["at"], e["attempt"], e["action"], e["outcome"], e["message"]) for e in view.history]


async def test_taking_over_an_expired_lease_is_recorded_with_the_dead_worker(
    migrated_engine: AsyncEngine,
) -> None:
    installation = await _install(migrated_engine)
    await _event(migrated_engine, installation, "order-001")
    jobs = JobQueue(migrated_engine)
    dead = await _claim(jobs, "host:4242:abcdef:3")
    assert dead is not None

    after_expiry = NOW + timedelta(seconds=LEASE + 1)
    taken = await _claim(jobs, "w2", now=after_expiry)

    assert taken is not None
    expired_at = NOW + timedelta(seconds=LEASE)
    assert await _history(migrated_engine, taken.id) == [
        (
            after_expiry.isoformat(),
            2,
            "claim",
            LEASE_TAKEN_OVER,
            lease_takeover_message("host:4242:abcdef:3", expired_at),
        )
    ]
    assert lease_takeover_message("host:4242:abcdef:3", expired_at) == (
        "Taken over from worker host:4242:abcdef:3, whose lease expired at "
        "2026-11-27T12:00:30+00:00 before it recorded its attempt (the worker stopped or lost "
        "the database); that attempt may have reached Gordon or Saleor."
    )


async def test_a_lease_given_back_is_no_takeover(migrated_engine: AsyncEngine) -> None:
    installation = await _install(migrated_engine)
    await _event(migrated_engine, installation, "order-001")
    jobs = JobQueue(migrated_engine)
    first = await _claim(jobs, "w1")
    assert first is not None
    retry = Transition(
        status=JobStatus.RETRYING,
        next_attempt_at=NOW,
        episode=Episode.GOES_ON,
        action="push",
        outcome="retryable",
        message=GORDON_DOWN,
    )
    assert await jobs.finish_job(first, retry, now=NOW)

    again = await _claim(jobs, "w2", now=NOW + timedelta(seconds=1))

    assert again is not None
    assert [entry[2:4] for entry in await _history(migrated_engine, again.id)] == [
        ("push", "retryable")
    ]


async def test_a_job_never_claimed_before_is_no_takeover(migrated_engine: AsyncEngine) -> None:
    installation = await _install(migrated_engine)
    await _event(migrated_engine, installation, "order-001")
    jobs = JobQueue(migrated_engine)

    claimed = await _claim(jobs, "w1")

    assert claimed is not None
    assert await _history(migrated_engine, claimed.id) == []
