"""Alembic environment: migrations run on a connection handed over by ``database.migrate``."""

from __future__ import annotations

from alembic import context

from saleor_gordon.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `saleor-gordon migrate`, not the alembic command")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
