"""The statuses of a sync job; the same words are written to the order as ``gordon.status``."""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    PENDING = "pending"
    """Work is queued and has not been tried yet (or a new event arrived)."""
    RETRYING = "retrying"
    """The last attempt failed for a reason that may pass (Gordon or Saleor down); retry is due."""
    SYNCED = "synced"
    """Gordon has the order's latest content and the tracking ID is on the order."""
    NEEDS_ATTENTION = "needs_attention"
    """A person must act: the order or the configuration is wrong, or Gordon refused it."""
    FAILED = "failed"
    """Retries ran out (the configured maximum age passed)."""
    CANCELLED = "cancelled"
    """The order was cancelled (or deleted) and withdrawn from Gordon (or never reached it)."""
    EXPIRED = "expired"
    """The order expired in Saleor (unconfirmed, unpaid in time) and was withdrawn from Gordon
    (or never reached it). Added after the others: rows written before say ``cancelled``."""
    SKIPPED = "skipped"
    """Not for Gordon: no delivery rule matches, no shipping, click and collect, or no trigger yet."""
