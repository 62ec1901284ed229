"""Alembic environment: runs the migrations on the connection storage.migrate hands over.

Never run standalone with a URL from a config file: `storage.migrate.upgrade` (called when the
service opens its database, and by `sohoa db upgrade`) passes the live connection, so the same
settings object decides the database everywhere.
"""

from __future__ import annotations

from alembic import context

from storage.db import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things in place; batch mode rebuilds the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
