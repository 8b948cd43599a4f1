"""JobQueue: enqueueing, claiming, leases, coalescing, fairness, operator retries, waking the
workers (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_only

from saleor_gordon.core.job_status import JobStatus
from saleor_gordon.core.messages import Message
from saleor_gordon.core.order_events import OrderEvent
from saleor_gordon.core.shop_config import parse_shop_config
from saleor_gordon.errors import PruneCutShort
from saleor_gordon.jobs import queue as queue_module
from saleor_gordon.jobs.lifecycle import (
    Episode,
    FulfillmentRecord,
    GordonCopy,
    HistoryEntry,
    LastRecorded,
    PushRecorded,
    Said,
    Transition,
    on_new_event,
)
from saleor_gordon.jobs.queue import (
    Claim,
    ClaimedJob,
    JobQueue,
    OrderJobRequest,
    _said,
    enqueue_order_job,
)
from saleor_gordon.jobs.views import JobViews
from saleor_gordon.secret_box import SecretBox
from saleor_gordon.store.database import create_engine, migrate
from saleor_gordon.store.inbox import EventInbox
from saleor_gordon.store.installations import InstallationStore
from saleor_gordon.store.tables import job_history, sync_jobs, webhook_events
from tests.conftest import TEST_SECRET_KEY
from tests.support.shop import shop_config

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
LEASE = 30.0


async def _install(engine: AsyncEngine, url: str = "https://a.example.com/graphql/") -> int:
    store = InstallationStore(engine, SecretBox(TEST_SECRET_KEY))
    installation = await store.save_installation(
        saleor_api_url=url, app_id="QXBwOjE=", token="t" * 30, jwks={"keys": []}, now=NOW
    )
    return installation.id


async def _event(
    engine: AsyncEngine,
    installation_id: int,
    order: str,
    event: str = "ORDER_FULLY_PAID",
    at: datetime = NOW,
) -> int | None:
    received = OrderEvent(
        installation_id=installation_id,
        event=event,
        order_id=order,
        order_number=order[-3:],
        issued_at=f"{event}-{at.isoformat()}",
        principal_type=None,
        principal_id=None,
        body_sha256="0" * 64,
    )
    async with EventInbox(engine) as inbox:
        return (await inbox.record_order_event(received, now=at)).job_id


async def _claim(
    jobs: JobQueue, worker_id: str, *, now: datetime = NOW, limit: int = 4
) -> ClaimedJob | None:
    return await jobs.claim_next_job(
        worker_id=worker_id, now=now, lease_seconds=LEASE, per_installation_limit=limit
    )


COPY = GordonCopy(
    external_ref="45",
    content_hash="h1",
    delivery_date=date(2026, 11, 30),
    time_window="17:00 - 21:00",
    tracking_id="0Zj7YGCUr",
)


PUSHED = Message.of(
    "job.pushed",
    "Gordon accepted order 45 (tracking ID 0Zj7YGCUr).",
    ref="45",
    tracking_id="0Zj7YGCUr",
)
GORDON_DOWN = Message.of(
    "job.gordon_unavailable", "Gordon is unavailable (HTTP 503).", detail="HTTP 503"
)


def _synced(message: Message = PUSHED, copy: GordonCopy = COPY) -> Transition:
    return Transition(
        status=JobStatus.SYNCED,
        next_attempt_at=None,
        episode=Episode.ENDS,
        action="push",
        outcome="accepted",
        message=message,
        gordon=PushRecorded(copy, NOW),
    )


def _gave_up() -> Transition:
    return Transition(
        status=JobStatus.FAILED,
        next_attempt_at=None,
        episode=Episode.ENDS,
        action="push",
        outcome="gave_up",
        message=Message.of(
            "job.gave_up",
            f"{GORDON_DOWN} Retries stopped.",
            cause=GORDON_DOWN,
            attempts=7,
            hours=48.0,
        ),
    )


async def test_a_due_job_is_claimed_once(migrated_engine: AsyncEngine) -> None:
    installation = await _install(migrated_engine)
    await _event(migrated_engine, installation, "order-001")
    jobs = JobQueue(migrated_engine)

    first = await _claim(jobs, "w1")
    second = await _claim(jobs, "w2")

    assert first is not None
    assert first.order_id == "order-001"
    assert first.attempts == 1
    assert second is None


async def test_a_claim_brings_the_jobs_shop_along(migrated_engine: AsyncEngine) -> None:
    """The installation's row comes with the leased job (the claim's own statement on
    PostgreSQL, its transaction on SQLite), so the attempt reads nothing more to start."""
    store = InstallationStore(migrated_engine, SecretBox(TEST_SECRET_KEY))
    installation = await _install(migrated_engine)
    config = parse_shop_config(shop_config("https://gordon.example.com"))
    await store.save_config(installation, config, now=NOW)
    await _event(migrated_engine, installation, "order-001")

    job = await _claim(JobQueue(migrated_engine), "w1")

    assert job is not None
    assert job.shop_row is not None
    shop, shop_config_read = store.shop_of_row(job.shop_row)
    assert (shop.id, shop.saleor_api_url, shop.token) == (
        installation,
        "https://a.example.com/graphql/",
        "t" * 30,
    )
    assert shop_config_read == config
    assert shop == await store.get_installation_by_id(installation)


async def test_concurrent_claims_never_share_a_job(migrated_engine: AsyncEngine) -> None:
    installation = await _install(migrated_engine)
    for index in range(6):
        await _event(migrated_engine, installation, f"order-{index:03}")
    jobs = JobQueue(migrated_engine)

    claims = await asyncio.gather(*(_claim(jobs, f"w{i}", limit=10) for i in range(10)))

    claimed = [claim.order_id for claim in claims if claim is not None]
    assert sorted(claimed) == [f"order-{index:03}" for index in range(6)]


async def test_an_expired_lease_lets_another_worker_take_the_job(
    migrated_engine: AsyncEngine,
) -> None:
    installation = await _install(migrated_engine)
    await _event(migrated_engine, installation, "order-001")
    jobs = JobQueue(migrated_engine)
    dead = await _claim(jobs, "dead")
    assert dead is not None

    before_expiry = NOW + timedelta(seconds=LEASE - 1)
    after_expiry = NOW + timedelta(seconds=LEASE + 1)

    assert await _claim(jobs, "w2", now=before_expiry) is None
    taken = await _claim(jobs, "w2", now=after_expiry)
    assert taken is not None
    assert taken.attempts == 2
    # the dead worker's late result is not recorded over the new owner's lease
    assert not await jobs.finish_job(dead, _synced(), now=after_expiry)
    assert await jobs.finish_job(taken, _synced(), now=after_expiry)


async def test_renewing_keeps_the_lease(migrated_engine: AsyncEngine) -> None:
    installation = await _install(migrated_engine)
    await _event(migrated_engine, installation, "order-001")
    jobs = JobQueue(migrated_engine)
    job = await _claim(jobs, "w1")
    assert job is not None

    later = NOW + timedelta(seconds=LEASE - 5)
    assert await jobs.renew_lease(job.id, worker_id="w1", now=later, lease_seconds=LEASE)

    after_first_lease = NOW + timedelta(seconds=LEASE + 5)
    assert await _claim(jobs, "w2", now=after_first_lease) is None
    assert not await jobs.renew_lease(job.id, worker_id="w2", now=later, lease_seconds=LEASE)


async def test_finishing_records_history_and_settles(migrated_engine: AsyncEngine) -> None:
    installation = await _install(migrated_engine)
    job_id = await _event(migrated_engine, installation, "order-001")
    jobs = JobQueue(migrated_engine)
    job = await _claim(jobs, "w1")
    assert job is not None
    result = dataclasses.replace(
        _synced(),
        history=(
            HistoryEntry("push", "accepted", PUSHED),
            HistoryEntry("write_back", "written", Message.of("job.written_back", "metadata a, b")),
        ),
    )

    assert await jobs.finish_job(job, result, now=NOW)

    assert job_id is not None
    view = await JobViews(migrated_engine).get_job(job_id)
    assert view is not None
    assert view.status == "synced"
    assert view.tracking_id == "0Zj7YGCUr"
    assert view.next_attempt_at is None
    assert not view.leased
    assert [(h["action"], h["outcome"]) for h in view.history] == [
        ("push", "accepted"),
        ("write_back", "written"),
    ]
    # Each message is stored as its English text, its code and its parameters.
    assert [(h["message"], h["code"], h["params"]) for h in view.history] == [
        (str(PUSHED), "job.pushed", {"ref": "45", "tracking_id": "0Zj7YGCUr"}),
        ("metadata a, b", "job.written_back", {}),
    ]
    assert (view.last_message, view.last_code, view.last_params) == (
        str(PUSHED),
        "job.pushed",
        {"ref": "45", "tracking_id": "0Zj7YGCUr"},
    )
    assert await _claim(jobs, "w1") is None


ON_FULFILLMENT = FulfillmentRecord(
    "done",
    Message.of(
        "fulfillment_reason.done", "Gordon's tracking number is on the order's fulfillment."
    ),
)
UNCHANGED = Message.of("job.unchanged", "Gordon already has this content.")


def _unchanged(*, unnoticed: bool) -> Transition:
    return Transition(
        status=JobStatus.SYNCED,
        next_attempt_at=None,
        episode=Episode.ENDS,
        action="check",
        outcome="settled",
        message=UNCHANGED,
        history=(HistoryEntry("check", "settled", UNCHANGED),),
        fulfillment=ON_FULFILLMENT,
        unnoticed=unnoticed,
    )


async def _accepted(jobs: JobQueue, engine: AsyncEngine, installation: int) -> int:
    """order-001's job, synced with Gordon's acceptance and its fulfillment done."""
    job_id = await _event(engine, installation, "order-001")
    job = await _claim(jobs, "w1")
    assert job is not None
    assert await jobs.finish_job(job, dataclasses.replace(_synced(), fulfillment=ON_FULFILLMENT),
                                 now=NOW)  # fmt: skip
    assert job_id is not None
    return job_id


AFTER_ACCEPTANCE = LastRecorded(
    status=JobStatus.SYNCED,
    message=Said("job.pushed", {"ref": "45", "tracking_id": "0Zj7YGCUr"}),
    fulfillment_state="done",
    fulfillment_message=Said("fulfillment_reason.done", {}),
)


async def test_a_claim_brings_what_the_job_last_said_and_whether_a_person_asked(
    migrated_engine: AsyncEngine,
) -> None:
    installation = await _install(migrated_engine)
    jobs = JobQueue(migrated_engine)
    await _event(migrated_engine, installation, "order-001")
    first = await _claim(jobs, "w1")
    assert first is not None
    assert (first.asked, first.last_recorded) == (False, LastRecorded(None, None, None, None))
    await jobs.finish_job(first, dataclasses.replace(_synced(), fulfillment=ON_FULFILLMENT),
                          now=NOW)  # fmt: skip

    await _event(migrated_engine, installation, "order-001", "ORDER_UPDATED")
    by_event = await _claim(jobs, "w1")
    assert by_event is not None
    await jobs.finish_job(by_event, _unchanged(unnoticed=True), now=NOW)
    await jobs.request_send(
        installation_id=installation, order_id="order-001", order_number="001", now=NOW
    )
    by_send = await _claim(jobs, "w1")
    assert by_send is not None
    await jobs.finish_job(by_send, _unchanged(unnoticed=False), now=NOW)
    assert await jobs.retry_job(by_send.id, now=NOW)
    by_retry = await _claim(jobs, "w1")
    assert by_retry is not None
    taken_over = await _claim(jobs, "w2", now=NOW + timedelta(seconds=LEASE + 1))

    # the job is pending (the event started a new episode); what it last said is synced
    assert (by_event.status, by_event.asked) == (JobStatus.PENDING, False)
    assert by_event.last_recorded == AFTER_ACCEPTANCE
    assert by_send.asked
    assert by_send.last_recorded == AFTER_ACCEPTANCE  # the unnoticed re-check kept it
    assert by_retry.asked
    assert by_retry.last_recorded == dataclasses.replace(
        AFTER_ACCEPTANCE, message=Said("job.unchanged", {})
    )
    assert taken_over is not None
    assert taken_over.asked  # a claim taking over a lost attempt records its answer


async def test_an_unnoticed_re_check_records_no_entry_and_keeps_the_last_message(
    migrated_engine: AsyncEngine,
) -> None:
    installation = await _install(migrated_engine)
    jobs = JobQueue(migrated_engine)
    job_id = await _accepted(jobs, migrated_engine, installation)
    later = NOW + timedelta(minutes=5)
    await _event(migrated_engine, installation, "order-001", "FULFILLMENT_CREATED", at=later)
    job = await _claim(jobs, "w1", now=later)
    assert job is not None

    assert await jobs.finish_job(job, _unchanged(unnoticed=True), now=later)

    view = await JobViews(migrated_engine).get_job(job_id)
    assert view is not None
    assert [(h["action"], h["outcome"], h["code"]) for h in view.history] == [
        ("push", "accepted", "job.pushed")
    ]
    assert (view.last_action, view.last_outcome, view.last_message, view.last_code) == (
        "push",
        "accepted",
        str(PUSHED),
        "job.pushed",
    )
    assert (view.status, view.next_attempt_at, view.leased) == ("synced", None, False)
    assert view.updated_at == later
    assert view.last_attempt_at == NOW
    assert view.events_seen == ["FULFILLMENT_CREATED", "ORDER_FULLY_PAID"]
    assert await _claim(jobs, "w1", now=later) is None


async def test_an_unnoticed_re_check_with_newer_work_stays_due_and_keeps_what_it_last_said(
    migrated_engine: AsyncEngine,
) -> None:
    installation = await _install(migrated_engine)
    jobs = JobQueue(migrated_engine)
    job_id = await _accepted(jobs, migrated_engine, installation)
    await _event(migrated_engine, installation, "order-001", "FULFILLMENT_CREATED")
    job = await _claim(jobs, "w1")
    assert job is not None
    await _event(migrated_engine, installation, "order-001", "ORDER_UPDATED")  # meanwhile

    assert await jobs.finish_job(job, _unchanged(unnoticed=True), now=NOW)

    view = await JobViews(migrated_engine).get_job(job_id)
    assert view is not None
    assert len(view.history) == 1
    assert (view.status, view.last_code) == ("pending", "job.pushed")
    again = await _claim(jobs, "w1")
    assert again is not None
    assert again.last_recorded == AFTER_ACCEPTANCE


async def test_an_event_during_a_recorded_check_keeps_the_status_it_said(
    migrated_engine: AsyncEngine,
) -> None:
    """The job is pending again (newer work), but what its entry said went with synced."""
    installation = await _install(migrated_engine)
    jobs = JobQueue(migrated_engine)
    await _event(migrated_engine, installation, "order-001")
    job = await _claim(jobs, "w1")
    assert job is not None
    await _event(migrated_engine, installation, "order-001", "ORDER_UPDATED")  # meanwhile

    assert await jobs.finish_job(job, _synced(), now=NOW)

    again = await _claim(jobs, "w1")
    assert again is not None
    assert (again.status, again.last_recorded.status) == (JobStatus.PENDING, JobStatus.SYNCED)


async def test_an_event_during_work_keeps_the_job_due(migrated_engine: AsyncEngine) -> None:
    installation = await _install(migrated_engine)
    await _event(migrated_engine, installation, "order-001", "ORDER_CREATED")
    jobs = JobQueue(migrated_engine)
    job = await _claim(jobs, "w1")
    assert job is not None

    await _event(migrated_engine, installation, "order-001", "ORDER_UPDATED")
    await jobs.finish_job(job, _synced(), now=NOW)

    again = await _claim(jobs, "w1")
    assert again is not None
    assert again.events_seen == frozenset({"ORDER_CREATED", "ORDER_UPDATED"})
    assert again.pushed_hash == "h1"


async def test_the_pushed_delivery_date_is_kept_for_the_next_attempt(
    migrated_engine: AsyncEngine,
) -> None:
    """The date Gordon accepted comes back with the job, so a re-push can keep it."""
    installation = await _install(migrated_engine)
    await _event(migrated_engine, installation, "order-001", "ORDER_CREATED")
    jobs = JobQueue(migrated_engine)
    job = await _claim(jobs, "w1")
    assert job is not None
    assert job.pushed_delivery_date is None
    pushed = _synced(copy=dataclasses.replace(COPY, delivery_date=date(2026, 12, 2)))

    await _event(migrated_engine, installation, "order-001", "ORDER_UPDATED")
    assert await jobs.finish_job(job, pushed, now=NOW)

    again = await _claim(jobs, "w1")
    assert again is not None
    assert again.pushed_delivery_date == date(2026, 12, 2)


async def test_retry_later_is_not_claimed_early(migrated_engine: AsyncEngine) -> None:
    installation = await _install(migrated_engine)
    await _event(migrated_engine, installation, "order-001")
    jobs = JobQueue(migrated_engine)
    job = await _claim(jobs, "w1")
    assert job is not None
    retry_at = NOW + timedelta(seconds=10)
    await jobs.finish_job(
        job,
        Transition(
            status=JobStatus.RETRYING,
            next_attempt_at=retry_at,
            episode=Episode.GOES_ON,
            action="push",
            outcome="retryable",
            message=GORDON_DOWN,
        ),
        now=NOW,
    )

    assert await _claim(jobs, "w1") is None
    retried = await _claim(jobs, "w1", now=retry_at)
    assert retried is not None
    assert retried.attempts == 2


async def test_one_shops_backlog_does_not_starve_another(migrated_engine: AsyncEngine) -> None:
    busy = await _install(migrated_engine, "https://busy.example.com/graphql/")
    quiet = await _install(migrated_engine, "https://quiet.example.com/graphql/")
    for index in range(20):
        await _event(
            migrated_engine, busy, f"busy-{index:03}", at=NOW - timedelta(minutes=30 - index)
        )
    await _event(migrated_engine, quiet, "quiet-001", at=NOW)
    jobs = JobQueue(migrated_engine)

    claims = [await _claim(jobs, f"w{i}", limit=2) for i in range(4)]

    claimed = [claim.order_id for claim in claims if claim is not None]
    assert "quiet-001" in claimed[:2]
    assert sum(order.startswith("busy") for order in claimed) == 2  # the per-shop limit


async def test_a_shop_at_its_limit_waits_for_a_lease_to_end(migrated_engine: AsyncEngine) -> None:
    installation = await _install(migrated_engine)
    for index in range(3):
        await _event(migrated_engine, installation, f"order-{index:03}")
    jobs = JobQueue(migrated_engine)

    first = await _claim(jobs, "w1", limit=1)
    assert first is not None
    # while the lease holds, the shop's other due jobs are not claimed
    assert await _claim(jobs, "w2", limit=1) is None
    # once it has expired it no longer counts: another job (or the same one) can be claimed
    later = NOW + timedelta(seconds=LEASE + 1)
    assert await _claim(jobs, "w2", now=later, limit=1) is not None
    # and a lease given back by finishing frees the slot too
    assert await _claim(jobs, "w3", now=later, limit=1) is None


async def _claim_work(database_url: str, due_jobs: int) -> int:
    """SQLite's work for one claim with ``due_jobs`` due jobs of one shop, in VM instructions (in
    hundreds, counted by a progress handler): exact and the same on any machine, unlike time."""
    engine = create_engine(database_url)
    await migrate(engine)
    installation = await _install(engine)
    queued = {"installation_id": installation, "status": "pending", "events_mask": 4}
    queued |= {"version": 1, "next_attempt_at": NOW, "pending_since": NOW, "attempts": 0}
    queued |= {"run_now": False, "created_at": NOW, "updated_at": NOW}
    async with engine.begin() as connection:  # the rows enqueue_order_job makes
        await connection.execute(
            insert(sync_jobs), [{**queued, "order_id": f"order-{n:05}"} for n in range(due_jobs)]
        )
    await engine.dispose()  # connections from now on count
    counted = [0]

    def count() -> int:
        counted[0] += 1
        return 0  # go on

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        await_only(dbapi_connection.driver_connection.set_progress_handler(count, 100))

    event.listen(engine.sync_engine, "connect", on_connect)
    jobs = JobQueue(engine)
    try:
        assert (
            await _claim(jobs, "warm-up") is not None
        )  # one job leased: the lease count is not empty
        counted[0] = 0
        assert await _claim(jobs, "w1") is not None
    finally:
        await engine.dispose()
    return counted[0]


async def test_a_claims_work_does_not_grow_with_the_backlog(tmp_path: Path) -> None:
    """A claim looks at each installation's first due job and its leases through two partial
    indexes (``ix_sync_jobs_claim``, ``ix_sync_jobs_leased``): four times the backlog is about the
    same work. Sorting every due job (or counting each shop's leases by reading all its jobs) made
    it grow with the backlog, and counting the leases per due job made it quadratic (7 s at 3,000
    due jobs, holding SQLite's write lock). SQLite only: its progress handler counts the work
    exactly. (Without the claim index the ratio is about 4.)"""
    small = await _claim_work(f"sqlite:///{tmp_path / 'small.db'}", 500)
    large = await _claim_work(f"sqlite:///{tmp_path / 'large.db'}", 2_000)

    assert small > 0
    assert large / small < 1.5, (
        f"a claim did {small} units of work at 500 due jobs, {large} at 2,000"
    )


async def test_a_claim_that_finds_nothing_does_not_wait_for_the_write_lock(
    tmp_path: Path,
) -> None:
    """On SQLite a claim looks for due jobs in a read transaction first: when the shop's share is
    leased (every idle worker's claim in a busy ``serve``) it neither takes nor waits for the
    write lock that the webhooks' writer needs. Here another connection holds the lock: the claim
    answers at once, where it used to wait for it (busy_timeout, 10 s)."""
    engine = create_engine(f"sqlite:///{tmp_path / 'jobs.db'}")
    await migrate(engine)
    try:
        installation = await _install(engine)
        for index in range(3):
            await _event(engine, installation, f"order-{index:03}")
        jobs = JobQueue(engine)
        assert await _claim(jobs, "busy", limit=1) is not None
        async with engine.connect() as writer:
            await writer.execute(update(sync_jobs).where(sync_jobs.c.id < 0).values(attempts=0))
            async with asyncio.timeout(5):  # the lock is held for as long as this block runs
                claim = await jobs.claim(
                    worker_id="idle", now=NOW, lease_seconds=LEASE, per_installation_limit=1
                )
            await writer.rollback()
    finally:
        await engine.dispose()

    assert claim == Claim(None, frozenset({installation}))


async def test_a_claim_names_the_shops_waiting_for_their_share(
    migrated_engine: AsyncEngine,
) -> None:
    busy = await _install(migrated_engine, "https://busy.example.com/graphql/")
    idle = await _install(migrated_engine, "https://idle.example.com/graphql/")
    await _install(migrated_engine, "https://empty.example.com/graphql/")  # nothing due
    for index in range(2):
        await _event(migrated_engine, busy, f"order-b{index}")
    await _event(migrated_engine, idle, "order-i0")
    jobs = JobQueue(migrated_engine)
    assert await _claim(jobs, "w1", limit=1) is not None  # the busy shop's first job

    second = await jobs.claim(
        worker_id="w2", now=NOW, lease_seconds=LEASE, per_installation_limit=1
    )
    third = await jobs.claim(worker_id="w3", now=NOW, lease_seconds=LEASE, per_installation_limit=1)

    assert second.job is not None
    assert second.job.order_id == "order-i0"
    assert second.saturated == frozenset({busy})
    assert third == Claim(None, frozenset({busy}))  # the idle shop's one job is leased


async def test_revoked_installations_are_not_claimed(migrated_engine: AsyncEngine) -> None:
    installation = await _install(migrated_engine)
    await _event(migrated_engine, installation, "order-001")
    await InstallationStore(migrated_engine, SecretBox(TEST_SECRET_KEY)).mark_revoked(
        installation, now=NOW
    )

    claim = await JobQueue(migrated_engine).claim_next_job(
        worker_id="w1", now=NOW, lease_seconds=LEASE, per_installation_limit=4
    )

    assert claim is None


async def test_operator_retry_runs_a_failed_job_first(migrated_engine: AsyncEngine) -> None:
    installation = await _install(migrated_engine)
    failed_id = await _event(migrated_engine, installation, "order-001")
    jobs = JobQueue(migrated_engine)
    job = await _claim(jobs, "w1")
    assert job is not None
    await jobs.finish_job(
        job,
        _gave_up(),
        now=NOW,
    )
    await _event(migrated_engine, installation, "order-002", at=NOW - timedelta(hours=1))

    assert failed_id is not None
    assert await jobs.retry_job(failed_id, now=NOW)
    claimed = await _claim(jobs, "w1")

    assert claimed is not None
    assert claimed.id == failed_id
    assert claimed.attempts == 1
    assert claimed.status == JobStatus.PENDING


async def test_retry_all_failed(migrated_engine: AsyncEngine) -> None:
    installation = await _install(migrated_engine)
    jobs = JobQueue(migrated_engine)
    for order in ("order-001", "order-002"):
        await _event(migrated_engine, installation, order)
        job = await _claim(jobs, "w1")
        assert job is not None
        await jobs.finish_job(
            job,
            _gave_up(),
            now=NOW,
        )

    assert await jobs.retry_failed_jobs(now=NOW) == 2
    assert await JobViews(migrated_engine).list_jobs(status="failed") == []
    assert len(await JobViews(migrated_engine).list_jobs(status="pending")) == 2


async def test_history_is_pruned(migrated_engine: AsyncEngine) -> None:
    installation = await _install(migrated_engine)
    job_id = await _event(migrated_engine, installation, "order-001")
    jobs = JobQueue(migrated_engine)
    job = await _claim(jobs, "w1")
    assert job is not None
    await jobs.finish_job(job, _synced(), now=NOW)

    assert await jobs.prune_history(older_than=NOW - timedelta(days=1)) == 0
    assert await jobs.prune_history(older_than=NOW + timedelta(seconds=1)) == 2  # entry + event
    assert job_id is not None
    view = await JobViews(migrated_engine).get_job(job_id)
    assert view is not None
    assert view.history == []


async def _five_old_rows_of_each_and_one_newer(engine: AsyncEngine) -> None:
    """Given five received events and five history entries older than a day before NOW (the
    retention of the prune tests), and one of each at NOW."""
    installation = await _install(engine)
    old = [NOW - timedelta(days=3) + timedelta(minutes=n) for n in range(5)]
    job_ids = [
        await _event(engine, installation, f"order-00{n}", at=at) for n, at in enumerate(old)
    ]
    await _event(engine, installation, "order-new", at=NOW)
    entry = {"job_id": job_ids[0], "attempt": 1, "action": "push", "outcome": "synced"}
    async with engine.begin() as connection:
        await connection.execute(insert(job_history), [{**entry, "at": at} for at in [*old, NOW]])


async def _remaining(engine: AsyncEngine) -> tuple[list[datetime], list[str]]:
    """The times of the history entries and the orders of the received events left."""
    async with engine.connect() as connection:
        history = (await connection.execute(select(job_history.c.at))).scalars().all()
        events = (await connection.execute(select(webhook_events.c.order_id))).scalars().all()
    return list(history), list(events)


async def test_history_is_pruned_oldest_first_a_batch_per_statement(
    migrated_engine: AsyncEngine,
) -> None:
    # given five events and five history entries older than the retention, one of each newer
    await _five_old_rows_of_each_and_one_newer(migrated_engine)
    deletes: list[str] = []
    event.listen(
        migrated_engine.sync_engine,
        "before_cursor_execute",
        lambda conn, cursor, statement, *rest: (
            deletes.append(statement.split()[2]) if statement.startswith("DELETE") else None
        ),
    )

    # when they are pruned two at a time
    pruned = await JobQueue(migrated_engine).prune_history(
        older_than=NOW - timedelta(days=1), batch=2
    )

    # then every old row is gone, in batches of two (the last batch finds the one left), and
    # only the newer rows remain
    assert pruned == 10
    assert deletes == ["job_history"] * 3 + ["webhook_events"] * 3
    assert await _remaining(migrated_engine) == ([NOW], ["order-new"])


async def test_a_prune_pauses_after_every_full_batch_and_ends_where_a_pause_says(
    migrated_engine: AsyncEngine,
) -> None:
    # given five old history entries and events (one of each newer), pruned two at a time
    await _five_old_rows_of_each_and_one_newer(migrated_engine)
    jobs = JobQueue(migrated_engine)
    left_at_pauses: list[tuple[int, int]] = []  # rows of each table left at each pause

    def pause_saying(go_on: bool) -> Callable[[], Awaitable[bool]]:
        async def pause() -> bool:
            history, events = await _remaining(migrated_engine)
            left_at_pauses.append((len(history), len(events)))
            return go_on

        return pause

    # when the pause after the first batch says to stop
    cutoff = NOW - timedelta(days=1)
    pruned = await jobs.prune_history(
        older_than=cutoff, batch=2, between_batches=pause_saying(False)
    )
    # then the prune ends there, its first batch committed
    assert (pruned, left_at_pauses) == (2, [(4, 6)])

    # and when the next prune's pauses say to go on, it pauses after each full batch, committed:
    # the history's one (the short batch after it ends the table), the events' two
    left_at_pauses.clear()
    pruned = await jobs.prune_history(
        older_than=cutoff, batch=2, between_batches=pause_saying(True)
    )
    assert pruned == 8
    assert left_at_pauses == [(2, 6), (1, 4), (1, 2)]
    assert await _remaining(migrated_engine) == ([NOW], ["order-new"])


async def test_a_prune_the_database_fails_counts_the_rows_it_deleted_before(
    migrated_engine: AsyncEngine,
) -> None:
    # given old history entries and received events, the events' table gone (a database that
    # fails after the history's batches, which are pruned first)
    await _five_old_rows_of_each_and_one_newer(migrated_engine)
    async with migrated_engine.begin() as connection:
        await connection.execute(text("ALTER TABLE webhook_events RENAME TO webhook_events_gone"))
    jobs = JobQueue(migrated_engine)

    # when they are pruned two at a time
    with pytest.raises(PruneCutShort) as cut_short:
        await jobs.prune_history(older_than=NOW - timedelta(days=1), batch=2)

    # then the failure is the database's, and counts the history's three batches (five rows)
    error = {"sqlite": "OperationalError", "postgresql": "ProgrammingError"}
    assert cut_short.value.message == (
        f"The database failed ({error[migrated_engine.dialect.name]}); is it running and "
        "migrated (`saleor-gordon migrate`)?"
    )
    assert cut_short.value.pruned == 5
    # and once the table is back, the next prune goes on from there: the history's rows stayed
    # deleted, the events are deleted now
    async with migrated_engine.begin() as connection:
        await connection.execute(text("ALTER TABLE webhook_events_gone RENAME TO webhook_events"))
    assert await jobs.prune_history(older_than=NOW - timedelta(days=1), batch=2) == 5
    assert await _remaining(migrated_engine) == ([NOW], ["order-new"])


async def test_operator_retry_during_a_run_is_not_lost(migrated_engine: AsyncEngine) -> None:
    installation = await _install(migrated_engine)
    job_id = await _event(migrated_engine, installation, "order-001")
    jobs = JobQueue(migrated_engine)
    job = await _claim(jobs, "w1")
    assert job is not None
    assert job_id is not None

    assert await jobs.retry_job(job_id, now=NOW)  # while the worker runs it
    await jobs.finish_job(job, _synced(), now=NOW)

    again = await _claim(jobs, "w1")
    assert again is not None
    assert again.id == job_id


async def test_a_newer_event_after_a_settled_result_opens_a_fresh_episode(
    migrated_engine: AsyncEngine,
) -> None:
    installation = await _install(migrated_engine)
    await _event(migrated_engine, installation, "order-001", "ORDER_CREATED")
    jobs = JobQueue(migrated_engine)
    job = await _claim(jobs, "w1")
    assert job is not None
    later = NOW + timedelta(hours=1)

    await _event(migrated_engine, installation, "order-001", "ORDER_UPDATED", at=later)
    failed = _gave_up()
    await jobs.finish_job(job, failed, now=later)

    again = await _claim(jobs, "w1", now=later)
    assert again is not None
    assert again.status == JobStatus.PENDING
    assert again.attempts == 1
    assert again.pending_since == later


async def test_an_enqueue_committing_during_finish_keeps_the_job_due(
    migrated_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker's finish must not overwrite an event that commits while it records."""
    installation = await _install(migrated_engine)
    await _event(migrated_engine, installation, "order-001", "ORDER_CREATED")
    jobs = JobQueue(migrated_engine)
    job = await _claim(jobs, "w1")
    assert job is not None

    async with migrated_engine.connect() as connection:
        transaction = await connection.begin()
        await enqueue_order_job(
            connection,
            installation_id=installation,
            order_id="order-001",
            order_number="001",
            event="ORDER_UPDATED",
            now=NOW,
        )
        statements: list[str] = []
        event.listen(
            migrated_engine.sync_engine,
            "before_cursor_execute",
            lambda conn, cursor, statement, *rest: statements.append(statement),
        )
        _record_driver_transactions(monkeypatch, statements)
        finishing = asyncio.create_task(jobs.finish_job(job, _synced(), now=NOW))
        # the finish waits for the enqueue's lock: wait until it does, not for a while
        for _ in range(1000):  # at most 10 s
            if await _waits_for_a_lock(migrated_engine, statements):
                break
            await asyncio.sleep(0.01)
        else:
            pytest.fail("the finish never waited for the enqueue's lock")
        await transaction.commit()
    assert await finishing

    again = await _claim(jobs, "w2")
    assert again is not None
    assert "ORDER_UPDATED" in again.events_seen


def _record_driver_transactions(monkeypatch: pytest.MonkeyPatch, statements: list[str]) -> None:
    """Append the BEGIN of each transaction the queue runs in SQLite's thread
    (``store/driver_sql.py``: SQLAlchemy's events do not see them) to ``statements``."""
    run_transaction = queue_module.sqlite_transaction

    @contextlib.contextmanager
    def recorded(connection: sqlite3.Connection, *, write: bool) -> Iterator[None]:
        statements.append("BEGIN IMMEDIATE" if write else "BEGIN")
        with run_transaction(connection, write=write):
            yield

    monkeypatch.setattr(queue_module, "sqlite_transaction", recorded)


async def _waits_for_a_lock(engine: AsyncEngine, statements: list[str]) -> bool:
    """Is a second transaction waiting for the one holding the job's row (or SQLite's lock)?"""
    if engine.dialect.name == "postgresql":
        async with engine.connect() as connection:
            waiting = await connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
            return bool(waiting.scalar_one())
    # SQLite: the finish has issued its BEGIN IMMEDIATE, which waits for the enqueue to commit
    return "BEGIN IMMEDIATE" in statements


# --- the lifecycle's rules, as the SQL applies them -----------------------------------------


@pytest.mark.parametrize(
    "pending_since", [NOW - timedelta(minutes=5), None], ids=["pending", "no-time"]
)
@pytest.mark.parametrize("status", list(JobStatus), ids=[status.value for status in JobStatus])
async def test_an_event_gives_a_job_in_any_status_what_the_lifecycle_says(
    migrated_engine: AsyncEngine, status: JobStatus, pending_since: datetime | None
) -> None:
    installation = await _install(migrated_engine)
    job_id = await _event(migrated_engine, installation, "order-001", "ORDER_CREATED")
    async with migrated_engine.begin() as connection:
        await connection.execute(
            update(sync_jobs)
            .where(sync_jobs.c.id == job_id)
            .values(status=status.value, attempts=3, pending_since=pending_since)
        )
    later = NOW + timedelta(minutes=1)

    await _event(migrated_engine, installation, "order-001", "ORDER_UPDATED", at=later)

    async with migrated_engine.connect() as connection:
        row = (
            await connection.execute(
                select(
                    sync_jobs.c.status,
                    sync_jobs.c.pending_since,
                    sync_jobs.c.attempts,
                    sync_jobs.c.next_attempt_at,
                ).where(sync_jobs.c.id == job_id)
            )
        ).one()
    expected = on_new_event(status, pending_since=pending_since, attempts=3, now=later)
    assert (JobStatus(row.status), row.pending_since, row.attempts, row.next_attempt_at) == (
        expected.status,
        expected.pending_since,
        expected.attempts,
        expected.next_attempt_at,
    )


# --- waking the workers -----------------------------------------------------------------------


class Wakes:
    """A ``wake_workers`` that counts its calls."""

    def __init__(self) -> None:
        self.calls = 0
        self.installations: list[int | None] = []

    def __call__(self, installation_id: int | None = None) -> None:
        self.calls += 1
        self.installations.append(installation_id)


async def test_writes_that_make_a_job_due_wake_the_workers(migrated_engine: AsyncEngine) -> None:
    installation = await _install(migrated_engine)
    wakes = Wakes()
    queue = JobQueue(migrated_engine, wake_workers=wakes)

    job_id = await queue.request_send(
        installation_id=installation, order_id="order-001", order_number="001", now=NOW
    )
    assert wakes.calls == 1
    assert await queue.retry_job(job_id, now=NOW)
    assert wakes.calls == 2
    request = OrderJobRequest(installation, "order-002", "002", "ORDER_CREATED", NOW)
    assert list(await queue.enqueue([request])) == [(installation, "order-002")]
    assert wakes.calls == 3


async def test_writes_that_make_nothing_due_do_not_wake_the_workers(
    migrated_engine: AsyncEngine,
) -> None:
    installation = await _install(migrated_engine)
    wakes = Wakes()
    queue = JobQueue(migrated_engine, wake_workers=wakes)

    assert not await queue.retry_job(12345, now=NOW)
    assert await queue.retry_failed_jobs(now=NOW) == 0
    async with queue.transaction() as writes:
        assert await writes.retry_needing_attention(installation, now=NOW) == 0

    assert wakes.calls == 0


async def test_a_transaction_that_fails_wakes_nobody_and_queues_nothing(
    migrated_engine: AsyncEngine,
) -> None:
    installation = await _install(migrated_engine)
    wakes = Wakes()
    queue = JobQueue(migrated_engine, wake_workers=wakes)
    request = OrderJobRequest(installation, "order-001", "001", "ORDER_CREATED", NOW)

    async def enqueue_then_fail() -> None:
        async with queue.transaction() as writes:
            await writes.enqueue([request])
            raise RuntimeError("the caller's statement failed")

    with pytest.raises(RuntimeError, match="the caller's statement failed"):
        await enqueue_then_fail()

    assert wakes.calls == 0
    assert await JobViews(migrated_engine).list_jobs() == []


async def test_the_webhook_path_wakes_the_workers_for_each_event_that_made_a_job_due(
    migrated_engine: AsyncEngine,
) -> None:
    installation = await _install(migrated_engine)
    wakes = Wakes()

    def received(issued_at: str) -> OrderEvent:
        return OrderEvent(
            installation, "ORDER_FULLY_PAID", "order-001", "001", issued_at, None, None, "0" * 64
        )

    async with EventInbox(migrated_engine, wake_workers=wakes) as inbox:
        assert (await inbox.record_order_event(received("first"), now=NOW)).job_id is not None
        assert wakes.calls == 1
        redelivered = await inbox.record_order_event(received("first"), now=NOW)

    assert (redelivered.duplicate, redelivered.job_id) == (True, None)
    assert wakes.installations == [installation]  # the pool may skip a shop at its share


def test_a_stored_message_whose_parameters_cannot_be_read_is_not_known() -> None:
    # not known: the re-check is recorded (lifecycle.unnoticed compares with nothing)
    assert _said("job.unchanged", "{not json") is None
    assert _said("job.unchanged", "[1]") is None
    assert _said(None, "{}") is None
    assert _said("job.waiting_for", '{"events":["ORDER_FULLY_PAID"]}') == Said(
        "job.waiting_for", {"events": ["ORDER_FULLY_PAID"]}
    )
