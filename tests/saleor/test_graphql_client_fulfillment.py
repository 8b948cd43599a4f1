"""SaleorClient.fulfill_order and update_fulfillment_tracking against the Saleor fake, driven by the
core's decision as a job attempt will drive them: read the order, decide, act, decide again from
the order Saleor answers with."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from saleor_gordon.core.fulfillment import (
    Blocker,
    FulfillmentPlan,
    FulfillmentSettings,
    FulfillmentState,
    LineToFulfil,
    TrackingMode,
    decide_fulfillment,
)
from saleor_gordon.core.fulfillment_outcomes import (
    Accepted,
    NextStep,
    OrderError,
    Refusal,
    Refused,
    SavedFulfillment,
    blocked_by,
)
from saleor_gordon.core.order import SaleorOrder
from saleor_gordon.errors import SaleorGraphQLError, SaleorPermissionDenied
from saleor_gordon.saleor.graphql_client import SaleorClient
from tests.support.fixtures import RunningSaleorFake
from tests.support.saleor_fake import CustomerNotification

TRACKING_ID = "0Zj7YGCUr"
TEMPLATE = "https://track.gordon.se/t/{tracking_id}"
LINK = "https://track.gordon.se/t/0Zj7YGCUr"
W1 = "V2FyZWhvdXNlOjE="
F11 = "RnVsZmlsbG1lbnQ6MTE="


def client_for(fake: RunningSaleorFake) -> SaleorClient:
    return SaleorClient(saleor_api_url=fake.api_url, token=fake.state.issue_token(), timeout=5)


async def decide(
    client: SaleorClient,
    order_id: str,
    mode: TrackingMode,
    *,
    data: dict[str, Any] | None = None,
) -> FulfillmentPlan:
    """Read the order (or take the one an answer carries) and decide."""
    order = data if data is not None else await client.fetch_order(order_id)
    assert order is not None
    settings = FulfillmentSettings(mode=mode, notify_customer=True, tracking_url=TEMPLATE)
    return decide_fulfillment(
        SaleorOrder.from_graphql(order),
        paid=order["isPaid"] is True,
        tracking_id=TRACKING_ID,
        settings=settings,
    )


async def fulfil(client: SaleorClient, order_id: str, plan: FulfillmentPlan) -> Accepted | Refused:
    return await client.fulfill_order(
        order_id,
        plan.fulfil,
        tracking_number=plan.tracking_number,
        notify_customer=plan.notify_customer,
    )


class TestFulfill:
    async def test_the_order_ends_fulfilled_with_the_link(
        self, saleor_fake: RunningSaleorFake
    ) -> None:
        order = saleor_fake.state.add_order()
        async with client_for(saleor_fake) as client:
            plan = await decide(client, order["id"], "fulfill")
            answer = await fulfil(client, order["id"], plan)
            assert isinstance(answer, Accepted)
            assert answer.order is not None
            after = await decide(client, order["id"], "fulfill", data=dict(answer.order))

        assert answer.fulfillments == (SavedFulfillment(F11, "FULFILLED", LINK),)
        assert after.state is FulfillmentState.DONE
        assert after.has_actions is False
        assert order["status"] == "FULFILLED"
        assert saleor_fake.state.notifications == [
            CustomerNotification("fulfillment_confirmation", order["id"], F11, LINK)
        ]
        assert saleor_fake.state.requests["FulfillOrder"] == 1

    async def test_a_repeated_fulfilment_is_refused_and_reading_again_says_done(
        self, saleor_fake: RunningSaleorFake
    ) -> None:
        """A crash after Saleor fulfilled, or a second worker: the same request again."""
        order = saleor_fake.state.add_order()
        async with client_for(saleor_fake) as client:
            plan = await decide(client, order["id"], "fulfill")
            await fulfil(client, order["id"], plan)
            repeated = await fulfil(client, order["id"], plan)
            again = await decide(client, order["id"], "fulfill")

        assert isinstance(repeated, Refused)
        assert (repeated.refusal, repeated.next_step) == (
            Refusal.ALREADY_FULFILLED,
            NextStep.READ_AGAIN,
        )
        assert again.state is FulfillmentState.DONE
        assert len(order["fulfillments"]) == 1

    async def test_not_enough_stock(self, saleor_fake: RunningSaleorFake) -> None:
        order = saleor_fake.state.add_order()
        line = order["lines"][1]
        saleor_fake.state.set_stock(line["variant"]["id"], W1, 1)
        async with client_for(saleor_fake) as client:
            data = await client.fetch_order(order["id"])
            assert data is not None
            plan = await decide(client, order["id"], "fulfill", data=data)
            answer = await fulfil(client, order["id"], plan)

        assert answer == Refused(
            Refusal.NOT_ENOUGH_STOCK,
            (OrderError("INSUFFICIENT_STOCK", "Insufficient product stock.", "stocks",
                        (line["id"],), W1),),
        )  # fmt: skip
        assert isinstance(answer, Refused)
        assert blocked_by(answer, SaleorOrder.from_graphql(data)).message == (
            "Saleor has not enough stock of Frukostkasse (Standard) in Lager Västberga to "
            "fulfil the order: add stock in Saleor (the app tries again), or fulfil the order "
            "yourself and the app adds the tracking number."
        )
        assert order["fulfillments"] == []

    async def test_a_shop_that_approves_fulfillments(self, saleor_fake: RunningSaleorFake) -> None:
        saleor_fake.state.fulfillment_auto_approve = False
        order = saleor_fake.state.add_order()
        async with client_for(saleor_fake) as client:
            plan = await decide(client, order["id"], "fulfill")
            answer = await fulfil(client, order["id"], plan)
            after = await decide(client, order["id"], "fulfill")

        assert isinstance(answer, Accepted)
        assert answer.fulfillments == (SavedFulfillment(F11, "WAITING_FOR_APPROVAL", LINK),)
        assert after.state is FulfillmentState.WAITING_FOR_APPROVAL
        assert after.has_actions is False

    async def test_a_cancelled_order_is_not_fulfilled(self, saleor_fake: RunningSaleorFake) -> None:
        """Saleor would fulfil it (the fake does, as Saleor): the decision does not ask."""
        order = saleor_fake.state.add_order(status="CANCELED")
        async with client_for(saleor_fake) as client:
            plan = await decide(client, order["id"], "fulfill")

        assert plan.state is FulfillmentState.ORDER_CLOSED
        assert plan.has_actions is False

    async def test_an_unpaid_order_waits(self, saleor_fake: RunningSaleorFake) -> None:
        order = saleor_fake.state.add_order(isPaid=False, chargeStatus="NONE")
        async with client_for(saleor_fake) as client:
            plan = await decide(client, order["id"], "fulfill")

        assert (plan.state, plan.blocker) == (FulfillmentState.BLOCKED, Blocker.NOT_PAID)

    async def test_saleor_refusing_unpaid_orders(self, saleor_fake: RunningSaleorFake) -> None:
        saleor_fake.state.fulfillment_allow_unpaid = False
        order = saleor_fake.state.add_order(isPaid=False)
        lines = [LineToFulfil(line["id"], ((W1, line["quantity"]),)) for line in order["lines"]]
        async with client_for(saleor_fake) as client:
            answer = await client.fulfill_order(
                order["id"], lines, tracking_number=TRACKING_ID, notify_customer=False
            )

        assert isinstance(answer, Refused)
        assert (answer.refusal, answer.next_step) == (Refusal.NOT_PAID, NextStep.WAIT_FOR_EVENT)


class TestAddTracking:
    async def test_a_staff_fulfillment_gets_the_link_once(
        self, saleor_fake: RunningSaleorFake
    ) -> None:
        order = saleor_fake.state.add_order()
        async with httpx.AsyncClient() as http:
            await saleor_fake.state.staff_fulfill(http, order["id"], notify_customer=False)
        async with client_for(saleor_fake) as client:
            plan = await decide(client, order["id"], "add")
            (update,) = plan.set_tracking
            answer = await client.update_fulfillment_tracking(
                update.fulfillment_id,
                tracking_number=plan.tracking_number,
                notify_customer=update.notify_customer,
            )
            again = await decide(client, order["id"], "add")

        assert isinstance(answer, Accepted)
        assert answer.fulfillments == (SavedFulfillment(F11, "FULFILLED", LINK),)
        assert again.state is FulfillmentState.DONE
        assert again.has_actions is False
        assert saleor_fake.state.notifications == [
            CustomerNotification("fulfillment_update", order["id"], F11, LINK)
        ]
        assert saleor_fake.state.requests["UpdateFulfillmentTracking"] == 1

    async def test_a_staff_tracking_number_is_kept(self, saleor_fake: RunningSaleorFake) -> None:
        order = saleor_fake.state.add_order()
        async with httpx.AsyncClient() as http:
            await saleor_fake.state.staff_fulfill(http, order["id"], tracking_number="DHL-1")
        async with client_for(saleor_fake) as client:
            plan = await decide(client, order["id"], "add")

        assert plan.state is FulfillmentState.DONE
        assert plan.has_actions is False
        assert order["fulfillments"][0]["trackingNumber"] == "DHL-1"

    async def test_a_fulfillment_gone(self, saleor_fake: RunningSaleorFake) -> None:
        async with client_for(saleor_fake) as client:
            answer = await client.update_fulfillment_tracking(
                F11, tracking_number=LINK, notify_customer=False
            )

        assert answer == Refused(
            Refusal.GONE, (OrderError("NOT_FOUND", f"Couldn't resolve to a node: {F11}", "id"),)
        )


class TestErrors:
    async def test_a_number_saleor_cannot_store_is_an_error(
        self, saleor_fake: RunningSaleorFake
    ) -> None:
        order = saleor_fake.state.add_order()
        lines = [LineToFulfil(line["id"], ((W1, line["quantity"]),)) for line in order["lines"]]
        async with client_for(saleor_fake) as client:
            with pytest.raises(SaleorGraphQLError) as caught:
                await client.fulfill_order(
                    order["id"], lines, tracking_number="x" * 256, notify_customer=False
                )

        assert str(caught.value) == "Saleor refused FulfillOrder: Internal Server Error"

    async def test_without_manage_orders(self, saleor_fake: RunningSaleorFake) -> None:
        saleor_fake.state.app_permissions = frozenset({"MANAGE_SHIPPING"})
        async with client_for(saleor_fake) as client:
            with pytest.raises(SaleorPermissionDenied):
                await client.update_fulfillment_tracking(
                    F11, tracking_number=LINK, notify_customer=False
                )

    async def test_an_answer_the_app_cannot_read(self) -> None:
        def answer(_request: httpx.Request) -> httpx.Response:
            body = {"data": {"orderFulfillmentUpdateTracking": {"fulfillment": None}}}
            return httpx.Response(200, json=body)

        http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
        async with http, SaleorClient(saleor_api_url="https://shop.example/graphql/",
                                      token="t", http=http) as client:  # fmt: skip
            with pytest.raises(SaleorGraphQLError) as caught:
                await client.update_fulfillment_tracking(
                    F11, tracking_number=LINK, notify_customer=False
                )

        assert str(caught.value) == (
            "Saleor answered orderFulfillmentUpdateTracking in a form the app cannot read: "
            "Saleor's answer has no list of errors."
        )
