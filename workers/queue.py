"""The durable work queue of embedded mode: the `files` table.

A worker claims the oldest `queued` file by flipping it to `processing` in one UPDATE, so two
workers never take the same file. After a crash, `recover()` puts `processing` files back in
the queue; a file that keeps crashing its worker is failed after MAX_ATTEMPTS (poison input).
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import sessionmaker

from sohoa.models import DocState
from storage.db import FileRow, utcnow

MAX_ATTEMPTS = 3


def claim_next(sessions: sessionmaker) -> str | None:
    with sessions() as s, s.begin():
        candidate = s.scalar(select(FileRow.id).where(FileRow.state == DocState.queued.value)
                             .order_by(FileRow.created_at).limit(1))
        if candidate is None:
            return None
        claimed = s.execute(
            update(FileRow).where(FileRow.id == candidate, FileRow.state == DocState.queued.value)
            .values(state=DocState.processing.value, attempts=FileRow.attempts + 1, updated_at=utcnow())
        ).rowcount
    return candidate if claimed == 1 else None


def release_for_retry(sessions: sessionmaker, file_id: str, reason: str) -> None:
    """After an unexpected error: retry, unless the file has used up its attempts."""
    with sessions() as s, s.begin():
        row = s.get(FileRow, file_id)
        if row is None or row.state != DocState.processing.value:
            return
        if row.attempts >= MAX_ATTEMPTS:
            row.state, row.error_code = DocState.failed.value, "processing_failed"
            row.error_message = f"gave up after {row.attempts} attempts: {reason}"
        else:
            row.state = DocState.queued.value
        row.updated_at = utcnow()


def recover(sessions: sessionmaker) -> int:
    """Requeue work that a crashed worker left half done (one embedded worker owns the queue)."""
    with sessions() as s, s.begin():
        return s.execute(update(FileRow).where(FileRow.state == DocState.processing.value)
                         .values(state=DocState.queued.value, updated_at=utcnow())).rowcount
