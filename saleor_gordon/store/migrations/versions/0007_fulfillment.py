"""Where the order's fulfillment stands (tracking number on fulfillments, ``core/fulfillment.py``).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_jobs") as batch:
        batch.add_column(sa.Column("fulfillment_state", sa.String(32), nullable=True))
        batch.add_column(sa.Column("fulfillment_message", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_jobs") as batch:
        batch.drop_column("fulfillment_message")
        batch.drop_column("fulfillment_state")
