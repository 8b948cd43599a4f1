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
    """The order was cancelled or expired and withdrawn from Gordon (or never reached it)."""
    SKIPPED = "skipped"
    """Not for Gordon: no delivery rule matches, no shipping, click and collect, or no trigger yet."""


#: Statuses after which a new event starts a fresh episode (attempts and age are reset).
SETTLED_STATUSES = frozenset(
    {
        JobStatus.SYNCED,
        JobStatus.NEEDS_ATTENTION,
        JobStatus.FAILED,
        JobStatus.CANCELLED,
        JobStatus.SKIPPED,
    }
)

#: Statuses where *Retry* (a person running the job again now) can change something: it failed,
#: waits for a person, or waits for its next attempt. Pending work is due already; synced,
#: cancelled and skipped orders would come out the same (a changed order starts a job by itself,
#: and *Send to Gordon* sends a skipped one).
RETRYABLE_STATUSES = frozenset(
    {
        JobStatus.RETRYING,
        JobStatus.NEEDS_ATTENTION,
        JobStatus.FAILED,
    }
)
