"""What the app does with an order's fulfillments once Gordon has it (core/fulfillment.py), and the
tracking number and link it puts on them."""

from __future__ import annotations

from typing import Any

import pytest

from saleor_gordon.core.fulfillment import (
    Blocker,
    FulfillmentPlan,
    FulfillmentSettings,
    FulfillmentState,
    LineToFulfil,
    TrackingMode,
    TrackingUpdate,
    carries_tracking_id,
    check_tracking_url,
    decide_fulfillment,
    tracking_link,
    tracking_number,
)
from saleor_gordon.core.order import SaleorOrder

TRACKING_ID = "0Zj7YGCUr"
TEMPLATE = "https://track.gordon.se/t/{tracking_id}"
LINK = "https://track.gordon.se/t/0Zj7YGCUr"
W1, W2 = "V2FyZWhvdXNlOjE=", "V2FyZWhvdXNlOjI="
L1, L2, L3 = "T3JkZXJMaW5lOjE=", "T3JkZXJMaW5lOjI=", "T3JkZXJMaW5lOjM="
F1, F2 = "RnVsZmlsbG1lbnQ6MTE=", "RnVsZmlsbG1lbnQ6MTI="


def line(
    line_id: str,
    quantity: int,
    *,
    fulfilled: int = 0,
    allocations: list[tuple[str, int]] | None = None,
    shipping: bool = True,
    name: str = "Frukostkasse",
    kept_in: list[str] | None = None,
) -> dict[str, Any]:
    """An order line as OrderDetails selects it; allocated in W1 by default. ``kept_in``: the
    line's variant is one whose stock Saleor does not count, with stock records in these
    warehouses (of the order's channel) and no allocation unless ``allocations`` says so."""
    untracked = kept_in is not None
    held = allocations if allocations is not None else [] if untracked else [
        (W1, quantity - fulfilled)
    ]  # fmt: skip
    variant = {
        "id": f"variant-of-{line_id}", "trackInventory": not untracked,
        "stocks": [{"warehouse": {"id": w, "slug": w, "name": f"Lager {w[-3:-1]}"}}
                   for w in kept_in or []],
    }  # fmt: skip
    return {
        "id": line_id, "productName": name, "variantName": "Standard", "quantity": quantity,
        "quantityFulfilled": fulfilled, "quantityToFulfill": quantity - fulfilled,
        "isShippingRequired": shipping, "variant": variant,
        "allocations": [
            {"quantity": q, "warehouse": {"id": w, "slug": w, "name": f"Lager {w[-3:-1]}"}}
            for w, q in held
        ],
    }  # fmt: skip


def fulfilment(
    fulfillment_id: str,
    lines: list[tuple[str, int]],
    *,
    tracking: str = "",
    status: str = "FULFILLED",
) -> dict[str, Any]:
    return {
        "id": fulfillment_id, "status": status, "trackingNumber": tracking,
        "warehouse": {"id": W1},
        "lines": [{"quantity": q, "orderLine": {"id": lid}} for lid, q in lines],
    }  # fmt: skip


def order(
    *,
    status: str = "UNFULFILLED",
    lines: list[dict[str, Any]] | None = None,
    fulfillments: list[dict[str, Any]] | None = None,
) -> SaleorOrder:
    """Two lines (1 and 2 of them) allocated in W1, nothing fulfilled, unless told."""
    return SaleorOrder.from_graphql(
        {
            "id": "T3JkZXI6MQ==", "number": "45", "status": status,
            "lines": lines if lines is not None else [line(L1, 1), line(L2, 2)],
            "fulfillments": fulfillments or [],
        }
    )  # fmt: skip


def decide(
    the_order: SaleorOrder,
    mode: TrackingMode = "add",
    *,
    paid: bool = True,
    tracking_id: str | None = TRACKING_ID,
    notify: bool = True,
    url: str = "",
) -> FulfillmentPlan:
    settings = FulfillmentSettings(mode=mode, notify_customer=notify, tracking_url=url)
    return decide_fulfillment(the_order, paid=paid, tracking_id=tracking_id, settings=settings)


FULFIL_ALL = (LineToFulfil(L1, ((W1, 1),)), LineToFulfil(L2, ((W1, 2),)))


class TestTrackingUrl:
    @pytest.mark.parametrize(
        ("template", "stored"),
        [
            ("", ""),
            ("   ", ""),
            (f"  {TEMPLATE} ", TEMPLATE),
            ("https://gordon.se/track?id={tracking_id}&lang=sv", None),
            ("https://{tracking_id}.track.example.com/", None),
            ("https://t.se/" + "a" * 178 + "{tracking_id}", None),  # 191 + 64 = 255
        ],
    )
    def test_accepted(self, template: str, stored: str | None) -> None:
        assert check_tracking_url(template) == (template if stored is None else stored)

    @pytest.mark.parametrize(
        ("template", "message"),
        [
            ("https://track.gordon.se/t/",
             "must contain {tracking_id} where the ID goes; "
             "e.g. https://track.example.com/{tracking_id}"),
            ("https://t.se/{tracking_id}/{tracking_id}",
             "must contain {tracking_id} once, not 2 times"),
            ("https://t.se/{trackingid}/{tracking_id}",
             "only {tracking_id} is replaced; remove the other curly braces"),
            ("https://t.se/{tracking_id} x", "must not contain spaces"),
            ("http://t.se/{tracking_id}",
             "must be an https:// link; e.g. https://track.example.com/{tracking_id}"),
            ("track.gordon.se/{tracking_id}",
             "must be an https:// link; e.g. https://track.example.com/{tracking_id}"),
            ("https:///{tracking_id}",
             "must be an https:// link; e.g. https://track.example.com/{tracking_id}"),
            ("https://t.se/" + "a" * 179 + "{tracking_id}",
             "is too long: Saleor keeps at most 255 characters in a tracking number, so without "
             "{tracking_id} it may have 191 characters (it has 192)"),
        ],
    )  # fmt: skip
    def test_refused_with_what_to_write(self, template: str, message: str) -> None:
        with pytest.raises(ValueError, match=r".") as caught:
            check_tracking_url(template)

        assert str(caught.value) == message

    def test_the_link_and_the_tracking_number(self) -> None:
        assert tracking_link(TRACKING_ID, TEMPLATE) == LINK
        assert tracking_number(TRACKING_ID, TEMPLATE) == LINK
        assert tracking_link(TRACKING_ID, "") is None
        assert tracking_number(TRACKING_ID, "") == TRACKING_ID
        assert tracking_link("", TEMPLATE) is None
        assert tracking_link("a/b c", TEMPLATE) == "https://track.gordon.se/t/a%2Fb%20c"

    def test_a_link_beyond_255_characters_falls_back_to_the_id(self) -> None:
        """An ID longer than any Gordon gives: Saleor would fail the whole mutation on a link of
        256 characters, so the bare ID goes instead."""
        template = "https://t.se/" + "a" * 178 + "{tracking_id}"
        long_id = "x" * 65

        assert tracking_link("x" * 64, template) == template.replace("{tracking_id}", "x" * 64)
        assert tracking_link(long_id, template) is None
        assert tracking_number(long_id, template) == long_id

    @pytest.mark.parametrize(
        ("number", "ours"),
        [
            (TRACKING_ID, True),
            (LINK, True),
            ("https://old.example.com/track?id=0Zj7YGCUr&x=1", True),  # an earlier template
            ("0Zj7YGCUr ", False),
            ("DHL-0Zj7YGCUr", False),  # not a link: somebody else's number
            ("https://t.se/x0Zj7YGCUr", False),
            ("https://t.se/0Zj7YGCUrx", False),
            ("https://t.se/0Zj7YGCU", False),
            ("", False),
        ],
    )
    def test_which_tracking_numbers_carry_gordons_id(self, number: str, ours: bool) -> None:
        assert carries_tracking_id(number, TRACKING_ID) is ours
        assert carries_tracking_id(number, "") is False


class TestNothingToDo:
    def test_off(self) -> None:
        assert decide(order(), "off") == FulfillmentPlan(
            FulfillmentState.OFF, "Tracking numbers on fulfillments are off for this shop."
        )

    @pytest.mark.parametrize("mode", ["add", "fulfill"])
    @pytest.mark.parametrize("tracking_id", [None, ""])
    def test_not_in_gordon(self, mode: TrackingMode, tracking_id: str | None) -> None:
        staff = fulfilment(F1, [(L1, 1), (L2, 2)])

        plan = decide(order(fulfillments=[staff]), mode, tracking_id=tracking_id)

        assert plan == FulfillmentPlan(
            FulfillmentState.NOT_IN_GORDON,
            "Gordon has not accepted the order yet; its tracking number follows.",
        )

    @pytest.mark.parametrize(
        ("status", "word"),
        [("CANCELED", "cancelled"), ("EXPIRED", "expired"), ("DRAFT", "a draft")],
    )
    @pytest.mark.parametrize("mode", ["add", "fulfill"])
    def test_a_closed_order_is_never_touched(
        self, status: str, word: str, mode: TrackingMode
    ) -> None:
        staff = fulfilment(F1, [(L1, 1)])

        plan = decide(order(status=status, fulfillments=[staff]), mode)

        assert plan == FulfillmentPlan(
            FulfillmentState.ORDER_CLOSED,
            f"The order is {word} in Saleor: the app leaves its fulfillments alone.",
        )

    def test_add_waits_for_the_shop_to_fulfil(self) -> None:
        plan = decide(order(), "add")

        assert plan == FulfillmentPlan(
            FulfillmentState.AWAITING_FULFILLMENT,
            "Gordon's tracking number is added to the order's fulfillment once it is fulfilled "
            "in Saleor.",
            tracking_number=TRACKING_ID,
        )


class TestAdd:
    def test_sets_the_tracking_number_on_a_fulfillment_without_one(self) -> None:
        staff = fulfilment(F1, [(L1, 1), (L2, 2)])

        plan = decide(order(status="FULFILLED", fulfillments=[staff]), url=TEMPLATE)

        assert plan == FulfillmentPlan(
            FulfillmentState.TO_DO,
            "The app adds Gordon's tracking number to 1 fulfillment.",
            tracking_number=LINK,
            set_tracking=(TrackingUpdate(F1, notify_customer=True),),
        )

    def test_every_fulfillment_without_one_and_only_those(self) -> None:
        fulfilments = [
            fulfilment(F1, [(L1, 1)]),
            fulfilment(F2, [(L2, 1)], tracking="DHL-123"),
            fulfilment("RnVsZmlsbG1lbnQ6MTM=", [(L2, 1)], tracking=" "),
        ]

        plan = decide(order(status="FULFILLED", fulfillments=fulfilments), notify=False)

        assert plan.state is FulfillmentState.TO_DO
        assert plan.message == "The app adds Gordon's tracking number to 2 fulfillments."
        assert plan.set_tracking == (
            TrackingUpdate(F1, notify_customer=False),
            TrackingUpdate("RnVsZmlsbG1lbnQ6MTM=", notify_customer=False),
        )
        assert plan.fulfil == ()

    def test_a_waiting_fulfillment_gets_it_without_an_email(self) -> None:
        """Its approval e-mails the customer, with the number it has by then."""
        waiting = fulfilment(F1, [(L1, 1), (L2, 2)], status="WAITING_FOR_APPROVAL")

        plan = decide(order(fulfillments=[waiting]))

        assert plan.set_tracking == (TrackingUpdate(F1, notify_customer=False),)

    @pytest.mark.parametrize(
        "status", ["CANCELED", "RETURNED", "REFUNDED", "REPLACED", "REFUNDED_AND_RETURNED"]
    )
    def test_fulfillments_that_do_not_travel_are_left_alone(self, status: str) -> None:
        plan = decide(order(fulfillments=[fulfilment(F1, [(L1, 1)], status=status)]))

        assert plan.state is FulfillmentState.AWAITING_FULFILLMENT
        assert plan.set_tracking == ()

    def test_a_fulfillment_of_lines_without_shipping_gets_none(self) -> None:
        """E.g. a gift card: Gordon does not carry it."""
        lines = [line(L1, 1), line(L3, 1, shipping=False, name="Presentkort")]
        digital = fulfilment(F1, [(L3, 1)])

        plan = decide(order(lines=lines, fulfillments=[digital]))

        assert plan.state is FulfillmentState.AWAITING_FULFILLMENT
        assert plan.set_tracking == ()

    def test_idempotent_once_ours_is_there(self) -> None:
        ours = fulfilment(F1, [(L1, 1), (L2, 2)], tracking=LINK)

        plan = decide(order(status="FULFILLED", fulfillments=[ours]), url=TEMPLATE)

        assert plan == FulfillmentPlan(
            FulfillmentState.DONE,
            "Gordon's tracking number is on the order's fulfillment.",
            tracking_number=LINK,
        )

    def test_never_overwrites_a_tracking_number_somebody_else_set(self) -> None:
        theirs = fulfilment(F1, [(L1, 1), (L2, 2)], tracking="DHL-123")

        plan = decide(order(status="FULFILLED", fulfillments=[theirs]))

        assert plan == FulfillmentPlan(
            FulfillmentState.DONE,
            "Kept the tracking number somebody else set on 1 fulfillment; Gordon's is not added.",
            tracking_number=TRACKING_ID,
        )

    def test_ours_and_somebody_elses(self) -> None:
        fulfilments = [
            fulfilment(F1, [(L1, 1)], tracking=TRACKING_ID),
            fulfilment(F2, [(L2, 2)], tracking="DHL-123"),
        ]

        plan = decide(order(status="FULFILLED", fulfillments=fulfilments))

        assert plan.state is FulfillmentState.DONE
        assert plan.message == (
            "Gordon's tracking number is on the order's fulfillment; kept the tracking number "
            "somebody else set on 1 fulfillment."
        )

    def test_ours_waiting_for_approval(self) -> None:
        waiting = fulfilment(F1, [(L1, 1), (L2, 2)], tracking=TRACKING_ID,
                             status="WAITING_FOR_APPROVAL")  # fmt: skip

        plan = decide(order(fulfillments=[waiting]))

        assert plan == FulfillmentPlan(
            FulfillmentState.WAITING_FOR_APPROVAL,
            "The fulfillment with Gordon's tracking number waits for approval in Saleor.",
            tracking_number=TRACKING_ID,
        )

    def test_add_never_fulfils(self) -> None:
        partly = fulfilment(F1, [(L1, 1)], tracking=TRACKING_ID)
        lines = [line(L1, 1, fulfilled=1), line(L2, 2)]

        plan = decide(order(status="PARTIALLY_FULFILLED", lines=lines, fulfillments=[partly]))

        assert plan.fulfil == ()
        assert plan.state is FulfillmentState.DONE


class TestFulfill:
    def test_fulfils_every_line_from_its_warehouse_with_the_link(self) -> None:
        plan = decide(order(), "fulfill", url=TEMPLATE)

        assert plan == FulfillmentPlan(
            FulfillmentState.TO_DO,
            "The app fulfils the order in Saleor with Gordon's tracking number.",
            tracking_number=LINK,
            fulfil=FULFIL_ALL,
            notify_customer=True,
        )
        assert [f.as_input() for f in plan.fulfil] == [
            {"orderLineId": L1, "stocks": [{"warehouse": W1, "quantity": 1}]},
            {"orderLineId": L2, "stocks": [{"warehouse": W1, "quantity": 2}]},
        ]

    def test_notify_customer_follows_the_setting(self) -> None:
        assert decide(order(), "fulfill", notify=False).notify_customer is False

    def test_a_line_allocated_in_two_warehouses(self) -> None:
        lines = [line(L1, 3, allocations=[(W1, 1), (W2, 2)])]

        plan = decide(order(lines=lines), "fulfill")

        assert plan.fulfil == (LineToFulfil(L1, ((W1, 1), (W2, 2))),)

    def test_what_is_left_of_a_partly_fulfilled_order(self) -> None:
        """Staff fulfilled one of line 2 by hand: the rest goes out with Gordon's number, and the
        staff's fulfillment gets it too."""
        staff = fulfilment(F1, [(L2, 1)])
        lines = [line(L1, 1), line(L2, 2, fulfilled=1, allocations=[(W1, 1), (W2, 0)])]

        plan = decide(order(status="PARTIALLY_FULFILLED", lines=lines, fulfillments=[staff]),
                      "fulfill")  # fmt: skip

        assert plan.fulfil == (LineToFulfil(L1, ((W1, 1),)), LineToFulfil(L2, ((W1, 1),)))
        assert plan.set_tracking == (TrackingUpdate(F1, notify_customer=True),)

    def test_used_up_allocations_are_skipped(self) -> None:
        lines = [line(L1, 2, fulfilled=1, allocations=[(W2, 0), (W1, 1)])]

        plan = decide(order(status="PARTIALLY_FULFILLED", lines=lines), "fulfill")

        assert plan.fulfil == (LineToFulfil(L1, ((W1, 1),)),)

    def test_more_allocated_than_to_fulfil_takes_the_first(self) -> None:
        lines = [line(L1, 2, allocations=[(W2, 2), (W1, 2)])]

        assert decide(order(lines=lines), "fulfill").fulfil == (LineToFulfil(L1, ((W2, 2),)),)

    def test_lines_without_shipping_are_the_shops(self) -> None:
        lines = [line(L1, 1), line(L3, 1, shipping=False, allocations=[])]

        plan = decide(order(lines=lines), "fulfill")

        assert plan.fulfil == (LineToFulfil(L1, ((W1, 1),)),)

    def test_not_twice_once_fulfilled(self) -> None:
        """After the app's fulfilment (even one whose answer was lost) nothing is left to fulfil."""
        ours = fulfilment(F1, [(L1, 1), (L2, 2)], tracking=TRACKING_ID)
        lines = [line(L1, 1, fulfilled=1), line(L2, 2, fulfilled=2)]

        plan = decide(order(status="FULFILLED", lines=lines, fulfillments=[ours]), "fulfill")

        assert plan == FulfillmentPlan(
            FulfillmentState.DONE,
            "Gordon's tracking number is on the order's fulfillment.",
            tracking_number=TRACKING_ID,
        )

    def test_not_again_after_somebody_cancelled_ours(self) -> None:
        cancelled = fulfilment(F1, [(L1, 1), (L2, 2)], tracking=LINK, status="CANCELED")

        plan = decide(order(fulfillments=[cancelled]), "fulfill", url=TEMPLATE)

        assert plan == FulfillmentPlan(
            FulfillmentState.CANCELLED_IN_SALEOR,
            "The fulfillment with Gordon's tracking number was cancelled in Saleor: the app "
            "does not fulfil the order again.",
            tracking_number=LINK,
        )

    def test_ours_by_an_earlier_link_counts(self) -> None:
        """The shop changed tracking_url after the app fulfilled: still the app's fulfillment."""
        cancelled = fulfilment(F1, [(L1, 1), (L2, 2)], tracking="https://old.se/0Zj7YGCUr",
                               status="CANCELED")  # fmt: skip

        plan = decide(order(fulfillments=[cancelled]), "fulfill", url=TEMPLATE)

        assert plan.state is FulfillmentState.CANCELLED_IN_SALEOR

    def test_a_staff_fulfillment_of_everything_gets_the_number(self) -> None:
        staff = fulfilment(F1, [(L1, 1), (L2, 2)])
        lines = [line(L1, 1, fulfilled=1), line(L2, 2, fulfilled=2)]

        plan = decide(order(status="FULFILLED", lines=lines, fulfillments=[staff]), "fulfill")

        assert plan.fulfil == ()
        assert plan.set_tracking == (TrackingUpdate(F1, notify_customer=True),)

    def test_waiting_for_approval(self) -> None:
        waiting = fulfilment(F1, [(L1, 1), (L2, 2)], tracking=TRACKING_ID,
                             status="WAITING_FOR_APPROVAL")  # fmt: skip
        lines = [line(L1, 1, fulfilled=1), line(L2, 2, fulfilled=2)]

        plan = decide(order(lines=lines, fulfillments=[waiting]), "fulfill")

        assert plan.state is FulfillmentState.WAITING_FOR_APPROVAL


class TestUntrackedInventory:
    """Lines of variants whose stock Saleor does not count: no allocation, fulfilled from a
    warehouse of the order's channel that keeps the variant (Saleor checks only that the stock
    record exists there, not its quantity)."""

    def test_fulfilled_from_the_warehouse_that_keeps_it(self) -> None:
        lines = [line(L1, 2, kept_in=[W2])]

        plan = decide(order(lines=lines), "fulfill")

        assert plan.state is FulfillmentState.TO_DO
        assert plan.fulfil == (LineToFulfil(L1, ((W2, 2),)),)

    def test_first_of_saleors_list_when_several_keep_it(self) -> None:
        plan = decide(order(lines=[line(L1, 1, kept_in=[W2, W1])]), "fulfill")

        assert plan.fulfil == (LineToFulfil(L1, ((W2, 1),)),)

    def test_joins_a_warehouse_the_allocated_lines_use(self) -> None:
        """One fulfillment (and one e-mail to the customer) rather than one per warehouse, even
        when the allocated line comes after it."""
        lines = [line(L1, 1, kept_in=[W2, W1]), line(L2, 2)]

        plan = decide(order(lines=lines), "fulfill")

        assert plan.fulfil == (LineToFulfil(L1, ((W1, 1),)), LineToFulfil(L2, ((W1, 2),)))

    def test_two_untracked_lines_share_a_warehouse(self) -> None:
        lines = [line(L1, 1, kept_in=[W2]), line(L2, 3, kept_in=[W1, W2])]

        plan = decide(order(lines=lines), "fulfill")

        assert plan.fulfil == (LineToFulfil(L1, ((W2, 1),)), LineToFulfil(L2, ((W2, 3),)))

    def test_allocations_an_untracked_line_still_has_are_used(self) -> None:
        """Inventory tracking switched off after the order was placed: Saleor kept its
        allocation."""
        lines = [line(L1, 2, kept_in=[W2], allocations=[(W1, 2)])]

        plan = decide(order(lines=lines), "fulfill")

        assert plan.fulfil == (LineToFulfil(L1, ((W1, 2),)),)

    def test_what_is_left_of_a_partly_fulfilled_line(self) -> None:
        lines = [line(L1, 3, fulfilled=1, kept_in=[W2])]

        plan = decide(order(status="PARTIALLY_FULFILLED", lines=lines), "fulfill")

        assert plan.fulfil == (LineToFulfil(L1, ((W2, 2),)),)

    def test_a_tracked_line_without_allocation_is_not_fulfilled_from_its_stock(self) -> None:
        """Saleor allocated nothing for a tracked line: not the app's to pick the stock."""
        lines = [line(L1, 1, allocations=[])]
        lines[0]["variant"]["stocks"] = [{"warehouse": {"id": W2}}]

        plan = decide(order(lines=lines), "fulfill")

        assert (plan.fulfil, plan.blocker) == ((), Blocker.NOT_ALLOCATED)

    def test_an_order_read_without_track_inventory_counts_as_tracked(self) -> None:
        """A payload that does not select trackInventory (a recorded webhook body)."""
        lines = [line(L1, 1, kept_in=[W2])]
        del lines[0]["variant"]["trackInventory"]

        assert decide(order(lines=lines), "fulfill").blocker is Blocker.NOT_ALLOCATED


class TestFulfillBlocked:
    def test_never_an_unpaid_order(self) -> None:
        plan = decide(order(), "fulfill", paid=False)

        assert plan == FulfillmentPlan(
            FulfillmentState.BLOCKED,
            "The app fulfils the order in Saleor once it is fully paid.",
            tracking_number=TRACKING_ID,
            blocker=Blocker.NOT_PAID,
        )

    def test_never_an_unconfirmed_order(self) -> None:
        plan = decide(order(status="UNCONFIRMED"), "fulfill")

        assert plan == FulfillmentPlan(
            FulfillmentState.BLOCKED,
            "The app fulfils the order in Saleor once it is confirmed.",
            tracking_number=TRACKING_ID,
            blocker=Blocker.NOT_CONFIRMED,
        )

    def test_lines_not_allocated(self) -> None:
        """All or nothing: a part fulfilled with Gordon's number would end the app's part."""
        lines = [line(L1, 1), line(L2, 2, allocations=[(W1, 1)]), line(L3, 1, allocations=[])]

        plan = decide(order(lines=lines), "fulfill")

        assert plan == FulfillmentPlan(
            FulfillmentState.BLOCKED,
            "Saleor has no stock allocated in a warehouse for Frukostkasse (Standard) and "
            "Frukostkasse (Standard), so the app cannot tell where to fulfil from: allocate stock "
            "in Saleor and choose Try fulfilling again, or fulfil the order yourself and the app "
            "adds the tracking number.",
            tracking_number=TRACKING_ID,
            blocker=Blocker.NOT_ALLOCATED,
            blocked_lines=(L2, L3),
        )
        assert (plan.message.code, plan.message.params) == (
            "fulfillment_reason.not_allocated",
            {"lines": ["Frukostkasse (Standard)", "Frukostkasse (Standard)"]},
        )

    def test_blocked_but_the_tracking_number_still_goes_on_a_staff_fulfillment(self) -> None:
        staff = fulfilment(F1, [(L1, 1)])
        lines = [line(L1, 1, fulfilled=1), line(L2, 2, allocations=[])]

        plan = decide(order(status="PARTIALLY_FULFILLED", lines=lines, fulfillments=[staff]),
                      "fulfill")  # fmt: skip

        assert plan.state is FulfillmentState.TO_DO
        assert plan.message == "The app adds Gordon's tracking number to 1 fulfillment."
        assert (plan.fulfil, plan.set_tracking) == ((), (TrackingUpdate(F1, True),))
        assert (plan.blocker, plan.blocked_lines) == (Blocker.NOT_ALLOCATED, (L2,))

    def test_an_untracked_line_kept_in_no_warehouse_of_the_channel(self) -> None:
        """Saleor refuses every warehouse without a stock record of the variant
        (INSUFFICIENT_STOCK): the app does not try, and says what to do."""
        lines = [line(L1, 1), line(L2, 2, kept_in=[], name="Presentkort")]

        plan = decide(order(lines=lines), "fulfill")

        assert plan == FulfillmentPlan(
            FulfillmentState.BLOCKED,
            "The order has 1 product whose inventory Saleor does not track and that no "
            "warehouse serving its channel keeps: Presentkort (Standard). Saleor would not let "
            "the app fulfil it: add it to such a warehouse in Saleor (any quantity), then "
            "choose Try fulfilling again, or fulfil the order yourself and the app adds the "
            "tracking number.",
            tracking_number=TRACKING_ID,
            blocker=Blocker.NOT_STOCKED,
            blocked_lines=(L2,),
        )
        assert (plan.message.code, plan.message.params) == (
            "fulfillment_reason.not_stocked",
            {"lines": ["Presentkort (Standard)"], "count": 1},
        )

    def test_a_tracked_line_without_allocation_is_told_first(self) -> None:
        lines = [line(L1, 1, allocations=[]), line(L2, 2, kept_in=[])]

        plan = decide(order(lines=lines), "fulfill")

        assert (plan.blocker, plan.blocked_lines) == (Blocker.NOT_ALLOCATED, (L1,))

    @pytest.mark.parametrize("status", ["RETURNED", "PARTIALLY_RETURNED"])
    def test_returned_orders_are_not_fulfilled(self, status: str) -> None:
        plan = decide(order(status=status), "fulfill")

        assert (plan.fulfil, plan.blocker) == ((), None)


def test_the_settings_of_a_shop_that_never_chose() -> None:
    assert FulfillmentSettings() == FulfillmentSettings(
        mode="add", notify_customer=True, tracking_url=""
    )


def test_an_order_read_without_quantity_to_fulfill_counts_from_the_quantities() -> None:
    """The recorded webhook bodies select quantityFulfilled only."""
    data = line(L1, 3, fulfilled=1)
    del data["quantityToFulfill"]

    the_order = order(status="PARTIALLY_FULFILLED", lines=[data])

    assert the_order.lines[0].unfulfilled == 2
    assert decide(the_order, "fulfill").fulfil == (LineToFulfil(L1, ((W1, 2),)),)


def test_an_order_parses_its_fulfillments() -> None:
    the_order = order(fulfillments=[fulfilment(F1, [(L1, 1)], tracking=LINK)])

    assert the_order.fulfillments[0].model_dump() == {
        "id": F1, "status": "FULFILLED", "tracking_number": LINK, "fulfillment_order": 0,
        "warehouse": {"id": W1, "slug": "", "name": ""},
        "lines": ({"id": "", "quantity": 1, "order_line": {"id": L1}},),
    }  # fmt: skip


class TestReasonsAreCoded:
    """Every plan says why as a code of ``core.messages.FULFILLMENT_REASONS`` with its
    parameters (the pages word it in the staff user's language), beside its English."""

    @pytest.mark.parametrize(
        ("the_order", "mode", "paid", "tracking_id", "code", "params"),
        [
            (order(), "off", True, TRACKING_ID, "fulfillment_reason.off", {}),
            (order(), "add", True, None, "fulfillment_reason.not_in_gordon", {}),
            (order(status="CANCELED"), "fulfill", True, TRACKING_ID,
             "fulfillment_reason.order_cancelled", {}),
            (order(status="EXPIRED"), "add", True, TRACKING_ID,
             "fulfillment_reason.order_expired", {}),
            (order(status="DRAFT"), "add", True, TRACKING_ID, "fulfillment_reason.order_draft", {}),
            (order(), "add", True, TRACKING_ID, "fulfillment_reason.awaiting_fulfillment", {}),
            (order(), "fulfill", True, TRACKING_ID, "fulfillment_reason.fulfilling", {}),
            (order(fulfillments=[fulfilment(F1, [(L1, 1)]), fulfilment(F2, [(L2, 2)])]), "add",
             True, TRACKING_ID, "fulfillment_reason.adding", {"count": 2}),
            (order(fulfillments=[fulfilment(F1, [(L1, 1)], tracking=TRACKING_ID,
                                            status="WAITING_FOR_APPROVAL")]), "add", True,
             TRACKING_ID, "fulfillment_reason.waiting_for_approval", {}),
            (order(fulfillments=[fulfilment(F1, [(L1, 1)], tracking=TRACKING_ID,
                                            status="CANCELED")]), "fulfill", True, TRACKING_ID,
             "fulfillment_reason.cancelled_in_saleor", {}),
            (order(fulfillments=[fulfilment(F1, [(L1, 1)], tracking=TRACKING_ID)]), "add", True,
             TRACKING_ID, "fulfillment_reason.done", {}),
            (order(fulfillments=[fulfilment(F1, [(L1, 1)], tracking="DHL-1")]), "add", True,
             TRACKING_ID, "fulfillment_reason.kept", {"count": 1}),
            (order(fulfillments=[fulfilment(F1, [(L1, 1)], tracking=TRACKING_ID),
                                 fulfilment(F2, [(L2, 2)], tracking="DHL-1")]), "add", True,
             TRACKING_ID, "fulfillment_reason.done_and_kept", {"count": 1}),
            (order(), "fulfill", False, TRACKING_ID, "fulfillment_reason.not_paid", {}),
            (order(status="UNCONFIRMED"), "fulfill", True, TRACKING_ID,
             "fulfillment_reason.not_confirmed", {}),
            (order(lines=[line(L1, 1, kept_in=[], name="A"), line(L2, 1, kept_in=[], name="B")]),
             "fulfill", True, TRACKING_ID, "fulfillment_reason.not_stocked",
             {"lines": ["A (Standard)", "B (Standard)"], "count": 2}),
        ],
    )  # fmt: skip
    def test_the_reason_of_each_plan(
        self,
        the_order: SaleorOrder,
        mode: TrackingMode,
        paid: bool,
        tracking_id: str | None,
        code: str,
        params: dict[str, Any],
    ) -> None:
        message = decide(the_order, mode, paid=paid, tracking_id=tracking_id).message

        assert (message.code, message.params) == (code, params)
