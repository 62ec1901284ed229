"""Verification of extracted fields against the existing electronic records (the registry).

Statuses exactly as the field contract defines them: match / mismatch / not_found / not_checked.
An address that differs only in form (old three-level vs post-2025 two-level units) is a check,
never a mismatch.

An id OCR was unsure of that is not in the registry, but is one digit from the record of a person
with the same name and date of birth, is taken as misread: that record is compared, and a check says so.

"Mismatch" tells a desk that the citizen's paper contradicts the state's record, so it is only said
of fields read with confidence. A field OCR was unsure of that differs from the record the way a
misreading would (tone marks only, a stray word) is listed in `checks`
instead, and the document goes to a person, who sees both values.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from rapidfuzz import fuzz

from extraction.normalize import fold

from .models import Check, Extraction, Verification

# Document types that describe one citizen whose id_number keys the registry (the residence
# form CT01: its declarant). A marriage certificate carries two people and is not checked.
PERSON_DOCUMENTS = {"cccd", "cccd_back", "cmnd", "birth_certificate", "residence_form"}
COMPARED = ("full_name", "date_of_birth", "sex")


def _norm(value: object) -> str:
    return " ".join(unicodedata.normalize("NFC", str(value)).casefold().split())


def misread_like(field: str, read: str, recorded: str) -> bool:
    """Whether `read` could be `recorded` misread by OCR (not a different person's data)."""
    if field == "full_name":
        a, b = fold(read).split(), fold(recorded).split()
        # lost tone marks, or a word of the next line glued on / a word lost
        return a == b or (min(len(a), len(b)) >= 2 and (set(a) <= set(b) or set(b) <= set(a)))
    # Dates are not excused: a recorded date one digit off is as often a real discrepancy
    # (a day typed wrong at registration) as a misreading (bench/fields.py --dump, seed 11).
    return False


def _misread_id_record(extraction: Extraction, candidates: list[dict]) -> dict | None:
    """The one record, among those one digit from the id as read, of the same person: the same
    name (tone marks aside) and the same date of birth. A different person one digit away shares
    both only by a coincidence the review then catches."""
    name, dob = extraction.fields.get("full_name"), extraction.fields.get("date_of_birth")
    if not name or not dob:
        return None
    same = [r for r in candidates if r.get("date_of_birth") == dob and r.get("full_name")
            and fold(str(r["full_name"])).split() == fold(str(name)).split()]
    return same[0] if len(same) == 1 else None


def verify(extraction: Extraction, lookup: Callable[[str], dict | None], source: str = "registry",
           threshold: float = 0.8, near: Callable[[str], list[dict]] | None = None) -> Verification:
    """`threshold`: the review threshold; fields below it were read with doubt. `near`: records
    one digit from an id, to recognise an id OCR misread (not_found would be wrong there)."""
    if extraction.doc_type not in PERSON_DOCUMENTS:
        return Verification(status="not_checked", record_source=None)
    id_number = extraction.fields.get("id_number")
    if not id_number:
        return Verification(status="not_checked", record_source=None,
                            checks=[Check(field="id_number", rule="present_for_verification", ok=False,
                                          detail="no id_number was read, nothing to look up")])
    record = lookup(id_number)
    checks: list[Check] = []
    if record is None and near is not None and extraction.confidence.get("id_number", 1.0) < threshold:
        record = _misread_id_record(extraction, near(id_number))
        if record is not None:
            checks.append(Check(field="id_number", rule="registry_near_id", ok=False,
                                detail="not in the registry as read (low confidence); one digit from the record "
                                       "of a person with the same name and date of birth"))
    if record is None:
        return Verification(status="not_found", record_source=source)
    mismatched: list[str] = []
    for f in COMPARED:
        read, recorded = extraction.fields.get(f), record.get(f)
        if not read or not recorded or _norm(read) == _norm(recorded):
            continue
        if extraction.confidence.get(f, 1.0) < threshold and misread_like(f, str(read), str(recorded)):
            checks.append(Check(field=f, rule="registry_differs_where_unsure", ok=False,
                                detail="read with low confidence; differs from the record as a misreading would"))
        else:
            mismatched.append(f)
    for f in ("place_of_residence",):
        doc_val, reg_val = extraction.fields.get(f), record.get(f)
        if doc_val and reg_val:
            score = fuzz.token_set_ratio(_norm(doc_val), _norm(reg_val))
            checks.append(Check(field=f, rule="agrees_with_registry", ok=score >= 90,
                                detail=f"similarity {score:.0f}/100 (address form may legitimately differ)"))
    return Verification(status="mismatch" if mismatched else "match", mismatched_fields=mismatched,
                        record_source=source, checks=checks)


def raises_doubt(verification: Verification) -> bool:
    """A failed check that sends the document to a person. A plain disagreement with the registry
    does not: it is the `mismatch` status, which the desk acts on, not a reading to review."""
    return any(not c.ok for c in verification.checks if c.rule != "agrees_with_registry")
