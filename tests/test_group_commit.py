"""Audit rows of concurrent requests share a commit (storage/group_commit.py), and each caller
returns only once its own row is committed. Real threads, the real database (SQLite, or PostgreSQL
in CI's second pass); the first commit is held open until the others are waiting, so the grouping
is certain, not a matter of timing."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy.exc
from sqlalchemy import event, func, select

from storage.db import AuditRow, utcnow
from storage.group_commit import GroupCommit


def _row(target: str, actor: str | None = "k-1") -> AuditRow:
    return AuditRow(at=utcnow(), actor=actor, action="read_result", target=target)


def _committed(svc, target: str) -> bool:  # noqa: ANN001
    with svc.sessions() as s:
        return s.scalar(select(func.count()).select_from(AuditRow).where(AuditRow.target == target)) == 1


def _hold_first_commit(svc, log: GroupCommit, waiting: int) -> list[int]:  # noqa: ANN001
    """Counts commits; the first one waits until `waiting` more rows are queued behind it."""
    commits = []

    def on_commit(_conn) -> None:  # noqa: ANN001
        commits.append(1)
        if len(commits) == 1:
            deadline = time.monotonic() + 20
            while len(log._waiting) < waiting:
                assert time.monotonic() < deadline, "the other rows never came"
                time.sleep(0.005)

    event.listen(svc.sessions.kw["bind"], "commit", on_commit)
    return commits


def _in_threads(log: GroupCommit, rows: list[AuditRow], check=None) -> dict[str, object]:  # noqa: ANN001
    """Adds the first row, then the others once the first commit has started; what each add
    returned or raised, by target."""
    outcome: dict[str, object] = {}

    def add(row: AuditRow) -> None:
        try:
            log.add(row)
            outcome[row.target] = check(row.target) if check else "ok"
        except Exception as exc:  # noqa: BLE001 - what each thread saw is the assertion
            outcome[row.target] = exc

    first = threading.Thread(target=add, args=(rows[0],))
    first.start()
    while not log._leading:
        time.sleep(0.001)
    others = [threading.Thread(target=add, args=(r,)) for r in rows[1:]]
    for t in others:
        t.start()
    for t in [first, *others]:
        t.join(30)
    return outcome


def test_rows_that_wait_share_one_commit_and_each_caller_returns_after_its_own(svc) -> None:
    log = GroupCommit(svc.sessions)
    commits = _hold_first_commit(svc, log, waiting=4)
    rows = [_row(f"R{i}") for i in range(5)]
    outcome = _in_threads(log, rows, check=lambda target: _committed(svc, target))
    assert outcome == {f"R{i}": True for i in range(5)}  # each one on disk when its add returned
    assert len(commits) == 2  # the first row alone, then the 4 that waited for it, together


def test_a_failed_commit_fails_every_row_of_its_batch_and_the_next_one_works(svc) -> None:
    log = GroupCommit(svc.sessions)
    _hold_first_commit(svc, log, waiting=2)
    outcome = _in_threads(log, [_row("A"), _row("B", actor=None), _row("C")])  # B breaks NOT NULL
    assert outcome["A"] == "ok"
    assert isinstance(outcome["B"], sqlalchemy.exc.IntegrityError)
    assert isinstance(outcome["C"], sqlalchemy.exc.IntegrityError)  # all or nothing, as one transaction
    assert outcome["B"] is not outcome["C"]  # each thread raises its own exception object
    assert [_committed(svc, t) for t in "ABC"] == [True, False, False]
    log.add(_row("D"))  # no leader left stuck
    assert _committed(svc, "D")


def test_one_caller_alone_commits_at_once(svc) -> None:
    log = GroupCommit(svc.sessions)
    log.add(_row("solo"))
    assert _committed(svc, "solo")
    with pytest.raises(sqlalchemy.exc.IntegrityError):
        log.add(_row("bad", actor=None))
    assert not log._leading and log._waiting == []
