"""Verification of extracted fields against the existing electronic records (the registry).

Statuses exactly as the field contract defines them: match / mismatch / not_found / not_checked.
An address that differs only in form (old three-level vs post-2025 two-level units) is a check,
never a mismatch.

"Mismatch" tells a desk that the citizen's paper contradicts the state's record, so it is only said
of fields read with confidence. A field OCR was unsure of that differs from the record the way a
misreading would (tone marks only, a stray word, one digit of a date) is listed in `checks`
instead, and the document goes to a person, who sees both values.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from rapidfuzz import fuzz
from rapidfuzz.distance import Hamming

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
    if field == "date_of_birth":
        return len(read) == len(recorded) and Hamming.distance(read, recorded) <= 1
    return False


def verify(extraction: Extraction, lookup: Callable[[str], dict | None], source: str = "registry",
           threshold: float = 0.8) -> Verification:
    """`threshold`: the review threshold; fields below it were read with doubt."""
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
    mismatched: list[str] = []
    checks: list[Check] = []
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
