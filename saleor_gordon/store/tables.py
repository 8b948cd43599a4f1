"""Every table of saleor-gordon, in one place.

Times are stored as naive UTC (``UTCDateTime``) so that SQLite and PostgreSQL compare them the same
way; Python code only ever sees timezone-aware UTC datetimes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)

from saleor_gordon.core.gordon_order import MAX_EXTERNAL_REF_CHARS
from saleor_gordon.core.order import MAX_ORDER_ID_CHARS, MAX_ORDER_NUMBER_CHARS
from saleor_gordon.core.outcomes import MAX_TRACKING_ID_CHARS


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in Python, naive UTC in the database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; pass an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # pragma: no cover - defensive, SQLAlchemy parses SQLite text
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)


MAX_APP_ID_CHARS: Final = 255
"""The longest app id (Saleor's global ID of the installed app) an installation stores."""

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

installations = Table(
    "installations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # The Saleor API URL (…/graphql/) that identifies the shop; one installation per URL.
    Column("saleor_api_url", String(2048), nullable=False, unique=True),
    Column("app_id", String(MAX_APP_ID_CHARS), nullable=False),
    Column("token_encrypted", Text, nullable=False),
    Column("jwks", JSON, nullable=False),
    Column("jwks_fetched_at", UTCDateTime, nullable=False),
    Column("installed_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # Set when Saleor stops accepting the token: the installation's work stops.
    Column("revoked_at", UTCDateTime, nullable=True),
    # Shop configuration without the Gordon client secret, which is encrypted beside it.
    Column("config", JSON, nullable=True),
    Column("gordon_secret_encrypted", Text, nullable=True),
    Column("config_updated_at", UTCDateTime, nullable=True),
    # Counts the saves of the configuration: a save based on an older version is refused
    # (optimistic concurrency; two saves within one clock tick still differ).
    Column("config_version", Integer, nullable=False, server_default=text("0")),
    # Round-robin fairness between shops when workers claim jobs.
    Column("last_claimed_at", UTCDateTime, nullable=True),
    # An id is never given again, also on SQLite (AUTOINCREMENT; PostgreSQL's sequences never
    # do): a process that still knows a removed shop by its id (a cached webhook identity, a
    # backfill, a Dashboard request in flight) must find it gone, never another shop under it.
    sqlite_autoincrement=True,
)

webhook_events = Table(
    "webhook_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "installation_id",
        Integer,
        ForeignKey("installations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    # Saleor has no delivery id: (event, order id, issuedAt) recognises its redeliveries.
    Column("dedupe_key", String(512), nullable=False),
    Column("event", String(64), nullable=False),
    Column("order_id", String(MAX_ORDER_ID_CHARS), nullable=True),
    Column("order_number", String(MAX_ORDER_NUMBER_CHARS), nullable=True),
    Column("issued_at", String(64), nullable=True),
    Column("principal_type", String(16), nullable=True),
    Column("principal_id", String(255), nullable=True),
    Column("body_sha256", String(64), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    # Why the event caused no work. Written by earlier versions only (the app's own metadata
    # writes, no longer stored); kept so their rows stay readable.
    Column("ignored_reason", String(255), nullable=True),
    UniqueConstraint("installation_id", "dedupe_key", name="uq_webhook_events_dedupe"),
)
Index("ix_webhook_events_received_at", webhook_events.c.received_at)

sync_jobs = Table(
    "sync_jobs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "installation_id",
        Integer,
        ForeignKey("installations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("order_id", String(MAX_ORDER_ID_CHARS), nullable=False),
    Column("order_number", String(MAX_ORDER_NUMBER_CHARS), nullable=True),
    # pending | retrying | synced | needs_attention | failed | cancelled | skipped
    Column("status", String(32), nullable=False),
    # Order events received for the order, as bits (core/order_events.py EVENT_BITS), so that triggers
    # survive coalescing and one upsert statement can add an event.
    Column("events_mask", Integer, nullable=False, default=0),
    # Bumped by every event: a worker that finishes an older version leaves the job due.
    Column("version", Integer, nullable=False, default=1),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("pending_since", UTCDateTime, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("lease_owner", String(128), nullable=True),
    Column("lease_expires_at", UTCDateTime, nullable=True),
    Column("last_action", String(32), nullable=True),
    Column("last_outcome", String(32), nullable=True),
    Column("last_message", Text, nullable=True),
    # last_message as a code and its parameters (core/messages.py; JSON); NULL: written before
    # codes existed, last_message is then all there is.
    Column("last_code", String(64), nullable=True),
    Column("last_params", Text, nullable=True),
    # The status the last recorded attempt left the job in (the one its last_message goes with:
    # an event makes a settled job pending); NULL: none recorded since migration 0015.
    Column("last_status", String(32), nullable=True),
    Column("external_ref", String(MAX_EXTERNAL_REF_CHARS), nullable=True),
    Column("tracking_id", String(MAX_TRACKING_ID_CHARS), nullable=True),
    # Hash of the Gordon content last accepted by Gordon; NULL = not in Gordon (or withdrawn).
    Column("pushed_hash", String(64), nullable=True),
    Column("pushed_at", UTCDateTime, nullable=True),
    # The deliverydate of that content: re-pushes keep it while it is allowed (core.delivery_dates).
    Column("pushed_delivery_date", Date, nullable=True),
    Column("withdrawn_at", UTCDateTime, nullable=True),
    # Its time-window, shown in the Dashboard with the date.
    Column("pushed_time_window", String(32), nullable=True),
    # Where the order's fulfillment stands (core/fulfillment.py FulfillmentState) and why; NULL:
    # the app has not looked at its fulfillments yet.
    Column("fulfillment_state", String(32), nullable=True),
    Column("fulfillment_message", Text, nullable=True),
    # ... its code and parameters (core/messages.py FULFILLMENT_REASONS); NULL in rows written
    # before the reason was coded (their English text is shown).
    Column("fulfillment_code", String(64), nullable=True),
    Column("fulfillment_params", Text, nullable=True),
    Column("run_now", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("installation_id", "order_id", name="uq_sync_jobs_order"),
)
Index("ix_sync_jobs_due", sync_jobs.c.next_attempt_at)
Index("ix_sync_jobs_status", sync_jobs.c.status)
Index("ix_sync_jobs_installation_updated", sync_jobs.c.installation_id, sync_jobs.c.updated_at)
# A claim's two look-ups per installation (jobs/queue.py): its first due job, in the claim's
# order, and the leases it holds. Both hold only the rows they are for (due, leased), so neither
# reads the backlog of settled jobs, and the first due job is the first entry of the range.
Index(
    "ix_sync_jobs_claim",
    sync_jobs.c.installation_id,
    sync_jobs.c.run_now.desc(),
    sync_jobs.c.next_attempt_at,
    sync_jobs.c.id,
    sqlite_where=sync_jobs.c.next_attempt_at.is_not(None),
    postgresql_where=sync_jobs.c.next_attempt_at.is_not(None),
)
Index(
    "ix_sync_jobs_leased",
    sync_jobs.c.installation_id,
    sync_jobs.c.lease_expires_at,
    sqlite_where=sync_jobs.c.lease_expires_at.is_not(None),
    postgresql_where=sync_jobs.c.lease_expires_at.is_not(None),
)

job_history = Table(
    "job_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", Integer, ForeignKey("sync_jobs.id", ondelete="CASCADE"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("action", String(32), nullable=False),
    Column("outcome", String(32), nullable=False),
    # Human message in English. The app's own words name the order by ID and number only; a
    # refusal keeps Gordon's own words as Gordon wrote them (core/outcomes.py, cut to
    # BODY_EXCERPT_CHARS), which may quote the order's address: shown to the shop's staff only,
    # never logged (tests/jobs/test_logged_outside_text.py).
    Column("message", Text, nullable=True),
    # The message as a code and its parameters (core/messages.py; JSON), which the Dashboard words
    # in the staff user's language; NULL in entries written before codes existed.
    Column("code", String(64), nullable=True),
    Column("params", Text, nullable=True),
)
Index("ix_job_history_job", job_history.c.job_id, job_history.c.at)
Index("ix_job_history_at", job_history.c.at)  # the prune's oldest entries first

gordon_rate = Table(
    "gordon_rate",
    metadata,
    # SHA-256 of one Gordon account's key (base URL, client id, secret digest: store/rate.py);
    # every process paces its requests here.
    Column("account", String(2048), primary_key=True),
    # Seconds since the epoch at which the account's next request may be sent.
    Column("next_slot", Float, nullable=False),
)

backfill_runs = Table(
    "backfill_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "installation_id",
        Integer,
        ForeignKey("installations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    # createdAt | updatedAt: which time of the orders [since, until] selects.
    Column("time_field", String(16), nullable=False),
    Column("since", UTCDateTime, nullable=False),
    Column("until", UTCDateTime, nullable=False),
    # Saleor's cursor after the last page done; NULL = from the start. A run resumes here.
    Column("cursor", Text, nullable=True),
    Column("pages", Integer, nullable=False, default=0),
    Column("seen", Integer, nullable=False, default=0),
    Column("enqueued", Integer, nullable=False, default=0),
    Column("skipped", Integer, nullable=False, default=0),
    Column("started_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    # A backfill of a removed shop that still runs must never move another shop's run.
    sqlite_autoincrement=True,
)
Index("ix_backfill_runs_installation", backfill_runs.c.installation_id)

reconcile_leases = Table(
    "reconcile_leases",
    metadata,
    # One row per shop: who reconciles it now, and when it is due again (all processes).
    Column(
        "installation_id",
        Integer,
        ForeignKey("installations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("lease_owner", String(128), nullable=True),
    Column("lease_expires_at", UTCDateTime, nullable=True),
    Column("next_due_at", UTCDateTime, nullable=True),
    Column("last_started_at", UTCDateTime, nullable=True),
    Column("last_finished_at", UTCDateTime, nullable=True),
    Column("last_enqueued", Integer, nullable=True),
)
