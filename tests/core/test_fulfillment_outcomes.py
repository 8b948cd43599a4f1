"""What Saleor's answers to orderFulfill and orderFulfillmentUpdateTracking mean
(core/fulfillment_outcomes.py); the payloads are shaped like the Saleor fake's, which follows
Saleor 3.23.28 (tests/saleor/test_saleor_fake_fulfillments.py)."""

from __future__ import annotations

from typing import Any

import pytest

from saleor_gordon.core.fulfillment import Blocker, FulfillmentPlan, FulfillmentState
from saleor_gordon.core.fulfillment_outcomes import (
    Accepted,
    AnswerUnreadable,
    NextStep,
    OrderError,
    Refusal,
    Refused,
    SavedFulfillment,
    blocked_by,
    read_fulfil_answer,
    read_tracking_answer,
)
from saleor_gordon.core.order import SaleorOrder

W1 = "V2FyZWhvdXNlOjE="
L1, L2 = "T3JkZXJMaW5lOjE=", "T3JkZXJMaW5lOjI="
F1 = "RnVsZmlsbG1lbnQ6MTE="
ORDER = {"id": "T3JkZXI6MQ==", "status": "FULFILLED"}


def saleor_error(code: str, message: str = "m", **fields: Any) -> dict[str, Any]:
    return {"field": fields.get("field"), "code": code, "message": message,
            "warehouse": fields.get("warehouse"), "orderLines": fields.get("orderLines")}  # fmt: skip


def refused_fulfil(*errors: dict[str, Any]) -> dict[str, Any]:
    return {"fulfillments": None, "order": None, "errors": list(errors)}


class TestFulfilAnswer:
    def test_accepted(self) -> None:
        payload = {
            "fulfillments": [
                {"id": F1, "status": "WAITING_FOR_APPROVAL", "trackingNumber": "0Zj7YGCUr"}
            ],
            "order": ORDER,
            "errors": [],
        }

        assert read_fulfil_answer(payload) == Accepted(
            (SavedFulfillment(F1, "WAITING_FOR_APPROVAL", "0Zj7YGCUr"),), ORDER
        )

    @pytest.mark.parametrize(
        ("code", "refusal", "next_step"),
        [
            ("INSUFFICIENT_STOCK", Refusal.NOT_ENOUGH_STOCK, NextStep.RETRY_LATER),
            ("FULFILL_ORDER_LINE", Refusal.ALREADY_FULFILLED, NextStep.READ_AGAIN),
            ("ZERO_QUANTITY", Refusal.ALREADY_FULFILLED, NextStep.READ_AGAIN),
            ("CANNOT_FULFILL_UNPAID_ORDER", Refusal.NOT_PAID, NextStep.WAIT_FOR_EVENT),
            ("NOT_FOUND", Refusal.GONE, NextStep.READ_AGAIN),
            ("GRAPHQL_ERROR", Refusal.INVALID, NextStep.PERSON),
            ("DUPLICATED_INPUT_ITEM", Refusal.INVALID, NextStep.PERSON),
            ("A_CODE_OF_A_LATER_SALEOR", Refusal.INVALID, NextStep.PERSON),
        ],
    )
    def test_each_code(self, code: str, refusal: Refusal, next_step: NextStep) -> None:
        answer = read_fulfil_answer(refused_fulfil(saleor_error(code, "Saleor says no.")))

        assert answer == Refused(refusal, (OrderError(code, "Saleor says no."),))
        assert isinstance(answer, Refused)
        assert answer.next_step is next_step
        assert answer.message == f"{code}: Saleor says no."

    def test_not_enough_stock_wins_and_keeps_every_line(self) -> None:
        errors = [
            saleor_error("FULFILL_ORDER_LINE", field="orderLineId", orderLines=[L2]),
            saleor_error("INSUFFICIENT_STOCK", "Insufficient product stock.", field="stocks",
                         warehouse=W1, orderLines=[L1]),
        ]  # fmt: skip

        answer = read_fulfil_answer(refused_fulfil(*errors))

        assert answer == Refused(
            Refusal.NOT_ENOUGH_STOCK,
            (
                OrderError("FULFILL_ORDER_LINE", "m", "orderLineId", (L2,)),
                OrderError("INSUFFICIENT_STOCK", "Insufficient product stock.", "stocks",
                           (L1,), W1),
            ),
        )  # fmt: skip

    @pytest.mark.parametrize(
        ("payload", "message"),
        [
            (None, "Saleor's answer is not an object"),
            ({"fulfillments": []}, "Saleor's answer has no list of errors"),
            ({"errors": [{"message": "x"}]}, "an error in Saleor's answer has no code"),
            ({"errors": [], "fulfillments": []},
             "Saleor answered orderFulfill without errors and without fulfillments"),
            ({"errors": [], "fulfillments": [{"status": "FULFILLED"}]},
             "a fulfillment in Saleor's answer has no id"),
        ],
    )  # fmt: skip
    def test_unreadable(self, payload: object, message: str) -> None:
        with pytest.raises(AnswerUnreadable) as caught:
            read_fulfil_answer(payload)

        assert str(caught.value) == message


class TestTrackingAnswer:
    def test_accepted(self) -> None:
        payload = {
            "fulfillment": {"id": F1, "status": "FULFILLED", "trackingNumber": "0Zj7YGCUr"},
            "order": ORDER,
            "errors": [],
        }

        assert read_tracking_answer(payload) == Accepted(
            (SavedFulfillment(F1, "FULFILLED", "0Zj7YGCUr"),), ORDER
        )

    def test_a_fulfillment_gone(self) -> None:
        payload = {
            "fulfillment": None,
            "order": None,
            "errors": [saleor_error("NOT_FOUND", f"Couldn't resolve to a node: {F1}", field="id")],
        }

        answer = read_tracking_answer(payload)

        assert isinstance(answer, Refused)
        assert (answer.refusal, answer.next_step) == (Refusal.GONE, NextStep.READ_AGAIN)

    def test_unreadable(self) -> None:
        with pytest.raises(AnswerUnreadable) as caught:
            read_tracking_answer({"errors": [], "fulfillment": None})

        assert str(caught.value) == (
            "Saleor answered orderFulfillmentUpdateTracking without errors and without the "
            "fulfillment"
        )


class TestBlockedBy:
    ORDER = SaleorOrder.from_graphql(
        {
            "id": "T3JkZXI6MQ==", "number": "45", "status": "UNFULFILLED",
            "lines": [
                {"id": L1, "productName": "Middagskasse", "variantName": "3 middagar",
                 "quantity": 1, "allocations": [{"quantity": 1, "warehouse": {
                     "id": W1, "slug": "lager-vastberga", "name": "Lager Västberga"}}]},
                {"id": L2, "productName": "Kaffe", "quantity": 2, "allocations": []},
            ],
        }
    )  # fmt: skip

    def test_not_enough_stock_names_the_lines_and_the_warehouse(self) -> None:
        refused = Refused(
            Refusal.NOT_ENOUGH_STOCK,
            (OrderError("INSUFFICIENT_STOCK", "Insufficient product stock.", "stocks", (L1,), W1),
             OrderError("INSUFFICIENT_STOCK", "Insufficient product stock.", "stocks", (L2,), W1)),
        )  # fmt: skip

        assert blocked_by(refused, self.ORDER) == FulfillmentPlan(
            FulfillmentState.BLOCKED,
            "Saleor has not enough stock of Middagskasse (3 middagar) and Kaffe in Lager "
            "Västberga to fulfil the order: add stock in Saleor (the app tries again), or fulfil "
            "the order yourself and the app adds the tracking number.",
            blocker=Blocker.NOT_ENOUGH_STOCK,
            blocked_lines=(L1, L2),
        )
        message = blocked_by(refused, self.ORDER).message
        assert (message.code, message.params) == (
            "fulfillment_reason.not_enough_stock_in",
            {"lines": ["Middagskasse (3 middagar)", "Kaffe"], "warehouses": ["Lager Västberga"]},
        )

    def test_the_warehouse_of_an_untracked_line_is_named_from_its_stocks(self) -> None:
        """Its stock record went away between the app's read and its fulfilment."""
        order = SaleorOrder.from_graphql({
            "id": "T3JkZXI6MQ==", "number": "45", "status": "UNFULFILLED",
            "lines": [{"id": L2, "productName": "Kaffe", "quantity": 2, "allocations": [],
                       "variant": {"id": "V", "trackInventory": False, "stocks": [
                           {"warehouse": {"id": W1, "name": "Lager Göteborg"}}]}}],
        })  # fmt: skip
        refused = Refused(
            Refusal.NOT_ENOUGH_STOCK,
            (OrderError("INSUFFICIENT_STOCK", "Insufficient product stock.", "stocks", (L2,), W1),),
        )

        message = blocked_by(refused, order).message

        assert (message.code, message.params) == (
            "fulfillment_reason.not_enough_stock_in",
            {"lines": ["Kaffe"], "warehouses": ["Lager Göteborg"]},
        )

    def test_without_a_warehouse_in_saleors_answer(self) -> None:
        refused = Refused(
            Refusal.NOT_ENOUGH_STOCK,
            (OrderError("INSUFFICIENT_STOCK", "Insufficient product stock.", "stocks", (L2,)),),
        )

        message = blocked_by(refused, self.ORDER).message

        assert message == (
            "Saleor has not enough stock of Kaffe to fulfil the order: add stock in Saleor (the "
            "app tries again), or fulfil the order yourself and the app adds the tracking number."
        )
        assert (message.code, message.params) == (
            "fulfillment_reason.not_enough_stock",
            {"lines": ["Kaffe"]},
        )

    def test_an_unknown_warehouse_and_line_are_named_by_id(self) -> None:
        refused = Refused(
            Refusal.NOT_ENOUGH_STOCK,
            (OrderError("INSUFFICIENT_STOCK", "x", "stocks", ("T3JkZXJMaW5lOjk=",), "V2Fy"),),
        )

        assert blocked_by(refused, self.ORDER).message.startswith(
            "Saleor has not enough stock of T3JkZXJMaW5lOjk= in V2Fy to fulfil the order"
        )

    def test_not_paid(self) -> None:
        refused = Refused(Refusal.NOT_PAID, (OrderError("CANNOT_FULFILL_UNPAID_ORDER", "x"),))

        assert blocked_by(refused, self.ORDER) == FulfillmentPlan(
            FulfillmentState.BLOCKED,
            "Saleor fulfils only paid orders in this shop: the app fulfils the order once it "
            "is fully paid.",
            blocker=Blocker.NOT_PAID,
        )
        assert blocked_by(refused, self.ORDER).message.code == "fulfillment_reason.saleor_not_paid"

    def test_anything_else_keeps_saleors_words(self) -> None:
        refused = Refused(
            Refusal.INVALID, (OrderError("DUPLICATED_INPUT_ITEM", "Duplicated order line ID."),)
        )

        assert blocked_by(refused, self.ORDER) == FulfillmentPlan(
            FulfillmentState.BLOCKED,
            "Saleor refused to fulfil the order (DUPLICATED_INPUT_ITEM: Duplicated order line "
            "ID.).",
            blocker=Blocker.REFUSED,
        )
        message = blocked_by(refused, self.ORDER).message
        assert (message.code, message.params) == (
            "fulfillment_reason.saleor_refused",
            {"detail": "DUPLICATED_INPUT_ITEM: Duplicated order line ID."},
        )
