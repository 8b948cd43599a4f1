"""What the Dashboard shows of a job: the delivery date and time window Gordon accepted, and an
index for listing one shop's jobs newest first.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_jobs") as batch:
        batch.add_column(sa.Column("delivery_date", sa.String(length=10), nullable=True))
        batch.add_column(sa.Column("time_window", sa.String(length=32), nullable=True))
    op.create_index(
        "ix_sync_jobs_installation_updated",
        "sync_jobs",
        ["installation_id", "updated_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_sync_jobs_installation_updated", table_name="sync_jobs")
    with op.batch_alter_table("sync_jobs") as batch:
        batch.drop_column("time_window")
        batch.drop_column("delivery_date")
