"""Alembic environment: migrations run on the connection ``ivr.archive.db.migrate`` passes."""

from __future__ import annotations

from alembic import context

from ivr.archive.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `ivr archive migrate` (ivr.archive.db.migrate)")
context.configure(connection=connection, target_metadata=Base.metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
