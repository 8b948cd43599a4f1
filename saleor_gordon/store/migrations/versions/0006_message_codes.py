"""Job messages as codes: each history entry and the job's last message keep the code and
parameters of ``core/messages.py`` beside the English text. Older rows keep NULL there and are
shown by their English text.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("job_history", schema=None) as batch_op:
        batch_op.add_column(sa.Column("code", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("params", sa.Text(), nullable=True))
    with op.batch_alter_table("sync_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_code", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("last_params", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_jobs", schema=None) as batch_op:
        batch_op.drop_column("last_params")
        batch_op.drop_column("last_code")
    with op.batch_alter_table("job_history", schema=None) as batch_op:
        batch_op.drop_column("params")
        batch_op.drop_column("code")
