"""Verification of extracted fields against the existing electronic records (the registry).

Statuses exactly as the field contract defines them: match / mismatch / not_found / not_checked.
An address that differs only in form (old three-level vs post-2025 two-level units) is a check,
never a mismatch.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from rapidfuzz import fuzz

from .models import Check, Extraction, Verification

# Document types that describe one citizen whose id_number keys the registry.
PERSON_DOCUMENTS = {"cccd", "cccd_back", "cmnd", "birth_certificate"}
COMPARED = ("full_name", "date_of_birth", "sex")


def _norm(value: object) -> str:
    return " ".join(unicodedata.normalize("NFC", str(value)).casefold().split())


def verify(extraction: Extraction, lookup: Callable[[str], dict | None], source: str = "registry") -> Verification:
    if extraction.doc_type not in PERSON_DOCUMENTS:
        return Verification(status="not_checked", record_source=None)
    id_number = extraction.fields.get("id_number")
    if not id_number:
        return Verification(status="not_checked", record_source=None,
                            checks=[Check(field="id_number", rule="present_for_verification", ok=False,
                                          detail="no id_number was read, nothing to look up")])
    record = lookup(id_number)
    if record is None:
        return Verification(status="not_found", record_source=source)
    mismatched = [f for f in COMPARED
                  if extraction.fields.get(f) and record.get(f) and _norm(extraction.fields[f]) != _norm(record[f])]
    checks: list[Check] = []
    for f in ("place_of_residence",):
        doc_val, reg_val = extraction.fields.get(f), record.get(f)
        if doc_val and reg_val:
            score = fuzz.token_set_ratio(_norm(doc_val), _norm(reg_val))
            checks.append(Check(field=f, rule="agrees_with_registry", ok=score >= 90,
                                detail=f"similarity {score:.0f}/100 (address form may legitimately differ)"))
    return Verification(status="mismatch" if mismatched else "match", mismatched_fields=mismatched,
                        record_source=source, checks=checks)
