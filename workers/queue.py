"""The `files` table is the queue of record, in both modes.

The broker (distributed mode) only carries notifications ("file f-… is ready"); whether a file
still needs work, and who is working on it, is decided here, in one UPDATE each time:

- a worker *claims* a file by flipping it to `processing` with a lease (`lease_until`), so two
  workers never run the same file, and a redelivered message finds it taken or finished;
- while it works it renews the lease (`Lease`); a worker that dies stops renewing, and once the
  lease runs out the file may be claimed again, by a redelivery or by the sweeper;
- each claim counts an attempt; a file that keeps killing its worker or raising is failed after
  MAX_ATTEMPTS (poison input), with the reason;
- a transient fault (storage or database unreachable) hands the file back without using up an
  attempt: the outage is not the file's fault.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import sessionmaker

from sohoa.models import DocState
from storage.db import FileRow, utcnow

log = logging.getLogger("sohoa.worker")

MAX_ATTEMPTS = 3
_QUEUED, _PROCESSING, _FAILED = DocState.queued.value, DocState.processing.value, DocState.failed.value


def claim(sessions: sessionmaker, file_id: str, holder: str, lease_seconds: float) -> bool:
    """Take the file for `holder` if it is queued, or held under a lease that ran out, or held
    by this same holder (a redelivered message of the task that held it). False: not ours to run."""
    now = utcnow()
    takeable = or_(FileRow.state == _QUEUED,
                   and_(FileRow.state == _PROCESSING,
                        or_(FileRow.lease_until.is_(None), FileRow.lease_until < now, FileRow.claimed_by == holder)))
    with sessions() as s, s.begin():
        taken = s.execute(
            update(FileRow).where(FileRow.id == file_id, takeable, FileRow.attempts < MAX_ATTEMPTS)
            .values(state=_PROCESSING, attempts=FileRow.attempts + 1, claimed_by=holder,
                    lease_until=now + timedelta(seconds=lease_seconds), updated_at=now)
        ).rowcount
        if taken:
            return True
        # Takeable but out of attempts: every earlier run died or raised on this file.
        s.execute(update(FileRow).where(FileRow.id == file_id, takeable, FileRow.attempts >= MAX_ATTEMPTS)
                  .values(state=_FAILED, error_code="processing_failed", lease_until=None, updated_at=now,
                          error_message=f"gave up after {MAX_ATTEMPTS} attempts: the worker died or "
                                        "raised each time (see the worker logs)"))
    return False


def claim_next(sessions: sessionmaker, holder: str = "embedded", lease_seconds: float = 3600) -> str | None:
    """The oldest queued file, claimed (the embedded worker's loop)."""
    with sessions() as s:
        candidate = s.scalar(select(FileRow.id).where(FileRow.state == _QUEUED).order_by(FileRow.created_at).limit(1))
    if candidate is None:
        return None
    return candidate if claim(sessions, candidate, holder, lease_seconds) else None


def renew(sessions: sessionmaker, file_id: str, holder: str, lease_seconds: float) -> bool:
    now = utcnow()
    with sessions() as s, s.begin():
        return s.execute(update(FileRow).where(FileRow.id == file_id, FileRow.state == _PROCESSING,
                                               FileRow.claimed_by == holder)
                         .values(lease_until=now + timedelta(seconds=lease_seconds))).rowcount == 1


def release_for_retry(sessions: sessionmaker, file_id: str, reason: str) -> bool:
    """After an unexpected error: back to the queue, unless the file has used up its attempts.
    True when it went back (the caller schedules the retry)."""
    with sessions() as s, s.begin():
        row = s.get(FileRow, file_id)
        if row is None or row.state != _PROCESSING:
            return False
        if row.attempts >= MAX_ATTEMPTS:
            row.state, row.error_code = _FAILED, "processing_failed"
            row.error_message = f"gave up after {row.attempts} attempts: {reason}"
        else:
            row.state = _QUEUED
        row.lease_until, row.updated_at = None, utcnow()
        return row.state == _QUEUED


def release_transient(sessions: sessionmaker, file_id: str, holder: str) -> None:
    """After an outage of storage or database: back to the queue, the attempt given back."""
    with sessions() as s, s.begin():
        s.execute(update(FileRow).where(FileRow.id == file_id, FileRow.state == _PROCESSING,
                                        FileRow.claimed_by == holder)
                  .values(state=_QUEUED, attempts=FileRow.attempts - 1, lease_until=None, updated_at=utcnow()))


def handover(sessions: sessionmaker, file_id: str, from_holder: str, to_holder: str, lease_seconds: float) -> bool:
    """Pass a held file from one holder to the next (a long file: from the task that fanned its
    pages out to the one that finishes it). Only one taker can win."""
    now = utcnow()
    with sessions() as s, s.begin():
        return s.execute(update(FileRow).where(FileRow.id == file_id, FileRow.state == _PROCESSING,
                                               FileRow.claimed_by == from_holder)
                         .values(claimed_by=to_holder, lease_until=now + timedelta(seconds=lease_seconds),
                                 updated_at=now)).rowcount == 1


def extend(sessions: sessionmaker, file_id: str, lease_seconds: float) -> None:
    """Keep a fanned-out file held while its pages come in, whoever holds it."""
    with sessions() as s, s.begin():
        s.execute(update(FileRow).where(FileRow.id == file_id, FileRow.state == _PROCESSING)
                  .values(lease_until=utcnow() + timedelta(seconds=lease_seconds)))


def release_abandoned(sessions: sessionmaker, file_id: str) -> None:
    """A held file whose lease ran out (its worker died): back to the queue. The dead run keeps
    its attempt, so a file that kills every worker it meets is failed in the end."""
    with sessions() as s, s.begin():
        s.execute(update(FileRow).where(FileRow.id == file_id, FileRow.state == _PROCESSING,
                                        FileRow.lease_until < utcnow())
                  .values(state=_QUEUED, lease_until=None, updated_at=utcnow()))


def fail(sessions: sessionmaker, file_id: str, code: str, message: str) -> None:
    with sessions() as s, s.begin():
        s.execute(update(FileRow).where(FileRow.id == file_id, FileRow.state.in_([_QUEUED, _PROCESSING]))
                  .values(state=_FAILED, error_code=code, error_message=message, lease_until=None,
                          updated_at=utcnow()))


def recover(sessions: sessionmaker) -> int:
    """Requeue work that a crashed embedded worker left half done (it alone owns its queue)."""
    with sessions() as s, s.begin():
        return s.execute(update(FileRow).where(FileRow.state == _PROCESSING)
                         .values(state=_QUEUED, lease_until=None, updated_at=utcnow())).rowcount


def stale(sessions: sessionmaker, requeue_after_seconds: float, limit: int = 1000) -> tuple[list[str], list[str]]:
    """(files queued and untouched for longer than `requeue_after_seconds`, files whose worker's
    lease ran out): what the sweeper may have to send again."""
    now = utcnow()
    with sessions() as s:
        waiting = s.scalars(select(FileRow.id).where(
            FileRow.state == _QUEUED, FileRow.updated_at < now - timedelta(seconds=requeue_after_seconds))
            .order_by(FileRow.updated_at).limit(limit)).all()
        abandoned = s.scalars(select(FileRow.id).where(
            FileRow.state == _PROCESSING, FileRow.lease_until < now).limit(limit)).all()
    return list(waiting), list(abandoned)


def touch(sessions: sessionmaker, file_ids: list[str]) -> None:
    """Mark files as just sent, so the sweeper leaves them alone for another while."""
    if file_ids:
        with sessions() as s, s.begin():
            s.execute(update(FileRow).where(FileRow.id.in_(file_ids), FileRow.state == _QUEUED)
                      .values(updated_at=utcnow()))


class Lease:
    """Renews a claimed file's lease in the background while the work runs (a context manager)."""

    def __init__(self, sessions: sessionmaker, file_id: str, holder: str, lease_seconds: float):
        self.args = (sessions, file_id, holder, lease_seconds)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{file_id}", daemon=True)

    def _run(self) -> None:
        every = self.args[3] / 3
        while not self._stop.wait(every):
            try:
                renew(*self.args)
            except Exception:  # noqa: BLE001 - the database may be briefly away; the lease has slack
                log.warning("could not renew the lease on %s", self.args[1], exc_info=True)

    def __enter__(self) -> Lease:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
