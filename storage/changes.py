"""The change feed: results created or corrected, in the order their transactions committed.

Downstream systems read it with a cursor (`GET /v1/changes?after=N`) and the webhook dispatcher
plans its deliveries from it, so both see every change exactly once and in order.

An autoincrement id alone is not such a cursor on PostgreSQL: two transactions can take ids 5 and
6 and commit 6 first; a reader that sees 6 and moves its cursor past it never sees 5. So the
writer takes a table lock that conflicts with itself just before it inserts, and holds it to its
commit: ids are then handed out in commit order. It is the last statement of a short transaction,
so writers wait for each other only for the commit itself. SQLite has one writer at a time anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from .db import ChangeRow, DocumentRow

CREATED, CORRECTED = "created", "corrected"


def record(s: Session, result_codes: list[str], kind: str) -> None:
    """Add changes inside the caller's transaction (committed with what changed)."""
    if not result_codes:
        return
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("LOCK TABLE changes IN SHARE ROW EXCLUSIVE MODE"))
    s.add_all(ChangeRow(result_code=code, kind=kind) for code in result_codes)
    s.flush()


@dataclass(frozen=True)
class Change:
    cursor: int
    result_code: str
    kind: str
    at: datetime
    doc_type: str | None
    branch: str | None


def after(s: Session, cursor: int, limit: int, doc_types: list[str] | None = None) -> list[Change]:
    """The changes after `cursor`, oldest first, at most `limit`."""
    q = (select(ChangeRow, DocumentRow.doc_type, DocumentRow.branch)
         .join(DocumentRow, DocumentRow.result_code == ChangeRow.result_code, isouter=True)
         .where(ChangeRow.id > cursor).order_by(ChangeRow.id).limit(limit))
    if doc_types:
        q = q.where(DocumentRow.doc_type.in_(doc_types))
    return [Change(c.id, c.result_code, c.kind, c.at, doc_type, branch) for c, doc_type, branch in s.execute(q)]


def latest(s: Session) -> int:
    """The newest cursor (0 for an empty feed): where a new subscriber starts."""
    return s.scalar(select(ChangeRow.id).order_by(ChangeRow.id.desc()).limit(1)) or 0
