"""``jobs/attempt.py``, one attempt at a time (``worker.run_attempt``: the attempt and its
transition), over the Saleor fake and the Gordon sandbox."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select, update

from saleor_gordon.core.job_status import JobStatus
from saleor_gordon.core.retry import RetryPolicy
from saleor_gordon.errors import SaleorTokenRevoked
from saleor_gordon.fakes.gordon_sandbox import tracking_id_for
from saleor_gordon.jobs.attempt import JobServices
from saleor_gordon.jobs.lifecycle import RefRecorded, Transition, WithdrawalRecorded
from saleor_gordon.jobs.queue import ClaimedJob
from saleor_gordon.jobs.worker import run_attempt
from saleor_gordon.metrics import REGISTRY
from saleor_gordon.store.rate import DatabaseRateLimiter
from saleor_gordon.store.tables import installations
from tests.jobs.conftest import (
    FIRST_DELAY,
    MAX_AGE,
    Bench,
    history,
    pushed_at,
    pushed_copy,
    unavailable,
)
from tests.support.fixtures import unreachable_engine_like
from tests.support.shop import DELIVERY_GROUP

NOT_CONFIGURED = (
    "The app is not configured for this shop yet: enter the Gordon credentials and delivery "
    "groups on the app's page in the Saleor Dashboard (Apps → Gordon Delivery)."
)
STORE_FAILED = (
    "The database failed (OperationalError); is it running and migrated (`saleor-gordon migrate`)?"
)
UNAVAILABLE_503 = (
    "Gordon is unavailable (Gordon answered HTTP 503: Service Unavailable "
    "(injected by the Gordon sandbox))."
)


async def test_paid_order_is_created_in_gordon_and_tracking_written_back(bench: Bench) -> None:
    # given a paid order Saleor told the app about
    order = bench.paid_order()
    await bench.event(order)

    # when the job runs
    result = await bench.attempt()

    # then Gordon created it (PUT of an unknown order is "not found", then POST)
    number, tracking_id = order["number"], tracking_id_for(order["number"])
    assert bench.gordon_calls() == [
        ("PUT", f"/api/orders/{number}", 404),
        ("POST", "/api/orders", 200),
    ]
    assert result.status is JobStatus.SYNCED
    assert (result.action, result.outcome) == ("push", "accepted")
    assert result.message == f"Gordon accepted order {number} (tracking ID {tracking_id})."
    assert (result.message.code, result.message.params) == (
        "job.pushed",
        {"ref": number, "tracking_id": tracking_id},
    )
    assert result.next_attempt_at is None
    assert result.settled
    assert history(result) == [("push", "accepted"), ("write_back", "written")]
    assert [entry.message.code for entry in result.history] == ["job.pushed", "job.written_back"]
    assert result.history[1].message == (
        "metadata gordon.tracking_id, gordon.status, gordon.external_ref, gordon.synced_at"
    )
    copy = pushed_copy(result, at=bench.clock())
    assert copy.tracking_id == tracking_id
    assert copy.external_ref == number
    sent = bench.gordon.state.orders[number].body
    assert copy.delivery_date.isoformat() == sent["deliverydate"]
    assert copy.time_window == sent["time-window"]  # shown in the Dashboard
    assert bench.metadata(order)["gordon.tracking_id"] == tracking_id
    assert bench.private_metadata(order) == {
        "gordon.status": "synced",
        "gordon.external_ref": number,
        "gordon.synced_at": bench.clock().isoformat(),
    }
    assert bench.mutations() == ["updateMetadata", "updatePrivateMetadata"]


# --- pushing -----------------------------------------------------------------------------------


async def test_unchanged_order_settles_without_calling_gordon_or_writing(bench: Bench) -> None:
    order = bench.paid_order()
    await bench.event(order)
    await bench.attempt()
    calls, mutations = len(bench.gordon_calls()), len(bench.mutations())

    # when an update that changes nothing Gordon sees arrives
    await bench.event(order, "ORDER_UPDATED")
    result = await bench.attempt()

    assert result.status is JobStatus.SYNCED
    assert (result.action, result.outcome) == ("check", "settled")
    assert result.message == "Gordon already has this content."
    assert history(result) == [("check", "settled")]
    assert len(bench.gordon_calls()) == calls
    assert len(bench.mutations()) == mutations  # the metadata already says so


async def test_changed_order_is_updated_with_put_only(bench: Bench) -> None:
    order = bench.paid_order()
    await bench.event(order)
    first = await bench.attempt()
    bench.gordon.state.clear_requests()

    address = {**order["shippingAddress"], "streetAddress1": "Götgatan 12"}
    bench.saleor.state.update_order(order["id"], shippingAddress=address)
    await bench.event(order, "ORDER_UPDATED")
    second = await bench.attempt()

    number = order["number"]
    assert bench.gordon_calls() == [("PUT", f"/api/orders/{number}", 200)]
    assert bench.gordon.state.orders[number].body["address"] == "Götgatan 12"
    assert second.status is JobStatus.SYNCED
    assert pushed_copy(second).content_hash != pushed_copy(first).content_hash
    assert pushed_copy(second).tracking_id == pushed_copy(first).tracking_id


async def test_warnings_are_part_of_the_accepted_message(bench: Bench) -> None:
    address = {**bench.saleor.state.add_order()["shippingAddress"], "phone": "070-12"}
    order = bench.paid_order(shippingAddress=address, billingAddress=address)
    await bench.event(order)

    result = await bench.attempt()

    number = order["number"]
    accepted = f"Gordon accepted order {number} (tracking ID {tracking_id_for(number)})."
    phone = (
        "the number is not a valid phone number for SE. Gordon cannot text the customer about "
        "the delivery; correct the number, with country code (e.g. +46 70 228 68 10)."
    )
    assert result.status is JobStatus.SYNCED
    assert result.message == (
        f"{accepted} Warnings: shippingAddress.phone: {phone} billingAddress.phone: {phone}"
    )
    # the Dashboard words it from the code: Gordon's acceptance and the advice, as parameters
    assert result.message.code == "job.pushed_with_warnings"
    assert result.message.params == {"pushed": accepted, "warnings": [phone, phone]}
    assert result.message.params["pushed"].code == "job.pushed"


async def test_an_acceptance_without_a_tracking_id_says_so(bench: Bench) -> None:
    order = bench.paid_order()
    await bench.event(order)
    number = order["number"]

    def accept_without_tracking(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"external_ref": number, "status": "OK"})

    bench.outbound.on(
        lambda r: r.method == "POST" and r.url.path == "/api/orders", accept_without_tracking
    )

    result = await bench.attempt()

    assert result.status is JobStatus.SYNCED
    assert result.message == f"Gordon accepted order {number} (no tracking ID yet)."
    assert (result.message.code, result.message.params) == (
        "job.pushed_without_tracking",
        {"ref": number},
    )
    assert pushed_copy(result).tracking_id is None
    assert "gordon.tracking_id" not in bench.metadata(order)


async def test_an_acceptance_with_a_tracking_id_the_app_cannot_keep_writes_nothing_back(
    bench: Bench,
) -> None:
    """A shop's Gordon base URL may answer anything: a tracking ID longer than the job's column
    failed the job's record on PostgreSQL ("the database failed"), so the job never settled and
    was pushed again at every lease; on SQLite it went onto the order and to the customer."""
    order = bench.paid_order()
    await bench.event(order)
    number = order["number"]

    def accept_with_a_long_tracking_id(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={"external_ref": number, "tracking_id": "T" * 65, "status": "OK"}
        )

    bench.outbound.on(
        lambda r: r.method == "POST" and r.url.path == "/api/orders", accept_with_a_long_tracking_id
    )

    result = await bench.attempt()

    assert result.status is JobStatus.NEEDS_ATTENTION
    assert (result.action, result.outcome) == ("push", "rejected")
    assert result.message.code == "job.gordon_refused_explained"
    assert result.message.params["reason"].code == "gordon.tracking_id_unusable"
    assert result.gordon is None
    assert "gordon.tracking_id" not in bench.metadata(order)
    view = await bench.job(order)
    assert view.tracking_id is None


async def test_an_order_whose_number_the_app_cannot_keep_needs_attention_unsent(
    bench: Bench,
) -> None:
    """The webhook leaves such a number out of the event, but the order Saleor answers has it:
    pushed under it, its job's record failed on PostgreSQL (references hold 255 characters,
    numbers 64) and the job was pushed again at every lease."""
    order = bench.paid_order()
    await bench.event(order)
    bench.saleor.state.update_order(order["id"], number="9" * 65)

    result = await bench.attempt()

    assert result.status is JobStatus.NEEDS_ATTENTION
    assert (result.action, result.outcome) == ("read_order", "invalid")
    assert result.message.code == "job.order_problems"
    [problem] = result.message.params["problems"]
    assert (problem.code, problem.params) == ("problem.order_number_unusable", {"limit": 64})
    assert result.next_attempt_at is None
    assert bench.gordon_calls() == []
    view = await bench.job(order)
    assert (view.status, view.external_ref) == ("needs_attention", None)


async def test_push_refused_by_gordon_needs_attention_and_pins_no_reference(bench: Bench) -> None:
    await bench.configure(delivery_groups=[{"deliverygroup": "Gordon Nowhere"}])
    order = bench.paid_order()
    await bench.event(order)

    result = await bench.attempt()

    assert result.status is JobStatus.NEEDS_ATTENTION
    assert (result.action, result.outcome) == ("push", "rejected")
    assert result.message == "Gordon refused: Unable to find deliverygroup"
    assert (result.message.code, result.message.params) == (
        "job.gordon_refused",
        {"gordon_message": "Unable to find deliverygroup"},  # Gordon's words, shown as they are
    )
    assert result.gordon is None
    assert result.next_attempt_at is None
    assert bench.metadata(order).get("gordon.tracking_id") is None
    assert bench.private_metadata(order) == {
        "gordon.status": "needs_attention",
        "gordon.error": "Gordon refused: Unable to find deliverygroup",
    }
    assert bench.mutations() == ["updatePrivateMetadata"]  # nothing public to write

    # when the owner fixes the rule and adds a prefix, the order goes under the new reference
    await bench.configure(external_ref_prefix="SHOP-")
    fixed = await bench.attempt()
    assert fixed.status is JobStatus.SYNCED
    assert list(bench.gordon.state.orders) == [f"SHOP-{order['number']}"]
    assert "gordon.error" not in bench.private_metadata(order)
    assert bench.mutations()[-1] == "deletePrivateMetadata"


async def test_gordon_unavailable_retries_with_backoff_keeping_the_reference(bench: Bench) -> None:
    bench.gordon.state.script_faults([503])
    order = bench.paid_order()
    await bench.event(order)

    result = await bench.attempt()

    assert result.status is JobStatus.RETRYING
    assert (result.action, result.outcome) == ("push", "retryable")
    assert result.message == UNAVAILABLE_503
    assert result.gordon == RefRecorded(order["number"])  # the PUT may have arrived
    assert result.next_attempt_at == bench.clock() + timedelta(seconds=FIRST_DELAY)
    # The history's entry says when the next attempt is planned, beside why.
    [entry, _written] = result.history
    assert entry.message == UNAVAILABLE_503
    assert entry.message.code == "job.retrying"
    assert entry.message.params == {
        "cause": result.message,
        "retry_at": result.next_attempt_at.isoformat(),
    }
    # what Gordon answered as a code of its own, Gordon's words a parameter (the pages word it)
    assert result.message.to_json() == {
        "code": "job.gordon_unavailable",
        "params": {
            "detail": {
                "code": "gordon.answered_status_said",
                "params": {
                    "status": 503,
                    "gordon_message": "Service Unavailable (injected by the Gordon sandbox)",
                },
                "message": "Gordon answered HTTP 503: Service Unavailable (injected by the Gordon "
                "sandbox)",
            }
        },
        "message": UNAVAILABLE_503,
    }
    assert not result.settled
    assert bench.private_metadata(order) == {
        "gordon.status": "retrying",
        "gordon.external_ref": order["number"],
        "gordon.error": UNAVAILABLE_503,
    }


async def test_gordon_retry_after_sets_the_next_attempt(bench: Bench) -> None:
    bench.gordon.state.options = dataclasses.replace(bench.gordon.state.options, retry_after=40)
    bench.gordon.state.script_faults([429])
    order = bench.paid_order()
    await bench.event(order)

    result = await bench.attempt()

    assert result.status is JobStatus.RETRYING
    assert result.next_attempt_at == bench.clock() + timedelta(seconds=40)  # above the backoff


async def test_retries_stop_at_the_maximum_age(bench: Bench) -> None:
    bench.gordon.state.options = dataclasses.replace(bench.gordon.state.options, error_rate=1.0)
    order = bench.paid_order()
    await bench.event(order)
    first = await bench.attempt()
    assert first.next_attempt_at is not None

    # when the next attempt, an hour later, fails too
    bench.clock.advance(MAX_AGE.total_seconds() - 1)
    result = await bench.attempt()

    assert result.status is JobStatus.FAILED
    assert (result.action, result.outcome) == ("push", "gave_up")
    assert (
        result.message
        == f"{UNAVAILABLE_503} Retries stopped: gave up after 2 attempts over 1 hour."
    )
    assert result.next_attempt_at is None
    assert result.settled
    assert result.gordon == RefRecorded(order["number"])
    assert bench.private_metadata(order)["gordon.status"] == "failed"


# --- withdrawing -------------------------------------------------------------------------------


async def _synced(bench: Bench, order: dict[str, Any]) -> Transition:
    await bench.event(order)
    result = await bench.attempt()
    assert result.status is JobStatus.SYNCED
    return result


async def _cancel(bench: Bench, order: dict[str, Any]) -> Transition:
    bench.saleor.state.update_order(order["id"], status="CANCELED")
    await bench.event(order, "ORDER_CANCELLED")
    return await bench.attempt()


async def test_a_withdrawn_order_no_longer_waits_for_a_fulfillment(bench: Bench) -> None:
    # given an order in Gordon whose fulfillment the app waits for (``add``: nothing fulfilled)
    order = bench.paid_order()
    await _synced(bench, order)
    assert (await bench.job(order)).fulfillment_state == "awaiting_fulfillment"

    # when it is cancelled and withdrawn from Gordon
    await _cancel(bench, order)

    # then the widget says the app leaves its fulfillments alone, not that it waits for one
    job = await bench.job(order)
    assert (job.fulfillment_state, job.fulfillment_code) == (
        "order_closed",
        "fulfillment_reason.order_cancelled",
    )
    assert job.fulfillment_message == (
        "The order is cancelled in Saleor: the app leaves its fulfillments alone."
    )


async def _expire(bench: Bench, order: dict[str, Any]) -> Transition:
    bench.saleor.state.update_order(order["id"], status="EXPIRED")
    await bench.event(order, "ORDER_EXPIRED")
    return await bench.attempt()


@pytest.mark.parametrize(
    ("closing", "status", "code", "message"),
    [
        (
            "cancel",
            JobStatus.CANCELLED,
            "job.withdrawn.canceled",
            "Withdrawn from Gordon: the order is canceled in Saleor.",
        ),
        (
            "expire",
            JobStatus.EXPIRED,
            "job.withdrawn.expired",
            "Withdrawn from Gordon: the order is expired in Saleor.",
        ),
    ],
)
async def test_closing_an_order_after_push_withdraws_it_and_the_job_says_why(
    bench: Bench, closing: str, status: JobStatus, code: str, message: str
) -> None:
    order = bench.paid_order()
    await _synced(bench, order)

    result = await (_cancel if closing == "cancel" else _expire)(bench, order)

    number = order["number"]
    assert bench.gordon_calls(number)[-1] == ("DELETE", f"/api/orders/{number}", 200)
    assert number not in bench.gordon.state.orders
    assert result.status is status
    assert (result.action, result.outcome) == ("withdraw", "accepted")
    assert result.message == message
    assert (result.message.code, result.message.params) == (code, {"ref": number})
    assert result.gordon == WithdrawalRecorded(number, at=bench.clock())
    assert bench.private_metadata(order)["gordon.status"] == status.value


async def test_an_order_that_expired_unsent_settles_expired_and_its_metadata_is_left_alone(
    bench: Bench,
) -> None:
    order = bench.saleor.state.add_order(status="EXPIRED", isPaid=False, chargeStatus="NONE")
    await bench.event(order, "ORDER_EXPIRED")

    result = await bench.attempt()

    assert result.status is JobStatus.EXPIRED
    assert (result.message.code, result.message.params) == ("job.expired_before_sent", {})
    assert bench.gordon_calls(order["number"]) == []
    assert bench.private_metadata(order) == {}


@pytest.mark.parametrize(("closing", "status"), [("cancel", "cancelled"), ("expire", "expired")])
async def test_a_withdrawn_order_gets_no_tracking_link(
    bench: Bench, closing: str, status: str
) -> None:
    order = bench.paid_order()
    await _synced(bench, order)
    # the shop sets a link format after the order reached Gordon, then the order is cancelled
    # (or expires)
    await bench.configure(tracking_url="https://track.example.com/t/{tracking_id}")

    result = await (_cancel if closing == "cancel" else _expire)(bench, order)

    assert result.status == status
    assert bench.metadata(order)["gordon.tracking_id"] == tracking_id_for(order["number"])
    assert "gordon.tracking_url" not in bench.metadata(order)


async def test_cancel_of_an_order_gordon_no_longer_has_is_withdrawn(bench: Bench) -> None:
    order = bench.paid_order()
    await _synced(bench, order)
    del bench.gordon.state.orders[order["number"]]

    result = await _cancel(bench, order)

    number = order["number"]
    assert bench.gordon_calls(number)[-1] == ("DELETE", f"/api/orders/{number}", 404)
    assert (result.status, result.outcome) == (JobStatus.CANCELLED, "accepted")


async def test_cancel_of_a_planned_order_asks_for_manual_cancellation(bench: Bench) -> None:
    order = bench.paid_order()
    await _synced(bench, order)
    bench.gordon.state.mark_planned(order["number"])

    result = await _cancel(bench, order)

    number = order["number"]
    assert result.status is JobStatus.NEEDS_ATTENTION
    assert (result.action, result.outcome) == ("withdraw", "rejected")
    assert result.message == (
        f"Cancel order {number} in the Gordon platform by hand: Gordon refused to withdraw it "
        "(Order is planned and can no longer be deleted; cancel it in the Gordon platform)."
    )
    assert (result.message.code, result.message.params) == (
        "job.withdraw_refused",
        {
            "ref": number,
            "gordon_message": (
                "Order is planned and can no longer be deleted; cancel it in the Gordon platform"
            ),
        },
    )
    assert result.gordon is None
    assert number in bench.gordon.state.orders
    assert bench.private_metadata(order)["gordon.error"] == result.message


async def test_cancel_refused_for_credentials_needs_attention_keeping_the_reference(
    bench: Bench,
) -> None:
    order = bench.paid_order()
    await _synced(bench, order)
    gordon = {"base_url": bench.gordon.base_url, "client_id": "x", "client_secret": "wrong"}
    await bench.configure(gordon=gordon)

    result = await _cancel(bench, order)

    assert result.status is JobStatus.NEEDS_ATTENTION
    assert (result.action, result.outcome) == ("withdraw", "rejected")
    assert result.message == (
        "Gordon refused: Gordon refused the API credentials; check the client id and client "
        "secret, and that they belong to the environment of the base URL (staging credentials "
        "do not work in production) (HTTP 401: Unauthorized)"
    )
    # the app's explanation of Gordon's answer, coded (Gordon's words a parameter of it)
    assert result.message.code == "job.gordon_refused_explained"
    assert result.message.to_json()["params"] == {
        "reason": {
            "code": "gordon.credentials_refused_said",
            "params": {"status": 401, "gordon_message": "Unauthorized"},
            "message": result.message.removeprefix("Gordon refused: "),
        },
    }
    assert result.gordon == RefRecorded(order["number"])
    assert order["number"] in bench.gordon.state.orders


async def test_cancel_while_gordon_is_unavailable_retries(bench: Bench) -> None:
    order = bench.paid_order()
    await _synced(bench, order)
    bench.gordon.state.script_faults([503])

    result = await _cancel(bench, order)

    assert result.status is JobStatus.RETRYING
    assert (result.action, result.outcome) == ("withdraw", "retryable")
    assert result.gordon == RefRecorded(order["number"])
    assert result.next_attempt_at == bench.clock() + timedelta(seconds=FIRST_DELAY)


async def _pushed_with_the_answer_lost(bench: Bench) -> dict[str, Any]:
    """A paid order that Gordon created while the answer to the POST never came back."""
    order = bench.paid_order()
    await bench.event(order)
    bench.gordon.state.script_faults([404, "lost"])  # the PUT says "not found"; the POST is lost
    lost = await bench.attempt()
    assert (lost.status, lost.outcome) == (JobStatus.RETRYING, "retryable")
    assert order["number"] in bench.gordon.state.orders
    return order


@pytest.mark.parametrize(
    "change",
    [
        {"external_ref_prefix": "SHOP-"},
        # no rule matches the order any more: its translation has no reference to withdraw
        {
            "delivery_groups": [
                {"deliverygroup": DELIVERY_GROUP, "shipping_method": "Hämta i butik"}
            ]
        },
    ],
    ids=["new-reference-prefix", "no-rule-matches"],
)
async def test_cancel_after_a_push_whose_answer_was_lost_withdraws_it(
    bench: Bench, change: dict[str, Any]
) -> None:
    # given a push that Gordon carried out while its answer never came back
    order = await _pushed_with_the_answer_lost(bench)

    # when the order is cancelled before the retry, after the shop changed its configuration
    await bench.configure(**change)
    result = await _cancel(bench, order)

    # then the app withdraws the order under the reference it was sent with
    number = order["number"]
    assert (result.status, result.outcome) == (JobStatus.CANCELLED, "accepted")
    assert bench.gordon_calls(number)[-1] == ("DELETE", f"/api/orders/{number}", 200)
    assert bench.gordon.state.orders == {}


async def test_cancel_before_the_order_reached_gordon_settles_without_writing(
    bench: Bench,
) -> None:
    order = bench.paid_order(isPaid=False, chargeStatus="NONE")
    await bench.event(order, "ORDER_CREATED")

    result = await _cancel(bench, order)

    assert result.status is JobStatus.CANCELLED
    assert (result.action, result.outcome) == ("check", "settled")
    assert result.message == "The order was cancelled before it reached Gordon."
    assert bench.gordon_calls() == []
    assert bench.mutations() == []


# --- deciding without Gordon ---------------------------------------------------------------------


async def test_unpaid_order_waits_for_the_trigger_and_writes_nothing(bench: Bench) -> None:
    order = bench.paid_order(isPaid=False, chargeStatus="NONE")
    await bench.event(order, "ORDER_CREATED")

    result = await bench.attempt()

    assert result.status is JobStatus.SKIPPED
    assert (result.action, result.outcome, result.message) == (
        "check",
        "settled",
        "Waiting for ORDER_FULLY_PAID.",
    )
    assert bench.gordon_calls() == []
    assert bench.mutations() == []


@pytest.mark.parametrize(
    ("is_paid", "charge_status"),
    [(True, "NONE"), (False, "FULL"), (False, "OVERCHARGED")],
    ids=["isPaid", "charged-in-full", "overcharged"],
)
async def test_an_order_saleor_says_is_paid_is_pushed_without_the_paid_event(
    bench: Bench, is_paid: bool, charge_status: str
) -> None:
    # given an order the job knows only from ORDER_CREATED, paid as Saleor reads it now
    order = bench.paid_order(isPaid=is_paid, chargeStatus=charge_status)
    await bench.event(order, "ORDER_CREATED")

    result = await bench.attempt()

    # then the trigger ORDER_FULLY_PAID is met by the order's state
    assert (result.status, result.action, result.outcome) == (JobStatus.SYNCED, "push", "accepted")
    assert order["number"] in bench.gordon.state.orders


async def test_untranslatable_order_needs_attention_with_the_problems(bench: Bench) -> None:
    address = {**bench.saleor.state.add_order()["shippingAddress"], "streetAddress1": ""}
    order = bench.paid_order(shippingAddress=address)
    await bench.event(order)

    result = await bench.attempt()

    assert result.status is JobStatus.NEEDS_ATTENTION
    assert (result.action, result.outcome) == ("translate", "problems")
    assert result.message == (
        "shippingAddress.streetAddress1: the shipping address has no street address. Add the "
        "street address to the order's shipping address."
    )
    assert bench.gordon_calls() == []
    assert bench.private_metadata(order) == {
        "gordon.status": "needs_attention",
        "gordon.error": result.message,
    }


# --- translating as Gordon has it ----------------------------------------------------------------


async def test_a_requested_date_that_passed_since_the_push_is_no_problem(bench: Bench) -> None:
    # given an order pushed with a delivery date two days on
    order = bench.paid_order(delivery_in_days=2)
    pushed = await _synced(bench, order)

    # when an unrelated update arrives after that date
    bench.clock.advance(timedelta(days=4).total_seconds())
    await bench.event(order, "ORDER_UPDATED")
    result = await bench.attempt()

    # then the order is translated as of the push: Gordon has that content, nothing to do
    assert result.status is JobStatus.SYNCED
    assert (result.outcome, result.message) == ("settled", "Gordon already has this content.")
    assert len(bench.gordon_calls()) == 2  # the first PUT and POST only
    assert (await bench.job(order)).tracking_id == pushed_copy(pushed).tracking_id


async def test_a_passed_requested_date_and_a_new_prefix_still_match_the_push(bench: Bench) -> None:
    # given an order pushed with a delivery date two days on
    order = bench.paid_order(delivery_in_days=2)
    await _synced(bench, order)

    # when the shop owner sets a reference prefix, and an update arrives after that date
    await bench.configure(external_ref_prefix="SHOP-")
    bench.clock.advance(timedelta(days=4).total_seconds())
    await bench.event(order, "ORDER_UPDATED")
    result = await bench.attempt()

    # then the content as pushed, under the reference Gordon has, is what Gordon has: in sync
    assert result.status is JobStatus.SYNCED
    assert (result.outcome, result.message) == ("settled", "Gordon already has this content.")
    assert len(bench.gordon_calls()) == 2  # the first PUT and POST only


async def test_a_change_after_the_requested_date_passed_needs_attention(bench: Bench) -> None:
    order = bench.paid_order(delivery_in_days=2)
    await _synced(bench, order)

    # when the address changes after the requested date has passed
    bench.clock.advance(timedelta(days=4).total_seconds())
    address = {**order["shippingAddress"], "streetAddress1": "Götgatan 12"}
    bench.saleor.state.update_order(order["id"], shippingAddress=address)
    await bench.event(order, "ORDER_UPDATED")
    result = await bench.attempt()

    # then the new content is judged as of now: its date is in the past
    assert result.status is JobStatus.NEEDS_ATTENTION
    assert (result.action, result.outcome) == ("translate", "problems")
    requested = order["metadata"][0]["value"]
    today = bench.clock().astimezone(ZoneInfo("Europe/Stockholm")).date().isoformat()
    assert result.message == (
        f"metadata gordon.delivery_date: {requested} is in the past (today is {today}). "
        "Set a delivery date from today on."
    )
    assert len(bench.gordon_calls()) == 2


async def test_a_new_reference_prefix_keeps_updating_the_pushed_order(bench: Bench) -> None:
    order = bench.paid_order()
    await _synced(bench, order)

    # when the shop owner sets a prefix, then the order changes
    await bench.configure(external_ref_prefix="SHOP-")
    address = {**order["shippingAddress"], "streetAddress1": "Götgatan 12"}
    bench.saleor.state.update_order(order["id"], shippingAddress=address)
    await bench.event(order, "ORDER_UPDATED")
    result = await bench.attempt()

    # then Gordon's order is updated under the reference it has, not created a second time
    number = order["number"]
    assert result.status is JobStatus.SYNCED
    assert bench.gordon_calls()[-1] == ("PUT", f"/api/orders/{number}", 200)
    assert list(bench.gordon.state.orders) == [number]
    assert bench.gordon.state.orders[number].body["external_ref"] == number
    assert bench.private_metadata(order)["gordon.external_ref"] == number


# --- writing back --------------------------------------------------------------------------------


async def test_a_failed_write_back_is_retried_on_its_own_without_a_second_push(
    bench: Bench,
) -> None:
    # given Saleor failing the first metadata mutation after Gordon accepted the order
    order = bench.paid_order()
    await bench.event(order)
    bench.outbound.on_operation("WriteOrderMetadata", unavailable())

    first = await bench.attempt()

    number, tracking_id = order["number"], tracking_id_for(order["number"])
    accepted = f"Gordon accepted order {number} (tracking ID {tracking_id})."
    assert first.status is JobStatus.RETRYING
    assert (first.action, first.outcome) == ("push", "accepted")
    assert first.message == (
        f"{accepted} Writing the status to the order failed (Saleor answered HTTP 503 "
        f"(WriteOrderMetadata at {bench.saleor.api_url}).)."
    )
    assert first.next_attempt_at == bench.clock() + timedelta(seconds=FIRST_DELAY)
    assert not first.settled
    assert history(first) == [("push", "accepted"), ("write_back", "failed")]
    assert pushed_copy(first).tracking_id == tracking_id  # what Gordon accepted is recorded
    assert bench.metadata(order).get("gordon.tracking_id") is None

    # when the retry runs
    bench.clock.to(first.next_attempt_at)
    second = await bench.attempt()

    # then it only writes the metadata: Gordon is not called again
    assert len(bench.gordon_calls()) == 2
    assert second.status is JobStatus.SYNCED
    assert history(second) == [("check", "settled"), ("write_back", "written")]
    assert bench.metadata(order)["gordon.tracking_id"] == tracking_id
    assert bench.private_metadata(order)["gordon.status"] == "synced"


async def test_a_write_back_honours_saleors_retry_after(bench: Bench) -> None:
    order = bench.paid_order()
    await bench.event(order)
    bench.outbound.on_operation("WriteOrderMetadata", unavailable(retry_after="120"))

    result = await bench.attempt()

    assert result.status is JobStatus.RETRYING
    assert result.next_attempt_at == bench.clock() + timedelta(seconds=120)


async def test_a_write_back_saleor_refuses_is_retried(bench: Bench) -> None:
    # given Saleor refusing the metadata write (a deleted order is not retried: see
    # test_attempt_fulfillment.py's deleted orders)
    order = bench.paid_order()
    await bench.event(order)
    refusal = {"field": "metadata", "code": "INVALID", "message": "Value too long."}

    def refuse(request: httpx.Request) -> httpx.Response:
        data = {"updateMetadata": {"errors": [refusal], "metadataErrors": [refusal]}}
        return httpx.Response(200, json={"data": data})

    bench.outbound.on_operation("WriteOrderMetadata", refuse)

    result = await bench.attempt()

    assert result.status is JobStatus.RETRYING
    assert (result.action, result.outcome) == ("push", "accepted")
    number = order["number"]
    assert result.message == (
        f"Gordon accepted order {number} (tracking ID {tracking_id_for(number)}). Writing the "
        "status to the order failed (Saleor refused updateMetadata: INVALID metadata: Value too "
        "long.)."
    )
    assert result.next_attempt_at == bench.clock() + timedelta(seconds=FIRST_DELAY)


async def test_a_write_back_failing_past_the_maximum_age_gives_up(bench: Bench) -> None:
    order = bench.paid_order()
    await bench.event(order)
    bench.clock.advance(MAX_AGE.total_seconds())
    bench.outbound.on_operation("WriteOrderMetadata", unavailable())

    result = await bench.attempt()

    assert result.status is JobStatus.FAILED
    assert result.next_attempt_at is None
    assert result.settled
    number = order["number"]
    assert result.message == (
        f"Gordon accepted order {number} (tracking ID {tracking_id_for(number)}). Writing the status to the order failed (Saleor answered HTTP 503 "
        f"(WriteOrderMetadata at {bench.saleor.api_url}).). "
        "Retries stopped: gave up after 1 attempt over 1 hour."
    )
    assert pushed_copy(result).tracking_id == tracking_id_for(order["number"])


async def test_token_revoked_during_write_back_keeps_gordons_answer_and_stops_the_shop(
    bench: Bench,
) -> None:
    # given the app removed in the Dashboard while the job pushes the order
    order = bench.paid_order()
    await bench.event(order)
    bench.outbound.on_operation(
        "WriteOrderMetadata", lambda request: bench.saleor.state.revoke_all_tokens()
    )
    failed_before = _write_backs("failed")

    result = await bench.attempt()

    # then Gordon's answer is recorded, the write-back waits, and the shop's work stops
    assert result.status is JobStatus.RETRYING
    assert (result.action, result.outcome) == ("push", "accepted")
    assert result.next_attempt_at == bench.clock()
    assert pushed_copy(result).tracking_id == tracking_id_for(order["number"])
    assert history(result) == [("push", "accepted"), ("write_back", "failed")]
    refused = (
        "Saleor no longer accepts the app token; the app was removed or deactivated in the "
        "Dashboard."
    )
    number = order["number"]
    assert result.message == (
        f"Gordon accepted order {number} (tracking ID {tracking_id_for(number)}). Writing the "
        f"status to the order failed ({refused})."
    )
    assert result.history[1].message == refused
    assert _write_backs("failed") == failed_before + 1
    installation = await bench.runtime.installations.get_installation_by_id(bench.installation.id)
    assert installation is not None
    assert installation.revoked_at == bench.clock()
    assert await bench.claim() is None

    # when the app is installed again, the write-back completes without a second push
    await bench.reinstall()
    again = await bench.attempt()
    assert again.status is JobStatus.SYNCED
    assert history(again) == [("check", "settled"), ("write_back", "written")]
    assert len(bench.gordon_calls()) == 2
    assert bench.metadata(order)["gordon.tracking_id"] == tracking_id_for(order["number"])


async def test_token_revoked_during_write_back_while_the_store_fails_still_gives_a_result(
    bench: Bench, tmp_path: Path
) -> None:
    order = bench.paid_order()
    await bench.event(order)
    engine = bench.runtime.engine
    unreachable = unreachable_engine_like("sqlite://", tmp_path)

    def revoke_and_lose_the_store(request: httpx.Request) -> None:
        bench.saleor.state.revoke_all_tokens()
        bench.runtime.engine = unreachable

    bench.outbound.on_operation("WriteOrderMetadata", revoke_and_lose_the_store)

    job, result = await bench.run()
    bench.runtime.engine = engine
    await unreachable.dispose()

    assert result.status is JobStatus.RETRYING
    assert result.next_attempt_at == bench.clock()
    assert pushed_copy(result).tracking_id == tracking_id_for(order["number"])
    installation = await bench.runtime.installations.get_installation_by_id(bench.installation.id)
    assert installation is not None
    assert installation.revoked_at is None  # not recorded; the next read finds out again
    assert await bench.runtime.queue.finish_job(job, result, now=bench.clock())


async def test_a_tracking_id_removed_from_the_order_is_written_again_alone(bench: Bench) -> None:
    order = bench.paid_order()
    await _synced(bench, order)
    mutations = len(bench.mutations())

    # when staff delete the public tracking ID
    bench.saleor.state.update_order(order["id"], metadata=order["metadata"][:2])
    await bench.event(order, "ORDER_METADATA_UPDATED")
    result = await bench.attempt()

    assert result.status is JobStatus.SYNCED
    # what it did, and Gordon's acceptance stays the job's message (lifecycle.unnoticed)
    assert history(result) == [("write_back", "written")]
    assert result.history[0].message == "metadata gordon.tracking_id"
    assert result.keeps_last_message
    assert bench.mutations()[mutations:] == ["updateMetadata"]
    assert bench.metadata(order)["gordon.tracking_id"] == tracking_id_for(order["number"])


# --- reading the order ---------------------------------------------------------------------------


async def test_token_revoked_when_reading_the_order_stops_the_shop(bench: Bench) -> None:
    order = bench.paid_order()
    await bench.event(order)
    bench.saleor.state.revoke_all_tokens()

    result = await bench.attempt()

    assert result.status is JobStatus.PENDING  # unchanged: it runs once the app is back
    assert (result.action, result.outcome) == ("saleor", "token_revoked")
    assert result.message == SaleorTokenRevoked().message
    assert result.next_attempt_at == bench.clock()
    assert bench.gordon_calls() == []
    assert await bench.claim() is None

    await bench.reinstall()
    assert (await bench.attempt()).status is JobStatus.SYNCED


async def test_saleor_unavailable_retries_as_it_asks(bench: Bench) -> None:
    order = bench.paid_order()
    await bench.event(order)
    bench.outbound.on_operation("OrderForGordon", unavailable(retry_after="90"))

    result = await bench.attempt()

    assert result.status is JobStatus.RETRYING
    assert (result.action, result.outcome) == ("saleor", "unavailable")
    assert result.message == (
        f"Saleor answered HTTP 503 (OrderForGordon at {bench.saleor.api_url})."
    )
    assert result.next_attempt_at == bench.clock() + timedelta(seconds=90)
    assert bench.gordon_calls() == []


async def test_saleor_down_retries_with_backoff(bench: Bench) -> None:
    order = bench.paid_order()
    await bench.event(order)
    bench.saleor.state.down = True

    result = await bench.attempt()

    assert (result.status, result.outcome) == (JobStatus.RETRYING, "unavailable")
    assert result.next_attempt_at == bench.clock() + timedelta(seconds=FIRST_DELAY)


async def test_an_order_saleor_refuses_to_read_needs_attention(bench: Bench) -> None:
    await bench.event({"id": "not-an-id", "number": "999"})

    result = await bench.attempt()

    assert result.status is JobStatus.NEEDS_ATTENTION
    assert (result.action, result.outcome) == ("saleor", "refused")
    assert result.message == (
        "Saleor refused to read the order: Saleor refused OrderForGordon: "
        "Invalid ID: not-an-id. Expected: Order."
    )
    # Saleor's own words alone as the parameter: not the app's operation name
    assert (result.message.code, result.message.params) == (
        "job.saleor_refused",
        {"detail": "Invalid ID: not-an-id. Expected: Order."},
    )
    assert bench.gordon_calls() == []
    assert bench.mutations() == []


async def test_an_order_saleor_refuses_with_an_http_status_says_the_status(bench: Bench) -> None:
    order = bench.paid_order()
    await bench.event(order)
    bench.saleor.state.fail_next(1, status=403)

    result = await bench.attempt()

    assert (result.status, result.action, result.outcome) == (
        JobStatus.NEEDS_ATTENTION,
        "saleor",
        "refused",
    )
    assert (result.message.code, result.message.params) == (
        "job.saleor_refused_status",
        {"status": 403},
    )


async def test_an_order_saleor_no_longer_has_is_skipped(bench: Bench) -> None:
    order = bench.paid_order()
    await bench.event(order)
    bench.saleor.state.delete_order(order["id"])

    result = await bench.attempt()

    assert result.status is JobStatus.SKIPPED
    assert (result.action, result.outcome, result.message) == (
        "read_order",
        "not_found",
        "The order no longer exists.",
    )
    assert bench.gordon_calls() == []


async def test_an_order_the_app_cannot_read_needs_attention(bench: Bench) -> None:
    order = bench.paid_order(created="not a date")
    await bench.event(order)

    result = await bench.attempt()

    assert result.status is JobStatus.NEEDS_ATTENTION
    assert (result.action, result.outcome) == ("read_order", "invalid")
    assert result.message == (
        "not a readable Saleor order: created: Input should be a valid datetime or date, "
        "invalid character in year"
    )
    assert bench.gordon_calls() == []
    assert bench.mutations() == []


async def test_store_unavailable_for_the_rate_schedule_retries(
    bench: Bench, tmp_path: Path
) -> None:
    unreachable = unreachable_engine_like("sqlite://", tmp_path)
    bench.services.rate_limiter = DatabaseRateLimiter(unreachable, 10.0)
    order = bench.paid_order()
    await bench.event(order)

    result = await bench.attempt()
    await unreachable.dispose()

    assert result.status is JobStatus.RETRYING
    assert (result.action, result.outcome) == ("store", "unavailable")
    assert result.message == STORE_FAILED
    assert result.next_attempt_at == bench.clock() + timedelta(seconds=FIRST_DELAY)
    assert bench.gordon_calls() == []


async def test_gordons_token_is_asked_for_while_the_order_is_read(bench: Bench) -> None:
    """No token cached (the process's first order of this Gordon account): the token request
    goes out while Saleor's answer to the order read is still awaited, not after it."""
    order = bench.paid_order()
    await bench.event(order)
    state = bench.saleor.state
    state.hold_operations("OrderForGordon")

    attempt = asyncio.ensure_future(bench.attempt())

    def token_asked() -> bool:
        return bool(bench.gordon.state.requests(path="/oauth/token"))

    deadline = time.monotonic() + 10
    while not (token_asked() and state.held["OrderForGordon"] == 1):
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.01)  # polling the fakes' records (the state), not a fixed wait
    # the order read is still held: only a request sent ahead of its answer can be there
    asked_while_held = token_asked() and not attempt.done()
    state.release_operations()
    result = await attempt

    assert asked_while_held
    assert result.status is JobStatus.SYNCED
    assert len(bench.gordon.state.requests(path="/oauth/token")) == 1  # not asked again
    second = bench.paid_order()
    await bench.event(second)
    assert (await bench.attempt()).status is JobStatus.SYNCED
    assert len(bench.gordon.state.requests(path="/oauth/token")) == 1  # cached: none ahead


async def _attempt_with_the_database_lost(
    bench: Bench, job: ClaimedJob, tmp_path: Path
) -> Transition:
    """Run ``job``'s attempt with the database unreachable (lost right after the claim)."""
    engine, bench.runtime.engine = (
        bench.runtime.engine,
        unreachable_engine_like("sqlite://", tmp_path),
    )
    try:
        return await run_attempt(bench.services, job)
    finally:
        await bench.runtime.engine.dispose()
        bench.runtime.engine = engine


async def test_an_attempt_starts_from_the_shop_its_claim_read(bench: Bench, tmp_path: Path) -> None:
    # given a claimed job, and the database lost right after the claim
    order = bench.paid_order()
    await bench.event(order)
    job = await bench.claim()
    assert job is not None

    result = await _attempt_with_the_database_lost(bench, job, tmp_path)

    # then the attempt read nothing more to start: the claim brought the shop along
    assert (result.status, result.action, result.outcome) == (JobStatus.SYNCED, "push", "accepted")
    assert bench.gordon_calls() == [
        ("PUT", f"/api/orders/{order['number']}", 404),
        ("POST", "/api/orders", 200),
    ]


async def test_store_unavailable_when_reading_the_shop_retries(
    bench: Bench, tmp_path: Path
) -> None:
    # given the database lost right after the job was claimed by a claim that did not read the
    # shop with it (a lease taken over)
    order = bench.paid_order()
    await bench.event(order)
    claimed = await bench.claim()
    assert claimed is not None
    job = dataclasses.replace(claimed, shop_row=None)

    result = await _attempt_with_the_database_lost(bench, job, tmp_path)

    # then the attempt is retried like any other outage, not crashed
    assert result.status is JobStatus.RETRYING
    assert (result.action, result.outcome) == ("store", "unavailable")
    assert result.message == STORE_FAILED
    assert result.next_attempt_at == bench.clock() + timedelta(seconds=FIRST_DELAY)
    assert bench.saleor.state.requests == Counter()
    assert await bench.runtime.queue.finish_job(job, result, now=bench.clock())


# --- the shop's configuration --------------------------------------------------------------------


async def test_a_shop_that_has_not_configured_the_app_needs_attention(
    unconfigured_bench: Bench,
) -> None:
    bench = unconfigured_bench
    order = bench.paid_order()
    await bench.event(order)

    result = await bench.attempt()

    assert result.status is JobStatus.NEEDS_ATTENTION
    assert (result.action, result.outcome, result.message) == (
        "read_config",
        "not_configured",
        NOT_CONFIGURED,
    )
    assert result.next_attempt_at is None
    assert bench.saleor.state.requests == Counter()  # not even the order is read
    assert bench.gordon_calls() == []


async def test_an_invalid_stored_configuration_needs_attention(bench: Bench) -> None:
    # given a stored configuration that no longer validates (written by an older version, say)
    async with bench.runtime.engine.begin() as connection:
        config = (
            await connection.execute(
                select(installations.c.config).where(installations.c.id == bench.installation.id)
            )
        ).scalar_one()
        await connection.execute(
            update(installations)
            .where(installations.c.id == bench.installation.id)
            .values(config={**config, "trigger_events": ["ORDER_SHIPPED"]})
        )
    order = bench.paid_order()
    await bench.event(order)

    result = await bench.attempt()

    assert result.status is JobStatus.NEEDS_ATTENTION
    assert (result.action, result.outcome) == ("read_config", "invalid")
    assert result.message == (
        "The shop configuration is invalid: trigger_events[0]: 'ORDER_SHIPPED' is not allowed; "
        "use one of ORDER_CREATED, ORDER_CONFIRMED, ORDER_FULLY_PAID"
    )
    assert bench.saleor.state.requests == Counter()
    assert bench.gordon_calls() == []


async def test_a_job_of_an_uninstalled_shop_is_skipped(bench: Bench) -> None:
    # given a job claimed without its shop (a lease taken over), and the shop uninstalled the
    # app before the attempt read it (a claim that reads the shop with the job reads it as the
    # attempt's own read did: an uninstall after it is after the read)
    order = bench.paid_order()
    await bench.event(order)
    claimed = await bench.claim()
    assert claimed is not None
    job = dataclasses.replace(claimed, shop_row=None)
    assert await bench.runtime.installations.delete_installation(bench.installation.id)

    result = await run_attempt(bench.services, job)

    assert result.status is JobStatus.SKIPPED
    assert (result.action, result.outcome, result.message) == (
        "read_config",
        "uninstalled",
        "App uninstalled.",
    )
    assert result.settled
    assert bench.saleor.state.requests == Counter()
    assert bench.gordon_calls() == []


async def test_services_of_a_process_follow_its_settings(bench: Bench) -> None:
    bench.runtime.settings = bench.runtime.settings.model_copy(
        update={"retry_first_delay_seconds": 7.0, "retry_max_delay_seconds": 99.0}
    )  # not the defaults, so each is seen to be read

    services = JobServices.from_runtime(bench.runtime)

    assert services.runtime is bench.runtime
    assert services.retry_policy == RetryPolicy(first_delay=7.0, max_delay=99.0, max_age=MAX_AGE)
    assert isinstance(services.rate_limiter, DatabaseRateLimiter)  # shared through the database
    await services.rate_limiter.acquire("account")  # on the runtime's own database


# --- what operators see: logs, metrics, the exact backoff and timeout ----------------------------


def _write_backs(outcome: str) -> float:
    return REGISTRY.get_sample_value("saleor_gordon_write_backs_total", {"outcome": outcome}) or 0.0


def _retries() -> float:
    return REGISTRY.get_sample_value("saleor_gordon_job_retries_total") or 0.0


def _messages(caplog: pytest.LogCaptureFixture, prefix: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith(prefix)]


async def test_a_push_is_logged_and_its_write_back_counted(
    bench: Bench, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="saleor_gordon")
    written, failed, retries = _write_backs("written"), _write_backs("failed"), _retries()
    order = bench.paid_order()

    result = await _synced(bench, order)

    job, number = bench.claimed[-1], order["number"]
    assert result.history[0].message == result.message  # the push's own entry says what happened
    assert _retries() == retries  # nothing to retry
    assert _messages(caplog, "gordon.pushed") == [
        f"gordon.pushed job_id={job.id} order_number={number} tracking_id={tracking_id_for(number)}"
    ]
    assert (_write_backs("written"), _write_backs("failed")) == (written + 1, failed)


async def test_a_withdrawal_is_logged(bench: Bench, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="saleor_gordon")
    order = bench.paid_order()
    await _synced(bench, order)

    await _cancel(bench, order)

    job = bench.claimed[-1]
    assert _messages(caplog, "gordon.withdrawn") == [
        f"gordon.withdrawn job_id={job.id} order_number={order['number']}"
    ]


async def test_a_refusal_is_logged(bench: Bench, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="saleor_gordon")
    await bench.configure(delivery_groups=[{"deliverygroup": "Gordon Nowhere"}])
    order = bench.paid_order()
    await bench.event(order)

    await bench.attempt()

    assert _messages(caplog, "gordon.rejected") == [
        f"gordon.rejected job_id={bench.claimed[-1].id} action=push"
    ]


async def test_a_revoked_token_during_write_back_is_logged(
    bench: Bench, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="saleor_gordon")
    order = bench.paid_order()
    await bench.event(order)
    bench.outbound.on_operation(
        "WriteOrderMetadata", lambda request: bench.saleor.state.revoke_all_tokens()
    )

    await bench.attempt()

    assert _messages(caplog, "installation.revoked") == [
        f"installation.revoked installation_id={bench.installation.id}"
    ]


async def test_a_failed_write_back_is_counted_says_why_and_uses_the_jitter(bench: Bench) -> None:
    # given jitter drawn at its low end (the bench's default 0.5 is the middle: no jitter)
    bench.services.random = lambda: 0.0
    written, failed = _write_backs("written"), _write_backs("failed")
    order = bench.paid_order()
    await bench.event(order)
    bench.outbound.on_operation("WriteOrderMetadata", unavailable())

    result = await bench.attempt()

    delay = bench.services.retry_policy.backoff(1, random=0.0)
    assert delay == FIRST_DELAY * 0.75
    assert result.next_attempt_at == bench.clock() + timedelta(seconds=delay)
    assert result.history[1].message == (
        f"Saleor answered HTTP 503 (WriteOrderMetadata at {bench.saleor.api_url})."
    )
    assert (_write_backs("written"), _write_backs("failed")) == (written, failed + 1)


async def test_a_gordon_failure_uses_the_jitter_and_counts_a_retry(bench: Bench) -> None:
    bench.services.random = lambda: 0.0
    bench.gordon.state.script_faults([503])
    order = bench.paid_order()
    await bench.event(order)
    retries = _retries()

    result = await bench.attempt()

    assert result.status is JobStatus.RETRYING
    assert _retries() == retries + 1
    assert result.next_attempt_at == bench.clock() + timedelta(seconds=FIRST_DELAY * 0.75)


async def test_gordon_is_given_up_on_after_the_configured_timeout(bench: Bench) -> None:
    # given a Gordon that does not answer for 2 s, and a timeout of half a second
    bench.runtime.settings = bench.runtime.settings.model_copy(
        update={"gordon_timeout_seconds": 0.5}
    )
    bench.gordon.state.script_faults(["timeout"])
    order = bench.paid_order()
    await bench.event(order)

    result = await bench.attempt()

    assert (result.status, result.outcome) == (JobStatus.RETRYING, "retryable")
    assert (
        result.message
        == "Gordon is unavailable (Gordon could not be reached or did not answer within 0.5 s)."
    )


async def test_a_check_writes_back_the_pushed_reference_and_time_when_they_were_removed(
    bench: Bench,
) -> None:
    # given a synced order whose private metadata someone removed, an hour later
    order = bench.paid_order()
    pushed = await _synced(bench, order)
    stored = bench.saleor.state.order(order["id"])
    stored["privateMetadata"] = [
        item for item in stored["privateMetadata"] if item["key"] == "gordon.status"
    ]
    bench.clock.advance(3600)

    # when the order is looked at again
    await bench.event(order, "ORDER_UPDATED")
    result = await bench.attempt()

    # then it is not pushed again, and the reference and push time are written back as they were
    assert (result.action, result.outcome) == ("check", "settled")
    assert bench.private_metadata(order) == {
        "gordon.status": "synced",
        "gordon.external_ref": order["number"],
        "gordon.synced_at": pushed_at(pushed).isoformat(),
    }


async def test_a_revoked_token_when_reading_the_order_is_logged(
    bench: Bench, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="saleor_gordon")
    order = bench.paid_order()
    await bench.event(order)
    bench.saleor.state.revoke_all_tokens()

    await bench.attempt()

    assert _messages(caplog, "installation.revoked") == [
        f"installation.revoked installation_id={bench.installation.id}"
    ]


async def test_saleor_is_read_with_the_configured_timeout(bench: Bench) -> None:
    bench.runtime.settings = bench.runtime.settings.model_copy(
        update={"saleor_timeout_seconds": 4.5}
    )
    timeouts: list[object] = []

    def record(request: httpx.Request) -> None:
        timeouts.append(request.extensions["timeout"])

    bench.outbound.on_operation("OrderForGordon", record)
    order = bench.paid_order()
    await bench.event(order)

    await bench.attempt()

    assert timeouts == [{"connect": 4.5, "read": 4.5, "write": 4.5, "pool": 4.5}]
