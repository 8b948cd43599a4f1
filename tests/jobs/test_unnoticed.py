"""Re-checks nobody asked for that change nothing a person sees leave the job's history and last
message alone (``lifecycle.unnoticed``), over the Saleor fake and the Gordon sandbox, recorded
as a worker records them; a person's Send to Gordon or Retry always records its answer."""

from __future__ import annotations

from typing import Any

from saleor_gordon.core.job_status import JobStatus
from saleor_gordon.fakes.gordon_sandbox import tracking_id_for
from saleor_gordon.jobs.views import JobView
from tests.jobs.conftest import Bench


def entries(job: JobView) -> list[tuple[str, str, str]]:
    """``(action, outcome, code)`` of each history entry, oldest first."""
    return [(entry["action"], entry["outcome"], entry["code"]) for entry in job.history]


def last_said(job: JobView) -> tuple[str | None, str | None, str | None, Any]:
    return (job.last_action, job.last_outcome, job.last_code, job.last_params)


def unpaid_order(bench: Bench) -> dict[str, Any]:
    return bench.paid_order(isPaid=False, chargeStatus="NONE")


WAITING = ("check", "settled", "job.waiting_for")
ACCEPTED = ("push", "accepted", "job.pushed")
WRITTEN = ("write_back", "written", "job.written_back")
UNCHANGED = ("check", "settled", "job.unchanged")


def accepted_said(order: dict[str, Any]) -> tuple[str, str, str, dict[str, str]]:
    number = order["number"]
    return (
        "push",
        "accepted",
        "job.pushed",
        {"ref": number, "tracking_id": tracking_id_for(number)},
    )


# --- before the order is sent ------------------------------------------------------------------


async def test_two_events_before_payment_say_not_sent_yet_once(bench: Bench) -> None:
    order = unpaid_order(bench)
    await bench.event(order, "ORDER_CREATED")
    first = await bench.attempt()

    # when a second event of the unpaid order arrives (Saleor sends several at its creation)
    await bench.event(order, "ORDER_UPDATED")
    second = await bench.attempt()

    job = await bench.job(order)
    assert entries(job) == [WAITING]
    assert (first.status, first.message.code, first.unnoticed) == (
        JobStatus.SKIPPED,
        "job.waiting_for",
        False,
    )
    assert (second.status, second.message.code, second.unnoticed) == (
        JobStatus.SKIPPED,
        "job.waiting_for",
        True,
    )
    assert job.status == "skipped"
    assert last_said(job) == (
        "check",
        "settled",
        "job.waiting_for",
        {"events": ["ORDER_FULLY_PAID"]},
    )
    assert job.next_attempt_at is None
    assert not job.leased
    assert job.events_seen == ["ORDER_CREATED", "ORDER_UPDATED"]
    assert await bench.claim() is None


async def test_an_event_during_the_first_check_still_says_not_sent_yet_once(bench: Bench) -> None:
    """The second event arrives while the first attempt runs: the job stays due (pending), and
    the attempt that follows finds what the first one said."""
    order = unpaid_order(bench)
    await bench.event(order, "ORDER_CREATED")
    job, first = await bench.run()
    await bench.event(order, "ORDER_UPDATED")  # while the attempt runs
    assert await bench.runtime.queue.finish_job(job, first, now=bench.clock())
    assert (await bench.job(order)).status == "pending"

    second = await bench.attempt()

    job_view = await bench.job(order)
    assert entries(job_view) == [WAITING]
    assert second.unnoticed
    assert job_view.status == "skipped"
    assert job_view.next_attempt_at is None


async def test_a_different_answer_before_payment_is_recorded(bench: Bench) -> None:
    """The same status with another message (the shop now waits for other events) records."""
    order = bench.paid_order(isPaid=False, chargeStatus="NONE", status="UNCONFIRMED")
    await bench.event(order, "ORDER_CREATED")
    await bench.attempt()
    await bench.configure(trigger_events=["ORDER_CONFIRMED", "ORDER_FULLY_PAID"])

    await bench.event(order, "ORDER_UPDATED")
    second = await bench.attempt()

    assert not second.unnoticed
    job = await bench.job(order)
    assert entries(job) == [WAITING, WAITING]
    assert job.last_params == {"events": ["ORDER_CONFIRMED", "ORDER_FULLY_PAID"]}


# --- after Gordon accepted the order -----------------------------------------------------------


async def test_events_the_sync_causes_leave_the_acceptance_as_the_last_message(
    bench: Bench,
) -> None:
    await bench.configure(tracking_on_fulfillment="fulfill")
    order = bench.paid_order()
    await bench.event(order)
    accepted = await bench.attempt()
    assert accepted.status is JobStatus.SYNCED
    after_acceptance = await bench.job(order)
    assert entries(after_acceptance) == [
        ACCEPTED,
        ("fulfill", "done", "job.fulfilled_in_saleor"),
        WRITTEN,
    ]
    calls, mutations = bench.gordon_calls(), bench.mutations()

    # when Saleor tells the app of the fulfillment the app made, and of the order's changes
    rechecks = []
    for event in ("FULFILLMENT_CREATED", "ORDER_FULFILLED", "ORDER_UPDATED"):
        bench.clock.advance(1)
        await bench.event(order, event)
        rechecks.append(await bench.attempt())

    job = await bench.job(order)
    assert entries(job) == entries(after_acceptance)
    assert last_said(job) == accepted_said(order)
    assert [(r.status, r.message.code, r.unnoticed) for r in rechecks] == [
        (JobStatus.SYNCED, "job.unchanged", True)
    ] * 3
    assert job.last_message == str(accepted.message)
    assert job.last_attempt_at == after_acceptance.last_attempt_at
    assert (job.status, job.tracking_id) == ("synced", tracking_id_for(order["number"]))
    assert (job.fulfillment_state, job.fulfillment_code) == ("done", "fulfillment_reason.done")
    assert job.updated_at == bench.clock()  # the re-check is stored, only not told
    assert job.next_attempt_at is None
    assert not job.leased
    assert bench.gordon_calls() == calls
    assert bench.mutations() == mutations
    assert await bench.claim() is None


async def test_a_check_that_fulfils_after_acceptance_is_recorded(bench: Bench) -> None:
    """Gordon has the order and staff fulfil it later: the check that puts Gordon's tracking
    number on the fulfillment changes the order, and records what it did (not the check's
    "already has this version"), while the job still says what Gordon accepted; the events that
    follow record nothing."""
    order = bench.paid_order()  # the shop's default: the number goes on staff's fulfillment
    await bench.event(order)
    await bench.attempt()
    answer = await bench.saleor.state.staff_fulfill(
        bench.runtime.http, order["id"], tracking_number=None, notify_customer=False
    )
    assert answer["errors"] == []

    await bench.event(order, "FULFILLMENT_CREATED")
    fulfilled = await bench.attempt()
    await bench.event(order, "FULFILLMENT_UPDATED")
    after = await bench.attempt()

    assert (fulfilled.unnoticed, fulfilled.keeps_last_message) == (False, True)
    assert (after.unnoticed, after.keeps_last_message) == (True, True)
    job = await bench.job(order)
    assert entries(job) == [
        ACCEPTED,
        WRITTEN,
        ("fulfill", "done", "job.tracking_set"),
    ]
    assert last_said(job) == accepted_said(order)
    assert job.fulfillment_state == "done"


# --- a person asks ---------------------------------------------------------------------------


async def test_send_to_gordon_with_unchanged_content_records_its_answer(bench: Bench) -> None:
    order = bench.paid_order()
    await bench.event(order)
    await bench.attempt()
    calls = bench.gordon_calls()

    await bench.runtime.queue.request_send(
        installation_id=bench.installation.id,
        order_id=order["id"],
        order_number=order["number"],
        now=bench.clock(),
    )
    sent = await bench.attempt()

    assert (sent.status, sent.message.code, sent.unnoticed) == (
        JobStatus.SYNCED,
        "job.unchanged",
        False,
    )
    assert bench.claimed[-1].asked
    job = await bench.job(order)
    assert entries(job) == [ACCEPTED, WRITTEN, UNCHANGED]
    assert (job.last_code, job.last_message) == (
        "job.unchanged",
        "Gordon already has this content.",
    )
    assert bench.gordon_calls() == calls


async def test_retry_with_unchanged_content_records_its_answer(bench: Bench) -> None:
    order = bench.paid_order()
    job_id = await bench.event(order)
    await bench.attempt()

    assert await bench.runtime.queue.retry_job(job_id, now=bench.clock())
    retried = await bench.attempt()

    assert not retried.unnoticed
    job = await bench.job(order)
    assert entries(job) == [ACCEPTED, WRITTEN, UNCHANGED]
    assert job.last_code == "job.unchanged"
