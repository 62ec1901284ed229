"""Import of the existing electronic records (CSV, field contract format) and look-ups in them."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker

from storage.db import RegistryRow, utcnow

REQUIRED = ("id_number", "full_name", "date_of_birth", "sex", "place_of_residence")


class RegistryRecord(BaseModel):
    id_number: str
    full_name: str
    date_of_birth: str | None = None
    sex: str | None = None
    place_of_residence: str | None = None


@dataclass
class ImportReport:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)


def _nfc(s: str | None) -> str | None:
    if s is None:
        return None
    s = " ".join(unicodedata.normalize("NFC", s).split())
    return s or None


def validate_row(row: dict[str, str]) -> RegistryRecord:
    """A registry row, or ValueError naming what is wrong with it."""
    id_number = re.sub(r"\D", "", row.get("id_number") or "")
    if len(id_number) not in (9, 12) or id_number != (row.get("id_number") or "").strip():
        raise ValueError(f"id_number must be 9 or 12 digits, got {_mask(row.get('id_number') or '')!r}")
    name = _nfc(row.get("full_name"))
    if not name:
        raise ValueError("full_name is empty")
    dob = (row.get("date_of_birth") or "").strip() or None
    if dob:
        try:
            date.fromisoformat(dob)
        except ValueError:
            raise ValueError(f"date_of_birth must be YYYY-MM-DD, got {dob!r}") from None
    sex = _nfc(row.get("sex"))
    if sex and sex not in ("Nam", "Nữ"):
        raise ValueError(f"sex must be 'Nam' or 'Nữ', got {sex!r}")
    return RegistryRecord(id_number=id_number, full_name=name, date_of_birth=dob, sex=sex,
                          place_of_residence=_nfc(row.get("place_of_residence")))


def _mask(id_number: str) -> str:
    """Personal numbers never appear in full in logs or reports."""
    return id_number[:3] + "…" + id_number[-2:] if len(id_number) > 6 else "…"


def import_csv(text: str, sessions: sessionmaker, source: str) -> ImportReport:
    report = ImportReport()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(f"the CSV header lacks column(s): {', '.join(missing)}")
    with sessions() as s, s.begin():
        for lineno, row in enumerate(reader, start=2):
            try:
                rec = validate_row(row)
            except ValueError as exc:
                report.rejected.append((lineno, str(exc)))
                continue
            _upsert(s, rec, source, report)
    return report


def _upsert(s: Session, rec: RegistryRecord, source: str, report: ImportReport) -> None:
    row = s.get(RegistryRow, rec.id_number)
    values = rec.model_dump()
    if row is None:
        s.add(RegistryRow(**values, source=source))
        s.flush()
        report.inserted += 1
    elif all(getattr(row, k) == v for k, v in values.items()):
        report.unchanged += 1
    else:
        for k, v in values.items():
            setattr(row, k, v)
        row.source, row.updated_at = source, utcnow()
        report.updated += 1


def lookup(sessions: sessionmaker, id_number: str) -> dict | None:
    with sessions() as s:
        row = s.get(RegistryRow, id_number)
        if row is None:
            return None
        return RegistryRecord.model_validate(row, from_attributes=True).model_dump()


def lookup_near(sessions: sessionmaker, id_number: str) -> list[dict]:
    """Records whose id differs from `id_number` in exactly one digit: where a misread id would
    have come from. One indexed query over the 9 x length candidates."""
    candidates = [id_number[:i] + d + id_number[i + 1:] for i in range(len(id_number))
                  for d in "0123456789" if d != id_number[i]]
    with sessions() as s:
        rows = s.query(RegistryRow).filter(RegistryRow.id_number.in_(candidates)).all()
        return [RegistryRecord.model_validate(r, from_attributes=True).model_dump() for r in rows]
