"""A webhook event's dedupe key starts with the time Saleor issued it
(``core.order_events.OrderEvent.dedupe_key``): ``issued_at|event|order_id`` instead of
``event|order_id|issued_at``, so that new keys land at the end of the unique index instead of on
random pages. The keys stored before are rewritten so, and a redelivery of an event received
before the upgrade is still recognised. Keys without a time (``event|order_id|body hash``) keep
their form; a key in neither form is left as it is. No schema change.

Events that a process of the older version stores between this migration and its restart keep
the old form; a redelivery of one of them is stored once more, and its order's job looks at the
order once more (and finds Gordon's content unchanged): nothing is lost or sent twice.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# Exactly the rows whose key is the old form of their own columns (every key written with a time
# by 0001-0010's code): the rewrite is one-to-one, so no two rows can meet on one key. The new
# form starts with the time, the old with the event's name (letters): no new key is an old one.
_OLD_KEY = "event || '|' || order_id || '|' || issued_at"
_NEW_KEY = "issued_at || '|' || event || '|' || order_id"
_WITH_TIME = "issued_at IS NOT NULL AND issued_at <> '' AND order_id IS NOT NULL"


def upgrade() -> None:
    op.execute(
        f"UPDATE webhook_events SET dedupe_key = {_NEW_KEY} "  # noqa: S608 - constants
        f"WHERE {_WITH_TIME} AND dedupe_key = {_OLD_KEY}"
    )


def downgrade() -> None:
    op.execute(
        f"UPDATE webhook_events SET dedupe_key = {_OLD_KEY} "  # noqa: S608 - constants
        f"WHERE {_WITH_TIME} AND dedupe_key = {_NEW_KEY}"
    )
