"""A job whose order expired in Saleor says ``expired`` (``core.job_status.JobStatus.EXPIRED``),
no longer ``cancelled``: the jobs that settled before this status existed are told apart by what
they said. Their last message's code (``job.withdrawn.expired``: withdrawn from Gordon;
``job.expired_before_sent``: never sent), or for a row written before codes existed (migration
0006) its English text: only a withdrawal said then that the order expired. No schema change;
every other stored value stays as it was.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_EXPIRED_CODES = ("job.withdrawn.expired", "job.expired_before_sent")
_EXPIRED_WITHDRAWAL_TEXT = "Withdrawn from Gordon: the order is expired in Saleor."


def upgrade() -> None:
    op.execute(
        sa.text(
            "UPDATE sync_jobs SET status = 'expired' WHERE status = 'cancelled' AND "
            "(last_code IN (:withdrawn, :unsent) OR (last_code IS NULL AND last_message = :old))"
        ).bindparams(
            withdrawn=_EXPIRED_CODES[0], unsent=_EXPIRED_CODES[1], old=_EXPIRED_WITHDRAWAL_TEXT
        )
    )


def downgrade() -> None:
    op.execute("UPDATE sync_jobs SET status = 'cancelled' WHERE status = 'expired'")
