"""The Saleor fake fulfils orders as Saleor 3.23.28 does (``orderFulfill``,
``orderFulfillmentUpdateTracking``, ``orderFulfillmentApprove``): its checks in its order, its
error codes, stock and allocations, approval, order status, webhooks and customer e-mails.

The rules come from Saleor's code at the tag 3.23.28 (``saleor/graphql/order/mutations/
order_fulfill.py``, ``fulfillment_update_tracking.py``, ``fulfillment_approve.py``,
``saleor/order/actions.py`` and ``saleor/warehouse/management.py``); each test names the rule.
Checked against the real Saleor 3.23.28 of ``../shared/realworld``, which answered as the fake
does: a cancelled order fulfilled (and FULFILLED), an unpaid one too (the site's defaults), a
256-character tracking number an Internal Server Error (DataError) that changed nothing, a
repeated fulfilment FULFILL_ORDER_LINE "Only 0 items remaining to fulfill.", stock held by
another order's allocation INSUFFICIENT_STOCK with the line and warehouse, a fulfillment without
auto-approval WAITING_FOR_APPROVAL (order UNFULFILLED, quantityToFulfill 0, allocation and stock
kept), and orderFulfillmentUpdateTracking's NOT_FOUND and GRAPHQL_ERROR.
"""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import httpx
import pytest

from tests.saleor.conftest import Receiver
from tests.saleor.test_saleor_fake import post_graphql
from tests.support.fixtures import RunningSaleorFake
from tests.support.saleor_fake import (
    CustomerNotification,
    SaleorFakeState,
    global_id,
)

W1 = "V2FyZWhvdXNlOjE="  # Warehouse:1, Lager Västberga: where the template's lines are allocated
W2 = "V2FyZWhvdXNlOjI="  # Warehouse:2, Lager Göteborg
L1 = "T3JkZXJMaW5lOjE1ZjcyNWRmLWFkMzQtNDYxNi04NzAxLTQ2N2E4NmNmNDY1Yw=="  # 1 x variant 402
L2 = "T3JkZXJMaW5lOjE2ZTY5MTFhLWE2MzgtNDdlOC04ODFkLWMwNmI5MjRkYWEwNQ=="  # 2 x variant 406
V1 = "UHJvZHVjdFZhcmlhbnQ6NDAy"
V2 = "UHJvZHVjdFZhcmlhbnQ6NDA2"
F11 = "RnVsZmlsbG1lbnQ6MTE="  # Fulfillment:11, the first one the fake creates
F12 = "RnVsZmlsbG1lbnQ6MTI="
TRACKING = "0Zj7YGCUr"

ERRORS = "errors { field code message warehouse orderLines }"
FULFILLMENT = (
    "id status trackingNumber fulfillmentOrder warehouse { id } lines { quantity orderLine { id } }"
)
ORDER = (
    f"id status lines {{ id quantityFulfilled quantityToFulfill "
    f"allocations {{ quantity warehouse {{ id }} }} }} fulfillments {{ {FULFILLMENT} }}"
)
FULFIL = f"""
mutation Fulfil($order: ID, $input: OrderFulfillInput!) {{
  orderFulfill(order: $order, input: $input) {{
    fulfillments {{ {FULFILLMENT} }}
    order {{ {ORDER} }}
    {ERRORS}
  }}
}}
"""
UPDATE_TRACKING = f"""
mutation Track($id: ID!, $input: FulfillmentUpdateTrackingInput!) {{
  orderFulfillmentUpdateTracking(id: $id, input: $input) {{
    fulfillment {{ {FULFILLMENT} }}
    order {{ id status }}
    {ERRORS}
  }}
}}
"""
APPROVE = f"""
mutation Approve($id: ID!, $notify: Boolean!) {{
  orderFulfillmentApprove(id: $id, notifyCustomer: $notify) {{
    fulfillment {{ id status }}
    order {{ id status }}
    {ERRORS}
  }}
}}
"""
FULFILLMENT_EVENTS = [
    "FULFILLMENT_CREATED", "FULFILLMENT_APPROVED", "FULFILLMENT_TRACKING_NUMBER_UPDATED",
    "ORDER_UPDATED", "ORDER_FULFILLED",
]  # fmt: skip
EVENT_QUERY = """
subscription {
  event {
    __typename
    issuingPrincipal { __typename ... on App { id } ... on User { id } }
    ... on FulfillmentCreated { order { id status } fulfillment { id status trackingNumber }
                                notifyCustomer }
    ... on FulfillmentApproved { order { id status } fulfillment { id status } notifyCustomer }
    ... on FulfillmentTrackingNumberUpdated { order { id } fulfillment { id trackingNumber } }
    ... on OrderUpdated { order { id status } }
    ... on OrderFulfilled { order { id status } }
  }
}
"""


def both_lines(warehouse: str = W1, **input_fields: Any) -> dict[str, Any]:
    """``OrderFulfillInput`` for the whole template order from one warehouse."""
    return {
        "lines": [
            {"orderLineId": L1, "stocks": [{"warehouse": warehouse, "quantity": 1}]},
            {"orderLineId": L2, "stocks": [{"warehouse": warehouse, "quantity": 2}]},
        ],
        **input_fields,
    }


def error(code: str, message: str, field: str | None, **params: Any) -> dict[str, Any]:
    return {"field": field, "code": code, "message": message,
            "warehouse": params.get("warehouse"), "orderLines": params.get("orderLines")}  # fmt: skip


class Shop:
    """A fake Saleor with the template order (lines L1 and L2 allocated in W1) and an app token."""

    def __init__(self, running: RunningSaleorFake) -> None:
        self.api_url, self.state = running
        self.token = self.state.issue_token()
        self.order = self.state.add_order()
        self.order_id: str = self.order["id"]
        for line, lines_id in zip(self.order["lines"], (L1, L2), strict=True):
            line["id"] = lines_id  # fixed ids, so that expected answers can be written out

    async def call(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        response = await post_graphql(self.api_url, query, variables, token=self.token)
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        return body

    async def fulfil(self, fulfil_input: dict[str, Any], order: str | None = "") -> dict[str, Any]:
        body = await self.call(
            FULFIL, {"order": self.order_id if order == "" else order, "input": fulfil_input}
        )
        assert "errors" not in body, body
        payload: dict[str, Any] = body["data"]["orderFulfill"]
        return payload

    async def update_tracking(self, fulfillment_id: str, **input_fields: Any) -> dict[str, Any]:
        body = await self.call(UPDATE_TRACKING, {"id": fulfillment_id, "input": input_fields})
        payload: dict[str, Any] = body["data"]["orderFulfillmentUpdateTracking"]
        return payload


@pytest.fixture
def shop(saleor_fake: RunningSaleorFake) -> Shop:
    return Shop(saleor_fake)


def subscribe(state: SaleorFakeState, receiver: Receiver) -> None:
    hook = {"name": "fulfillments", "asyncEvents": FULFILLMENT_EVENTS, "query": EVENT_QUERY,
            "targetUrl": f"{receiver.base_url}/api/webhooks/orders"}  # fmt: skip
    state.install({"webhooks": [hook]})


def received(receiver: Receiver) -> list[tuple[str, dict[str, Any]]]:
    return [(headers["saleor-event"], json.loads(body)) for _, headers, body in receiver.requests]


def order_line(
    line_id: str, fulfilled: int, to_fulfil: int, allocated: int, warehouse: str = W1
) -> dict[str, Any]:
    return {"id": line_id, "quantityFulfilled": fulfilled, "quantityToFulfill": to_fulfil,
            "allocations": [{"quantity": allocated, "warehouse": {"id": warehouse}}]}  # fmt: skip


def fulfillment(
    fulfillment_id: str,
    lines: list[tuple[str, int]],
    *,
    status: str = "FULFILLED",
    tracking: str = "",
    order: int = 1,
    warehouse: str | None = W1,
) -> dict[str, Any]:
    return {
        "id": fulfillment_id, "status": status, "trackingNumber": tracking,
        "fulfillmentOrder": order, "warehouse": {"id": warehouse} if warehouse else None,
        "lines": [{"quantity": q, "orderLine": {"id": line}} for line, q in lines],
    }  # fmt: skip


class TestOrderFulfill:
    async def test_fulfils_the_lines_from_their_warehouse_with_the_tracking_number(
        self, shop: Shop
    ) -> None:
        payload = await shop.fulfil(both_lines(trackingNumber=TRACKING, notifyCustomer=True))

        ours = fulfillment(F11, [(L1, 1), (L2, 2)], tracking=TRACKING)
        assert payload == {
            "fulfillments": [ours],
            "order": {
                "id": shop.order_id, "status": "FULFILLED",
                "lines": [order_line(L1, 1, 0, 0), order_line(L2, 2, 0, 0)],
                "fulfillments": [ours],
            },
            "errors": [],
        }  # fmt: skip
        assert shop.state.stocks == {(V1, W1): 0, (V2, W1): 0}
        assert shop.state.notifications == [
            CustomerNotification("fulfillment_confirmation", shop.order_id, F11, TRACKING)
        ]

    async def test_part_of_a_line_leaves_the_order_partially_fulfilled(self, shop: Shop) -> None:
        part = {"lines": [{"orderLineId": L2, "stocks": [{"warehouse": W1, "quantity": 1}]}]}

        payload = await shop.fulfil({**part, "notifyCustomer": False})

        assert payload["order"]["status"] == "PARTIALLY_FULFILLED"
        assert payload["order"]["lines"] == [order_line(L1, 0, 1, 1), order_line(L2, 1, 1, 1)]
        assert shop.state.stocks == {(V1, W1): 1, (V2, W1): 1}
        assert shop.state.notifications == []

    async def test_a_second_fulfilment_of_the_same_lines_is_refused(self, shop: Shop) -> None:
        """``clean_order_line_quantities``: what two workers racing each other would get."""
        await shop.fulfil(both_lines(trackingNumber=TRACKING))
        before = copy.deepcopy(shop.order)

        payload = await shop.fulfil(both_lines(trackingNumber=TRACKING))

        assert payload == {
            "fulfillments": None, "order": None,
            "errors": [error("FULFILL_ORDER_LINE", "Only 0 items remaining to fulfill.",
                             "orderLineId", orderLines=[L1])],
        }  # fmt: skip
        assert shop.order == before

    async def test_more_than_remains_is_refused(self, shop: Shop) -> None:
        too_many = {"lines": [{"orderLineId": L2, "stocks": [{"warehouse": W1, "quantity": 3}]}]}

        payload = await shop.fulfil(too_many)

        assert payload["errors"] == [
            error("FULFILL_ORDER_LINE", "Only 2 items remaining to fulfill.", "orderLineId",
                  orderLines=[L2])
        ]  # fmt: skip

    async def test_one_fulfillment_per_warehouse(self, shop: Shop) -> None:
        shop.state.set_stock(V2, W2, 5)
        split = {
            "lines": [
                {"orderLineId": L1, "stocks": [{"warehouse": W1, "quantity": 1}]},
                {"orderLineId": L2, "stocks": [{"warehouse": W2, "quantity": 2}]},
            ],
            "trackingNumber": TRACKING,
        }

        payload = await shop.fulfil(split)

        assert payload["fulfillments"] == [
            fulfillment(F11, [(L1, 1)], tracking=TRACKING),
            fulfillment(F12, [(L2, 2)], tracking=TRACKING, order=2, warehouse=W2),
        ]
        # L2 was allocated in W1: fulfilling it from W2 gives the W1 allocation back
        assert payload["order"]["lines"][1] == order_line(L2, 2, 0, 0)
        assert shop.state.stocks == {(V1, W1): 0, (V2, W1): 2, (V2, W2): 3}

    async def test_without_notify_customer_saleor_notifies(self, shop: Shop) -> None:
        """``cleaned_input.get("notify_customer", True)``: absent means yes, null means no."""
        await shop.fulfil({"lines": both_lines()["lines"][:1]})
        await shop.fulfil({"lines": both_lines()["lines"][1:], "notifyCustomer": None})

        assert [n.fulfillment_id for n in shop.state.notifications] == [F11]


class TestStock:
    async def test_a_warehouse_short_of_stock_fulfils_nothing(self, shop: Shop) -> None:
        """``decrease_stock``: stock minus what other orders hold must cover the quantity; the
        whole mutation is one transaction."""
        shop.state.set_stock(V2, W1, 1)
        before = copy.deepcopy(shop.order)

        payload = await shop.fulfil(both_lines(trackingNumber=TRACKING))

        assert payload["errors"] == [
            error("INSUFFICIENT_STOCK", "Insufficient product stock.", "stocks",
                  warehouse=W1, orderLines=[L2])
        ]  # fmt: skip
        assert shop.order == before
        assert shop.state.stocks == {(V1, W1): 1, (V2, W1): 1}
        assert shop.state.notifications == []

    async def test_stock_another_order_holds_is_not_available(self, shop: Shop) -> None:
        other = shop.state.add_order()  # allocates V1 and V2 in W1 as well: stock raised to 2, 4
        assert shop.state.stocks == {(V1, W1): 2, (V2, W1): 4}
        shop.state.set_stock(V1, W1, 1)  # somebody counted the shelf: one left, held by `other`

        payload = await shop.fulfil(both_lines())

        assert payload["errors"] == [
            error("INSUFFICIENT_STOCK", "Insufficient product stock.", "stocks",
                  warehouse=W1, orderLines=[L1])
        ]  # fmt: skip
        assert shop.state.allocated(V1, W1) == 2
        assert other["status"] == "UNFULFILLED"

    async def test_an_added_order_raises_stock_to_what_every_order_holds_as_it_is_now(
        self, shop: Shop
    ) -> None:
        """``add_order``'s floor follows the orders' allocations through the fake's own changes:
        a fulfilment gives them back, a deleted order and lines replaced hold nothing more."""
        state = shop.state
        other = state.add_order()
        fulfilled = await shop.fulfil(both_lines())  # the template order's allocations: 0
        assert fulfilled["errors"] == []

        def add_after_a_count(*, one_left: tuple[str, str] = (V1, W1)) -> dict[str, Any]:
            state.set_stock(*one_left, 0)  # somebody counted the shelf: nothing left
            return state.add_order()

        held = []
        added = add_after_a_count()
        held.append((state.stocks[(V1, W1)], state.allocated(V1, W1)))  # other, added
        state.delete_order(other["id"])
        add_after_a_count()
        held.append((state.stocks[(V1, W1)], state.allocated(V1, W1)))  # added, and this one
        state.update_order(added["id"], lines=[])
        add_after_a_count()
        held.append((state.stocks[(V1, W1)], state.allocated(V1, W1)))  # the last two

        assert held == [(2, 2), (2, 2), (2, 2)]

    def test_adding_an_order_reads_no_other_order(self) -> None:
        """Linear: an order added costs its own allocations, not a sum over every order's."""

        class Unreadable(list[Any]):
            def __iter__(self) -> Any:
                raise AssertionError("add_order read another order's lines")

        state = SaleorFakeState()
        state.add_order()
        state.orders["unreadable"] = {"id": "unreadable", "lines": Unreadable([{}])}

        state.add_order()

        assert state.stocks == {(V1, W1): 2, (V2, W1): 4}

    async def test_a_warehouse_without_the_variant_refuses_every_line(self, shop: Shop) -> None:
        payload = await shop.fulfil(both_lines(W2))

        assert payload["errors"] == [
            error("INSUFFICIENT_STOCK", "Insufficient product stock.", "stocks",
                  warehouse=W2, orderLines=[line])
            for line in (L1, L2)
        ]  # fmt: skip

    async def test_allow_stock_to_be_exceeded(self, shop: Shop) -> None:
        shop.state.set_stock(V2, W1, 0)

        payload = await shop.fulfil(both_lines(allowStockToBeExceeded=True))

        assert payload["errors"] == []
        assert shop.state.stocks == {(V1, W1): 0, (V2, W1): -2}

    async def test_a_deleted_variant_has_no_stock(self, shop: Shop) -> None:
        shop.order["lines"][0]["variant"] = None

        payload = await shop.fulfil(both_lines())

        assert payload["errors"] == [
            error("INSUFFICIENT_STOCK", "Insufficient product stock.", "stocks",
                  warehouse=W1, orderLines=[L1])
        ]  # fmt: skip


W3 = "V2FyZWhvdXNlOjM="  # Warehouse:3, a warehouse the tests add
STOCKS = (
    "query O($id: ID!) { order(id: $id) { lines { variant { "
    "trackInventory stocks { warehouse { id } quantity } } } } }"
)
STOCKS_ALLOCATED = (
    "query O($id: ID!) { order(id: $id) { lines { variant { "
    "stocks { quantity quantityAllocated } } } } }"
)


def untrack(shop: Shop, index: int = 0) -> str:
    """Make the variant of line ``index`` one whose inventory Saleor does not track: Saleor
    allocated it nothing (and holds no stock record of it unless a test adds one)."""
    line = shop.order["lines"][index]
    line["variant"]["trackInventory"] = False
    line["allocations"] = []
    variant_id: str = line["variant"]["id"]
    shop.state.set_stock(variant_id, W1, None)
    return variant_id


def add_warehouse(
    state: SaleorFakeState, *, channel: bool, zone: bool, collection: str = "DISABLED"
) -> None:
    """Warehouse 3, assigned to the channel and/or in its shipping zone (or neither)."""
    warehouse = {"__typename": "Warehouse", "id": W3, "slug": "lager-malmo",
                 "name": "Lager Malmö", "clickAndCollectOption": collection}  # fmt: skip
    state.warehouses.append(warehouse)
    if channel:
        state.channels[0]["warehouses"].append(dict(warehouse))
    if zone:
        state.shipping_zones[0]["warehouses"].append(dict(warehouse))


class TestUntrackedInventory:
    """``_create_fulfillment_lines`` needs a stock record of the variant in the warehouse among
    the stocks serving the order's channel; ``decrease_stock`` then leaves out a variant whose
    inventory is not tracked (``get_order_lines_with_track_inventory``): its quantity, even 0,
    is not looked at."""

    async def test_fulfilled_from_a_stock_record_of_any_quantity(self, shop: Shop) -> None:
        variant = untrack(shop)
        shop.state.set_stock(variant, W2, 0)
        line = {"orderLineId": L1, "stocks": [{"warehouse": W2, "quantity": 1}]}

        payload = await shop.fulfil({"lines": [line], "trackingNumber": TRACKING})

        assert payload["errors"] == []
        assert payload["fulfillments"] == [
            fulfillment(F11, [(L1, 1)], tracking=TRACKING, warehouse=W2)
        ]
        assert shop.state.stocks[(variant, W2)] == 0  # not counted

    async def test_refused_where_it_has_no_stock_record(self, shop: Shop) -> None:
        variant = untrack(shop)
        shop.state.set_stock(variant, W2, 0)

        payload = await shop.fulfil({"lines": both_lines()["lines"][:1]})  # from W1

        assert payload["errors"] == [
            error("INSUFFICIENT_STOCK", "Insufficient product stock.", "stocks",
                  warehouse=W1, orderLines=[L1])
        ]  # fmt: skip

    async def test_a_tracked_variant_beside_it_still_counts(self, shop: Shop) -> None:
        variant = untrack(shop)
        shop.state.set_stock(variant, W1, 0)

        payload = await shop.fulfil(both_lines())

        assert payload["errors"] == []
        assert shop.state.stocks == {(V2, W1): 0, (variant, W1): 0}

    async def test_the_order_lists_the_stocks_serving_its_channel(self, shop: Shop) -> None:
        variant = untrack(shop)
        add_warehouse(shop.state, channel=False, zone=False)
        for warehouse in (W3, W2):
            shop.state.set_stock(variant, warehouse, 0)

        body = await shop.call(STOCKS, {"id": shop.order_id})

        assert body["data"]["order"]["lines"] == [
            {"variant": {"trackInventory": False,
                         "stocks": [{"warehouse": {"id": W2}, "quantity": 0}]}},
            {"variant": {"trackInventory": True,
                         "stocks": [{"warehouse": {"id": W1}, "quantity": 2}]}},
        ]  # fmt: skip

    async def test_a_stock_answers_what_every_order_holds_of_it(self, shop: Shop) -> None:
        shop.state.add_order()  # holds V1 and V2 in W1 as well

        body = await shop.call(STOCKS_ALLOCATED, {"id": shop.order_id})

        assert [line["variant"]["stocks"] for line in body["data"]["order"]["lines"]] == [
            [{"quantity": 2, "quantityAllocated": 2}],
            [{"quantity": 4, "quantityAllocated": 4}],
        ]

    async def test_stocks_without_quantity_allocated_read_no_other_order(self, shop: Shop) -> None:
        """Summing every order's allocations is only done for a request that asks for it (the
        app's order read does not): a fake that grows to thousands of orders stays fast."""

        class Unreadable(list[Any]):
            def __iter__(self) -> Any:
                raise AssertionError("the stocks' resolver read another order's lines")

        shop.state.orders["unreadable"] = {"id": "unreadable", "lines": Unreadable([{}])}

        body = await shop.call(STOCKS, {"id": shop.order_id})

        assert [line["variant"]["stocks"] for line in body["data"]["order"]["lines"]] == [
            [{"warehouse": {"id": W1}, "quantity": 1}],
            [{"warehouse": {"id": W1}, "quantity": 2}],
        ]

    @pytest.mark.parametrize(
        ("permissions", "allowed"),
        [
            ({"MANAGE_ORDERS"}, True),
            ({"MANAGE_PRODUCTS"}, True),
            ({"MANAGE_SHIPPING"}, False),
            (set(), False),
        ],
    )
    async def test_stocks_need_manage_orders_or_manage_products(
        self, shop: Shop, permissions: set[str], allowed: bool
    ) -> None:
        shop.state.app_permissions = frozenset(permissions)

        body = await shop.call(STOCKS, {"id": shop.order_id})

        if allowed:
            assert "errors" not in body
            return
        assert [(e["message"], e["path"]) for e in body["errors"]] == [
            ("To access this path, you need one of the following permissions: MANAGE_PRODUCTS, "
             "MANAGE_ORDERS", ["order", "lines", index, "variant", "stocks"])
            for index in (0, 1)
        ]  # fmt: skip


class TestWarehousesOfTheChannel:
    """``Stock.objects.for_channel_or_country(channel, include_shipping_zones=legacy)``: the
    channel's warehouses; with ``useLegacyShippingZoneStockAvailability`` (3.23's default)
    those also in a shipping zone of the channel, and its click-and-collect warehouses."""

    @pytest.mark.parametrize(
        ("legacy", "channel", "zone", "collection", "serves"),
        [
            (True, True, True, "DISABLED", True),
            (True, True, False, "DISABLED", False),
            (True, True, False, "LOCAL", True),
            (True, True, False, "ALL", True),
            (True, False, True, "DISABLED", False),
            (True, False, False, "LOCAL", False),
            (False, True, False, "DISABLED", True),
            (False, False, True, "DISABLED", False),
        ],
    )
    async def test_which_warehouses_serve_the_channel(
        self, shop: Shop, legacy: bool, channel: bool, zone: bool, collection: str, serves: bool
    ) -> None:
        shop.state.use_legacy_shipping_zone_stock_availability = legacy
        add_warehouse(shop.state, channel=channel, zone=zone, collection=collection)
        shop.state.set_stock(V1, W3, 5)
        line = {"orderLineId": L1, "stocks": [{"warehouse": W3, "quantity": 1}]}

        payload = await shop.fulfil({"lines": [line]})
        listed = await shop.call(STOCKS, {"id": shop.order_id})

        assert shop.state.stock_warehouses("sverige") == [W1, W2, *([W3] if serves else [])]
        assert payload["errors"] == ([] if serves else [
            error("INSUFFICIENT_STOCK", "Insufficient product stock.", "stocks",
                  warehouse=W3, orderLines=[L1])
        ])  # fmt: skip
        stocks = listed["data"]["order"]["lines"][0]["variant"]["stocks"]
        assert [s["warehouse"]["id"] for s in stocks] == [W1, *([W3] if serves else [])]


class TestOrderRefusals:
    async def test_unpaid_is_refused_only_when_the_shop_says_so(self, shop: Shop) -> None:
        """``fulfillmentAllowUnpaid`` is on by default: Saleor then fulfils unpaid orders."""
        shop.order.update(isPaid=False, chargeStatus="NONE")
        shop.state.fulfillment_allow_unpaid = False

        refused = await shop.fulfil(both_lines())
        shop.state.fulfillment_allow_unpaid = True
        accepted = await shop.fulfil(both_lines())

        assert refused["errors"] == [
            error("CANNOT_FULFILL_UNPAID_ORDER", "Cannot fulfill unpaid order.", "order")
        ]
        assert accepted["order"]["status"] == "FULFILLED"

    async def test_a_cancelled_order_is_fulfilled_saleor_does_not_check(self, shop: Shop) -> None:
        """OrderFulfill has no status check: refusing a cancelled order is the app's job."""
        shop.order["status"] = "CANCELED"

        payload = await shop.fulfil(both_lines())

        assert payload["errors"] == []
        assert payload["order"]["status"] == "FULFILLED"

    @pytest.mark.parametrize(
        ("order", "lines", "expected"),
        [
            (None, None, error("NOT_FOUND", "Order does not exist.", None)),
            ("nope", None, error("GRAPHQL_ERROR", "Invalid ID: nope. Expected: Order.", "order")),
            (W1, None, error("GRAPHQL_ERROR",
                             f"Invalid ID: {W1}. Expected: Order, received: Warehouse.", "order")),
            (global_id("Order", "1e3ad5d8-5f4b-4c55-9b3d-0d6e5c1a0b11"), None,
             error("NOT_FOUND", "Couldn't resolve to a node: "
                   + global_id("Order", "1e3ad5d8-5f4b-4c55-9b3d-0d6e5c1a0b11"), "order")),
            ("", [{"orderLineId": L1, "stocks": [{"warehouse": W1, "quantity": 1},
                                                 {"warehouse": W1, "quantity": 0}]}],
             error("DUPLICATED_INPUT_ITEM", "Duplicated warehouse ID.", "warehouse",
                   warehouse=W1)),
            ("", [{"orderLineId": L1, "stocks": [{"warehouse": W1, "quantity": 1}]}] * 2,
             error("DUPLICATED_INPUT_ITEM", "Duplicated order line ID.", "orderLineId",
                   orderLines=[L1])),
            ("", [{"orderLineId": "x", "stocks": [{"warehouse": W1, "quantity": 1}]}],
             error("GRAPHQL_ERROR",
                   "Could not resolve to a node with the global id list of '['x']'.", "lines")),
            ("", [{"orderLineId": W1, "stocks": [{"warehouse": W1, "quantity": 1}]}],
             error("GRAPHQL_ERROR", f"Must receive OrderLine id: {W1}.", "lines")),
            ("", [{"orderLineId": L1, "stocks": [{"warehouse": W1, "quantity": 0}]}],
             error("ZERO_QUANTITY", "Total quantity must be larger than 0.", "lines")),
            ("", [{"orderLineId": L1, "stocks": [{"warehouse": "w", "quantity": 1}]}],
             error("GRAPHQL_ERROR", "Invalid ID: w. Expected: Warehouse.", "warehouse")),
        ],
    )  # fmt: skip
    async def test_input_errors_in_saleors_order(
        self, shop: Shop, order: str | None, lines: list[Any] | None, expected: dict[str, Any]
    ) -> None:
        before = copy.deepcopy(shop.order)

        payload = await shop.fulfil({"lines": lines or both_lines()["lines"]}, order=order)

        assert payload == {"fulfillments": None, "order": None, "errors": [expected]}
        assert shop.order == before

    async def test_an_unknown_line_among_known_ones_is_a_top_level_error(self, shop: Shop) -> None:
        unknown = global_id("OrderLine", "8c0f9d3e-2f1c-4a55-9d3b-1d6e5c1a0b22")
        lines = [*both_lines()["lines"], {"orderLineId": unknown, "stocks": []}]

        body = await shop.call(FULFIL, {"order": shop.order_id, "input": {"lines": lines}})

        assert body["data"] == {"orderFulfill": None}
        assert [e["message"] for e in body["errors"]] == [
            "There is no node of type OrderLine with pk 8c0f9d3e-2f1c-4a55-9d3b-1d6e5c1a0b22"
        ]

    async def test_a_tracking_number_beyond_255_characters_fails_in_the_database(
        self, shop: Shop
    ) -> None:
        before = copy.deepcopy(shop.order)

        body = await shop.call(
            FULFIL, {"order": shop.order_id, "input": both_lines(trackingNumber="x" * 256)}
        )
        fits = await shop.fulfil(both_lines(trackingNumber="x" * 255))

        assert body["data"] == {"orderFulfill": None}
        assert [(e["message"], e["extensions"]) for e in body["errors"]] == [
            ("Internal Server Error", {"exception": {"code": "DataError"}})
        ]
        assert fits["fulfillments"][0]["trackingNumber"] == "x" * 255
        assert before["status"] == "UNFULFILLED"

    @pytest.mark.parametrize("permissions", [frozenset(), frozenset({"MANAGE_SHIPPING"})])
    async def test_needs_manage_orders(self, shop: Shop, permissions: frozenset[str]) -> None:
        shop.state.app_permissions = permissions

        body = await shop.call(FULFIL, {"order": shop.order_id, "input": both_lines()})

        assert body["data"] == {"orderFulfill": None}
        assert [e["extensions"]["exception"]["code"] for e in body["errors"]] == [
            "PermissionDenied"
        ]
        assert shop.order["fulfillments"] == []


class TestApproval:
    async def test_without_auto_approval_the_fulfillment_waits(self, shop: Shop) -> None:
        """``create_fulfillments(auto_approved=False)``: lines counted as fulfilled, no stock
        taken, the order status unchanged, no customer e-mail."""
        shop.state.fulfillment_auto_approve = False

        payload = await shop.fulfil(both_lines(trackingNumber=TRACKING))

        waiting = fulfillment(F11, [(L1, 1), (L2, 2)], tracking=TRACKING,
                              status="WAITING_FOR_APPROVAL")  # fmt: skip
        assert payload["fulfillments"] == [waiting]
        assert payload["order"]["status"] == "UNFULFILLED"
        assert payload["order"]["lines"] == [order_line(L1, 1, 0, 1), order_line(L2, 2, 0, 2)]
        assert shop.state.stocks == {(V1, W1): 1, (V2, W1): 2}
        assert shop.state.notifications == []

    async def test_approval_takes_the_stock_and_fulfils_the_order(self, shop: Shop) -> None:
        shop.state.fulfillment_auto_approve = False
        await shop.fulfil(both_lines(trackingNumber=TRACKING))

        body = await shop.call(APPROVE, {"id": F11, "notify": True})
        again = await shop.call(APPROVE, {"id": F11, "notify": True})

        assert body["data"]["orderFulfillmentApprove"] == {
            "fulfillment": {"id": F11, "status": "FULFILLED"},
            "order": {"id": shop.order_id, "status": "FULFILLED"},
            "errors": [],
        }
        assert shop.state.stocks == {(V1, W1): 0, (V2, W1): 0}
        assert shop.state.notifications == [
            CustomerNotification("fulfillment_confirmation", shop.order_id, F11, TRACKING)
        ]
        assert again["data"]["orderFulfillmentApprove"]["errors"] == [
            error("INVALID", "Invalid fulfillment status, only WAITING_FOR_APPROVAL "
                  "fulfillments can be accepted.", None)
        ]  # fmt: skip

    async def test_unpaid_waits_then_approval_is_refused(self, shop: Shop) -> None:
        """Without auto-approval Saleor creates the fulfillment of an unpaid order even when
        unpaid ones may not be fulfilled; approving it is what it refuses."""
        shop.order.update(isPaid=False, chargeStatus="NONE")
        shop.state.fulfillment_auto_approve = False
        shop.state.fulfillment_allow_unpaid = False

        created = await shop.fulfil(both_lines())
        body = await shop.call(APPROVE, {"id": F11, "notify": True})

        assert created["fulfillments"][0]["status"] == "WAITING_FOR_APPROVAL"
        assert body["data"]["orderFulfillmentApprove"]["errors"] == [
            error("CANNOT_FULFILL_UNPAID_ORDER", "Cannot fulfill unpaid order.", None)
        ]

    async def test_approval_short_of_stock_is_refused(self, shop: Shop) -> None:
        shop.state.fulfillment_auto_approve = False
        await shop.fulfil(both_lines())
        shop.state.set_stock(V1, W1, None)

        body = await shop.call(APPROVE, {"id": F11, "notify": True})

        assert body["data"]["orderFulfillmentApprove"]["errors"] == [
            error("INSUFFICIENT_STOCK", "Insufficient product stock.", "stocks", orderLines=[L1])
        ]
        assert shop.order["fulfillments"][0]["status"] == "WAITING_FOR_APPROVAL"


class TestUpdateTracking:
    async def test_sets_any_number_over_any_other(self, shop: Shop) -> None:
        """Saleor keeps no tracking number from being overwritten: the app must not."""
        await shop.fulfil(both_lines(trackingNumber="DHL-123"))

        payload = await shop.update_tracking(F11, trackingNumber=TRACKING, notifyCustomer=True)

        assert payload == {
            "fulfillment": fulfillment(F11, [(L1, 1), (L2, 2)], tracking=TRACKING),
            "order": {"id": shop.order_id, "status": "FULFILLED"},
            "errors": [],
        }
        assert shop.state.notifications[-1] == CustomerNotification(
            "fulfillment_update", shop.order_id, F11, TRACKING
        )

    async def test_notify_customer_is_off_by_default(self, shop: Shop) -> None:
        await shop.fulfil(both_lines(notifyCustomer=False))

        await shop.update_tracking(F11, trackingNumber=TRACKING)

        assert shop.state.notifications == []

    @pytest.mark.parametrize(
        ("fulfillment_id", "expected"),
        [
            ("x", error("GRAPHQL_ERROR", "Invalid ID: x. Expected: Fulfillment.", "id")),
            (L1, error("GRAPHQL_ERROR",
                       f"Invalid ID: {L1}. Expected: Fulfillment, received: OrderLine.", "id")),
            (F12, error("NOT_FOUND", f"Couldn't resolve to a node: {F12}", "id")),
        ],
    )  # fmt: skip
    async def test_unknown_fulfillments(
        self, shop: Shop, fulfillment_id: str, expected: dict[str, Any]
    ) -> None:
        payload = await shop.update_tracking(fulfillment_id, trackingNumber=TRACKING)

        assert payload == {"fulfillment": None, "order": None, "errors": [expected]}

    async def test_beyond_255_characters_fails_in_the_database(self, shop: Shop) -> None:
        await shop.fulfil(both_lines())

        body = await shop.call(UPDATE_TRACKING, {"id": F11, "input": {"trackingNumber": "x" * 256}})

        assert body["data"] == {"orderFulfillmentUpdateTracking": None}
        assert [e["message"] for e in body["errors"]] == ["Internal Server Error"]
        assert shop.order["fulfillments"][0]["trackingNumber"] == ""


class TestOrderQuery:
    async def test_the_order_shows_fulfillments_quantities_and_allocations(
        self, shop: Shop
    ) -> None:
        await shop.fulfil({"lines": both_lines()["lines"][:1], "trackingNumber": TRACKING})
        query = f"query O($id: ID!) {{ order(id: $id) {{ {ORDER} }} }}"

        body = await shop.call(query, {"id": shop.order_id})

        assert body["data"]["order"] == {
            "id": shop.order_id, "status": "PARTIALLY_FULFILLED",
            "lines": [order_line(L1, 1, 0, 0), order_line(L2, 0, 2, 2)],
            "fulfillments": [fulfillment(F11, [(L1, 1)], tracking=TRACKING)],
        }  # fmt: skip

    async def test_shop_settings(self, shop: Shop) -> None:
        shop.state.fulfillment_auto_approve = False
        query = "{ shop { fulfillmentAutoApprove fulfillmentAllowUnpaid } }"

        body = await shop.call(query, {})

        assert body["data"] == {
            "shop": {"fulfillmentAutoApprove": False, "fulfillmentAllowUnpaid": True}
        }


class TestWebhooks:
    async def test_fulfilling_with_tracking_sends_what_saleor_sends(
        self, shop: Shop, receiver: Receiver
    ) -> None:
        """``create_fulfillments`` then ``order_fulfilled``; issued by the app."""
        subscribe(shop.state, receiver)
        token = shop.state.issue_token()
        await post_graphql(
            shop.api_url, FULFIL,
            {"order": shop.order_id, "input": both_lines(trackingNumber=TRACKING)}, token=token,
        )  # fmt: skip
        await receiver.wait_for(5)

        app = {"__typename": "App", "id": shop.state.app_id}
        order = {"id": shop.order_id, "status": "FULFILLED"}
        assert received(receiver) == [
            ("fulfillment_tracking_number_updated",
             {"__typename": "FulfillmentTrackingNumberUpdated", "issuingPrincipal": app,
              "order": {"id": shop.order_id},
              "fulfillment": {"id": F11, "trackingNumber": TRACKING}}),
            ("fulfillment_created",
             {"__typename": "FulfillmentCreated", "issuingPrincipal": app, "order": order,
              "fulfillment": {"id": F11, "status": "FULFILLED", "trackingNumber": TRACKING},
              "notifyCustomer": True}),
            ("fulfillment_approved",
             {"__typename": "FulfillmentApproved", "issuingPrincipal": app, "order": order,
              "fulfillment": {"id": F11, "status": "FULFILLED"}, "notifyCustomer": True}),
            ("order_updated", {"__typename": "OrderUpdated", "issuingPrincipal": app,
                               "order": order}),
            ("order_fulfilled", {"__typename": "OrderFulfilled", "issuingPrincipal": app,
                                 "order": order}),
        ]  # fmt: skip

    async def test_partial_fulfilment_is_not_approved_nor_order_fulfilled(
        self, shop: Shop, receiver: Receiver
    ) -> None:
        subscribe(shop.state, receiver)
        async with httpx.AsyncClient() as http:
            await shop.state.staff_fulfill(http, shop.order_id)  # fulfils both: reference
        other = shop.state.add_order()
        receiver.requests.clear()
        lines = [{"orderLineId": other["lines"][0]["id"],
                  "stocks": [{"warehouse": W1, "quantity": 1}]}]  # fmt: skip
        await shop.fulfil({"lines": lines}, order=other["id"])
        await receiver.wait_for(2)

        assert [event for event, _ in received(receiver)] == [
            "fulfillment_created",
            "order_updated",
        ]

    async def test_a_waiting_fulfillment_sends_order_updated_only(
        self, shop: Shop, receiver: Receiver
    ) -> None:
        subscribe(shop.state, receiver)
        shop.state.fulfillment_auto_approve = False
        await shop.fulfil(both_lines())
        await receiver.wait_for(1)
        async with httpx.AsyncClient() as http:
            await shop.state.staff_approve_fulfillment(http, F11, notify_customer=False)
        await receiver.wait_for(5)

        events = received(receiver)
        assert [event for event, _ in events] == [
            "order_updated",  # the waiting fulfillment
            "fulfillment_created", "fulfillment_approved", "order_updated", "order_fulfilled",
        ]  # fmt: skip
        assert events[1][1]["issuingPrincipal"] == {"__typename": "User", "id": "VXNlcjoyMQ=="}
        assert events[1][1]["notifyCustomer"] is False

    async def test_every_tracking_update_sends_both_events(
        self, shop: Shop, receiver: Receiver
    ) -> None:
        """Even the number it already has: an update the app repeats reaches the customer twice."""
        subscribe(shop.state, receiver)
        await shop.fulfil(both_lines())
        await receiver.wait_for(4)
        receiver.requests.clear()

        await shop.update_tracking(F11, trackingNumber=TRACKING)
        await shop.update_tracking(F11, trackingNumber=TRACKING)
        await receiver.wait_for(4)

        assert [event for event, _ in received(receiver)] == [
            "fulfillment_tracking_number_updated", "order_updated",
        ] * 2  # fmt: skip


class TestStaff:
    """What a person does on the order page of the Dashboard."""

    async def test_staff_fulfil_from_the_allocations_without_tracking(
        self, shop: Shop, receiver: Receiver
    ) -> None:
        subscribe(shop.state, receiver)
        async with httpx.AsyncClient() as http:
            payload = await shop.state.staff_fulfill(http, shop.order_id, notify_customer=False)
        await receiver.wait_for(4)

        assert payload == {
            "fulfillments": [{"id": F11, "status": "FULFILLED", "trackingNumber": ""}],
            "order": {"id": shop.order_id, "status": "FULFILLED"},
            "errors": [],
        }
        staff = {"__typename": "User", "id": "VXNlcjoyMQ=="}
        assert [(e, p["issuingPrincipal"]) for e, p in received(receiver)] == [
            ("fulfillment_created", staff), ("fulfillment_approved", staff),
            ("order_updated", staff), ("order_fulfilled", staff),
        ]  # fmt: skip

    async def test_staff_fulfil_with_tracking_and_edit_it(self, shop: Shop) -> None:
        async with httpx.AsyncClient() as http:
            await shop.state.staff_fulfill(http, shop.order_id, tracking_number="DHL-1")
            edited = await shop.state.staff_update_tracking(http, F11, "DHL-2")

        assert edited == {
            "fulfillment": {"id": F11, "status": "FULFILLED", "trackingNumber": "DHL-2"},
            "errors": [],
        }
        assert shop.state.notifications == [
            CustomerNotification("fulfillment_confirmation", shop.order_id, F11, "DHL-1")
        ]

    async def test_staff_fulfil_fulfils_what_is_left(self, shop: Shop) -> None:
        await shop.fulfil({"lines": [{"orderLineId": L2, "stocks": [{"warehouse": W1,
                                                                    "quantity": 1}]}]})  # fmt: skip
        async with httpx.AsyncClient() as http:
            payload = await shop.state.staff_fulfill(http, shop.order_id)

        assert payload["order"] == {"id": shop.order_id, "status": "FULFILLED"}
        assert [line["quantity"] for line in shop.order["fulfillments"][1]["lines"]] == [1, 1]


def test_fulfillment_ids_are_saleors() -> None:
    """Saleor's fulfillments have integer primary keys (the recording's ``Fulfillment:11``)."""
    assert base64.b64decode(F11) == b"Fulfillment:11"
