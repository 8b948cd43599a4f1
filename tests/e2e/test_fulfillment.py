"""Gordon's tracking number on the order's fulfillments, end to end: the app process, the Saleor
fake executing ``orderFulfill`` / ``orderFulfillmentUpdateTracking`` as Saleor does (lines,
quantities, stock, approval, notifications) and the Gordon sandbox, on SQLite and PostgreSQL.

"One fulfillment and one tracking update" is counted where it happens: the fulfillments Saleor
holds, the mutations the app sent (``requests``) and the e-mails Saleor would send
(``notifications``).
"""

from __future__ import annotations

import dataclasses
import signal
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from saleor_gordon.fakes.gordon_sandbox import RunningSandbox
from tests.e2e.conftest import RunningSaleorFake, Stack, running_stack
from tests.support.shop import DELIVERY_GROUP

pytestmark = pytest.mark.slow

LINK_FORMAT = "https://track.example.com/t/{tracking_id}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'app.db'}"
    url: str = request.getfixturevalue("fresh_postgres_url")
    return url


@pytest_asyncio.fixture
async def gordon(start_gordon_sandbox: Callable[..., RunningSandbox]) -> RunningSandbox:
    return start_gordon_sandbox(delivery_groups=(DELIVERY_GROUP,))


@pytest_asyncio.fixture
async def stack(
    saleor_fake: RunningSaleorFake, gordon: RunningSandbox, tmp_path: Path, database: str
) -> AsyncIterator[Stack]:
    """The app on ``database``, installed, not configured yet (each test sets its mode)."""
    async with running_stack(saleor_fake, gordon, tmp_path, database, configure=False) as built:
        yield built


def _link(stack: Stack, order: dict[str, Any]) -> str:
    tracking_id = stack.gordon.state.orders[order["number"]].tracking_id
    return LINK_FORMAT.replace("{tracking_id}", tracking_id)


def _fulfillments(stack: Stack, order: dict[str, Any]) -> list[tuple[str, str]]:
    """(status, tracking number) of the order's fulfillments in Saleor."""
    stored = stack.saleor.state.order(order["id"]).get("fulfillments") or []
    return [(f["status"], f["trackingNumber"]) for f in stored]


def _emails(stack: Stack, order: dict[str, Any]) -> list[tuple[str, str]]:
    """(kind, tracking number) of the e-mails Saleor sent the customer about the order."""
    return [
        (n.kind, n.tracking_number)
        for n in stack.saleor.state.notifications
        if n.order_id == order["id"]
    ]


async def _fulfillment_state(stack: Stack, order: dict[str, Any]) -> str | None:
    jobs = [job for job in await stack.jobs() if job["order_id"] == order["id"]]
    if not jobs or jobs[0]["in_progress"]:
        return None
    state: str | None = (await stack.job_for(order))["fulfillment_state"]
    return state


async def _settles_with(stack: Stack, order: dict[str, Any], state: str) -> None:
    async def reached() -> bool:
        return await _fulfillment_state(stack, order) == state

    await stack.wait_until(reached, timeout=30)
    await stack.wait_quiet()


async def test_fulfill_mode_fulfils_a_paid_order_once_with_the_tracking_link(stack: Stack) -> None:
    await stack.configure(tracking_on_fulfillment="fulfill", tracking_url=LINK_FORMAT)
    order = stack.paid_order()

    # Saleor delivers the payment twice (a redelivery) and an update besides
    await stack.emit("ORDER_FULLY_PAID", order["id"], times=2)
    await stack.emit("ORDER_UPDATED", order["id"])
    await _settles_with(stack, order, "done")

    link = _link(stack, order)
    assert _fulfillments(stack, order) == [("FULFILLED", link)]
    assert stack.saleor.state.order(order["id"])["status"] == "FULFILLED"
    assert stack.saleor.state.requests["FulfillOrder"] == 1
    assert stack.saleor.state.requests["UpdateFulfillmentTracking"] == 0
    assert _emails(stack, order) == [("fulfillment_confirmation", link)]
    assert stack.metadata(order)["gordon.tracking_url"] == link
    assert stack.puts(order) == 1
    job = await stack.job_for(order)
    assert job["status"] == "synced"
    assert job["fulfillment_message"] == "Gordon's tracking number is on the order's fulfillment."
    assert (job["fulfillment_code"], job["fulfillment_params"]) == ("fulfillment_reason.done", {})
    assert [(e["action"], e["outcome"]) for e in job["history"] if e["action"] == "fulfill"] == [
        ("fulfill", "done")
    ]


async def test_fulfill_mode_with_approval_leaves_the_fulfillment_waiting(stack: Stack) -> None:
    await stack.configure(tracking_on_fulfillment="fulfill")
    stack.saleor.state.fulfillment_auto_approve = False
    order = stack.paid_order()

    await stack.emit("ORDER_FULLY_PAID", order["id"])
    await _settles_with(stack, order, "waiting_for_approval")

    tracking_id = stack.gordon.state.orders[order["number"]].tracking_id
    assert _fulfillments(stack, order) == [("WAITING_FOR_APPROVAL", tracking_id)]
    assert _emails(stack, order) == []  # Saleor e-mails the customer when staff approve
    job = await stack.job_for(order)
    assert job["fulfillment_message"] == (
        "The fulfillment with Gordon's tracking number waits for approval in Saleor."
    )


async def test_add_mode_puts_the_link_on_a_fulfillment_staff_create_after_acceptance(
    stack: Stack,
) -> None:
    await stack.configure(tracking_url=LINK_FORMAT)  # "add" is the default
    order = stack.paid_order()
    await stack.emit("ORDER_FULLY_PAID", order["id"])
    await _settles_with(stack, order, "awaiting_fulfillment")
    assert _fulfillments(stack, order) == []  # the app does not fulfil in "add" mode

    # staff fulfil the order on the Dashboard, without a tracking number
    answer = await stack.saleor.state.staff_fulfill(stack.http, order["id"])
    assert answer["errors"] == []
    await _settles_with(stack, order, "done")

    link = _link(stack, order)
    assert _fulfillments(stack, order) == [("FULFILLED", link)]
    assert stack.saleor.state.requests["UpdateFulfillmentTracking"] == 1
    assert stack.saleor.state.requests["FulfillOrder"] == 0
    assert _emails(stack, order) == [
        ("fulfillment_confirmation", ""),  # staff's own, without a number
        ("fulfillment_update", link),
    ]
    assert stack.puts(order) == 1  # Gordon is not asked again


async def test_add_mode_puts_the_number_on_a_fulfillment_staff_created_before_acceptance(
    stack: Stack,
) -> None:
    await stack.configure()
    order = stack.paid_order()
    stack.gordon.state.hold()  # Gordon's answer is on its way

    await stack.emit("ORDER_FULLY_PAID", order["id"])
    await stack.wait_until(lambda: stack.gordon.state.held == 1)
    answer = await stack.saleor.state.staff_fulfill(stack.http, order["id"], notify_customer=False)
    assert answer["errors"] == []
    stack.gordon.state.release()
    await _settles_with(stack, order, "done")

    tracking_id = stack.gordon.state.orders[order["number"]].tracking_id
    assert _fulfillments(stack, order) == [("FULFILLED", tracking_id)]
    assert stack.saleor.state.requests["UpdateFulfillmentTracking"] == 1
    assert _emails(stack, order) == [("fulfillment_update", tracking_id)]


async def test_a_tracking_number_staff_set_is_kept(stack: Stack) -> None:
    await stack.configure(tracking_url=LINK_FORMAT)
    order = stack.paid_order()
    answer = await stack.saleor.state.staff_fulfill(
        stack.http, order["id"], tracking_number="DHL-123456"
    )
    assert answer["errors"] == []

    await stack.emit("ORDER_FULLY_PAID", order["id"])
    await _settles_with(stack, order, "done")

    assert _fulfillments(stack, order) == [("FULFILLED", "DHL-123456")]
    assert stack.saleor.state.requests["UpdateFulfillmentTracking"] == 0
    job = await stack.job_for(order)
    assert job["fulfillment_message"] == (
        "Kept the tracking number somebody else set on 1 fulfillment; Gordon's is not added."
    )


async def test_off_mode_leaves_the_fulfillments_alone(stack: Stack) -> None:
    await stack.configure(tracking_on_fulfillment="off", tracking_url=LINK_FORMAT)
    order = stack.paid_order()
    await stack.saleor.state.staff_fulfill(stack.http, order["id"])

    await stack.emit("ORDER_FULLY_PAID", order["id"])
    await _settles_with(stack, order, "off")

    assert _fulfillments(stack, order) == [("FULFILLED", "")]
    assert stack.saleor.state.requests["UpdateFulfillmentTracking"] == 0
    assert stack.saleor.state.requests["FulfillOrder"] == 0
    assert stack.metadata(order)["gordon.tracking_url"] == _link(stack, order)


async def test_an_order_cancelled_while_gordon_answers_is_not_fulfilled(stack: Stack) -> None:
    await stack.configure(tracking_on_fulfillment="fulfill")
    order = stack.paid_order()
    stack.gordon.state.hold()
    await stack.emit("ORDER_FULLY_PAID", order["id"])
    await stack.wait_until(lambda: stack.gordon.state.held == 1)

    # the order is cancelled in Saleor while Gordon's answer is on its way
    stack.saleor.state.update_order(order["id"], status="CANCELED")
    stack.gordon.state.release()
    await stack.emit("ORDER_CANCELLED", order["id"])
    await stack.wait_until(lambda: order["number"] not in stack.gordon.state.orders, timeout=30)
    await stack.wait_quiet()

    assert _fulfillments(stack, order) == []
    assert stack.saleor.state.requests["FulfillOrder"] == 0
    assert (await stack.job_for(order))["status"] == "cancelled"


@pytest.mark.parametrize(
    ("mode", "held"), [("fulfill", "FulfillOrder"), ("add", "WriteOrderMetadata")]
)
async def test_an_order_deleted_while_the_app_works_on_it_is_withdrawn_and_not_retried(
    stack: Stack, mode: str, held: str
) -> None:
    """Deleted in Saleor (no webhook says so) while its fulfilment, or its status, is on the
    way to Saleor: Saleor answers NOT_FOUND, the app withdraws the order from Gordon and the
    job settles with its coded message: no retry, and nothing needs a person."""
    await stack.configure(tracking_on_fulfillment=mode)
    state = stack.saleor.state
    state.hold_operations(held)
    order = stack.paid_order()
    await stack.emit("ORDER_FULLY_PAID", order["id"])
    await stack.wait_until(lambda: state.held[held] == 1, timeout=30)
    assert stack.puts(order) == 1

    state.delete_order(order["id"])
    state.release_operations()
    await stack.wait_until(lambda: order["number"] not in stack.gordon.state.orders, timeout=30)
    await stack.wait_quiet()

    job = await stack.job_for(order)
    assert (job["status"], job["next_attempt_at"]) == ("cancelled", None)
    assert (job["last_code"], job["last_params"]) == (
        "job.withdrawn.deleted",
        {"ref": order["number"]},
    )
    assert job["last_message"] == "Withdrawn from Gordon: the order was deleted in Saleor."
    assert [r["status"] for r in stack.gordon_requests("DELETE", order)] == [200]
    steps = [(e["action"], e["outcome"]) for e in job["history"]]
    assert steps[-1] == ("withdraw", "accepted")
    assert ("fulfill", "refused") not in steps  # nobody is asked to look
    if state.abandoned[held] == 0:  # Saleor answered the held request (NOT_FOUND), in time
        assert ("write_back", "failed") not in steps
        # a fulfilment refused: withdrawn in the same attempt, nothing written to the order;
        # a write refused: not retried, the attempt due at once withdraws the order
        assert steps.count(("write_back", "order_gone")) == (held == "WriteOrderMetadata")
        assert state.requests["WriteOrderMetadata"] == (held == "WriteOrderMetadata")


async def test_a_failed_fulfilment_is_retried_on_its_own_until_stock_arrives(
    stack: Stack,
) -> None:
    await stack.configure(tracking_on_fulfillment="fulfill")
    order = stack.paid_order()
    state = stack.saleor.state
    [line, *_] = order["lines"]
    variant, warehouse = line["variant"]["id"], line["allocations"][0]["warehouse"]["id"]
    state.set_stock(variant, warehouse, 0)  # the stock went missing after allocation

    await stack.emit("ORDER_FULLY_PAID", order["id"])

    async def refused_twice() -> bool:
        job = await stack.job_for(order)
        return job["fulfillment_state"] == "blocked" and state.requests["FulfillOrder"] >= 2

    await stack.wait_until(refused_twice, timeout=30)
    job = await stack.job_for(order)
    assert job["status"] in {"retrying", "pending"}
    assert "not enough stock" in job["fulfillment_message"]
    assert _fulfillments(stack, order) == []

    state.set_stock(variant, warehouse, 10)  # stock arrives
    await _settles_with(stack, order, "done")

    assert len(_fulfillments(stack, order)) == 1
    assert stack.puts(order) == 1  # the retries fulfilled; Gordon was not asked again
    job = await stack.job_for(order)
    # settled after Saleor told the app of the fulfillment it made (quiet waits for that)
    assert (job["status"], "FULFILLMENT_CREATED" in job["events_seen"]) == ("synced", True)


W1, W2 = "V2FyZWhvdXNlOjE=", "V2FyZWhvdXNlOjI="  # Lager Västberga, Lager Göteborg (channel's)
W3 = "V2FyZWhvdXNlOjM="  # a warehouse that does not serve the order's channel


def _untracked(stack: Stack, order: dict[str, Any], *, kept_in: str) -> list[str]:
    """Make every line's variant one whose inventory Saleor does not track, as Saleor holds
    such an order: no allocation, a stock record (quantity 0) in ``kept_in`` only."""
    state = stack.saleor.state
    variants = []
    for line in order["lines"]:
        variant = line["variant"]["id"]
        line["variant"]["trackInventory"] = False
        for allocation in line["allocations"]:
            state.set_stock(variant, allocation["warehouse"]["id"], None)
        line["allocations"] = []
        state.set_stock(variant, kept_in, 0)
        variants.append(variant)
    return variants


async def test_fulfill_mode_fulfils_products_whose_inventory_saleor_does_not_track(
    stack: Stack,
) -> None:
    """Saleor allocates no stock to them; the app fulfils from the warehouse of the order's
    channel that keeps them (Saleor checks the stock record there, not its quantity)."""
    await stack.configure(tracking_on_fulfillment="fulfill", tracking_url=LINK_FORMAT)
    order = stack.paid_order()
    variants = _untracked(stack, order, kept_in=W2)

    await stack.emit("ORDER_FULLY_PAID", order["id"])
    await _settles_with(stack, order, "done")

    link = _link(stack, order)
    assert _fulfillments(stack, order) == [("FULFILLED", link)]
    [fulfillment] = stack.saleor.state.order(order["id"])["fulfillments"]
    assert fulfillment["warehouse"]["id"] == W2
    assert stack.saleor.state.order(order["id"])["status"] == "FULFILLED"
    assert stack.saleor.state.requests["FulfillOrder"] == 1
    assert _emails(stack, order) == [("fulfillment_confirmation", link)]
    assert {stack.saleor.state.stocks[(v, W2)] for v in variants} == {0}  # not counted
    assert (await stack.job_for(order))["status"] == "synced"


async def test_an_untracked_product_kept_outside_the_channel_waits_for_its_stock_record(
    saleor_fake: RunningSaleorFake, gordon: RunningSandbox, tmp_path: Path, database: str
) -> None:
    """No warehouse serving the order's channel keeps the product: the app does not try (Saleor
    would refuse) and says what to do; once the shop adds it to such a warehouse, which sends
    no order event, the periodic reconcile brings the job and the app fulfils."""
    settings = {"SALEOR_GORDON_RECONCILE_INTERVAL_SECONDS": "3"}
    saleor_fake.state.warehouses.append(
        {"__typename": "Warehouse", "id": W3, "slug": "lager-oslo", "name": "Lager Oslo",
         "clickAndCollectOption": "DISABLED"}
    )  # fmt: skip
    async with running_stack(
        saleor_fake, gordon, tmp_path, database, settings=settings, configure=False
    ) as stack:
        await stack.configure(tracking_on_fulfillment="fulfill")
        order = stack.paid_order(updatedAt=datetime.now(UTC).isoformat())  # paid just now
        variants = _untracked(stack, order, kept_in=W3)
        await stack.emit("ORDER_FULLY_PAID", order["id"])
        await _settles_with(stack, order, "blocked")

        job = await stack.job_for(order)
        assert job["status"] == "synced"
        assert job["fulfillment_message"] == (
            "The order has 2 products whose inventory Saleor does not track and that no "
            "warehouse serving its channel keeps: Middagskasse 4 portioner (3 middagar) and "
            "Frukostkasse (Standard). Saleor would not let the app fulfil them: add them to such "
            "a warehouse in Saleor (any quantity), then choose Try fulfilling again, or fulfil "
            "the order yourself and the app adds the tracking number."
        )
        assert (job["fulfillment_code"], job["fulfillment_params"]) == (
            "fulfillment_reason.not_stocked",
            {"lines": ["Middagskasse 4 portioner (3 middagar)", "Frukostkasse (Standard)"],
             "count": 2},
        )  # fmt: skip
        assert stack.saleor.state.requests["FulfillOrder"] == 0

        for variant in variants:  # the shop adds the products to a warehouse of the channel
            stack.saleor.state.set_stock(variant, W1, 0)
        await _settles_with(stack, order, "done")

        tracking_id = stack.gordon.state.orders[order["number"]].tracking_id
        assert _fulfillments(stack, order) == [("FULFILLED", tracking_id)]
        assert stack.saleor.state.requests["FulfillOrder"] == 1
        assert stack.puts(order) == 1


@pytest.mark.parametrize("held", ["FulfillOrder", "WriteOrderMetadata"])
async def test_a_worker_killed_between_gordon_s_answer_and_the_fulfilment(
    saleor_fake: RunningSaleorFake,
    gordon: RunningSandbox,
    tmp_path: Path,
    database: str,
    held: str,
) -> None:
    """Killed while its fulfilment is on the way to Saleor (not arrived), or after Saleor
    fulfilled and before the job was recorded: the next worker fulfils exactly once."""
    async with running_stack(
        saleor_fake, gordon, tmp_path, database, workers=0, configure=False
    ) as stack:
        await stack.configure(tracking_on_fulfillment="fulfill", tracking_url=LINK_FORMAT)
        state = stack.saleor.state
        state.hold_operations(held)
        doomed = stack.start_process("worker", "--concurrency", "1", name="doomed-worker")
        order = stack.paid_order()
        await stack.emit("ORDER_FULLY_PAID", order["id"])
        await stack.wait_until(lambda: state.held[held] == 1, timeout=30)
        assert stack.puts(order) == 1

        doomed.stop(signal.SIGKILL)
        await stack.wait_until(lambda: state.abandoned[held] == 1, timeout=30)
        state.release_operations()
        stack.start_process("worker", "--concurrency", "1", name="rescuer")
        await _settles_with(stack, order, "done")

        link = _link(stack, order)
        assert _fulfillments(stack, order) == [("FULFILLED", link)]
        assert _emails(stack, order) == [("fulfillment_confirmation", link)]
        assert state.requests["UpdateFulfillmentTracking"] == 0
        # killed before its request was executed: the rescuer's was the one fulfilment
        assert state.requests["FulfillOrder"] == (2 if held == "FulfillOrder" else 1)
        assert stack.puts(order) == 2  # Gordon's acceptance was not recorded: asked again


async def test_two_worker_processes_fulfil_and_update_each_order_once(
    saleor_fake: RunningSaleorFake, gordon: RunningSandbox, tmp_path: Path, database: str
) -> None:
    settings = {"SALEOR_GORDON_SHOP_CONCURRENCY": "6"}
    async with running_stack(
        saleor_fake, gordon, tmp_path, database, workers=0, settings=settings, configure=False
    ) as stack:
        await stack.configure(tracking_on_fulfillment="fulfill", tracking_url=LINK_FORMAT)
        # Gordon answers after 0.3 s, so one process's three workers cannot take all twelve
        # orders before the other process (started before the first webhook) finds work too
        gordon.state.options = dataclasses.replace(gordon.state.options, latency=0.3)
        workers = [
            stack.start_process("worker", "--concurrency", "3", name=name)
            for name in ("worker-1", "worker-2")
        ]

        async def both_started() -> bool:
            return all("worker.started" in worker.log() for worker in workers)

        await stack.wait_until(both_started, timeout=60)
        orders = [stack.paid_order() for _ in range(12)]
        for order in orders:
            await stack.emit("ORDER_FULLY_PAID", order["id"], times=2)
            await stack.emit("ORDER_UPDATED", order["id"])

        async def all_done() -> bool:
            return all([await _fulfillment_state(stack, order) == "done" for order in orders])

        await stack.wait_until(all_done, timeout=90)
        await stack.wait_quiet()

        assert [len(_fulfillments(stack, order)) for order in orders] == [1] * len(orders)
        assert [_emails(stack, order) for order in orders] == [
            [("fulfillment_confirmation", _link(stack, order))] for order in orders
        ]
        assert stack.saleor.state.requests["FulfillOrder"] == len(orders)
        # Gordon is asked once per order, unless a worker lost its lease mid-attempt on this
        # loaded machine (its push was then not recorded and the next owner asks again: PUT is
        # idempotent); the history says so.
        for order in orders:
            job = await stack.job_for(order)
            taken_over = any(e["outcome"] == "lease_taken_over" for e in job["history"])
            assert stack.puts(order) == (2 if taken_over else 1), job["history"]
        assert all("job.finished" in worker.log() for worker in workers), "both took part"


async def test_reconcile_adds_the_number_to_a_fulfillment_whose_webhooks_were_lost(
    saleor_fake: RunningSaleorFake, gordon: RunningSandbox, tmp_path: Path, database: str
) -> None:
    """Saleor gave up on the fulfillment's webhooks (or the shop installed the app before it
    subscribed to them): the periodic reconcile finds the order in Gordon with a fulfillment
    without Gordon's tracking number, and its job adds it."""
    settings = {"SALEOR_GORDON_RECONCILE_INTERVAL_SECONDS": "3"}
    async with running_stack(
        saleor_fake, gordon, tmp_path, database, settings=settings, configure=False
    ) as stack:
        await stack.configure()
        order = stack.paid_order()
        await stack.emit("ORDER_FULLY_PAID", order["id"])
        await _settles_with(stack, order, "awaiting_fulfillment")

        # staff fulfil; none of the webhooks this causes reaches the app
        def refuse(_request: httpx.Request) -> httpx.Response:
            return httpx.Response(503)

        async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as lost:
            answer = await stack.saleor.state.staff_fulfill(
                lost, order["id"], notify_customer=False
            )
        assert answer["errors"] == []
        stack.saleor.state.update_order(order["id"], updatedAt=datetime.now(UTC).isoformat())

        await _settles_with(stack, order, "done")

        tracking_id = stack.gordon.state.orders[order["number"]].tracking_id
        assert _fulfillments(stack, order) == [("FULFILLED", tracking_id)]
        assert stack.saleor.state.requests["UpdateFulfillmentTracking"] == 1
        assert stack.puts(order) == 1
