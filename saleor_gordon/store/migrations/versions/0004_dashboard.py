"""What the Dashboard shows of a job: the time window Gordon accepted (beside the date of 0003),
and an index for listing one shop's jobs newest first.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_jobs") as batch:
        batch.add_column(sa.Column("pushed_time_window", sa.String(length=32), nullable=True))
    op.create_index(
        "ix_sync_jobs_installation_updated",
        "sync_jobs",
        ["installation_id", "updated_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_sync_jobs_installation_updated", table_name="sync_jobs")
    with op.batch_alter_table("sync_jobs") as batch:
        batch.drop_column("pushed_time_window")
