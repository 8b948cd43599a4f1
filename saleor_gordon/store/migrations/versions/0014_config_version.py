"""The shop configuration's version: ``installations.config_version`` counts its saves.

A save names the version it is based on (the Dashboard's Configuration page sends the one it
loaded) and is refused when another save came in between (optimistic concurrency). A counter, not
``config_updated_at``: two saves within one tick of the clock still differ. Configurations stored
before this migration are at version 0, like a shop that never saved one.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "installations",
        sa.Column("config_version", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN on SQLite too (3.35+): rebuilding the table, as a batch would,
    # would lose its AUTOINCREMENT (0013).
    op.drop_column("installations", "config_version")
