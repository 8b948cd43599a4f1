"""The claim's indexes: each installation's first due job in the claim's order, and its leases
(partial: due jobs only, leased jobs only), so that a claim does not read the backlog.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    due = sa.text("next_attempt_at IS NOT NULL")
    leased = sa.text("lease_expires_at IS NOT NULL")
    op.create_index(
        "ix_sync_jobs_claim",
        "sync_jobs",
        ["installation_id", sa.text("run_now DESC"), "next_attempt_at", "id"],
        sqlite_where=due,
        postgresql_where=due,
    )
    op.create_index(
        "ix_sync_jobs_leased",
        "sync_jobs",
        ["installation_id", "lease_expires_at"],
        sqlite_where=leased,
        postgresql_where=leased,
    )


def downgrade() -> None:
    op.drop_index("ix_sync_jobs_leased", table_name="sync_jobs")
    op.drop_index("ix_sync_jobs_claim", table_name="sync_jobs")
