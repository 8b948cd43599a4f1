"""Per-Gordon-account request pacing shared by all processes.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gordon_rate",
        sa.Column("account", sa.String(length=2048), nullable=False),
        sa.Column("next_slot", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("account", name=op.f("pk_gordon_rate")),
    )


def downgrade() -> None:
    op.drop_table("gordon_rate")
