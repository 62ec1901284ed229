"""Schema migrations: the database a service opens is brought to the models' schema, on SQLite and
PostgreSQL, and a database made before migrations existed is adopted, not recreated."""

from __future__ import annotations

import os

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from storage.db import Base, make_engine
from storage.migrate import FIRST_REVISION, MIGRATIONS, current, upgrade
from storage.search import outside_metadata

from .conftest import tool_missing

HEAD = ScriptDirectory(str(MIGRATIONS)).get_current_head()


def _schema_diff(engine) -> list:
    # Search's FTS5 tables (SQLite) and tsvector column and GIN index (PostgreSQL) are made by
    # migration 0005 outside the models: SQLAlchemy's metadata cannot describe them.
    def include_name(name, type_, parent_names) -> bool:  # noqa: ANN001
        return not outside_metadata(name, type_, parent_names)

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": include_name})
        return compare_metadata(context, Base.metadata)


def test_new_sqlite_database_is_migrated_to_the_models(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    assert current(engine) == HEAD
    assert _schema_diff(engine) == []
    make_engine(f"sqlite:///{tmp_path / 'new.db'}")  # opening it again changes nothing
    assert current(engine) == HEAD


def test_database_from_before_migrations_is_adopted_with_its_rows(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = create_engine(url)
    # How storage/db.py made databases before migrations: the first revision's tables, no version.
    upgrade(old, FIRST_REVISION)
    with old.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
        conn.execute(text("INSERT INTO registry (id_number, full_name, source, updated_at) "
                          "VALUES ('074187001234', 'Nguyễn Thị Hồng Nhung', 't', CURRENT_TIMESTAMP)"))
    engine = make_engine(url)
    assert current(engine) == HEAD
    with engine.connect() as conn:
        assert conn.execute(text("SELECT full_name FROM registry")).scalar_one() == "Nguyễn Thị Hồng Nhung"


def test_postgres_database_is_migrated_to_the_models() -> None:
    url = os.environ.get("SOHOA_TEST_DATABASE_URL")
    if not url:
        tool_missing("SOHOA_TEST_DATABASE_URL is not set (scripts/start-postgres)")
    engine = make_engine(url)
    assert current(engine) == HEAD
    assert "alembic_version" in inspect(engine).get_table_names()
    assert _schema_diff(engine) == []


def test_db_upgrade_command(tmp_path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from sohoa.cli import app

    monkeypatch.setenv("SOHOA_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert f"schema revision {HEAD}" in result.output
