"""Cross-checks between the papers of one dossier file.

A card back's MRZ carries the ID number under check digits, so once they verify it is the most
reliable reading of that number in the file. A card front or birth certificate in the same file
whose printed number differs from it in exactly one digit was misread (a different person's
number would differ in more): it is corrected from the MRZ, and the correction is listed in
`checks` and sent to review.

Once the numbers agree, the MRZ also vouches for the paper's date of birth, sex and expiry (check
digits cover them) and for the letters of the name (not its tone marks, which the MRZ drops):
agreement raises a field's confidence as a verified value, disagreement lowers it.
"""

from __future__ import annotations

from extraction import checks, mrz
from extraction.fields import FAILED_CHECK_FACTOR, verified
from extraction.normalize import fold
from sohoa.models import Check, Extraction

PRINTED_ID_TYPES = {"cccd", "birth_certificate"}
CORRECTED_CONFIDENCE = 0.7  # below the review threshold: a person confirms the correction


def verified_mrzs(extractions: list[Extraction]) -> dict[str, mrz.Mrz]:
    """The card backs' MRZs whose check digits verify, by the id number they carry."""
    out: dict[str, mrz.Mrz] = {}
    for ex in extractions:
        if ex.doc_type != "cccd_back" or not ex.fields.get("id_number") or not ex.fields.get("mrz"):
            continue
        mrz_checks = [c for c in ex.checks if c.rule == "mrz_check_digits"]
        found = mrz.parse_lines(str(ex.fields["mrz"]).split("\n"))
        if mrz_checks and all(c.ok for c in mrz_checks) and found is not None and found.id_number:
            out[ex.fields["id_number"]] = found
    return out


def mrz_verified_ids(extractions: list[Extraction]) -> list[str]:
    return list(verified_mrzs(extractions))


def _agree_with_mrz(ex: Extraction, found: mrz.Mrz) -> Extraction:
    """The paper's person fields against the MRZ of the same person's card in this file."""
    new_checks = [Check(field=c.field, rule="agrees_with_mrz_in_dossier", ok=c.ok, detail=c.detail)
                  for c in checks.mrz_agrees(found, ex.fields) if c.field in ("id_number", "date_of_birth", "sex", "date_of_expiry")]
    name = ex.fields.get("full_name")
    mrz_name = f"{found.surname} {found.given_names}".split()
    if name and mrz_name:
        ok = fold(str(name)).upper().split() == mrz_name
        new_checks.append(Check(field="full_name", rule="agrees_with_mrz_in_dossier", ok=ok,
                                detail=None if ok else "letters differ from the MRZ name of the card back"))
    confidence = dict(ex.confidence)
    for c in new_checks:
        if c.field not in confidence:
            continue
        if not c.ok:
            confidence[c.field] = round(confidence[c.field] * FAILED_CHECK_FACTOR, 3)
        elif c.field != "full_name":  # the MRZ proves a name's letters, not its tone marks
            confidence[c.field] = max(confidence[c.field], verified(confidence[c.field]))
    return ex.model_copy(update={"checks": [*ex.checks, *new_checks], "confidence": confidence,
                                 "needs_review": ex.needs_review or any(not c.ok for c in new_checks)})


def cross_check(extractions: list[Extraction]) -> list[Extraction]:
    by_id = verified_mrzs(extractions)
    trusted = list(by_id)
    if not trusted:
        return extractions
    out = []
    for ex in extractions:
        printed = ex.fields.get("id_number")
        if ex.doc_type not in PRINTED_ID_TYPES or not printed:
            out.append(ex)
            continue
        if printed in trusted:
            out.append(_agree_with_mrz(ex, by_id[printed]))
            continue
        near = [t for t in trusted if len(t) == len(printed) and sum(a != b for a, b in zip(t, printed)) == 1]
        if len(near) != 1:
            out.append(ex)
            continue
        fields = {**ex.fields, "id_number": near[0]}
        confidence = {**ex.confidence, "id_number": min(ex.confidence.get("id_number", 1.0), CORRECTED_CONFIDENCE)}
        check = Check(field="id_number", rule="agrees_with_mrz_in_dossier", ok=False,
                      detail="one digit differed from the verified MRZ of the card back in this file; "
                             "corrected from the MRZ")
        out.append(ex.model_copy(update={"fields": fields, "confidence": confidence,
                                         "checks": [*ex.checks, check], "needs_review": True}))
    return out
