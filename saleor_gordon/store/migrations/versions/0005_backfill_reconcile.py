"""Backfill runs (a checkpoint per run, so an interrupted backfill resumes) and one reconcile
lease row per shop (one reconcile per shop at a time across processes).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from saleor_gordon.store.tables import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "backfill_runs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "installation_id",
            sa.Integer(),
            sa.ForeignKey(
                "installations.id",
                ondelete="CASCADE",
                name="fk_backfill_runs_installation_id_installations",
            ),
            nullable=False,
        ),
        sa.Column("time_field", sa.String(length=16), nullable=False),
        sa.Column("since", UTCDateTime(), nullable=False),
        sa.Column("until", UTCDateTime(), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("seen", sa.Integer(), nullable=False),
        sa.Column("enqueued", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_backfill_runs"),
    )
    op.create_index("ix_backfill_runs_installation", "backfill_runs", ["installation_id"])
    op.create_table(
        "reconcile_leases",
        sa.Column(
            "installation_id",
            sa.Integer(),
            sa.ForeignKey(
                "installations.id",
                ondelete="CASCADE",
                name="fk_reconcile_leases_installation_id_installations",
            ),
            nullable=False,
        ),
        sa.Column("lease_owner", sa.String(length=128), nullable=True),
        sa.Column("lease_expires_at", UTCDateTime(), nullable=True),
        sa.Column("next_due_at", UTCDateTime(), nullable=True),
        sa.Column("last_started_at", UTCDateTime(), nullable=True),
        sa.Column("last_finished_at", UTCDateTime(), nullable=True),
        sa.Column("last_enqueued", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("installation_id", name="pk_reconcile_leases"),
    )


def downgrade() -> None:
    op.drop_table("reconcile_leases")
    op.drop_index("ix_backfill_runs_installation", table_name="backfill_runs")
    op.drop_table("backfill_runs")
