"""Alembic environment: runs on the connection the caller passes (``config.attributes["connection"]``)."""

from __future__ import annotations

from alembic import context

from idverify.storage.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through idverify.storage.migrate, which passes a connection")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
