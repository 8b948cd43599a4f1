"""The fulfillment's reason as a code: ``fulfillment_message`` keeps the English text, and
``fulfillment_code`` / ``fulfillment_params`` the code of ``core.messages.FULFILLMENT_REASONS``
and its parameters. Older rows keep NULL there and are shown by their English text.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_jobs") as batch:
        batch.add_column(sa.Column("fulfillment_code", sa.String(64), nullable=True))
        batch.add_column(sa.Column("fulfillment_params", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_jobs") as batch:
        batch.drop_column("fulfillment_params")
        batch.drop_column("fulfillment_code")
