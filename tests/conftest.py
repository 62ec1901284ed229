from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

from sohoa.config import Settings  # noqa: E402
from sohoa.services import Services, build_services  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared"


# `SOHOA_TEST_DB=postgres` (the second pass of .ci/run): every test that uses the `database_url`
# fixture (through `settings`/`svc`, or directly) runs on PostgreSQL, each in a schema of its own;
# the tests that never open a database are skipped in that pass, having run in the first.
ON_POSTGRES = os.environ.get("SOHOA_TEST_DB") == "postgres"
DB_FIXTURES = {"database_url", "settings", "svc"}


def pytest_collection_modifyitems(config, items) -> None:  # noqa: ANN001
    if not ON_POSTGRES:
        return
    if not os.environ.get("SOHOA_TEST_DATABASE_URL"):
        raise pytest.UsageError("SOHOA_TEST_DB=postgres needs SOHOA_TEST_DATABASE_URL (scripts/start-postgres)")
    skip = pytest.mark.skip(reason="opens no database: already run in the SQLite pass")
    for item in items:
        if not DB_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(skip)


@contextmanager
def fresh_database() -> Iterator[str | None]:
    """None (SQLite in the data dir) or, in the PostgreSQL pass, the URL of a new, empty schema
    that is dropped afterwards."""
    if not ON_POSTGRES:
        yield None
        return
    import uuid

    import psycopg

    base = os.environ["SOHOA_TEST_DATABASE_URL"]
    schema = "t_" + uuid.uuid4().hex[:12]
    dsn = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def database_url() -> Iterator[str | None]:
    with fresh_database() as url:
        yield url


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None) -> Settings:
    return Settings(data_dir=tmp_path / "data", api_key="test-key", database_url=database_url)


@pytest.fixture
def svc(settings: Settings) -> Iterator[Services]:
    services = build_services(settings)
    yield services
    services.close()  # OCR worker processes, if a test started them
    services.sessions.kw["bind"].dispose()  # connections closed, so the test's schema can go


def tool_missing(reason: str) -> None:
    """Skip a test whose system tool is absent; under `.ci/run` (SOHOA_CI=1), where every tool is
    installed on purpose, fail instead, so a missing install step cannot pass as a skip."""
    if os.environ.get("SOHOA_CI"):
        pytest.fail(f"{reason} (required under .ci/run)")
    pytest.skip(reason)


def shared_or_skip(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not present (the shared samples are optional)")
    return path
