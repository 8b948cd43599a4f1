"""Tests for saleor_gordon.core.sync_decision: what a job does with a fresh order."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from saleor_gordon.core.job_status import JobStatus
from saleor_gordon.core.sync_decision import (
    ERROR_KEY,
    STATUS_KEY,
    TRACKING_ID_KEY,
    Fix,
    OrderState,
    Push,
    Settle,
    Withdraw,
    decide_for_deleted_order,
    decide_sync,
    desired_metadata,
    metadata_changes,
    trigger_met,
)
from saleor_gordon.core.translate import (
    Problem,
    Skipped,
    Untranslatable,
)
from tests.core.builders import PAID, UNPAID, translated_at_now

CANCELLED = OrderState(status="CANCELED", charge_status="NONE", is_paid=False)


def _decide(state: OrderState, translation: object = None, **kwargs: object) -> object:
    arguments: dict[str, object] = {
        "state": state,
        "translation": translation or translated_at_now(),
        "triggers": ("ORDER_FULLY_PAID",),
        "events_seen": frozenset(),
        "pushed_hash": None,
    }
    arguments.update(kwargs)
    return decide_sync(**arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("state", "triggers", "events", "expected"),
    [
        (PAID, ("ORDER_FULLY_PAID",), set(), True),
        (UNPAID, ("ORDER_FULLY_PAID",), set(), False),
        (UNPAID, ("ORDER_FULLY_PAID",), {"ORDER_FULLY_PAID"}, True),
        (OrderState("UNFULFILLED", "PARTIAL", False), ("ORDER_FULLY_PAID",), set(), False),
        (OrderState("UNFULFILLED", "OVERCHARGED", False), ("ORDER_FULLY_PAID",), set(), True),
        (UNPAID, ("ORDER_CONFIRMED",), set(), True),
        (OrderState("UNCONFIRMED", None, False), ("ORDER_CONFIRMED",), set(), False),
        (OrderState("UNCONFIRMED", None, False), ("ORDER_CREATED",), set(), True),
        (OrderState("DRAFT", None, True), ("ORDER_CREATED",), {"ORDER_CREATED"}, False),
        (UNPAID, ("ORDER_CONFIRMED", "ORDER_FULLY_PAID"), set(), True),
    ],
)
def test_trigger_met(
    state: OrderState, triggers: tuple[str, ...], events: set[str], expected: bool
) -> None:
    assert expected == trigger_met(state, triggers=triggers, events_seen=frozenset(events))


def test_pushes_a_paid_order() -> None:
    decision = _decide(PAID)

    assert isinstance(decision, Push)
    assert decision.content_hash == translated_at_now().gordon_order.content_hash()


def test_waits_for_the_trigger() -> None:
    decision = _decide(UNPAID)

    assert Settle(JobStatus.SKIPPED, "Waiting for ORDER_FULLY_PAID.") == decision


def test_unchanged_content_is_not_pushed_again() -> None:
    pushed = translated_at_now().gordon_order.content_hash()

    decision = _decide(PAID, pushed_hash=pushed)

    assert isinstance(decision, Settle)
    assert decision.status == JobStatus.SYNCED


def test_changed_content_of_a_pushed_order_is_pushed_even_without_trigger() -> None:
    decision = _decide(UNPAID, pushed_hash="an older hash")

    assert isinstance(decision, Push)


def test_cancelled_pushed_order_is_withdrawn() -> None:
    expired = OrderState("EXPIRED", None, False)

    cancelled = _decide(CANCELLED, pushed_hash="h", known_ref="45")
    assert cancelled == Withdraw("45", "CANCELED")
    assert isinstance(cancelled, Withdraw)
    assert cancelled.reason == "the order is canceled in Saleor"
    assert _decide(expired, pushed_hash="h", known_ref="45") == Withdraw("45", "EXPIRED")


def test_a_withdrawn_order_settles_expired_if_it_expired_else_cancelled() -> None:
    """The job's status says why the order left Gordon: an expired order is not called cancelled
    (a deleted one is: the shop removed it)."""
    settles = {status: Withdraw("45", status).settles_as for status in ("CANCELED", "EXPIRED")}
    deleted = decide_for_deleted_order(known_ref="45")

    assert settles == {"CANCELED": JobStatus.CANCELLED, "EXPIRED": JobStatus.EXPIRED}
    assert isinstance(deleted, Withdraw)
    assert deleted.settles_as == JobStatus.CANCELLED


def test_cancelled_order_whose_push_may_have_arrived_is_withdrawn() -> None:
    """A push whose answer was lost (timeout, killed worker) may be in Gordon: DELETE it."""
    ref = translated_at_now().gordon_order.external_ref

    after_attempt = _decide(CANCELLED, known_ref="45")
    after_trigger = _decide(CANCELLED, events_seen=frozenset({"ORDER_FULLY_PAID"}))

    assert after_attempt == Withdraw("45", "CANCELED")
    assert after_trigger == Withdraw(ref, "CANCELED")


def test_an_order_deleted_in_saleor_is_withdrawn_from_gordon_if_gordon_may_have_it() -> None:
    deleted = decide_for_deleted_order(known_ref="45")

    assert deleted == Withdraw("45", "DELETED")
    assert isinstance(deleted, Withdraw)
    assert deleted.reason == "the order was deleted in Saleor"


def test_an_order_deleted_before_it_reached_gordon_is_skipped() -> None:
    gone = decide_for_deleted_order(known_ref=None)

    assert gone == Settle(JobStatus.SKIPPED, "The order no longer exists.")
    assert isinstance(gone, Settle)
    assert (gone.message.code, gone.message.params) == ("job.order_gone", {})


def test_cancelled_order_never_triggered_settles_as_cancelled() -> None:
    decision = _decide(CANCELLED)

    assert isinstance(decision, Settle)
    assert decision.status == JobStatus.CANCELLED
    assert (decision.message.code, decision.message) == (
        "job.cancelled_before_sent",
        "The order was cancelled before it reached Gordon.",
    )


def test_an_order_that_expired_before_it_reached_gordon_is_not_called_cancelled() -> None:
    decision = _decide(OrderState("EXPIRED", None, False))

    assert isinstance(decision, Settle)
    assert decision.status == JobStatus.EXPIRED  # out of Gordon's way, and said to have expired
    assert (decision.message.code, decision.message) == (
        "job.expired_before_sent",
        "The order expired before it reached Gordon.",
    )


def test_order_not_for_gordon_is_skipped() -> None:
    decision = _decide(PAID, Skipped("no delivery-group rule matches"))

    assert isinstance(decision, Settle)
    assert decision.status == JobStatus.SKIPPED
    assert "no delivery-group rule matches" in decision.message


def test_pushed_order_that_is_no_longer_for_gordon_needs_a_person() -> None:
    """A rule change must never delete deliveries by itself."""
    decision = _decide(PAID, Skipped("click and collect"), pushed_hash="h", known_ref="45")

    assert isinstance(decision, Fix)
    assert "order 45 is in Gordon" in decision.message
    assert "click and collect" in decision.message


def test_untranslatable_order_needs_a_fix() -> None:
    problem = Problem(
        "shippingAddress.postalCode", "is empty", "Enter the postal code.", "problem.no_postal_code"
    )

    decision = _decide(PAID, Untranslatable((problem,)))

    assert Fix((problem,)) == decision
    assert "postalCode" in decision.message  # type: ignore[union-attr]


def test_desired_metadata_of_a_synced_order() -> None:
    synced_at = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)

    plan = desired_metadata(
        status=JobStatus.SYNCED,
        tracking_id="0Zj7YGCUr",
        external_ref="45",
        synced_at=synced_at,
        error=None,
    )

    assert plan is not None
    assert plan.public == {TRACKING_ID_KEY: "0Zj7YGCUr"}
    assert plan.private == {
        STATUS_KEY: "synced",
        "gordon.external_ref": "45",
        "gordon.synced_at": "2026-11-27T09:30:00+00:00",
    }
    assert plan.delete_private == (ERROR_KEY,)


def test_the_tracking_link_is_public_for_storefronts() -> None:
    link = "https://track.example.com/0Zj7YGCUr"

    with_link = desired_metadata(
        status=JobStatus.SYNCED,
        tracking_id="0Zj7YGCUr",
        tracking_url=link,
        external_ref="45",
        synced_at=None,
        error=None,
    )
    without = desired_metadata(
        status=JobStatus.SYNCED,
        tracking_id="0Zj7YGCUr",
        external_ref="45",
        synced_at=None,
        error=None,
    )

    assert with_link is not None
    assert without is not None
    assert with_link.public == {TRACKING_ID_KEY: "0Zj7YGCUr", "gordon.tracking_url": link}
    assert without.public == {TRACKING_ID_KEY: "0Zj7YGCUr"}


def test_skipped_orders_are_left_alone() -> None:
    plan = desired_metadata(
        status=JobStatus.SKIPPED, tracking_id=None, external_ref=None, synced_at=None, error=None
    )

    assert plan is None


def test_only_differences_are_written() -> None:
    plan = desired_metadata(
        status=JobStatus.NEEDS_ATTENTION,
        tracking_id=None,
        external_ref="45",
        synced_at=None,
        error="Gordon refused: Unable to find deliverygroup",
    )
    assert plan is not None

    changes = metadata_changes(
        plan,
        public_now={},
        private_now={STATUS_KEY: "needs_attention", "gordon.external_ref": "45"},
    )

    assert dict(changes.public) == {}
    assert dict(changes.private) == {ERROR_KEY: "Gordon refused: Unable to find deliverygroup"}
    assert changes.delete_private == ()


def test_fixed_error_is_removed() -> None:
    plan = desired_metadata(
        status=JobStatus.SYNCED, tracking_id="T", external_ref="45", synced_at=None, error=None
    )
    assert plan is not None

    changes = metadata_changes(
        plan,
        public_now={TRACKING_ID_KEY: "T"},
        private_now={STATUS_KEY: "needs_attention", ERROR_KEY: "old", "gordon.external_ref": "45"},
    )

    assert dict(changes.private) == {STATUS_KEY: "synced"}
    assert changes.delete_private == (ERROR_KEY,)
    assert changes.public == {}
