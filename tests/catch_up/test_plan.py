"""plan_order: what backfill and reconcile do with an order, from the job table and the decision a
job would make (decide_sync with nothing sent before, as decide_for_order gives it)."""

from __future__ import annotations

import pytest

from saleor_gordon.catch_up.plan import KnownJob, ScanPlan, plan_order
from saleor_gordon.core.job_status import JobStatus
from saleor_gordon.core.order_events import MANUAL_SEND_EVENT
from saleor_gordon.core.sync_decision import OrderState, decide_sync
from saleor_gordon.core.translate import (
    Problem,
    Skipped,
    Untranslatable,
)
from tests.core.builders import PAID, UNPAID, translated_at_now

CANCELLED = OrderState(status="CANCELED", charge_status="FULL", is_paid=True)
DRAFT = OrderState(status="DRAFT", charge_status="FULL", is_paid=True)


def _plan(state: OrderState, job: KnownJob | None, translation: object = None) -> ScanPlan:
    decision = decide_sync(
        state=state,
        translation=translation or translated_at_now(),  # type: ignore[arg-type]
        triggers=("ORDER_FULLY_PAID",),
        events_seen=job.events_seen if job is not None else frozenset(),
        pushed_hash=None,
    )
    return plan_order(decision, job)


def _job(
    status: JobStatus, *, in_gordon: bool = False, events: frozenset[str] = frozenset()
) -> KnownJob:
    return KnownJob(status=status, in_gordon=in_gordon, events_seen=events)


@pytest.mark.parametrize(
    ("state", "job", "expected"),
    [
        (PAID, None, ScanPlan("enqueue", "Trigger met; not in Gordon.")),
        (UNPAID, None, ScanPlan("skip", "Waiting for ORDER_FULLY_PAID.")),
        (DRAFT, None, ScanPlan("skip", "Waiting for ORDER_FULLY_PAID.")),
        (CANCELLED, None, ScanPlan("skip", "Not sent: the order is canceled in Saleor.")),
        (PAID, _job(JobStatus.SYNCED, in_gordon=True), ScanPlan("skip", "Already in Gordon.")),
        # withdrawn from Gordon after a push: the job's status says so, not pushed_hash
        (PAID, _job(JobStatus.CANCELLED), ScanPlan("skip", "Cancelled; not in Gordon.")),
        (PAID, _job(JobStatus.EXPIRED), ScanPlan("skip", "Expired; not in Gordon.")),
        (PAID, _job(JobStatus.PENDING), ScanPlan("skip", "Already queued.")),
        (PAID, _job(JobStatus.RETRYING), ScanPlan("skip", "Already queued.")),
        (
            PAID,
            _job(JobStatus.FAILED),
            ScanPlan("skip", "Its job is failed: fix it and retry the job."),
        ),
        (
            PAID,
            _job(JobStatus.NEEDS_ATTENTION),
            ScanPlan("skip", "Its job is needs_attention: fix it and retry the job."),
        ),
        # skipped while unpaid, paid since: the lost webhook's case
        (PAID, _job(JobStatus.SKIPPED), ScanPlan("enqueue", "Trigger met; not in Gordon.")),
        (UNPAID, _job(JobStatus.SKIPPED), ScanPlan("skip", "Waiting for ORDER_FULLY_PAID.")),
        # "Send to Gordon" was asked: the trigger counts as met, whatever the state
        (
            UNPAID,
            _job(JobStatus.SKIPPED, events=frozenset({MANUAL_SEND_EVENT})),
            ScanPlan("enqueue", "Trigger met; not in Gordon."),
        ),
    ],
)
def test_plan(state: OrderState, job: KnownJob | None, expected: ScanPlan) -> None:
    assert _plan(state, job) == expected


def test_an_order_not_for_gordon_is_skipped_with_the_reason() -> None:
    plan = _plan(PAID, None, Skipped("no delivery-group rule matches"))

    assert plan == ScanPlan("skip", "Not for Gordon: no delivery-group rule matches")


def test_an_order_with_problems_is_queued_so_that_its_job_shows_them() -> None:
    problem = Problem(
        "shippingAddress.postalCode", "is empty", "Enter the postal code.", "problem.no_postal_code"
    )

    plan = _plan(PAID, None, Untranslatable((problem,)))

    assert plan == ScanPlan("enqueue", "Trigger met; its problems will be shown on the job.")


@pytest.mark.parametrize(
    ("job", "expected"),
    [
        (
            _job(JobStatus.SYNCED, in_gordon=True),
            ScanPlan("enqueue", "In Gordon; its fulfillment needs Gordon's tracking number."),
        ),
        # its own job retries the fulfilment, or a person looks: reconcile leaves those alone
        (_job(JobStatus.RETRYING, in_gordon=True), ScanPlan("skip", "Already in Gordon.")),
        (_job(JobStatus.FAILED, in_gordon=True), ScanPlan("skip", "Already in Gordon.")),
        (_job(JobStatus.SYNCED), ScanPlan("skip", "Already in Gordon.")),
    ],
)
def test_an_order_in_gordon_whose_fulfillment_lacks_the_tracking_number_is_queued(
    job: KnownJob, expected: ScanPlan
) -> None:
    decision = decide_sync(
        state=PAID,
        translation=translated_at_now(),
        triggers=("ORDER_FULLY_PAID",),
        events_seen=job.events_seen,
        pushed_hash=None,
    )

    assert plan_order(decision, job, fulfillment_due=True) == expected
    assert plan_order(decision, job) == ScanPlan("skip", "Already in Gordon.")
