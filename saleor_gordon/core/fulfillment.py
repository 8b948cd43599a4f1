"""What the app does with an order's fulfillments once Gordon has it (pure).

In Saleor a tracking number reaches the customer through a fulfillment: its ``trackingNumber``
is in the e-mail Saleor sends when a fulfillment is created, approved or its tracking changes
with ``notifyCustomer``, and a number that looks like a URL (``^[-\\w]+://``) is shown as a link
(``saleor/order/notifications.py``). Each shop chooses (``tracking_on_fulfillment``):

- ``add`` (default): the shop fulfils in its own process; every fulfillment of the order without
  a tracking number gets Gordon's (``orderFulfillmentUpdateTracking``);
- ``fulfill``: the app also fulfils the lines still to fulfil, from the warehouses they are
  allocated in, with Gordon's tracking number (one ``orderFulfill``). A line of a variant whose
  stock Saleor does not count (``trackInventory`` off) has no allocation: it is fulfilled from a
  warehouse that keeps the variant and serves the order's channel (below);
- ``off``: nothing.

``decide_fulfillment`` says what to do from the order as Saleor has it now, so a retry, a
duplicate event or a second worker decides from what the first one did:

- a tracking number somebody else set is never replaced;
- a cancelled, expired or draft order is left alone; an unconfirmed or unpaid one is not fulfilled;
- the order is fulfilled once: Saleor itself refuses to fulfil a quantity twice (the lines are
  locked and counted in its transaction), and a fulfillment carrying Gordon's tracking number
  that was cancelled means somebody undid the app's: it is not done again;
- a fulfillment carries "ours" when its tracking number is Gordon's tracking ID or a link that
  holds it (also a link made with an earlier ``tracking_url``).

Where Saleor 3.23.28 lets a line be fulfilled from (``saleor/order/actions.py``
``_create_fulfillment_lines``, ``saleor/warehouse/management.py`` ``decrease_stock``): the
warehouse must hold a stock record of the line's variant among the stocks of the order's channel
(``Stock.objects.for_channel_or_country(channel)``: the channel's warehouses, or with the site
setting ``useLegacyShippingZoneStockAvailability`` those also in a shipping zone of the channel,
plus its click-and-collect warehouses), else ``INSUFFICIENT_STOCK``; for a tracked variant the
stock's quantity less what is allocated must cover the line, for an untracked one the quantity
is not looked at (zero will do). ``ProductVariant.stocks`` of a line's variant lists exactly
those stock records (the same rule, for the order's channel), so an untracked line goes to the
first warehouse of that list the plan already fulfils from, else the first of the list.

With ``tracking_url`` (``https://…{tracking_id}…``) the tracking number is the link and the
order's public metadata gets ``gordon.tracking_url`` for storefronts
(``sync_decision.desired_metadata``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, Literal
from urllib.parse import quote, urlsplit

from saleor_gordon.core.messages import CodedValueError, Message
from saleor_gordon.core.order import Fulfillment, OrderLine, SaleorOrder

__all__ = [
    "SAMPLE_TRACKING_ID",
    "TRACKING_ID_MAX_LENGTH",
    "TRACKING_ID_PLACEHOLDER",
    "TRACKING_MODES",
    "TRACKING_NUMBER_MAX_LENGTH",
    "TRACKING_URL_KEY",
    "Blocker",
    "FulfillmentPlan",
    "FulfillmentSettings",
    "FulfillmentState",
    "LineToFulfil",
    "TrackingMode",
    "TrackingUpdate",
    "carries_tracking_id",
    "check_tracking_url",
    "decide_fulfillment",
    "listed",
    "tracking_link",
    "tracking_number",
]

TrackingMode = Literal["add", "fulfill", "off"]
TRACKING_MODES: Final[tuple[TrackingMode, ...]] = ("add", "fulfill", "off")
TRACKING_ID_PLACEHOLDER: Final = "{tracking_id}"
TRACKING_NUMBER_MAX_LENGTH: Final = 255
"""Saleor keeps a tracking number in a varchar(255); a longer one fails the whole mutation."""
TRACKING_ID_MAX_LENGTH: Final = 64
"""The longest Gordon tracking ID the app stores (``sync_jobs.tracking_id``); Gordon's are nine
letters and digits."""
SAMPLE_TRACKING_ID: Final = "0Zj7YGCUr"
"""A tracking ID as Gordon gives them, for previews of a link."""
TRACKING_URL_KEY: Final = "gordon.tracking_url"
"""Public order metadata: the tracking link, for storefronts."""

_LINK: Final = re.compile(r"^[-\w]+://")  # what Saleor's e-mails show as a link
_FULFILLABLE_ORDERS: Final = frozenset({"UNFULFILLED", "PARTIALLY_FULFILLED"})
_CLOSED_ORDERS: Final = frozenset({"CANCELED", "EXPIRED", "DRAFT"})
_UNCONFIRMED: Final = "UNCONFIRMED"
_WAITING: Final = "WAITING_FOR_APPROVAL"
_OPEN_FULFILLMENTS: Final = frozenset({"FULFILLED", _WAITING})
"""Fulfillments that travel: the others are cancelled, returned, refunded or replaced."""


@dataclass(frozen=True, slots=True)
class FulfillmentSettings:
    """A shop's choice (``ShopConfig.fulfillment_settings``)."""

    mode: TrackingMode = "add"
    notify_customer: bool = True
    """``notifyCustomer`` of what the app creates or updates: Saleor's e-mail to the customer."""
    tracking_url: str = ""
    """``https://…{tracking_id}…``; empty: the tracking number is the bare tracking ID."""


class FulfillmentState(StrEnum):
    """Where the order's fulfillment stands, as the widget and the overview show it."""

    OFF = "off"
    """The shop turned tracking on fulfillments off."""
    NOT_IN_GORDON = "not_in_gordon"
    """No tracking ID yet: Gordon has not accepted the order."""
    ORDER_CLOSED = "order_closed"
    """Cancelled, expired or a draft: the app leaves its fulfillments alone."""
    AWAITING_FULFILLMENT = "awaiting_fulfillment"
    """Nothing fulfilled yet to put the tracking number on (``add``)."""
    TO_DO = "to_do"
    """The plan has actions: fulfil and/or set tracking numbers."""
    BLOCKED = "blocked"
    """The app cannot fulfil the order (``blocker`` says why)."""
    WAITING_FOR_APPROVAL = "waiting_for_approval"
    """A fulfillment with Gordon's tracking number waits for approval in Saleor."""
    CANCELLED_IN_SALEOR = "cancelled_in_saleor"
    """Somebody cancelled the fulfillment with Gordon's tracking number: not fulfilled again."""
    DONE = "done"
    """Every fulfillment that travels has a tracking number (Gordon's, or kept)."""


class Blocker(StrEnum):
    """Why the app cannot fulfil the order (``fulfill``)."""

    NOT_PAID = "not_paid"
    NOT_CONFIRMED = "not_confirmed"
    NOT_ALLOCATED = "not_allocated"
    """Lines of tracked variants without (enough) allocated stock: the app would not know the
    warehouse."""
    NOT_STOCKED = "not_stocked"
    """Lines of variants whose stock Saleor does not count, kept in no warehouse that serves
    the order's channel: Saleor would refuse every warehouse."""
    NOT_ENOUGH_STOCK = "not_enough_stock"
    """Saleor refused: the warehouse lacks the stock (known only from Saleor's answer)."""
    REFUSED = "refused"
    """Saleor refused for another reason (its message is kept)."""


@dataclass(frozen=True, slots=True)
class LineToFulfil:
    """One line of an ``orderFulfill``: the quantity to fulfil from each warehouse."""

    order_line_id: str
    stocks: tuple[tuple[str, int], ...]
    """(warehouse id, quantity), in the order of the line's allocations."""

    def as_input(self) -> dict[str, Any]:
        """The line as Saleor's ``OrderFulfillLineInput``."""
        return {
            "orderLineId": self.order_line_id,
            "stocks": [{"warehouse": w, "quantity": q} for w, q in self.stocks],
        }


@dataclass(frozen=True, slots=True)
class TrackingUpdate:
    """One ``orderFulfillmentUpdateTracking``."""

    fulfillment_id: str
    notify_customer: bool
    """False for a fulfillment waiting for approval: the e-mail of its approval carries the
    number; True otherwise when the shop notifies its customers."""


@dataclass(frozen=True, slots=True)
class FulfillmentPlan:
    """What to do with the order's fulfillments, and where it stands for the shop owner.

    The attempt fulfils first (``fulfil``, one ``orderFulfill`` with ``tracking_number`` and
    ``notify_customer``), then sets the tracking number (``set_tracking``), then decides again
    from the order Saleor's last answer carries to know the state to show.
    """

    state: FulfillmentState
    message: Message
    """Why, as a code of ``core.messages.FULFILLMENT_REASONS`` (the pages word it) and in
    English."""
    tracking_number: str = ""
    fulfil: tuple[LineToFulfil, ...] = ()
    notify_customer: bool = False
    set_tracking: tuple[TrackingUpdate, ...] = ()
    blocker: Blocker | None = None
    """Also with ``TO_DO``: the tracking numbers can be set although the order cannot be
    fulfilled; the next decision then says ``BLOCKED``."""
    blocked_lines: tuple[str, ...] = ()
    """The order lines the blocker is about."""

    @property
    def has_actions(self) -> bool:
        return bool(self.fulfil or self.set_tracking)


# --------------------------------------------------------------------------------------------
# The tracking number and link


def check_tracking_url(template: str) -> str:
    """The ``tracking_url`` template as stored (stripped; ``""`` for none).

    Raises:
        CodedValueError: what is wrong and what to write instead (in English and as a code the
            Dashboard words: ``core.messages``).
    """
    template = template.strip()
    if not template:
        return ""
    example = f"e.g. https://track.example.com/{TRACKING_ID_PLACEHOLDER}"
    count = template.count(TRACKING_ID_PLACEHOLDER)
    if count == 0:
        raise CodedValueError(
            "config.tracking_url_no_placeholder",
            f"must contain {TRACKING_ID_PLACEHOLDER} where the ID goes; {example}",
            placeholder=TRACKING_ID_PLACEHOLDER,
        )
    if count > 1:
        raise CodedValueError(
            "config.tracking_url_placeholder_twice",
            f"must contain {TRACKING_ID_PLACEHOLDER} once, not {count} times",
            count=count,
            placeholder=TRACKING_ID_PLACEHOLDER,
        )
    rest = template.replace(TRACKING_ID_PLACEHOLDER, "")
    if "{" in rest or "}" in rest:
        raise CodedValueError(
            "config.tracking_url_braces",
            f"only {TRACKING_ID_PLACEHOLDER} is replaced; remove the other curly braces",
            placeholder=TRACKING_ID_PLACEHOLDER,
        )
    if any(character.isspace() for character in template):
        raise CodedValueError("config.tracking_url_spaces", "must not contain spaces")
    parts = urlsplit(template.replace(TRACKING_ID_PLACEHOLDER, SAMPLE_TRACKING_ID))
    if parts.scheme != "https" or not parts.hostname:
        raise CodedValueError("config.url_not_https", f"must be an https:// link; {example}")
    longest = len(rest) + TRACKING_ID_MAX_LENGTH
    if longest > TRACKING_NUMBER_MAX_LENGTH:
        room = TRACKING_NUMBER_MAX_LENGTH - TRACKING_ID_MAX_LENGTH
        raise CodedValueError(
            "config.tracking_url_too_long",
            f"is too long: Saleor keeps at most {TRACKING_NUMBER_MAX_LENGTH} characters in a "
            f"tracking number, so without {TRACKING_ID_PLACEHOLDER} it may have {room} "
            f"characters (it has {len(rest)})",
            limit=room,
            length=len(rest),
            placeholder=TRACKING_ID_PLACEHOLDER,
        )
    return template


def tracking_link(tracking_id: str, template: str) -> str | None:
    """The tracking link of ``tracking_id``; None without a template (or an ID too long for it)."""
    if not template or not tracking_id:
        return None
    link = template.replace(TRACKING_ID_PLACEHOLDER, quote(tracking_id, safe=""))
    return link if len(link) <= TRACKING_NUMBER_MAX_LENGTH else None


def tracking_number(tracking_id: str, template: str) -> str:
    """What goes into a fulfillment's tracking number: the link, else the tracking ID."""
    return tracking_link(tracking_id, template) or tracking_id


def carries_tracking_id(number: str, tracking_id: str) -> bool:
    """Is ``number`` Gordon's ``tracking_id``, or a link holding it as a whole word?"""
    if not tracking_id or not number:
        return False
    if number == tracking_id:
        return True
    word = re.escape(quote(tracking_id, safe=""))
    return bool(_LINK.match(number)) and bool(
        re.search(rf"(?<![0-9A-Za-z]){word}(?![0-9A-Za-z])", number)
    )


# --------------------------------------------------------------------------------------------
# The decision


def decide_fulfillment(
    order: SaleorOrder,
    *,
    paid: bool,
    tracking_id: str | None,
    settings: FulfillmentSettings,
) -> FulfillmentPlan:
    """What to do with ``order``'s fulfillments, now that Gordon has given ``tracking_id``.

    Args:
        order: the order as Saleor has it now (``OrderDetails``: lines with their quantities to
            fulfil and allocations, fulfillments with their tracking numbers).
        paid: the order is fully paid (``OrderState.fully_paid``).
        tracking_id: Gordon's tracking ID; None while Gordon does not have the order.
    """
    if settings.mode == "off":
        off = "Tracking numbers on fulfillments are off for this shop."
        return FulfillmentPlan(FulfillmentState.OFF, Message.of("fulfillment_reason.off", off))
    if not tracking_id:
        english = "Gordon has not accepted the order yet; its tracking number follows."
        return FulfillmentPlan(
            FulfillmentState.NOT_IN_GORDON,
            Message.of("fulfillment_reason.not_in_gordon", english),
        )
    if order.status in _CLOSED_ORDERS:
        return FulfillmentPlan(FulfillmentState.ORDER_CLOSED, _closed_message(order.status))
    number = tracking_number(tracking_id, settings.tracking_url)
    lines = {line.id: line for line in order.lines}
    travelling = [f for f in order.fulfillments if _travels(f, lines)]
    ours = [f for f in order.fulfillments if carries_tracking_id(f.tracking_number, tracking_id)]
    updates = tuple(
        TrackingUpdate(f.id, settings.notify_customer and f.status != _WAITING)
        for f in travelling
        if not f.tracking_number.strip()
    )
    to_fulfil = _lines_to_fulfil(order) if settings.mode == "fulfill" else ()
    undone = any(f.status == "CANCELED" for f in ours)
    fulfil: tuple[LineToFulfil, ...] = ()
    blocker: Blocker | None = None
    blocked: tuple[OrderLine, ...] = ()
    if to_fulfil and not undone:
        fulfil, blocker, blocked = _fulfilment(order, to_fulfil, paid=paid)

    def plan(state: FulfillmentState, message: Message) -> FulfillmentPlan:
        return FulfillmentPlan(
            state, message, number, fulfil, settings.notify_customer and bool(fulfil), updates,
            blocker, tuple(line.id for line in blocked),
        )  # fmt: skip

    if fulfil or updates:
        return plan(FulfillmentState.TO_DO, _to_do_message(fulfil, updates))
    if blocker is not None:
        return plan(FulfillmentState.BLOCKED, _blocked_message(blocker, blocked))
    if to_fulfil and undone:
        english = (
            "The fulfillment with Gordon's tracking number was cancelled in Saleor: the app "
            "does not fulfil the order again."
        )
        cancelled = Message.of("fulfillment_reason.cancelled_in_saleor", english)
        return plan(FulfillmentState.CANCELLED_IN_SALEOR, cancelled)
    if any(f.status == _WAITING for f in ours):
        english = "The fulfillment with Gordon's tracking number waits for approval in Saleor."
        waiting = Message.of("fulfillment_reason.waiting_for_approval", english)
        return plan(FulfillmentState.WAITING_FOR_APPROVAL, waiting)
    if not travelling:
        english = (
            "Gordon's tracking number is added to the order's fulfillment once it is fulfilled "
            "in Saleor."
        )
        awaiting = Message.of("fulfillment_reason.awaiting_fulfillment", english)
        return plan(FulfillmentState.AWAITING_FULFILLMENT, awaiting)
    return plan(FulfillmentState.DONE, _done_message(travelling, tracking_id))


def _travels(fulfillment: Fulfillment, lines: Mapping[str, OrderLine]) -> bool:
    """Fulfilled or waiting for approval, with something to ship (a fulfillment of lines that
    need no shipping, e.g. a digital product, gets no tracking number)."""
    if fulfillment.status not in _OPEN_FULFILLMENTS:
        return False
    if not fulfillment.lines:
        return True
    for fulfillment_line in fulfillment.lines:
        ref = fulfillment_line.order_line
        line = lines.get(ref.id) if ref is not None else None
        if line is None or line.is_shipping_required is not False:
            return True
    return False


def _lines_to_fulfil(order: SaleorOrder) -> tuple[OrderLine, ...]:
    """The lines Gordon delivers that are not fulfilled yet (lines that need no shipping are the
    shop's to fulfil)."""
    return tuple(
        line
        for line in order.lines
        if line.is_shipping_required is not False and line.unfulfilled > 0
    )


def _fulfilment(
    order: SaleorOrder, lines: Sequence[OrderLine], *, paid: bool
) -> tuple[tuple[LineToFulfil, ...], Blocker | None, tuple[OrderLine, ...]]:
    """The ``orderFulfill`` lines, or why the order cannot be fulfilled (and which lines)."""
    if order.status == _UNCONFIRMED:
        return (), Blocker.NOT_CONFIRMED, ()
    if order.status not in _FULFILLABLE_ORDERS:
        return (), None, ()  # returned or fulfilled: nothing the app should add to
    if not paid:
        return (), Blocker.NOT_PAID, ()
    planned = {line.id: _from_allocations(line) for line in lines}
    used = [w for stocks in planned.values() if stocks for w, _ in stocks]
    unallocated: list[OrderLine] = []
    unstocked: list[OrderLine] = []
    for line in lines:
        if planned[line.id] is not None:
            continue
        if not _untracked(line):
            unallocated.append(line)
            continue
        warehouse = _stocking_warehouse(line, used)
        if warehouse is None:
            unstocked.append(line)
            continue
        planned[line.id] = ((warehouse, line.unfulfilled),)
        used.append(warehouse)
    if unallocated:
        return (), Blocker.NOT_ALLOCATED, tuple(unallocated)
    if unstocked:
        return (), Blocker.NOT_STOCKED, tuple(unstocked)
    fulfil = tuple(LineToFulfil(line.id, stocks) for line in lines if (stocks := planned[line.id]))
    return fulfil, None, ()


def _untracked(line: OrderLine) -> bool:
    """Saleor does not count the stock of the line's variant (and so allocated none)."""
    return line.variant is not None and line.variant.track_inventory is False


def _stocking_warehouse(line: OrderLine, used: Sequence[str]) -> str | None:
    """Where to fulfil an untracked line from: a warehouse keeping its variant for the order's
    channel (``Variant.stocks``), one the fulfilment already uses first (fewer fulfillments,
    fewer e-mails); None when no warehouse keeps it."""
    assert line.variant is not None
    kept = [s.warehouse.id for s in line.variant.stocks if s.warehouse and s.warehouse.id]
    return next((w for w in used if w in kept), kept[0] if kept else None)


def _from_allocations(line: OrderLine) -> tuple[tuple[str, int], ...] | None:
    """Where the line's unfulfilled quantity is allocated, first allocations first; None when
    the allocations do not cover it."""
    remaining, stocks = line.unfulfilled, []
    for allocation in line.allocations:
        if remaining == 0:
            break
        taken = min(remaining, allocation.quantity)
        if taken > 0 and allocation.warehouse is not None and allocation.warehouse.id:
            stocks.append((allocation.warehouse.id, taken))
            remaining -= taken
    return tuple(stocks) if remaining == 0 else None


def _closed_message(status: str) -> Message:
    alone = "in Saleor: the app leaves its fulfillments alone."
    if status == "CANCELED":
        return Message.of("fulfillment_reason.order_cancelled", f"The order is cancelled {alone}")
    if status == "EXPIRED":
        return Message.of("fulfillment_reason.order_expired", f"The order is expired {alone}")
    return Message.of("fulfillment_reason.order_draft", f"The order is a draft {alone}")


def _to_do_message(fulfil: Sequence[LineToFulfil], updates: Sequence[TrackingUpdate]) -> Message:
    if fulfil:
        english = "The app fulfils the order in Saleor with Gordon's tracking number."
        return Message.of("fulfillment_reason.fulfilling", english)
    count = len(updates)
    english = f"The app adds Gordon's tracking number to {_fulfillments(count)}."
    return Message.of("fulfillment_reason.adding", english, count=count)


def _blocked_message(blocker: Blocker, lines: Sequence[OrderLine]) -> Message:
    if blocker is Blocker.NOT_PAID:
        english = "The app fulfils the order in Saleor once it is fully paid."
        return Message.of("fulfillment_reason.not_paid", english)
    if blocker is Blocker.NOT_CONFIRMED:
        english = "The app fulfils the order in Saleor once it is confirmed."
        return Message.of("fulfillment_reason.not_confirmed", english)
    names = [line.display_name for line in lines]
    if blocker is Blocker.NOT_STOCKED:
        count = len(names)
        products, them = ("product", "it") if count == 1 else ("products", "them")
        english = (
            f"The order has {count} {products} whose inventory Saleor does not track and that "
            f"no warehouse serving its channel keeps: {listed(names)}. Saleor would not let the "
            f"app fulfil {them}: add {them} to such a warehouse in Saleor (any quantity), then "
            "choose Try fulfilling again, or fulfil the order yourself and the app adds the "
            "tracking number."
        )
        return Message.of("fulfillment_reason.not_stocked", english, lines=names, count=count)
    english = (
        f"Saleor has no stock allocated in a warehouse for {listed(names)}, so the app cannot "
        "tell where to fulfil from: allocate stock in Saleor and choose Try fulfilling again, or "
        "fulfil the order yourself and the app adds the tracking number."
    )
    return Message.of("fulfillment_reason.not_allocated", english, lines=names)


def _done_message(travelling: Sequence[Fulfillment], tracking_id: str) -> Message:
    kept = sum(not carries_tracking_id(f.tracking_number, tracking_id) for f in travelling)
    if kept == 0:
        english = "Gordon's tracking number is on the order's fulfillment."
        return Message.of("fulfillment_reason.done", english)
    if kept == len(travelling):
        english = (
            f"Kept the tracking number somebody else set on {_fulfillments(kept)}; Gordon's "
            "is not added."
        )
        return Message.of("fulfillment_reason.kept", english, count=kept)
    english = (
        "Gordon's tracking number is on the order's fulfillment; kept the tracking number "
        f"somebody else set on {_fulfillments(kept)}."
    )
    return Message.of("fulfillment_reason.done_and_kept", english, count=kept)


def _fulfillments(count: int) -> str:
    return "1 fulfillment" if count == 1 else f"{count} fulfillments"


def listed(names: Sequence[str]) -> str:
    """Names as an English list: ``a``, ``a and b``, ``a, b and c``."""
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"
