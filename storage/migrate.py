"""Schema migrations (Alembic) for the metadata database, SQLite or PostgreSQL.

The service brings its database to the newest schema when it opens it (`storage.db.make_engine`),
so embedded mode stays one command; in production `sohoa db upgrade` can run it first, once, from
a deploy step. Several processes starting at once are safe: on PostgreSQL an advisory lock
serialises them, on SQLite the file's write lock does.

A database created before migrations existed (by `create_all`, whose schema is the first
revision's) is stamped at that revision instead of being created again.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, inspect, text

MIGRATIONS = Path(__file__).with_name("migrations")
FIRST_REVISION = "0001"
_LOCK_ID = 0x50_48_4F_41  # "SOHOA"-ish; any constant shared by every sohoa process


def _config(connection: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
        cfg = _config(conn)
        tables = set(inspect(conn).get_table_names())
        if "alembic_version" not in tables and "files" in tables:
            command.stamp(cfg, FIRST_REVISION)  # made by create_all before migrations existed
        command.upgrade(cfg, revision)
