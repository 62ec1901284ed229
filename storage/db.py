"""Metadata in SQL through SQLAlchemy: SQLite in embedded mode, PostgreSQL by URL alone.

The queue of work is the `files` table itself, so accepted work survives a crash: a file is
`queued` from the moment its original is stored until a worker marks it `done` or `failed`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

_R = TypeVar("_R", bound=Any)


def utcnow() -> datetime:
    return datetime.now(UTC)


def with_utc(row: _R) -> _R:
    """The row with its timestamps zoned: SQLite hands them back naive (they were written in UTC).
    Set as loaded, not as changed, so no session would write them back."""
    for attr in row.__mapper__.columns.keys():
        value = getattr(row, attr)
        if isinstance(value, datetime) and value.tzinfo is None:
            set_committed_value(row, attr, value.replace(tzinfo=UTC))
    return row


class Base(DeclarativeBase):
    type_annotation_map = {datetime: DateTime(timezone=True)}


class BatchRow(Base):
    __tablename__ = "batches"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    branch: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    # The national dossier code (sohoa/dossiers.py); batches handed in later for the same
    # dossier share it.
    dossier_code: Mapped[str | None] = mapped_column(String(40), index=True)


class FileRow(Base):
    """One received file of a batch (a ZIP member is a file of its own)."""

    __tablename__ = "files"
    # The sweeper's question: which files have sat queued, or held, for too long?
    __table_args__ = (Index("ix_files_state_updated", "state", "updated_at"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"), index=True)
    name: Mapped[str] = mapped_column(String(1024))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str | None] = mapped_column(String(16))
    original_key: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), index=True)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # A worker holds a file while `lease_until` is in the future (it renews the lease as it
    # works); an expired lease means the worker died and the file may be taken again.
    lease_until: Mapped[datetime | None] = mapped_column()
    claimed_by: Mapped[str | None] = mapped_column(String(200))  # the task (or worker) holding the lease
    pages: Mapped[int | None] = mapped_column(Integer)  # counted when a worker first opens the file
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class DocumentRow(Base):
    """One document (a paper) found in an original; its result object is the stored contract."""

    __tablename__ = "documents"
    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    source_sha256: Mapped[str] = mapped_column(String(64), index=True)
    first_page: Mapped[int] = mapped_column(Integer)
    result_code: Mapped[str] = mapped_column(String(64), unique=True)
    doc_type: Mapped[str] = mapped_column(String(32), index=True)
    id_number_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    verification_status: Mapped[str] = mapped_column(String(16))
    needs_review: Mapped[bool] = mapped_column(Boolean)
    branch: Mapped[str | None] = mapped_column(String(64))
    result: Mapped[dict] = mapped_column(JSON)
    search_text: Mapped[str] = mapped_column(Text)  # diacritic-folded text + fields
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RegistryRow(Base):
    """The existing electronic records (population registry extract) documents are checked against."""

    __tablename__ = "registry"
    id_number: Mapped[str] = mapped_column(String(12), primary_key=True)
    full_name: Mapped[str] = mapped_column(String(200))
    date_of_birth: Mapped[str | None] = mapped_column(String(10))
    sex: Mapped[str | None] = mapped_column(String(3))
    place_of_residence: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class EventRow(Base):
    """Append-only: the provenance event chain (sohoa/chain.py); the signed event is in `event`."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("subject", "seq", name="uq_events_subject_seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(80), index=True)  # a result code or a dossier id
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(40), index=True)
    at: Mapped[datetime] = mapped_column()
    hash: Mapped[str] = mapped_column(String(64))
    event: Mapped[dict] = mapped_column(JSON)


class ApiKeyRow(Base):
    """An API key: only its SHA-256 is kept, with its role and, for scanners, its branch."""

    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # k-…, shown in audit logs
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # scanner, downstream, archivist, reviewer, admin
    branch: Mapped[str | None] = mapped_column(String(64))  # a scanner's own branch
    label: Mapped[str | None] = mapped_column(String(200))  # who holds it (a desk, a system)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()


class AuditRow(Base):
    """Append-only: every read of personal data through the API."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str | None] = mapped_column(String(500))
    details: Mapped[dict | None] = mapped_column(JSON)


class DossierCounterRow(Base):
    """The last dossier sequence number issued for a unit code on a day (YYMMDD)."""

    __tablename__ = "dossier_counters"
    unit: Mapped[str] = mapped_column(String(40), primary_key=True)
    day: Mapped[str] = mapped_column(String(6), primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class ChangeRow(Base):
    """The change feed: a result created or corrected. The id orders the feed (storage/changes.py)."""

    __tablename__ = "changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    result_code: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # created, corrected
    at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookRow(Base):
    """A downstream system's subscription: where to POST, and the secret its HMAC is keyed with
    (kept in clear: the service must sign with it)."""

    __tablename__ = "webhooks"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(100))
    events: Mapped[list] = mapped_column(JSON)  # result.ready, result.corrected
    doc_types: Mapped[list | None] = mapped_column(JSON)  # None: every type
    label: Mapped[str | None] = mapped_column(String(200))
    cursor: Mapped[int] = mapped_column(Integer, default=0)  # the last change planned for delivery
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()


class WebhookDeliveryRow(Base):
    """One change to deliver to one subscription, until delivered or given up."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("webhook_id", "change_id"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # sent as X-Sohoa-Delivery
    webhook_id: Mapped[str] = mapped_column(ForeignKey("webhooks.id"), index=True)
    change_id: Mapped[int] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(String(32))
    result_code: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), index=True)  # pending, sending, delivered, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    lease_until: Mapped[datetime | None] = mapped_column()
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column()


class WebhookAttemptRow(Base):
    """The delivery log: every POST made, with the answer or the error."""

    __tablename__ = "webhook_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    seconds: Mapped[float] = mapped_column(Float)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # noqa: ANN001
            cur = dbapi_conn.cursor()
            # WAL lets the API read while the worker writes; synchronous=FULL makes a commit durable,
            # power loss included. NORMAL would survive a process crash but not a power loss (WAL
            # commits fsynced only at checkpoints), so an acknowledged upload or an audit row could
            # vanish: not traded for the ~25 % more result fetches/s it gave in bench/api.py
            # (4 clients on 2 cores; p95 26–30 ms against 34–37 ms, CPU-bound either way).
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()
    else:
        engine = create_engine(url, pool_pre_ping=True)
    from storage.migrate import upgrade  # here: migrations import this module's models

    upgrade(engine)
    return engine


def make_sessionmaker(url: str) -> sessionmaker:
    return sessionmaker(make_engine(url), expire_on_commit=False)


__all__ = ["ApiKeyRow", "AuditRow", "Base", "BatchRow", "DocumentRow", "EventRow", "FileRow", "RegistryRow", "JSON", "make_sessionmaker", "utcnow"]
