"""What Saleor's answer to ``orderFulfill`` or ``orderFulfillmentUpdateTracking`` means (pure).

Both mutations answer a refusal in their ``errors`` (``OrderError``: code, field, message, the
order lines and warehouse concerned), with HTTP 200; transport failures and top-level GraphQL
errors are the client's (``SaleorUnavailable``, ``SaleorGraphQLError``). The codes and when Saleor
3.23.28 uses them (``saleor/graphql/order/mutations/order_fulfill.py``):

- ``INSUFFICIENT_STOCK``: a warehouse lacks the stock, or has no stock record of the variant;
- ``FULFILL_ORDER_LINE``: more than remains to fulfil ("Only 0 items remaining to fulfill."):
  somebody fulfilled the lines meanwhile (another worker, a person);
- ``ZERO_QUANTITY``: nothing to fulfil in the request (the lines were fulfilled meanwhile);
- ``CANNOT_FULFILL_UNPAID_ORDER``: the shop does not fulfil unpaid orders;
- ``NOT_FOUND``: the order or fulfillment is gone; ``GRAPHQL_ERROR``, ``DUPLICATED_INPUT_ITEM``
  and the rest: the request itself is wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from saleor_gordon.core.fulfillment import Blocker, FulfillmentPlan, FulfillmentState, listed
from saleor_gordon.core.messages import Message
from saleor_gordon.core.order import SaleorOrder

__all__ = [
    "Accepted",
    "AnswerUnreadable",
    "NextStep",
    "OrderError",
    "Refusal",
    "Refused",
    "SavedFulfillment",
    "blocked_by",
    "read_fulfil_answer",
    "read_tracking_answer",
]


class AnswerUnreadable(ValueError):
    """The mutation's payload is not shaped like Saleor's (no list of errors, no fulfillment)."""


class NextStep(StrEnum):
    """What the job does after a refusal."""

    READ_AGAIN = "read_again"
    """Somebody changed the order meanwhile: read it again and decide again, now."""
    RETRY_LATER = "retry_later"
    """The shop may fix it (stock arrives): show the reason and try again with backoff."""
    WAIT_FOR_EVENT = "wait_for_event"
    """Nothing to try until the order changes (paid): show the reason; an event brings the job."""
    PERSON = "person"
    """The app's request was wrong: show Saleor's reason; a person looks."""


class Refusal(StrEnum):
    NOT_ENOUGH_STOCK = "not_enough_stock"
    ALREADY_FULFILLED = "already_fulfilled"
    NOT_PAID = "not_paid"
    GONE = "gone"
    INVALID = "invalid"

    @property
    def next_step(self) -> NextStep:
        return _NEXT_STEPS[self]


_NEXT_STEPS: Final = {
    Refusal.NOT_ENOUGH_STOCK: NextStep.RETRY_LATER,
    Refusal.ALREADY_FULFILLED: NextStep.READ_AGAIN,
    Refusal.GONE: NextStep.READ_AGAIN,
    Refusal.NOT_PAID: NextStep.WAIT_FOR_EVENT,
    Refusal.INVALID: NextStep.PERSON,
}
_REFUSALS: Final = {
    "INSUFFICIENT_STOCK": Refusal.NOT_ENOUGH_STOCK,
    "FULFILL_ORDER_LINE": Refusal.ALREADY_FULFILLED,
    "ZERO_QUANTITY": Refusal.ALREADY_FULFILLED,
    "CANNOT_FULFILL_UNPAID_ORDER": Refusal.NOT_PAID,
    "NOT_FOUND": Refusal.GONE,
}


@dataclass(frozen=True, slots=True)
class OrderError:
    """One of Saleor's ``OrderError``s."""

    code: str
    message: str
    field: str | None = None
    order_lines: tuple[str, ...] = ()
    warehouse: str | None = None


@dataclass(frozen=True, slots=True)
class SavedFulfillment:
    """A fulfillment as the mutation answered it."""

    id: str
    status: str
    tracking_number: str


@dataclass(frozen=True, slots=True)
class Accepted:
    """Saleor did it: the fulfillments it created or updated, and the order after it."""

    fulfillments: tuple[SavedFulfillment, ...]
    order: Mapping[str, Any] | None
    """The order as the mutation's ``order`` selects it (``OrderDetails``), to decide again."""


@dataclass(frozen=True, slots=True)
class Refused:
    """Saleor refused and changed nothing."""

    refusal: Refusal
    errors: tuple[OrderError, ...]

    @property
    def next_step(self) -> NextStep:
        return self.refusal.next_step

    @property
    def message(self) -> str:
        """Saleor's messages, with their codes (for logs and a person)."""
        return "; ".join(f"{e.code}: {e.message}" for e in self.errors)


def read_fulfil_answer(payload: object) -> Accepted | Refused:
    """``orderFulfill``'s payload (``fulfillments``, ``order``, ``errors``).

    Raises:
        AnswerUnreadable: not shaped like Saleor's payload.
    """

    def created(data: Mapping[str, Any]) -> list[Any]:
        fulfillments = data.get("fulfillments")
        return fulfillments if isinstance(fulfillments, list) else []

    return _read(payload, created, "orderFulfill without errors and without fulfillments")


def read_tracking_answer(payload: object) -> Accepted | Refused:
    """``orderFulfillmentUpdateTracking``'s payload (``fulfillment``, ``order``, ``errors``).

    Raises:
        AnswerUnreadable: not shaped like Saleor's payload.
    """

    def updated(data: Mapping[str, Any]) -> list[Any]:
        fulfillment = data.get("fulfillment")
        return [fulfillment] if isinstance(fulfillment, Mapping) else []

    return _read(
        payload,
        updated,
        "orderFulfillmentUpdateTracking without errors and without the fulfillment",
    )


def blocked_by(refused: Refused, order: SaleorOrder) -> FulfillmentPlan:
    """What the widget and the overview show after Saleor refused to fulfil ``order``."""
    if refused.refusal is Refusal.NOT_ENOUGH_STOCK:
        lines = {line.id: line for line in order.lines}
        warehouses = {
            a.warehouse.id: a.warehouse.name or a.warehouse.slug or a.warehouse.id
            for line in order.lines
            for a in line.allocations
            if a.warehouse is not None
        }
        warehouses |= {
            s.warehouse.id: s.warehouse.name or s.warehouse.slug or s.warehouse.id
            for line in order.lines
            if line.variant is not None
            for s in line.variant.stocks
            if s.warehouse is not None
        }
        short = dict.fromkeys(line for e in refused.errors for line in e.order_lines)
        names = [lines[line].display_name if line in lines else line for line in short]
        where = sorted({warehouses.get(e.warehouse, e.warehouse) for e in refused.errors
                        if e.warehouse})  # fmt: skip
        advice = (
            "add stock in Saleor (the app tries again), or fulfil the order yourself and the "
            "app adds the tracking number."
        )
        if where:
            english = (
                f"Saleor has not enough stock of {listed(names)} in {listed(where)} to fulfil "
                f"the order: {advice}"
            )
            message = Message.of(
                "fulfillment_reason.not_enough_stock_in", english, lines=names, warehouses=where
            )
        else:
            english = (
                f"Saleor has not enough stock of {listed(names)} to fulfil the order: {advice}"
            )
            message = Message.of("fulfillment_reason.not_enough_stock", english, lines=names)
        return FulfillmentPlan(
            FulfillmentState.BLOCKED,
            message,
            blocker=Blocker.NOT_ENOUGH_STOCK,
            blocked_lines=tuple(short),
        )
    if refused.refusal is Refusal.NOT_PAID:
        english = (
            "Saleor fulfils only paid orders in this shop: the app fulfils the order once it "
            "is fully paid."
        )
        return FulfillmentPlan(
            FulfillmentState.BLOCKED,
            Message.of("fulfillment_reason.saleor_not_paid", english),
            blocker=Blocker.NOT_PAID,
        )
    english = f"Saleor refused to fulfil the order ({refused.message})."
    return FulfillmentPlan(
        FulfillmentState.BLOCKED,
        Message.of("fulfillment_reason.saleor_refused", english, detail=refused.message),
        blocker=Blocker.REFUSED,
    )


def _read(
    payload: object, fulfillments: Callable[[Mapping[str, Any]], list[Any]], missing: str
) -> Accepted | Refused:
    """A refusal, else the fulfillments the answer holds (at least one) and its order."""
    if not isinstance(payload, Mapping):
        raise AnswerUnreadable("Saleor's answer is not an object")
    refused = _refused(payload)
    if refused is not None:
        return refused
    saved = fulfillments(payload)
    if not saved:
        raise AnswerUnreadable(f"Saleor answered {missing}")
    order = payload.get("order")
    return Accepted(tuple(_saved(f) for f in saved), order if isinstance(order, Mapping) else None)


def _refused(data: Mapping[str, Any]) -> Refused | None:
    errors = data.get("errors")
    if not isinstance(errors, list):
        raise AnswerUnreadable("Saleor's answer has no list of errors")
    if not errors:
        return None
    parsed = tuple(_order_error(e) for e in errors)
    codes = [e.code for e in parsed]
    refusal = next((_REFUSALS[code] for code in codes if code in _REFUSALS), Refusal.INVALID)
    if "INSUFFICIENT_STOCK" in codes:
        refusal = Refusal.NOT_ENOUGH_STOCK
    return Refused(refusal, parsed)


def _order_error(error: object) -> OrderError:
    if not isinstance(error, Mapping) or not isinstance(error.get("code"), str):
        raise AnswerUnreadable("an error in Saleor's answer has no code")
    lines = error.get("orderLines") or ()
    return OrderError(
        code=error["code"],
        message=str(error.get("message") or ""),
        field=_text(error.get("field")),
        order_lines=tuple(str(line) for line in lines if isinstance(line, str)),
        warehouse=_text(error.get("warehouse")),
    )


def _saved(fulfillment: object) -> SavedFulfillment:
    if not isinstance(fulfillment, Mapping) or not isinstance(fulfillment.get("id"), str):
        raise AnswerUnreadable("a fulfillment in Saleor's answer has no id")
    return SavedFulfillment(
        id=fulfillment["id"],
        status=str(fulfillment.get("status") or ""),
        tracking_number=str(fulfillment.get("trackingNumber") or ""),
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
