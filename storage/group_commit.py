"""Group commit: rows that many threads append are committed together, one transaction and one
fsync for all that arrived while the previous commit ran.

Why: every read through the API writes an audit row before it answers (api/deps.py). On SQLite,
with one writer at a time and a durable commit each, 4 concurrent result fetches queued on the write
lock and took their turns at fsync: 75 % of a fetch's time under load was the audit row's
transaction (py-spy, bench/api.py). Each caller still returns only once its own row is committed, so
an audited read is on disk before its answer is sent; what changes is that the rows waiting share a
commit.

No thread of its own: the first caller to find no commit running becomes the leader, takes every
row waiting (its own included), commits them, and wakes the others. One of those whose row came in
meanwhile leads the next commit.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session


@dataclass(eq=False)
class _Waiting:
    row: object
    done: bool = False
    error: BaseException | None = None


class GroupCommit:
    def __init__(self, sessions: Callable[[], Session]) -> None:
        self._sessions = sessions
        self._changed = threading.Condition()
        self._waiting: list[_Waiting] = []
        self._leading = False

    def add(self, row: object) -> None:
        """Commits `row` (an ORM object), with whatever other rows are waiting; returns once it is
        committed, or raises what the commit raised."""
        me = _Waiting(row)
        with self._changed:
            self._waiting.append(me)
            while not me.done and self._leading:
                self._changed.wait()
            if me.done:  # committed (or failed) in another thread's batch
                if me.error is not None:
                    raise copy.copy(me.error)  # one exception object per thread: tracebacks differ
                return
            self._leading = True
            batch, self._waiting = self._waiting, []
        error = None
        try:
            with self._sessions() as s, s.begin():
                s.add_all([w.row for w in batch])
        except BaseException as exc:
            error = exc
            raise
        finally:
            with self._changed:
                for w in batch:
                    w.done, w.error = True, error
                self._leading = False
                self._changed.notify_all()
