"""The order events the app knows: the Saleor webhooks it subscribes to, the two it records itself,
and what it keeps of a received one.

An event makes the order's sync job due (``jobs/queue.py``); the job then reads the order afresh,
so an event is a reason to look, never the data to act on. The events a job has seen are stored as
bits (``EVENT_BITS``): which triggers were met (``core/sync_decision.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

ORDER_EVENTS: Final = (
    "ORDER_CREATED",
    "ORDER_CONFIRMED",
    "ORDER_FULLY_PAID",
    "ORDER_UPDATED",
    "ORDER_CANCELLED",
    "ORDER_EXPIRED",
    "ORDER_METADATA_UPDATED",
    # A fulfillment was created (by staff, a WMS or the app): the order's job looks at its
    # fulfillments (core/fulfillment.py). Saleor also sends ORDER_UPDATED then; this one names it.
    "FULFILLMENT_CREATED",
)
"""The order webhooks of the manifest (``saleor/manifest.py``)."""

MANUAL_SEND_EVENT: Final = "MANUAL_SEND"
"""Not a Saleor event: a person chose "Send to Gordon" on the order in the Dashboard. It counts as a
met trigger for good (the shop owner decided this order goes to Gordon)."""

CATCH_UP_EVENT: Final = "BACKFILL"
"""Not a Saleor event: a backfill or a reconcile found the order (``catch_up/``). It sets no trigger
bit; the job judges the order's state as it finds it."""

EVENT_BITS: Final[dict[str, int]] = {
    "ORDER_CREATED": 1,
    "ORDER_CONFIRMED": 2,
    "ORDER_FULLY_PAID": 4,
    "ORDER_UPDATED": 8,
    "ORDER_CANCELLED": 16,
    "ORDER_EXPIRED": 32,
    "ORDER_METADATA_UPDATED": 64,
    MANUAL_SEND_EVENT: 128,
    "FULFILLMENT_CREATED": 256,
}
"""One bit per order event in a job's ``events_mask``. Stored in the database: never renumber, only
add."""


def event_names(mask: int) -> frozenset[str]:
    """The events whose bits are set in ``mask``."""
    return frozenset(name for name, bit in EVENT_BITS.items() if mask & bit)


@dataclass(frozen=True)
class OrderEvent:
    """What the app keeps of a verified order webhook: identifiers only, no customer data."""

    installation_id: int
    event: str
    order_id: str
    order_number: str | None
    issued_at: str | None
    principal_type: str | None
    principal_id: str | None
    body_sha256: str

    @property
    def dedupe_key(self) -> str:
        """What tells a redelivery of this event from another event: Saleor resends identical
        bytes on retry and has no delivery id, so the event, the order and the time Saleor issued
        it (without that time, the body's hash).

        The time comes first: Saleor issues events in time order, so the unique index on the key
        grows at its end like the table, instead of taking each event on a random leaf page of
        the index (order ids are random): on SQLite a page fewer per event of a group into the
        WAL and its checkpoints (bench/RESULTS.md, "Ninth round"). Migration 0011 put the keys
        stored before in this order."""
        if self.issued_at:
            return f"{self.issued_at}|{self.event}|{self.order_id}"
        return f"{self.event}|{self.order_id}|{self.body_sha256}"
