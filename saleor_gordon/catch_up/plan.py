"""Should an order found by a backfill or a reconcile be queued? Decided from values.

The answer reuses the decision a sync job makes (``decide_for_order``), with what the job table
knows of the order: an order is queued when a job run now would push it (or ask a person to fix it) and
nothing is queued or in Gordon for it yet, or when Gordon has it and its fulfillments still lack
Gordon's tracking number (``core.fulfillment.decide_fulfillment`` has something to do: a fulfillment
event that never arrived). Everything else is skipped with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from saleor_gordon.core.job_status import JobStatus
from saleor_gordon.core.sync_decision import Fix, Push, Settle, SyncDecision, Withdraw

ScanAction = Literal["enqueue", "skip"]

ENQUEUE: ScanAction = "enqueue"
SKIP: ScanAction = "skip"


@dataclass(frozen=True, slots=True)
class KnownJob:
    """What the job table knows of an order."""

    status: JobStatus
    in_gordon: bool
    """Gordon accepted a push of it (``pushed_hash`` is set)."""
    events_seen: frozenset[str]
    tracking_id: str | None = None
    """Gordon's tracking ID of the order, once Gordon accepted it."""


@dataclass(frozen=True, slots=True)
class ScanPlan:
    action: ScanAction
    reason: str


def plan_order(
    decision: SyncDecision, job: KnownJob | None, *, fulfillment_due: bool = False
) -> ScanPlan:
    """Queue the order, or skip it with the reason: ``decision`` is what a job would do with it
    (``decide_for_order`` with nothing sent before and the events ``job`` has seen);
    ``fulfillment_due``: its fulfillments still need what the shop's tracking setting asks."""
    if job is not None:
        if fulfillment_due and job.in_gordon and job.status is JobStatus.SYNCED:
            return ScanPlan(ENQUEUE, "In Gordon; its fulfillment needs Gordon's tracking number.")
        if job.in_gordon or job.status is JobStatus.SYNCED:
            return ScanPlan(SKIP, "Already in Gordon.")
        if job.status in (JobStatus.PENDING, JobStatus.RETRYING):
            return ScanPlan(SKIP, "Already queued.")
        if job.status is JobStatus.CANCELLED:
            return ScanPlan(SKIP, "Cancelled; not in Gordon.")
        if job.status is JobStatus.EXPIRED:
            return ScanPlan(SKIP, "Expired; not in Gordon.")
        if job.status in (JobStatus.NEEDS_ATTENTION, JobStatus.FAILED):
            return ScanPlan(SKIP, f"Its job is {job.status.value}: fix it and retry the job.")
    if isinstance(decision, Push):
        return ScanPlan(ENQUEUE, "Trigger met; not in Gordon.")
    if isinstance(decision, Fix):
        return ScanPlan(ENQUEUE, "Trigger met; its problems will be shown on the job.")
    if isinstance(decision, Withdraw):
        return ScanPlan(SKIP, f"Not sent: {decision.reason}.")
    assert isinstance(decision, Settle)
    return ScanPlan(SKIP, decision.message)
