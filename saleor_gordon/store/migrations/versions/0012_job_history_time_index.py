"""Job history gets an index on its time alone, so that pruning (``JobQueue.prune_history``)
finds the oldest entries batch by batch instead of reading the whole table for each batch.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_job_history_at", "job_history", ["at"])


def downgrade() -> None:
    op.drop_index("ix_job_history_at", table_name="job_history")
