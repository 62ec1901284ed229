"""Dossier codes in the national format, and where a dossier stands (the public tracking page).

Circular 01/2018/TT-VPCP, Art. 19: a dossier code is `V1V2V3.Z1Z2.Y1Y2.MX1X2-YYMMDD-XXXX`:
- `V1V2V3.Z1Z2.Y1Y2.MX1X2`: the receiving unit's code in the structure of QCVN 102:2016/BTTTT
  (levels 4, 3 and 2, then the level-1 group letter M and its two digits);
- `YYMMDD`: the day the dossier was received;
- `XXXX`: its sequence number among the dossiers received that day.

The one-stop system usually issues the code and the scanner sends it with the batch; a service
configured with its own unit code (SOHOA_UNIT_CODE) issues the next one itself when none is sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.db import BatchRow, DocumentRow, DossierCounterRow, EventRow, FileRow

from .provenance import VN_TZ, as_vn

# Lower levels are digits, "00"/"000" where a level is absent. QCVN 102's 2022 amendment lets
# units beyond 99 take letters, so letters are accepted there too; M is always a letter.
UNIT = r"[0-9A-Z]{3}\.[0-9A-Z]{2}\.[0-9A-Z]{2}\.[A-Z][0-9]{2}"
_CODE = re.compile(rf"(?P<unit>{UNIT})-(?P<day>[0-9]{{6}})-(?P<seq>[0-9]{{4}})")
_UNIT = re.compile(UNIT)
MAX_SEQ = 9999


class DossierCodeError(ValueError):
    """The code is not a dossier code; the message says which part is wrong."""


class DossierCode(BaseModel):
    unit: str
    received: date
    seq: int

    def __str__(self) -> str:
        return f"{self.unit}-{self.received:%y%m%d}-{self.seq:04d}"


def parse(code: str, today: date | None = None) -> DossierCode:
    """The parts of a dossier code, or DossierCodeError naming what is wrong with it."""
    code = code.strip()
    m = _CODE.fullmatch(code)
    if m is None:
        unit, _, rest = code.partition("-")
        if not _UNIT.fullmatch(unit):
            raise DossierCodeError(f"the unit part {unit[:40]!r} is not V1V2V3.Z1Z2.Y1Y2.MX1X2 "
                                   "(QCVN 102:2016/BTTTT, e.g. 000.00.15.H42)")
        raise DossierCodeError("after the unit code comes -YYMMDD-XXXX: the day received and a "
                               "4-digit sequence number")
    try:
        received = datetime.strptime(m["day"], "%y%m%d").date()
    except ValueError:
        raise DossierCodeError(f"{m['day']} is not a date (YYMMDD)") from None
    today = today or datetime.now(VN_TZ).date()
    # A day of slack: a desk's clock, or a code issued just before midnight elsewhere.
    if received > today + timedelta(days=1):
        raise DossierCodeError(f"the day received, {received:%d/%m/%Y}, is in the future")
    seq = int(m["seq"])
    if seq == 0:
        raise DossierCodeError("the sequence number starts at 0001")
    return DossierCode(unit=m["unit"], received=received, seq=seq)


def code_in_name(name: str) -> str | None:
    """The dossier code a dropped folder or file is named by (`<code>/`, `<code>.pdf`), if any."""
    for candidate in (name, name.rsplit(".", 1)[0]):
        try:
            return str(parse(candidate))
        except DossierCodeError:
            continue
    return None


def check_unit(unit: str) -> str:
    if not _UNIT.fullmatch(unit):
        raise DossierCodeError(f"{unit!r} is not a unit code V1V2V3.Z1Z2.Y1Y2.MX1X2 (QCVN 102:2016/BTTTT)")
    return unit


def issue(s: Session, unit: str, day: date) -> DossierCode:
    """The next code of `unit` for `day`, inside the caller's transaction: one atomic upsert,
    so two desks accepting at the same instant never get the same number."""
    dialect = s.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(DossierCounterRow).values(unit=unit, day=f"{day:%y%m%d}", last=1)
    stmt = stmt.on_conflict_do_update(index_elements=["unit", "day"],
                                      set_={"last": DossierCounterRow.last + 1}).returning(DossierCounterRow.last)
    seq = s.execute(stmt).scalar_one()
    if seq > MAX_SEQ:
        # The format has four digits; a day past 9999 dossiers needs codes from the one-stop system.
        raise DossierCodeError(f"unit {unit} has issued {MAX_SEQ} dossier codes on {day:%d/%m/%Y}")
    return DossierCode(unit=unit, received=day, seq=seq)


# ============================================================================ where a dossier stands
class Step(BaseModel):
    """One moment of a dossier's digitisation, as the public may see it: no names, no file names,
    no numbers read from the papers."""

    at: datetime
    event: Literal["received", "paper_digitised", "paper_rejected", "paper_corrected"]
    doc_type: str | None = None  # what kind of paper ("cccd", "birth_certificate"): not who
    reason: str | None = None  # a rejected paper's error code ("corrupt_file", "too_many_pages")


class Tracking(BaseModel):
    dossier_code: str
    received_at: datetime
    status: Literal["digitising", "digitised", "needs_attention"] = Field(description=(
        "digitising: papers are being read; digitised: every paper is stored as a digital result; "
        "needs_attention: a paper could not be read (the desk will contact the applicant) or "
        "waits for a person to check it"))
    papers: int  # files received (a ZIP counts by its members)
    digitised: int  # documents stored
    rejected: int
    in_review: int
    timeline: list[Step]


@dataclass
class Dossier:
    """Everything recorded under one code: for the public view and the staff view."""

    code: str
    batches: list[BatchRow]
    files: list[FileRow]
    documents: list[DocumentRow]
    events: list[EventRow]


def load(s: Session, code: str) -> Dossier | None:
    batches = s.scalars(select(BatchRow).where(BatchRow.dossier_code == code).order_by(BatchRow.created_at)).all()
    if not batches:
        return None
    ids = [b.id for b in batches]
    files = s.scalars(select(FileRow).where(FileRow.batch_id.in_(ids)).order_by(FileRow.created_at)).all()
    digests = {f.sha256 for f in files if f.sha256}
    documents = s.scalars(select(DocumentRow).where(DocumentRow.source_sha256.in_(digests))
                          .order_by(DocumentRow.created_at)).all() if digests else []
    subjects = ids + [d.result_code for d in documents]
    events = s.scalars(select(EventRow).where(EventRow.subject.in_(subjects),
                                              EventRow.type.in_(["received", "document_stored", "review"]))
                       .order_by(EventRow.at, EventRow.id)).all()
    return Dossier(code, list(batches), list(files), list(documents), list(events))


def tracking(d: Dossier) -> Tracking:
    papers = [f for f in d.files if f.kind != "zip"]  # an archive is its members
    rejected = [f for f in papers if f.state == "failed"]
    pending = any(f.state in ("queued", "processing") for f in papers)
    in_review = sum(1 for doc in d.documents if doc.needs_review)
    doc_types = {doc.result_code: doc.doc_type for doc in d.documents}
    steps = []
    for ev in d.events:
        body = ev.event.get("parameters") or {}
        if ev.type == "received":
            steps.append(Step(at=ev.at, event="received"))
        elif ev.type == "document_stored":
            steps.append(Step(at=ev.at, event="paper_digitised", doc_type=body.get("doc_type")))
        else:
            steps.append(Step(at=ev.at, event="paper_corrected", doc_type=doc_types.get(ev.subject)))
    steps += [Step(at=f.updated_at, event="paper_rejected", reason=f.error_code) for f in rejected]
    steps.sort(key=lambda st: as_vn(st.at))
    return Tracking(dossier_code=d.code, received_at=as_vn(d.batches[0].created_at),
                    status="digitising" if pending else "needs_attention" if rejected or in_review else "digitised",
                    papers=len(papers), digitised=len(d.documents), rejected=len(rejected), in_review=in_review,
                    timeline=[st.model_copy(update={"at": as_vn(st.at)}) for st in steps])
