"""What a sync job does with an order, decided from values.

A job re-reads the order from Saleor (events arrive late, twice and out of order) and asks
``decide_for_order`` what to do: it translates the order as the job would send it now
(``translate_for_job``, keeping what Gordon already has) and decides (``decide_sync``). The attempt
(``jobs/attempt.py``), the Dashboard's "Send to Gordon" preview (``shop_actions.py``) and the
catch-up scans (``catch_up/``) all decide this way. ``desired_metadata`` and ``metadata_changes``
decide the write-back the same way: from the job's state, compared with the order's metadata as
Saleor has it now, so a failed write-back is simply recomputed next time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from saleor_gordon.core.fulfillment import TRACKING_URL_KEY
from saleor_gordon.core.gordon_order import GordonOrder
from saleor_gordon.core.job_status import JobStatus
from saleor_gordon.core.messages import Message
from saleor_gordon.core.order import SaleorOrder
from saleor_gordon.core.order_events import MANUAL_SEND_EVENT
from saleor_gordon.core.shop_config import ShopConfig
from saleor_gordon.core.translate import (
    Problem,
    Skipped,
    Translated,
    TranslationResult,
    Untranslatable,
    translate_order,
)

TRACKING_ID_KEY = "gordon.tracking_id"  # public: storefronts show it
STATUS_KEY = "gordon.status"
SYNCED_AT_KEY = "gordon.synced_at"
ERROR_KEY = "gordon.error"
EXTERNAL_REF_KEY = "gordon.external_ref"

#: Saleor OrderStatus values after which the order must not be (or stay) in Gordon.
WITHDRAWN_ORDER_STATUSES = frozenset({"CANCELED", "EXPIRED"})
#: Why an order leaves Gordon when Saleor no longer has it (no OrderStatus: it was deleted).
ORDER_DELETED = "DELETED"
#: Saleor OrderStatus values of orders that are not placed yet.
UNPLACED_ORDER_STATUSES = frozenset({"DRAFT"})
UNCONFIRMED_ORDER_STATUSES = frozenset({"DRAFT", "UNCONFIRMED"})
FULLY_CHARGED = frozenset({"FULL", "OVERCHARGED"})


@dataclass(frozen=True, slots=True)
class OrderState:
    """The facts about an order that decide whether it goes to Gordon."""

    status: str
    charge_status: str | None
    is_paid: bool

    @property
    def fully_paid(self) -> bool:
        return self.is_paid or (self.charge_status or "") in FULLY_CHARGED


@dataclass(frozen=True, slots=True)
class Push:
    gordon_order: GordonOrder
    content_hash: str
    warnings: tuple[Problem, ...]


@dataclass(frozen=True, slots=True)
class Withdraw:
    external_ref: str
    order_status: str
    """The Saleor order status that takes it out of Gordon (``WITHDRAWN_ORDER_STATUSES``), or
    ``ORDER_DELETED``: Saleor no longer has the order."""

    @property
    def reason(self) -> str:
        if self.order_status == ORDER_DELETED:
            return "the order was deleted in Saleor"
        return f"the order is {self.order_status.lower()} in Saleor"

    @property
    def settles_as(self) -> JobStatus:
        """The job's status once the order is out of Gordon: expired for an order that expired,
        cancelled for one cancelled or deleted."""
        return JobStatus.EXPIRED if self.order_status == "EXPIRED" else JobStatus.CANCELLED


@dataclass(frozen=True, slots=True)
class Settle:
    """No Gordon call: the job ends with ``status`` and ``message``."""

    status: JobStatus
    message: Message


@dataclass(frozen=True, slots=True)
class Fix:
    """The order is for Gordon but cannot be sent: a person must fix these problems."""

    problems: tuple[Problem, ...]

    @property
    def message(self) -> Message:
        english = " ".join(problem.message for problem in self.problems)
        advice = [problem.advice for problem in self.problems]
        return Message.of("job.order_problems", english, problems=advice)


SyncDecision = Push | Withdraw | Settle | Fix


def trigger_met(
    state: OrderState, *, triggers: tuple[str, ...], events_seen: frozenset[str]
) -> bool:
    """Has the order reached a configured trigger, by an event received or by its state?"""
    if state.status in UNPLACED_ORDER_STATUSES:
        return False
    if MANUAL_SEND_EVENT in events_seen:
        return True
    for trigger in triggers:
        if trigger in events_seen or trigger == "ORDER_CREATED":
            return True
        if trigger == "ORDER_CONFIRMED" and state.status not in UNCONFIRMED_ORDER_STATUSES:
            return True
        if trigger == "ORDER_FULLY_PAID" and state.fully_paid:
            return True
    return False


def decide_sync(
    *,
    state: OrderState,
    translation: TranslationResult,
    triggers: tuple[str, ...],
    events_seen: frozenset[str],
    pushed_hash: str | None,
    known_ref: str | None = None,
) -> SyncDecision:
    """Push, withdraw, settle or ask for a fix, given the fresh order and what Gordon has.

    Args:
        pushed_hash: content hash Gordon accepted last; None when Gordon is not known to have it.
        known_ref: the external_ref a push was already attempted with (it may have reached
            Gordon even if its answer never came back).
    """
    in_gordon = pushed_hash is not None
    triggered = in_gordon or trigger_met(state, triggers=triggers, events_seen=events_seen)
    if state.status in WITHDRAWN_ORDER_STATUSES:
        return _withdraw_if_sent(state, translation, triggered, known_ref)
    if not triggered:
        waiting = f"Waiting for {' or '.join(triggers)}."
        return Settle(JobStatus.SKIPPED, Message.of("job.waiting_for", waiting, events=triggers))
    if isinstance(translation, Skipped):
        if in_gordon:
            # A rule change must never delete deliveries on its own: a person decides.
            return Fix((_no_longer_matches(known_ref, translation.reason),))
        reason = translation.reason
        not_for_gordon = Message.of(
            "job.not_for_gordon", f"Not for Gordon: {reason}", reason=reason
        )
        return Settle(JobStatus.SKIPPED, not_for_gordon)
    if isinstance(translation, Untranslatable):
        return Fix(translation.problems)
    return _push_if_changed(translation, pushed_hash)


def _withdraw_if_sent(
    state: OrderState, translation: TranslationResult, triggered: bool, known_ref: str | None
) -> SyncDecision:
    """Cancelled or expired: DELETE whatever may be in Gordon (a lost answer, a killed worker).

    Gordon answering "not found" is a success, so asking once too often costs one request, while
    asking once too few leaves a cancelled order on a delivery route.
    """
    if known_ref is not None:
        return Withdraw(known_ref, state.status)
    if triggered and isinstance(translation, Translated):
        return Withdraw(translation.gordon_order.external_ref, state.status)
    if state.status == "EXPIRED":
        english = "The order expired before it reached Gordon."
        return Settle(JobStatus.EXPIRED, Message.of("job.expired_before_sent", english))
    english = "The order was cancelled before it reached Gordon."
    return Settle(JobStatus.CANCELLED, Message.of("job.cancelled_before_sent", english))


def decide_for_deleted_order(*, known_ref: str | None) -> Withdraw | Settle:
    """Saleor no longer has the order (it answered ``order: null``, or ``NOT_FOUND`` to a
    mutation): it was deleted, so there is nothing left to fulfil or to tell, and no retry brings
    it back.

    Whatever may be in Gordon is withdrawn, as for a cancelled order: a delivery of an order the
    shop no longer has would reach a customer with nothing to deliver, and no person could see it
    in the Dashboard any more. ``known_ref``: the reference Gordon may have the order under (a
    push accepted or attempted); None: Gordon never had it, the job settles skipped.
    """
    if known_ref is not None:
        return Withdraw(known_ref, ORDER_DELETED)
    return Settle(JobStatus.SKIPPED, Message.of("job.order_gone", "The order no longer exists."))


def _no_longer_matches(known_ref: str | None, reason: Message) -> Problem:
    what = f"order {known_ref}" if known_ref else "the order"
    return Problem(
        "delivery_groups",
        f"{what} is in Gordon but is no longer for Gordon ({reason})",
        "Cancel it in the Gordon platform by hand if it should not be delivered, or correct "
        "the delivery-group rules.",
        "problem.no_longer_for_gordon",
        {"reason": reason},
    )


UNCHANGED = Message.of("job.unchanged", "Gordon already has this content.")
"""What a job settles with (synced) when Gordon already has the order's content: a re-check
whose answer a person does not need (``jobs/lifecycle.unnoticed``)."""


def _push_if_changed(translation: Translated, pushed_hash: str | None) -> SyncDecision:
    content_hash = translation.gordon_order.content_hash()
    if content_hash == pushed_hash:
        return Settle(JobStatus.SYNCED, UNCHANGED)
    return Push(translation.gordon_order, content_hash, translation.warnings)


@dataclass(frozen=True, slots=True)
class SentBefore:
    """What a job recorded of the order's earlier pushes (nothing, for an order it never sent)."""

    external_ref: str | None = None
    """The reference a push was attempted with (it may have reached Gordon even if its answer
    never came back)."""
    pushed_at: datetime | None = None
    pushed_hash: str | None = None
    """Content hash Gordon accepted last; None when Gordon is not known to have the order."""
    pushed_delivery_date: date | None = None


NOTHING_SENT = SentBefore()


@dataclass(frozen=True, slots=True)
class OrderDecision:
    """What to do with an order, and the Gordon order it was judged by."""

    decision: SyncDecision
    translation: TranslationResult


def decide_for_order(
    order: SaleorOrder,
    data: Mapping[str, Any],
    config: ShopConfig,
    *,
    sent: SentBefore,
    events_seen: frozenset[str],
    now: datetime,
) -> OrderDecision:
    """Decide as a job would now: ``order`` is the fresh order (``data``, Saleor's answer it was
    parsed from), ``sent`` what the job sent before, ``events_seen`` the events it received."""
    translation = translate_for_job(order, config, now=now, sent=sent)
    decision = decide_sync(
        state=order_state(order, data),
        translation=translation,
        triggers=tuple(config.trigger_events),
        events_seen=events_seen,
        pushed_hash=sent.pushed_hash,
        known_ref=sent.external_ref,
    )
    return OrderDecision(decision=decision, translation=translation)


def order_state(order: SaleorOrder, data: Mapping[str, Any]) -> OrderState:
    """The facts of a fetched order that decide whether it goes to Gordon."""
    return OrderState(
        status=order.status,
        charge_status=_optional_str(data.get("chargeStatus")),
        is_paid=data.get("isPaid") is True,
    )


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def translate_for_job(
    order: SaleorOrder, config: ShopConfig, *, now: datetime, sent: SentBefore
) -> TranslationResult:
    """The Gordon order a job would send now, given what it ``sent`` before.

    The date Gordon has is kept while it is allowed: a re-push does not move the delivery. After a
    push the order keeps the reference Gordon knows it by, even if the prefix changed since. A
    requested delivery date that has passed since the push is no reason to flag an order whose
    content Gordon already has; any other change is judged as of now.
    """
    kept = sent.pushed_delivery_date or _date_pushed_before_0003(order, config, sent.pushed_hash)
    translation = _keep_ref(
        translate_order(order, config, now=now, pushed_delivery_date=kept), sent.external_ref
    )
    if isinstance(translation, Untranslatable) and sent.pushed_at is not None:
        as_pushed = _keep_ref(
            translate_order(order, config, now=sent.pushed_at, pushed_delivery_date=kept),
            sent.external_ref,
        )
        if (
            isinstance(as_pushed, Translated)
            and as_pushed.gordon_order.content_hash() == sent.pushed_hash
        ):
            return as_pushed
    return translation


def _date_pushed_before_0003(
    order: SaleorOrder, config: ShopConfig, pushed_hash: str | None
) -> date | None:
    """Pushes recorded before migration 0003 kept no date; the app then counted it from the
    order's creation time alone, which is what translating as of that time gives."""
    if pushed_hash is None or order.created is None:
        return None
    as_created = translate_order(order, config, now=order.created)
    if not isinstance(as_created, Translated):
        return None
    return date.fromisoformat(as_created.gordon_order.deliverydate)


def _keep_ref(translation: TranslationResult, ref: str | None) -> TranslationResult:
    if not isinstance(translation, Translated) or not ref:
        return translation
    if translation.gordon_order.external_ref == ref:
        return translation
    gordon_order = translation.gordon_order.model_copy(update={"external_ref": ref})
    return dataclasses.replace(translation, gordon_order=gordon_order)


@dataclass(frozen=True, slots=True)
class MetadataPlan:
    public: Mapping[str, str]
    private: Mapping[str, str]
    delete_private: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not (self.public or self.private or self.delete_private)


def desired_metadata(
    *,
    status: JobStatus,
    tracking_id: str | None,
    external_ref: str | None,
    synced_at: datetime | None,
    error: str | None,
    tracking_url: str | None = None,
) -> MetadataPlan | None:
    """The gordon.* metadata an order should carry for a job state; None: leave the order alone.

    ``tracking_url``: the tracking link (``core.fulfillment.tracking_link``), public for
    storefronts as ``gordon.tracking_url``; None: the shop has no link format.
    """
    if status in (JobStatus.SKIPPED, JobStatus.PENDING):
        return None
    public = {TRACKING_ID_KEY: tracking_id} if tracking_id else {}
    if tracking_url:
        public[TRACKING_URL_KEY] = tracking_url
    private = {STATUS_KEY: status.value}
    if external_ref:
        private[EXTERNAL_REF_KEY] = external_ref
    if synced_at is not None:
        private[SYNCED_AT_KEY] = synced_at.isoformat()
    if error:
        private[ERROR_KEY] = error
    delete = () if error else (ERROR_KEY,)
    return MetadataPlan(public=public, private=private, delete_private=delete)


def metadata_changes(
    plan: MetadataPlan, *, public_now: Mapping[str, str], private_now: Mapping[str, str]
) -> MetadataPlan:
    """Only what differs from the order's current metadata (writing equal values is noise)."""
    return MetadataPlan(
        public={k: v for k, v in plan.public.items() if public_now.get(k) != v},
        private={k: v for k, v in plan.private.items() if private_now.get(k) != v},
        delete_private=tuple(k for k in plan.delete_private if k in private_now),
    )
