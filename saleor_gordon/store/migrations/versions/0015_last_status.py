"""The status a job's last recorded attempt left it in: ``sync_jobs.last_status``.

The status that goes with ``last_message``. An order event makes a settled job pending, so
``status`` alone no longer says what the job last found; an attempt that would record the same
status and message again (a re-check that changes nothing a person sees) compares with this
column and records no history entry (``jobs/lifecycle.py``, ``unnoticed``). Jobs stored before
this migration take their status when it is the one their last attempt wrote (any but pending,
which an event or a retry sets); a pending one has none, and its next attempt records.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sync_jobs", sa.Column("last_status", sa.String(length=32), nullable=True))
    op.execute(
        "UPDATE sync_jobs SET last_status = status "
        "WHERE status <> 'pending' AND last_message IS NOT NULL"
    )


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN on SQLite too (3.35+): rebuilding the table, as a batch would,
    # would lose its AUTOINCREMENT (0013).
    op.drop_column("sync_jobs", "last_status")
