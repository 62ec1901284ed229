"""Validation rules of the field contract: identifier structure, tax-code check digit, MRZ."""

from __future__ import annotations

from stdnum.vn import mst

from extraction.mrz import Mrz
from sohoa.models import Check

# Digit 4 of a 12-digit id: century of birth and sex (even = male, odd = female).
_CENTURY = {0: 1900, 1: 1900, 2: 2000, 3: 2000, 4: 2100, 5: 2100, 6: 2200, 7: 2200, 8: 1800, 9: 1800}


def id_birth_year(id_number: str) -> int | None:
    if len(id_number) != 12 or not id_number.isdigit():
        return None
    return _CENTURY[int(id_number[3])] + int(id_number[4:6])


def id_sex(id_number: str) -> str | None:
    if len(id_number) != 12 or not id_number.isdigit():
        return None
    return "Nam" if int(id_number[3]) % 2 == 0 else "Nữ"


def id_structure(field: str, id_number: str) -> Check:
    """12 digits whose first three are a province (001-096) or country (1xx-2xx) code."""
    if len(id_number) != 12 or not id_number.isdigit():
        return Check(field=field, rule="id_number_structure", ok=False, detail=f"{len(id_number)} digits, 12 expected")
    place = int(id_number[:3])
    ok = 1 <= place <= 96 or 100 <= place <= 299
    detail = None if ok else f"birth-place code {id_number[:3]} is neither a province nor a country code"
    return Check(field=field, rule="id_number_structure", ok=ok, detail=detail)


def cmnd_structure(field: str, id_number: str) -> Check:
    ok = len(id_number) == 9 and id_number.isdigit()
    return Check(field=field, rule="id_number_structure", ok=ok, detail=None if ok else "9 digits expected")


def dob_agrees(id_number: str, date_of_birth: str, field: str = "date_of_birth") -> Check:
    year = id_birth_year(id_number)
    ok = year is not None and date_of_birth[:4] == str(year)
    detail = None if ok else f"id number says born {year}, date of birth says {date_of_birth[:4]}"
    return Check(field=field, rule="agrees_with_id_number", ok=ok, detail=detail)


def sex_agrees(id_number: str, sex: str, field: str = "sex") -> Check:
    expected = id_sex(id_number)
    ok = expected == sex
    return Check(field=field, rule="agrees_with_id_number", ok=ok, detail=None if ok else f"id number says {expected}")


def tax_code(field: str, code: str) -> Check:
    ok = len(code) == 10 and mst.is_valid(code)
    return Check(field=field, rule="tax_code_check_digit", ok=ok, detail=None if ok else "check digit does not verify")


def mrz_digits(m: Mrz) -> Check:
    failed = [c.name for c in m.checks if not c.ok]
    detail = ("failed: " + ", ".join(failed)) if failed else None
    return Check(field="mrz", rule="mrz_check_digits", ok=not failed, detail=detail)


def mrz_agrees(m: Mrz, fields: dict[str, object]) -> list[Check]:
    """Printed fields against what the MRZ of the same card says, for fields both carry."""
    out: list[Check] = []
    pairs = {
        "id_number": m.id_number,
        "date_of_birth": m.birth_date,
        "sex": m.sex,
        "date_of_expiry": m.expiry_date,
    }
    for name, from_mrz in pairs.items():
        printed = fields.get(name)
        if printed is None or from_mrz is None:
            continue
        ok = printed == from_mrz
        out.append(Check(field=name, rule="agrees_with_mrz", ok=ok, detail=None if ok else f"MRZ says {from_mrz}"))
    if m.id_number and m.document_number:
        ok = m.id_number[3:] == m.document_number
        out.append(Check(field="mrz", rule="document_number_matches_id", ok=ok,
                         detail=None if ok else "document number is not digits 4-12 of the id"))
    return out
