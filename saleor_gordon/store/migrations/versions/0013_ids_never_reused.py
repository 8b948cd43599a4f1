"""The ids of installations and backfill runs are never given again on SQLite.

Their ``id INTEGER PRIMARY KEY`` was a plain rowid there: SQLite gives a new row the largest id
plus one, so after the newest installation was removed (the app uninstalled) the next shop
installed got its id. A process that still knew the removed shop by that id (the webhook path
keeps a shop's identity for a few seconds; a backfill, a reconcile or a Dashboard request in
flight holds it) then filed the removed shop's late webhooks, jobs and configuration under the
new shop. ``AUTOINCREMENT`` never gives an id again (the largest one given is kept in
``sqlite_sequence``), so such a process now finds the id gone (``InstallationGone``, a foreign
key failure, no row updated). SQLite cannot add it to a table: each table is built anew, its rows
copied with their ids (the rows of other tables that refer to them stay as they are;
``database.move_schema`` runs this with foreign keys not enforced, and checks them before the
commit). The largest id given so far is taken to be the largest still stored: an id removed
before this migration that was larger than every id still stored may be given once more, to the
next shop installed, which a process of the older version still running then could mistake for
the removed shop (its cached identity, ten seconds; a backfill still running); from then on no
id comes back.

PostgreSQL's ``SERIAL`` sequences never give an id again: nothing changes there.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

from saleor_gordon.store.tables import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _installations(metadata: sa.MetaData, name: str, *, autoincrement: bool) -> sa.Table:
    """``installations`` as of 0012 (0001's), named ``name``."""
    return sa.Table(
        name,
        metadata,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("saleor_api_url", sa.String(length=2048), nullable=False),
        sa.Column("app_id", sa.String(length=255), nullable=False),
        sa.Column("token_encrypted", sa.Text(), nullable=False),
        sa.Column("jwks", sa.JSON(), nullable=False),
        sa.Column("jwks_fetched_at", UTCDateTime(), nullable=False),
        sa.Column("installed_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("config", sa.JSON(), nullable=True),
        sa.Column("gordon_secret_encrypted", sa.Text(), nullable=True),
        sa.Column("config_updated_at", UTCDateTime(), nullable=True),
        sa.Column("last_claimed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_installations"),
        sa.UniqueConstraint("saleor_api_url", name="uq_installations_saleor_api_url"),
        sqlite_autoincrement=autoincrement,
    )


def _backfill_runs(metadata: sa.MetaData, name: str, *, autoincrement: bool) -> sa.Table:
    """``backfill_runs`` as of 0012 (0005's), named ``name``."""
    return sa.Table(
        name,
        metadata,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("installation_id", sa.Integer(), nullable=False),
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
        # A foreign key names the table it refers to, never the table holding it: the rebuilt
        # table's own name does not matter to it.
        sa.ForeignKeyConstraint(
            ["installation_id"],
            ["installations.id"],
            name="fk_backfill_runs_installation_id_installations",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_backfill_runs"),
        sqlite_autoincrement=autoincrement,
    )


_REBUILT: tuple[tuple[str, Callable[..., sa.Table], tuple[tuple[str, list[str]], ...]], ...] = (
    ("installations", _installations, ()),
    ("backfill_runs", _backfill_runs, (("ix_backfill_runs_installation", ["installation_id"]),)),
)
"""The tables rebuilt: name, definition, indexes (which go with the old table)."""


def _rebuild(*, autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    metadata = sa.MetaData()
    # What backfill_runs refers to (never created here).
    sa.Table("installations", metadata, sa.Column("id", sa.Integer(), primary_key=True))
    for name, definition, indexes in _REBUILT:
        rebuilt = definition(metadata, f"_{name}_rebuilt", autoincrement=autoincrement)
        rebuilt.create(op.get_bind())
        columns = ", ".join(column.name for column in rebuilt.columns)
        op.execute(f"INSERT INTO {rebuilt.name} ({columns}) SELECT {columns} FROM {name}")  # noqa: S608 - constants
        op.execute(f"DROP TABLE {name}")
        op.execute(f"ALTER TABLE {rebuilt.name} RENAME TO {name}")
        for index, indexed in indexes:
            op.create_index(index, name, indexed)
        if not autoincrement:
            op.execute(f"DELETE FROM sqlite_sequence WHERE name = '{name}'")  # noqa: S608 - constants


def upgrade() -> None:
    _rebuild(autoincrement=True)


def downgrade() -> None:
    _rebuild(autoincrement=False)
