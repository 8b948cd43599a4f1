"""The attempt's fulfillment step (``Attempt._fulfil``), one attempt at a time, over the Saleor fake
(``orderFulfill`` and ``orderFulfillmentUpdateTracking`` executed with Saleor's rules: lines,
quantities, stock, approval, the customer's e-mails) and the Gordon sandbox.

Each test says what the job records (status, outcome, history codes, the fulfillment record), what
Saleor holds afterwards (fulfillments, e-mails) and exactly which Saleor calls the attempt made
with which arguments (``SaleorWire`` records them between the app and the fake).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from saleor_gordon.core.job_status import JobStatus
from saleor_gordon.errors import SaleorTokenRevoked
from saleor_gordon.fakes.gordon_sandbox import tracking_id_for
from saleor_gordon.jobs.attempt import Attempt
from saleor_gordon.jobs.lifecycle import (
    FulfillmentFailed,
    FulfillmentRecord,
    Pushed,
    Transition,
    WithdrawalRecorded,
)
from saleor_gordon.store.installations import Installation
from tests.jobs.conftest import FIRST_DELAY, Bench, graphql_operation, history, pushed_copy
from tests.support.fixtures import unreachable_engine_like
from tests.support.saleor_fake import STAFF_ORDER_FULFILL, global_id

LINK_FORMAT = "https://track.example.com/t/{tracking_id}"
VASTBERGA = "V2FyZWhvdXNlOjE="  # the warehouse the recorded order's lines are allocated in
GORDON_ORDER_PATH = "/api/orders"

#: The English of the fulfillment records (``FulfillmentRecord.message``) these tests expect, in
#: one place: ``core/fulfillment.py``, ``core/fulfillment_outcomes.py`` and ``jobs/attempt.py``
#: word them. Templates take ``{error}`` (a Saleor failure's message).
RECORD_TEXT = {
    "done": "Gordon's tracking number is on the order's fulfillment.",
    "kept": "Kept the tracking number somebody else set on 1 fulfillment; Gordon's is not added.",
    "off": "Tracking numbers on fulfillments are off for this shop.",
    "awaiting": (
        "Gordon's tracking number is added to the order's fulfillment once it is fulfilled in "
        "Saleor."
    ),
    "waiting": "The fulfillment with Gordon's tracking number waits for approval in Saleor.",
    "not_paid": "The app fulfils the order in Saleor once it is fully paid.",
    "not_confirmed": "The app fulfils the order in Saleor once it is confirmed.",
    "closed": "The order is cancelled in Saleor: the app leaves its fulfillments alone.",
    "not_enough_stock": (
        "Saleor has not enough stock of Frukostkasse (Standard) in Lager Västberga to fulfil the "
        "order: add stock in Saleor (the app tries again), or fulfil the order yourself and the "
        "app adds the tracking number."
    ),
    "saleor_not_paid": (
        "Saleor fulfils only paid orders in this shop: the app fulfils the order once it is "
        "fully paid."
    ),
    "saleor_refused": "Saleor refused to fulfil the order ({error}).",
    "failed": "Fulfilling in Saleor failed: {error}",
    "kept_changing": (
        "Saleor's order kept changing while the app fulfilled it; the app tries again."
    ),
}


# --- the wire between the app and Saleor --------------------------------------------------------

Action = Callable[[], Awaitable[httpx.Response | None]]


@dataclass
class SaleorWire(httpx.AsyncBaseTransport):
    """The app's transport to the Saleor fake (and the Gordon sandbox, passed through): records
    each GraphQL request as (operation, variables), runs a test's action just before the next
    request for an operation (a person acts in Saleor meanwhile, or Saleor answers in place of
    the fake), and may change the fake's answer to one (an answer the app cannot read)."""

    inner: httpx.AsyncBaseTransport
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    actions: list[tuple[str, Action]] = field(default_factory=list)
    rewrites: list[tuple[str, Callable[[dict[str, Any]], None]]] = field(default_factory=list)

    def before(self, operation: str, action: Action) -> None:
        self.actions.append((operation, action))

    def rewrite(self, operation: str, change: Callable[[dict[str, Any]], None]) -> None:
        self.rewrites.append((operation, change))

    def operations(self) -> list[str]:
        return [operation for operation, _ in self.calls]

    def variables(self, operation: str) -> list[dict[str, Any]]:
        return [variables for name, variables in self.calls if name == operation]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        operation = graphql_operation(request)
        if operation is None:
            return await self.inner.handle_async_request(request)
        self.calls.append((operation, json.loads(request.content).get("variables") or {}))
        for index, (name, action) in enumerate(self.actions):
            if name == operation:
                del self.actions[index]
                answer = await action()
                if answer is not None:
                    return answer
                break
        response = await self.inner.handle_async_request(request)
        for index, (name, change) in enumerate(self.rewrites):
            if name == operation:
                del self.rewrites[index]
                body = json.loads(await response.aread())
                change(body)
                return httpx.Response(response.status_code, json=body)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture
def wire(bench: Bench) -> SaleorWire:
    wire = SaleorWire(bench.outbound.inner)
    bench.outbound.inner = wire
    return wire


# --- helpers ------------------------------------------------------------------------------------

METADATA_WRITES = ["WriteOrderMetadata"]


def fulfillments(bench: Bench, order: dict[str, Any]) -> list[tuple[str, str]]:
    """(status, tracking number) of the order's fulfillments in Saleor."""
    stored = bench.saleor.state.order(order["id"]).get("fulfillments") or []
    return [(f["status"], f["trackingNumber"]) for f in stored]


def emails(bench: Bench, order: dict[str, Any]) -> list[tuple[str, str]]:
    """(kind, tracking number) of the e-mails Saleor sent the customer about the order."""
    return [
        (n.kind, n.tracking_number)
        for n in bench.saleor.state.notifications
        if n.order_id == order["id"]
    ]


def fulfil_entries(result: Transition) -> list[tuple[str, str, dict[str, Any]]]:
    """(outcome, code, params) of the history's fulfillment entries."""
    return [
        (entry.outcome, entry.message.code, dict(entry.message.params))
        for entry in result.history
        if entry.action == "fulfill"
    ]


def record(state: str, text: str, **values: str) -> FulfillmentRecord:
    return FulfillmentRecord(state, RECORD_TEXT[text].format(**values))


def all_lines_from_vastberga(order: dict[str, Any]) -> list[dict[str, Any]]:
    """``orderFulfill``'s lines for the recorded order: each line from where it is allocated."""
    return [
        {"orderLineId": line["id"], "stocks": [{"warehouse": VASTBERGA, "quantity": q}]}
        for line, q in zip(order["lines"], (1, 2), strict=True)
    ]


def staff_fulfils(
    bench: Bench, order: dict[str, Any], *, tracking_number: str | None = None
) -> Action:
    """Staff fulfil the whole order on the Dashboard (no e-mail to the customer)."""

    async def act() -> None:
        answer = await bench.saleor.state.staff_fulfill(
            bench.runtime.http, order["id"], tracking_number=tracking_number, notify_customer=False
        )
        assert answer["errors"] == []

    return act


def staff_fulfils_one(bench: Bench, order: dict[str, Any], line: int) -> Action:
    """Staff fulfil one item of the order's ``line`` (no tracking number, no e-mail)."""

    async def act() -> None:
        lines = [{"orderLineId": order["lines"][line]["id"],
                  "stocks": [{"warehouse": VASTBERGA, "quantity": 1}]}]  # fmt: skip
        variables = {"order": order["id"], "input": {"lines": lines, "notifyCustomer": False}}
        data = await bench.saleor.state.staff_request(
            bench.runtime.http, STAFF_ORDER_FULFILL, variables
        )
        assert data["orderFulfill"]["errors"] == []

    return act


async def nothing() -> None:
    """An action that changes nothing (to act before a later request of the same operation)."""


def answer(status: int, body: dict[str, Any], **headers: str) -> Action:
    async def act() -> httpx.Response:
        return httpx.Response(status, json=body, headers=headers)

    return act


async def pushed_in_gordon(bench: Bench, order: dict[str, Any]) -> Transition:
    """The order reached Gordon (and nothing was there to fulfil yet, in ``add`` mode)."""
    await bench.event(order)
    result = await bench.attempt()
    assert result.status is JobStatus.SYNCED
    return result


def messages(caplog: pytest.LogCaptureFixture, prefix: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith(prefix)]


async def installation(bench: Bench) -> Installation:
    found = await bench.runtime.installations.get_installation_by_id(bench.installation.id)
    assert found is not None
    return found


# --- the modes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("notify", [True, False])
async def test_fulfill_mode_fulfils_the_order_from_its_warehouses_with_the_tracking_link(
    bench: Bench, wire: SaleorWire, notify: bool
) -> None:
    await bench.configure(
        tracking_on_fulfillment="fulfill", tracking_url=LINK_FORMAT, notify_customer=notify
    )
    order = bench.paid_order()
    await bench.event(order)

    result = await bench.attempt()

    link = LINK_FORMAT.format(tracking_id=tracking_id_for(order["number"]))
    # read, pushed, read again (Gordon took its time), fulfilled, told
    assert wire.operations() == [
        "OrderForGordon", "OrderForGordon", "FulfillOrder", *METADATA_WRITES
    ]  # fmt: skip
    assert wire.variables("FulfillOrder") == [{
        "order": order["id"],
        "input": {"lines": all_lines_from_vastberga(order), "trackingNumber": link,
                  "notifyCustomer": notify, "allowStockToBeExceeded": False},
    }]  # fmt: skip
    assert fulfillments(bench, order) == [("FULFILLED", link)]
    assert bench.saleor.state.order(order["id"])["status"] == "FULFILLED"
    assert emails(bench, order) == ([("fulfillment_confirmation", link)] if notify else [])
    assert result.status is JobStatus.SYNCED
    assert (result.action, result.outcome) == ("push", "accepted")
    assert result.settled
    assert history(result) == [("push", "accepted"), ("fulfill", "done"), ("write_back", "written")]
    assert fulfil_entries(result) == [
        ("done", "job.fulfilled_in_saleor", {"tracking_number": link})
    ]
    assert (
        result.history[1].message == f"Fulfilled the order in Saleor with tracking number {link}."
    )
    assert result.fulfillment == record("done", "done")
    job = await bench.job(order)
    assert (job.fulfillment_state, job.fulfillment_message) == ("done", RECORD_TEXT["done"])
    assert bench.metadata(order)["gordon.tracking_url"] == link


async def test_fulfill_mode_with_approval_required_leaves_the_fulfillment_waiting(
    bench: Bench, wire: SaleorWire
) -> None:
    await bench.configure(tracking_on_fulfillment="fulfill")
    bench.saleor.state.fulfillment_auto_approve = False
    order = bench.paid_order()
    await bench.event(order)

    result = await bench.attempt()

    tracking_id = tracking_id_for(order["number"])
    assert fulfillments(bench, order) == [("WAITING_FOR_APPROVAL", tracking_id)]
    assert emails(bench, order) == []  # Saleor e-mails the customer when staff approve
    assert result.status is JobStatus.SYNCED
    assert fulfil_entries(result) == [
        ("waiting_for_approval", "job.fulfilled_waiting_approval", {"tracking_number": tracking_id})
    ]
    assert result.history[1].message == (
        f"Fulfilled the order in Saleor with tracking number {tracking_id} (waiting for approval "
        "in Saleor)."
    )
    assert result.fulfillment == record("waiting_for_approval", "waiting")
    assert wire.operations().count("FulfillOrder") == 1


async def test_off_mode_leaves_a_fulfillment_without_a_number_alone(
    bench: Bench, wire: SaleorWire
) -> None:
    await bench.configure(tracking_on_fulfillment="off")
    order = bench.paid_order()
    await staff_fulfils(bench, order)()
    await bench.event(order)

    result = await bench.attempt()

    assert wire.operations() == ["OrderForGordon", *METADATA_WRITES]
    assert fulfillments(bench, order) == [("FULFILLED", "")]
    assert result.status is JobStatus.SYNCED
    assert history(result) == [("push", "accepted"), ("write_back", "written")]
    assert result.fulfillment == record("off", "off")


async def test_add_mode_without_a_fulfillment_waits_for_one(bench: Bench, wire: SaleorWire) -> None:
    order = bench.paid_order()
    await bench.event(order)

    result = await bench.attempt()

    assert wire.operations() == ["OrderForGordon", *METADATA_WRITES]  # no second read
    assert fulfillments(bench, order) == []
    assert result.status is JobStatus.SYNCED
    assert history(result) == [("push", "accepted"), ("write_back", "written")]
    assert result.fulfillment == record("awaiting_fulfillment", "awaiting")
    job = await bench.job(order)
    assert (job.fulfillment_state, job.fulfillment_message) == (
        "awaiting_fulfillment",
        RECORD_TEXT["awaiting"],
    )


@pytest.mark.parametrize("notify", [True, False])
async def test_add_mode_sets_the_number_on_a_fulfillment_staff_made_before_the_push(
    bench: Bench, wire: SaleorWire, notify: bool
) -> None:
    await bench.configure(notify_customer=notify)
    order = bench.paid_order()
    await staff_fulfils(bench, order)()
    [staff_fulfillment] = bench.saleor.state.order(order["id"])["fulfillments"]
    await bench.event(order)

    result = await bench.attempt()

    tracking_id = tracking_id_for(order["number"])
    assert wire.operations() == [
        "OrderForGordon", "OrderForGordon", "UpdateFulfillmentTracking", *METADATA_WRITES
    ]  # fmt: skip
    assert wire.variables("UpdateFulfillmentTracking") == [{
        "id": staff_fulfillment["id"],
        "input": {"trackingNumber": tracking_id, "notifyCustomer": notify},
    }]  # fmt: skip
    assert fulfillments(bench, order) == [("FULFILLED", tracking_id)]
    assert emails(bench, order) == ([("fulfillment_update", tracking_id)] if notify else [])
    assert result.status is JobStatus.SYNCED
    assert history(result) == [("push", "accepted"), ("fulfill", "done"), ("write_back", "written")]
    assert fulfil_entries(result) == [
        ("done", "job.tracking_set", {"tracking_number": tracking_id})
    ]
    assert result.history[1].message == (
        f"Set tracking number {tracking_id} on the order's fulfillment."
    )
    assert result.fulfillment == record("done", "done")


async def test_add_mode_sets_the_number_once_staff_fulfil_after_gordon_has_the_order(
    bench: Bench, wire: SaleorWire
) -> None:
    await bench.configure(tracking_url=LINK_FORMAT)
    order = bench.paid_order()
    await pushed_in_gordon(bench, order)
    gordon_calls = bench.gordon_calls()
    await staff_fulfils(bench, order)()
    wire.calls.clear()

    # when Saleor tells the app about the fulfillment
    await bench.event(order, "FULFILLMENT_CREATED")
    result = await bench.attempt()

    link = LINK_FORMAT.format(tracking_id=tracking_id_for(order["number"]))
    # Gordon is not asked again; the order just read is the one to decide from
    assert bench.gordon_calls() == gordon_calls
    assert wire.operations() == ["OrderForGordon", "UpdateFulfillmentTracking"]
    [update] = wire.variables("UpdateFulfillmentTracking")
    assert update["input"] == {"trackingNumber": link, "notifyCustomer": True}
    assert fulfillments(bench, order) == [("FULFILLED", link)]
    assert emails(bench, order) == [("fulfillment_update", link)]
    assert result.status is JobStatus.SYNCED
    # what it did; Gordon's acceptance stays the job's message (lifecycle.unnoticed)
    assert history(result) == [("fulfill", "done")]
    assert result.keeps_last_message
    assert fulfil_entries(result) == [("done", "job.tracking_set", {"tracking_number": link})]
    assert result.fulfillment == record("done", "done")


async def test_add_mode_keeps_a_tracking_number_staff_set(bench: Bench, wire: SaleorWire) -> None:
    order = bench.paid_order()
    await staff_fulfils(bench, order, tracking_number="DHL-123456")()
    await bench.event(order)

    result = await bench.attempt()

    assert wire.operations() == ["OrderForGordon", *METADATA_WRITES]
    assert fulfillments(bench, order) == [("FULFILLED", "DHL-123456")]
    assert history(result) == [("push", "accepted"), ("write_back", "written")]
    assert result.fulfillment == record("done", "kept")


# --- orders the app does not fulfil -------------------------------------------------------------


async def test_an_unpaid_order_in_gordon_is_not_fulfilled(bench: Bench, wire: SaleorWire) -> None:
    # given a shop that sends orders when they are created, and fulfils them
    await bench.configure(tracking_on_fulfillment="fulfill", trigger_events=["ORDER_CREATED"])
    order = bench.paid_order(isPaid=False, chargeStatus="NONE")
    await bench.event(order, "ORDER_CREATED")

    result = await bench.attempt()

    assert list(bench.gordon.state.orders) == [order["number"]]
    assert wire.operations() == ["OrderForGordon", *METADATA_WRITES]
    assert fulfillments(bench, order) == []
    assert result.status is JobStatus.SYNCED
    assert result.fulfillment == record("blocked", "not_paid")


async def test_an_order_cancelled_while_gordon_answers_is_not_fulfilled(
    bench: Bench, wire: SaleorWire
) -> None:
    await bench.configure(tracking_on_fulfillment="fulfill")
    order = bench.paid_order()
    await bench.event(order)

    def cancel(request: httpx.Request) -> None:
        bench.saleor.state.update_order(order["id"], status="CANCELED")

    bench.outbound.on(lambda r: r.url.path.startswith(GORDON_ORDER_PATH), cancel)

    result = await bench.attempt()

    # the order is read again after Gordon's answer, and found cancelled
    assert wire.operations() == ["OrderForGordon", "OrderForGordon", *METADATA_WRITES]
    assert fulfillments(bench, order) == []
    assert result.status is JobStatus.SYNCED  # the cancellation's own event withdraws it
    assert history(result) == [("push", "accepted"), ("write_back", "written")]
    assert result.fulfillment == record("order_closed", "closed")


async def test_an_unconfirmed_order_in_gordon_is_not_fulfilled(
    bench: Bench, wire: SaleorWire
) -> None:
    await bench.configure(tracking_on_fulfillment="fulfill")
    order = bench.paid_order(status="UNCONFIRMED")
    await bench.event(order)

    result = await bench.attempt()

    assert list(bench.gordon.state.orders) == [order["number"]]
    assert wire.operations() == ["OrderForGordon", *METADATA_WRITES]
    assert fulfillments(bench, order) == []
    assert result.status is JobStatus.SYNCED
    assert result.fulfillment == record("blocked", "not_confirmed")


async def test_an_order_gordon_does_not_take_gets_no_fulfillment_step(
    bench: Bench, wire: SaleorWire
) -> None:
    await bench.configure(tracking_on_fulfillment="fulfill")
    order = bench.paid_order(status="DRAFT")
    await bench.event(order)

    result = await bench.attempt()

    assert wire.operations() == ["OrderForGordon"]
    assert result.status is JobStatus.SKIPPED
    assert result.fulfillment is None
    assert fulfillments(bench, order) == []


# --- Saleor refuses -----------------------------------------------------------------------------


async def test_an_order_staff_fulfilled_meanwhile_is_read_again_and_gets_the_number(
    bench: Bench, wire: SaleorWire
) -> None:
    await bench.configure(tracking_on_fulfillment="fulfill")
    order = bench.paid_order()
    await bench.event(order)
    # staff fulfil the order between the app's second read and its orderFulfill
    wire.before("FulfillOrder", staff_fulfils(bench, order))

    result = await bench.attempt()

    tracking_id = tracking_id_for(order["number"])
    assert wire.operations() == [
        "OrderForGordon", "OrderForGordon", "FulfillOrder",  # refused: FULFILL_ORDER_LINE
        "OrderForGordon", "UpdateFulfillmentTracking", *METADATA_WRITES,
    ]  # fmt: skip
    assert fulfillments(bench, order) == [("FULFILLED", tracking_id)]
    assert result.status is JobStatus.SYNCED
    assert history(result) == [("push", "accepted"), ("fulfill", "done"), ("write_back", "written")]
    assert fulfil_entries(result) == [
        ("done", "job.tracking_set", {"tracking_number": tracking_id})
    ]
    assert result.fulfillment == record("done", "done")


def deletes(bench: Bench, order: dict[str, Any]) -> Action:
    """The order is deleted in Saleor (no webhook says so)."""

    async def act() -> None:
        bench.saleor.state.delete_order(order["id"])

    return act


def withdrawn_as_deleted(bench: Bench, order: dict[str, Any], result: Transition) -> None:
    """``result`` withdrew the deleted order from Gordon: the job is cancelled and settled with
    its coded message, Gordon no longer has the order, and nothing was written to Saleor."""
    number = order["number"]
    assert (result.status, result.next_attempt_at) == (JobStatus.CANCELLED, None)
    assert (result.action, result.outcome) == ("withdraw", "accepted")
    assert result.message == "Withdrawn from Gordon: the order was deleted in Saleor."
    assert (result.message.code, result.message.params) == (
        "job.withdrawn.deleted",
        {"ref": number},
    )
    assert result.gordon == WithdrawalRecorded(number, at=bench.clock())
    assert bench.gordon_calls(number)[-1] == ("DELETE", f"/api/orders/{number}", 200)
    assert number not in bench.gordon.state.orders


async def test_an_order_deleted_before_the_fulfilment_is_withdrawn_from_gordon(
    bench: Bench, wire: SaleorWire
) -> None:
    await bench.configure(tracking_on_fulfillment="fulfill")
    order = bench.paid_order()
    await bench.event(order)
    wire.before("FulfillOrder", deletes(bench, order))  # NOT_FOUND: read again, and it is gone

    result = await bench.attempt()

    # no write-back: the order is gone
    assert wire.operations() == [
        "OrderForGordon", "OrderForGordon", "FulfillOrder", "OrderForGordon"
    ]  # fmt: skip
    withdrawn_as_deleted(bench, order, result)
    assert history(result) == [("withdraw", "accepted")]
    assert await bench.claim() is None  # settled: never retried


async def test_an_order_deleted_while_gordon_answers_is_withdrawn_from_gordon(
    bench: Bench, wire: SaleorWire
) -> None:
    """The read after Gordon's acceptance answers ``order: null``."""
    await bench.configure(tracking_on_fulfillment="fulfill")
    order = bench.paid_order()
    await bench.event(order)
    wire.before("OrderForGordon", nothing)
    wire.before("OrderForGordon", deletes(bench, order))

    result = await bench.attempt()

    assert wire.operations() == ["OrderForGordon", "OrderForGordon"]
    withdrawn_as_deleted(bench, order, result)
    assert bench.gordon_calls(order["number"])[0][0] == "PUT"
    assert await bench.claim() is None


async def test_an_order_deleted_before_its_status_is_written_is_withdrawn_at_the_next_attempt(
    bench: Bench, wire: SaleorWire
) -> None:
    """Gordon accepted; the write-back finds the order gone (``NOT_FOUND``): not retried as a
    write, the job is due after the backoff's delay (never at once: no loop against a Saleor) and
    that attempt withdraws it."""
    order = bench.paid_order()
    await bench.event(order)
    wire.before("WriteOrderMetadata", deletes(bench, order))

    first = await bench.attempt()

    assert first.status is JobStatus.RETRYING
    assert first.next_attempt_at == bench.clock() + timedelta(seconds=FIRST_DELAY)
    assert history(first) == [("push", "accepted"), ("write_back", "order_gone")]
    assert (first.message.code, first.message.params) == ("job.order_deleted_meanwhile", {})
    assert order["number"] in bench.gordon.state.orders
    wire.calls.clear()
    assert await bench.claim() is None  # not due yet
    bench.clock.advance(FIRST_DELAY)

    second = await bench.attempt()

    assert wire.operations() == ["OrderForGordon"]
    withdrawn_as_deleted(bench, order, second)
    assert await bench.claim() is None
    job = await bench.job(order)
    assert (job.status, job.attempts) == ("cancelled", 2)


async def test_not_enough_stock_is_retried_on_its_own_until_stock_arrives(
    bench: Bench, wire: SaleorWire, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="saleor_gordon")
    await bench.configure(tracking_on_fulfillment="fulfill")
    order = bench.paid_order()
    variant = order["lines"][1]["variant"]["id"]
    bench.saleor.state.set_stock(variant, VASTBERGA, 0)  # the stock went missing
    await bench.event(order)

    result = await bench.attempt()

    assert wire.operations() == [
        "OrderForGordon", "OrderForGordon", "FulfillOrder", *METADATA_WRITES
    ]  # fmt: skip
    assert fulfillments(bench, order) == []
    assert result.status is JobStatus.RETRYING
    assert result.next_attempt_at == bench.clock() + timedelta(seconds=FIRST_DELAY)
    assert (result.action, result.outcome) == ("fulfill", "failed")
    assert result.fulfillment == record("blocked", "not_enough_stock")
    number = order["number"]
    accepted = f"Gordon accepted order {number} (tracking ID {tracking_id_for(number)})."
    assert result.message == f"{accepted} {RECORD_TEXT['not_enough_stock']}"
    assert result.message.code == "job.fulfillment_failed"
    assert history(result) == [
        ("push", "accepted"),
        ("fulfill", "failed"),
        ("write_back", "written"),
    ]
    assert result.history[1].message.code == "job.retrying"
    assert pushed_copy(result).tracking_id == tracking_id_for(number)
    assert messages(caplog, "saleor.fulfillment_refused") == [
        f"saleor.fulfillment_refused job_id={bench.claimed[-1].id} refusal=not_enough_stock"
    ]

    # when stock arrives, the retry fulfils without asking Gordon again
    bench.saleor.state.set_stock(variant, VASTBERGA, 10)
    gordon_calls = bench.gordon_calls()
    wire.calls.clear()
    bench.clock.advance(FIRST_DELAY)
    again = await bench.attempt()

    assert bench.gordon_calls() == gordon_calls
    assert wire.operations()[:2] == ["OrderForGordon", "FulfillOrder"]
    assert fulfillments(bench, order) == [("FULFILLED", tracking_id_for(number))]
    assert again.status is JobStatus.SYNCED
    assert again.fulfillment == record("done", "done")


async def test_a_refund_before_the_fulfilment_waits_for_the_next_payment(
    bench: Bench, wire: SaleorWire
) -> None:
    # given a Saleor that fulfils only paid orders
    await bench.configure(tracking_on_fulfillment="fulfill")
    bench.saleor.state.fulfillment_allow_unpaid = False
    order = bench.paid_order()
    await bench.event(order)

    async def refund() -> None:
        bench.saleor.state.update_order(order["id"], isPaid=False, chargeStatus="NONE")

    wire.before("FulfillOrder", refund)  # refused: CANNOT_FULFILL_UNPAID_ORDER

    result = await bench.attempt()

    assert wire.operations() == [
        "OrderForGordon", "OrderForGordon", "FulfillOrder", *METADATA_WRITES
    ]  # fmt: skip
    assert fulfillments(bench, order) == []
    assert result.status is JobStatus.SYNCED  # the payment's event brings the job back
    assert result.settled
    assert history(result) == [("push", "accepted"), ("write_back", "written")]
    assert result.fulfillment == record("blocked", "saleor_not_paid")


async def test_what_was_done_before_saleor_refused_an_unpaid_order_stays_in_the_history(
    bench: Bench, wire: SaleorWire
) -> None:
    # given a Saleor that fulfils only paid orders, and an order whose second line has no stock
    # allocated (so the app cannot fulfil it) and whose first line staff fulfilled without a number
    await bench.configure(tracking_on_fulfillment="fulfill")
    bench.saleor.state.fulfillment_allow_unpaid = False
    order = bench.paid_order()
    live = bench.saleor.state.order(order["id"])
    allocation = live["lines"][1]["allocations"].pop()
    await staff_fulfils_one(bench, order, 0)()
    await bench.event(order)

    # the stock is allocated while the app sets the number, and the order refunded before the
    # app fulfils the second line
    async def allocate() -> None:
        live["lines"][1]["allocations"].append(allocation)

    async def refund() -> None:
        bench.saleor.state.update_order(order["id"], isPaid=False, chargeStatus="NONE")

    wire.before("UpdateFulfillmentTracking", allocate)
    wire.before("FulfillOrder", refund)

    result = await bench.attempt()

    tracking_id = tracking_id_for(order["number"])
    assert wire.operations() == [
        "OrderForGordon", "OrderForGordon", "UpdateFulfillmentTracking", "FulfillOrder",
        *METADATA_WRITES,
    ]  # fmt: skip
    assert fulfillments(bench, order) == [("FULFILLED", tracking_id)]
    assert result.status is JobStatus.SYNCED
    assert history(result) == [
        ("push", "accepted"), ("fulfill", "blocked"), ("write_back", "written")
    ]  # fmt: skip
    assert fulfil_entries(result) == [
        ("blocked", "job.tracking_set", {"tracking_number": tracking_id})
    ]
    assert result.fulfillment == record("blocked", "saleor_not_paid")


async def test_a_request_saleor_refuses_as_wrong_needs_a_person(
    bench: Bench, wire: SaleorWire
) -> None:
    await bench.configure(tracking_on_fulfillment="fulfill")
    order = bench.paid_order()
    # the line's two items are allocated in the same warehouse twice: Saleor refuses the input
    line = bench.saleor.state.order(order["id"])["lines"][1]
    warehouse = line["allocations"][0]["warehouse"]
    line["allocations"] = [
        {"id": global_id("Allocation", "901"), "quantity": 1, "warehouse": warehouse},
        {"id": global_id("Allocation", "902"), "quantity": 1, "warehouse": warehouse},
    ]
    await bench.event(order)

    result = await bench.attempt()

    assert wire.operations() == [
        "OrderForGordon", "OrderForGordon", "FulfillOrder", *METADATA_WRITES
    ]  # fmt: skip
    assert fulfillments(bench, order) == []
    assert result.status is JobStatus.NEEDS_ATTENTION
    assert result.next_attempt_at is None
    assert (result.action, result.outcome) == ("fulfill", "refused")
    error = "DUPLICATED_INPUT_ITEM: Duplicated warehouse ID."
    assert result.fulfillment == record("blocked", "saleor_refused", error=error)
    assert history(result) == [
        ("push", "accepted"),
        ("fulfill", "refused"),
        ("write_back", "written"),
    ]
    assert result.history[1].message.code == "job.fulfillment_problem"
    assert pushed_copy(result).tracking_id == tracking_id_for(order["number"])


# --- Saleor fails -------------------------------------------------------------------------------


async def test_saleor_unavailable_while_fulfilling_retries_as_it_asks(
    bench: Bench, wire: SaleorWire
) -> None:
    await bench.configure(tracking_on_fulfillment="fulfill")
    order = bench.paid_order()
    await bench.event(order)
    wire.before("FulfillOrder", answer(503, {"error": "unavailable"}, **{"Retry-After": "90"}))

    result = await bench.attempt()

    error = f"Saleor answered HTTP 503 (FulfillOrder at {bench.saleor.api_url})."
    assert result.status is JobStatus.RETRYING
    assert result.next_attempt_at == bench.clock() + timedelta(seconds=90)
    assert (result.action, result.outcome) == ("fulfill", "failed")
    assert result.fulfillment == record("to_do", "failed", error=error)
    assert pushed_copy(result).tracking_id == tracking_id_for(order["number"])
    assert fulfillments(bench, order) == []


async def test_a_graphql_error_while_fulfilling_needs_a_person(
    bench: Bench, wire: SaleorWire
) -> None:
    await bench.configure(tracking_on_fulfillment="fulfill")
    order = bench.paid_order()
    await bench.event(order)
    # what Saleor answers (DEBUG off) when the mutation fails inside
    internal = {"data": {"orderFulfill": None}, "errors": [{"message": "Internal Server Error"}]}
    wire.before("FulfillOrder", answer(200, internal))

    result = await bench.attempt()

    error = "Saleor refused FulfillOrder: Internal Server Error"
    assert result.status is JobStatus.NEEDS_ATTENTION
    assert (result.action, result.outcome) == ("fulfill", "refused")
    assert result.fulfillment == record("blocked", "failed", error=error)
    assert wire.operations() == [
        "OrderForGordon", "OrderForGordon", "FulfillOrder", *METADATA_WRITES
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("failure", "status", "outcome", "state"),
    [
        ("unavailable", JobStatus.RETRYING, "failed", "to_do"),
        ("graphql_error", JobStatus.NEEDS_ATTENTION, "refused", "blocked"),
    ],
)
async def test_what_was_done_before_saleor_failed_stays_in_the_history(
    bench: Bench, wire: SaleorWire, failure: str, status: JobStatus, outcome: str, state: str
) -> None:
    await bench.configure(tracking_on_fulfillment="fulfill")
    order = bench.paid_order()
    await staff_fulfils_one(bench, order, 0)()  # staff's fulfillment without a number
    await bench.event(order)
    # the app fulfils the rest, then Saleor fails the tracking update
    if failure == "unavailable":
        wire.before("UpdateFulfillmentTracking", answer(503, {"error": "unavailable"}))
    else:
        internal = {"data": None, "errors": [{"message": "Internal Server Error"}]}
        wire.before("UpdateFulfillmentTracking", answer(200, internal))

    result = await bench.attempt()

    tracking_id = tracking_id_for(order["number"])
    assert fulfillments(bench, order) == [("FULFILLED", ""), ("FULFILLED", tracking_id)]
    assert result.status is status
    assert (result.action, result.outcome) == ("fulfill", outcome)
    assert history(result) == [
        ("push", "accepted"), ("fulfill", state), ("fulfill", outcome), ("write_back", "written")
    ]  # fmt: skip
    assert fulfil_entries(result)[0] == (
        state,
        "job.fulfilled_in_saleor",
        {"tracking_number": tracking_id},
    )
    assert result.fulfillment is not None
    assert result.fulfillment.state == state


@pytest.mark.parametrize(
    ("refusal", "status", "outcome"),
    [("stock", JobStatus.RETRYING, "failed"), ("invalid", JobStatus.NEEDS_ATTENTION, "refused")],
)
async def test_what_was_done_before_saleor_refused_to_fulfil_stays_in_the_history(
    bench: Bench, wire: SaleorWire, refusal: str, status: JobStatus, outcome: str
) -> None:
    # an order whose second line has no stock allocated, and whose first line staff fulfilled
    # without a number: the app sets the number first
    await bench.configure(tracking_on_fulfillment="fulfill")
    order = bench.paid_order()
    live = bench.saleor.state.order(order["id"])
    allocation = live["lines"][1]["allocations"].pop()
    variant = live["lines"][1]["variant"]["id"]
    await staff_fulfils_one(bench, order, 0)()
    await bench.event(order)

    async def allocate() -> None:  # meanwhile the second line gets its stock allocated
        if refusal == "stock":
            live["lines"][1]["allocations"].append(allocation)
            bench.saleor.state.set_stock(variant, VASTBERGA, 0)  # and the stock goes missing
        else:  # allocated twice in one warehouse: Saleor refuses the app's input
            one = {**allocation, "quantity": 1}
            live["lines"][1]["allocations"].extend(
                [one, {**one, "id": global_id("Allocation", "903")}]
            )

    wire.before("UpdateFulfillmentTracking", allocate)

    result = await bench.attempt()

    tracking_id = tracking_id_for(order["number"])
    assert wire.operations() == [
        "OrderForGordon", "OrderForGordon", "UpdateFulfillmentTracking", "FulfillOrder",
        *METADATA_WRITES,
    ]  # fmt: skip
    assert fulfillments(bench, order) == [("FULFILLED", tracking_id)]
    assert result.status is status
    assert (result.action, result.outcome) == ("fulfill", outcome)
    assert history(result) == [
        ("push", "accepted"), ("fulfill", "blocked"), ("fulfill", outcome),
        ("write_back", "written"),
    ]  # fmt: skip
    assert fulfil_entries(result)[0] == (
        "blocked",
        "job.tracking_set",
        {"tracking_number": tracking_id},
    )


async def test_token_revoked_midway_says_what_was_done_and_stops_the_shop(
    bench: Bench, wire: SaleorWire, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="saleor_gordon")
    await bench.configure(tracking_on_fulfillment="fulfill")
    order = bench.paid_order()
    # staff fulfilled the first line and one of the second's two items, each without a number
    await staff_fulfils_one(bench, order, 0)()
    await staff_fulfils_one(bench, order, 1)()
    staff = [f["id"] for f in bench.saleor.state.order(order["id"])["fulfillments"]]
    await bench.event(order)

    async def revoke() -> None:
        bench.saleor.state.revoke_all_tokens()

    # the app is removed after it fulfilled the rest and set the first number
    wire.before("UpdateFulfillmentTracking", nothing)
    wire.before("UpdateFulfillmentTracking", revoke)

    result = await bench.attempt()

    tracking_id = tracking_id_for(order["number"])
    assert wire.variables("FulfillOrder")[0]["input"]["lines"] == [
        {"orderLineId": order["lines"][1]["id"],
         "stocks": [{"warehouse": VASTBERGA, "quantity": 1}]},
    ]  # fmt: skip
    assert [v["id"] for v in wire.variables("UpdateFulfillmentTracking")] == staff
    assert fulfillments(bench, order) == [
        ("FULFILLED", tracking_id), ("FULFILLED", ""), ("FULFILLED", tracking_id)
    ]  # fmt: skip
    error = SaleorTokenRevoked().message
    assert result.fulfillment == record("to_do", "failed", error=error)
    assert (result.fulfillment.message.code, result.fulfillment.message.params) == (
        "fulfillment_reason.saleor_failed",
        {"detail": error},
    )
    # what the app did before the failure stays in the history, each with its code
    assert history(result) == [
        ("push", "accepted"), ("fulfill", "to_do"), ("fulfill", "to_do"), ("fulfill", "failed"),
        ("write_back", "failed"),
    ]  # fmt: skip
    assert fulfil_entries(result)[:2] == [
        ("to_do", "job.fulfilled_in_saleor", {"tracking_number": tracking_id}),
        ("to_do", "job.tracking_set", {"tracking_number": tracking_id}),
    ]
    assert result.status is JobStatus.RETRYING
    assert result.next_attempt_at == bench.clock()  # due again once the app is back
    assert (await installation(bench)).revoked_at == bench.clock()
    assert await bench.claim() is None
    job_id, number = bench.claimed[-1].id, order["number"]
    assert messages(caplog, "saleor.fulfilled") == [
        f"saleor.fulfilled job_id={job_id} order_number={number} fulfillments=1"
    ]
    assert messages(caplog, "saleor.tracking_set") == [
        f"saleor.tracking_set job_id={job_id} order_number={number}"
    ]
    assert (
        messages(caplog, "installation.revoked")
        == [f"installation.revoked installation_id={bench.installation.id}"] * 2
    )  # the fulfillment step, then the write-back

    # once installed again, the next attempt only sets the number still missing
    await bench.reinstall()
    wire.calls.clear()
    again = await bench.attempt()
    assert wire.operations()[:2] == ["OrderForGordon", "UpdateFulfillmentTracking"]
    assert fulfillments(bench, order) == [("FULFILLED", tracking_id)] * 3
    assert again.fulfillment == record("done", "done")
    assert again.status is JobStatus.SYNCED


async def test_the_attempt_says_the_token_was_revoked_while_fulfilling(
    bench: Bench, wire: SaleorWire
) -> None:
    # the typed outcome itself (the write-back that follows fails the same way, so the job's
    # transition alone would not show it)
    await bench.configure(tracking_on_fulfillment="fulfill")
    order = bench.paid_order()
    await bench.event(order)

    async def revoke() -> None:
        bench.saleor.state.revoke_all_tokens()

    wire.before("FulfillOrder", revoke)
    job = await bench.claim()
    assert job is not None

    outcome = await Attempt(bench.services, job).act()

    assert (await installation(bench)).revoked_at == bench.clock()  # by the step itself
    assert isinstance(outcome, FulfillmentFailed)
    assert outcome.token_revoked is True
    assert outcome.retry_after is None
    assert isinstance(outcome.done, Pushed)
    assert outcome.done.copy.tracking_id == tracking_id_for(order["number"])
    error = SaleorTokenRevoked().message
    assert outcome.fulfillment == record("to_do", "failed", error=error)


async def test_token_revoked_while_fulfilling_and_the_store_fails_still_gives_a_result(
    bench: Bench, wire: SaleorWire, tmp_path: Path
) -> None:
    await bench.configure(tracking_on_fulfillment="fulfill")
    order = bench.paid_order()
    await bench.event(order)
    engine = bench.runtime.engine
    unreachable = unreachable_engine_like("sqlite://", tmp_path)

    async def revoke_and_lose_the_store() -> None:
        bench.saleor.state.revoke_all_tokens()
        bench.runtime.engine = unreachable

    wire.before("FulfillOrder", revoke_and_lose_the_store)

    job, result = await bench.run()
    bench.runtime.engine = engine
    await unreachable.dispose()

    assert result.status is JobStatus.RETRYING
    assert result.next_attempt_at == bench.clock()
    assert result.fulfillment == record("to_do", "failed", error=SaleorTokenRevoked().message)
    assert (await installation(bench)).revoked_at is None  # the next read finds out again
    assert await bench.runtime.queue.finish_job(job, result, now=bench.clock())


# --- answers the app cannot read, and an order that keeps changing -------------------------------


@pytest.mark.parametrize("garbled", [None, {"id": "x", "lines": "not a list"}])
async def test_an_answer_whose_order_cannot_be_read_makes_the_app_read_the_order(
    bench: Bench, wire: SaleorWire, garbled: dict[str, Any] | None
) -> None:
    await bench.configure(tracking_on_fulfillment="fulfill")
    order = bench.paid_order()
    await bench.event(order)

    def garble(body: dict[str, Any]) -> None:
        body["data"]["orderFulfill"]["order"] = garbled

    wire.rewrite("FulfillOrder", garble)

    result = await bench.attempt()

    tracking_id = tracking_id_for(order["number"])
    assert wire.operations() == [
        "OrderForGordon", "OrderForGordon", "FulfillOrder", "OrderForGordon", *METADATA_WRITES
    ]  # fmt: skip
    assert fulfillments(bench, order) == [("FULFILLED", tracking_id)]
    assert result.status is JobStatus.SYNCED
    assert fulfil_entries(result) == [
        ("done", "job.fulfilled_in_saleor", {"tracking_number": tracking_id})
    ]
    assert result.fulfillment == record("done", "done")


async def test_an_order_that_cannot_be_read_again_needs_a_person(
    bench: Bench, wire: SaleorWire
) -> None:
    await bench.configure(tracking_on_fulfillment="fulfill")
    order = bench.paid_order()
    await bench.event(order)
    wire.calls.clear()

    def garble(body: dict[str, Any]) -> None:
        body["data"]["order"]["lines"] = "not a list"

    wire.rewrite("OrderForGordon", lambda body: None)  # the first read is as Saleor sent it
    wire.rewrite("OrderForGordon", garble)  # the read after Gordon's answer is not

    result = await bench.attempt()

    assert wire.operations() == ["OrderForGordon", "OrderForGordon", *METADATA_WRITES]
    assert result.status is JobStatus.NEEDS_ATTENTION
    assert result.fulfillment is not None
    assert result.fulfillment.state == "blocked"
    assert result.fulfillment.message.startswith(
        RECORD_TEXT["failed"].format(error="Saleor's order cannot be read: ")
    )
    assert "lines" in result.fulfillment.message
    assert fulfillments(bench, order) == []


async def test_an_order_that_keeps_changing_is_left_to_the_next_attempt(
    bench: Bench, wire: SaleorWire
) -> None:
    order = bench.paid_order()
    live = bench.saleor.state.order(order["id"])
    line = live["lines"][1]  # eight items, so that staff can fulfil one at a time
    line["quantity"] = 8
    line["allocations"][0]["quantity"] = 8
    bench.saleor.state.set_stock(line["variant"]["id"], VASTBERGA, 20)
    await staff_fulfils_one(bench, order, 1)()
    await bench.event(order)
    # staff fulfil another item before each of the app's tracking updates
    for _ in range(6):
        wire.before("UpdateFulfillmentTracking", staff_fulfils_one(bench, order, 1))

    result = await bench.attempt()

    tracking_id = tracking_id_for(order["number"])
    # read, read again after Gordon's answer, then three rounds of setting a number each
    updates = ["UpdateFulfillmentTracking"] * 3
    assert wire.operations() == ["OrderForGordon", "OrderForGordon", *updates, *METADATA_WRITES]
    assert fulfillments(bench, order) == [("FULFILLED", tracking_id)] * 3 + [("FULFILLED", "")]
    assert result.status is JobStatus.RETRYING
    assert result.next_attempt_at == bench.clock() + timedelta(seconds=FIRST_DELAY)
    assert (result.action, result.outcome) == ("fulfill", "failed")
    assert result.fulfillment == record("to_do", "kept_changing")
    assert result.fulfillment.message.code == "fulfillment_reason.order_kept_changing"
    # the three numbers it set are in the history before the failure
    assert [(o, code) for o, code, _ in fulfil_entries(result)] == [
        *[("to_do", "job.tracking_set")] * 3, ("failed", "job.retrying")
    ]  # fmt: skip
