"""Cross-checks between the papers of one dossier file.

A card back's MRZ carries the ID number under check digits, so once they verify it is the most
reliable reading of that number in the file. A card front or birth certificate in the same file
whose printed number differs from it in exactly one digit was misread (a different person's
number would differ in more): it is corrected from the MRZ, and the correction is listed in
`checks` and sent to review.
"""

from __future__ import annotations

from sohoa.models import Check, Extraction

PRINTED_ID_TYPES = {"cccd", "birth_certificate"}
CORRECTED_CONFIDENCE = 0.7  # below the review threshold: a person confirms the correction


def mrz_verified_ids(extractions: list[Extraction]) -> list[str]:
    ids = []
    for ex in extractions:
        if ex.doc_type != "cccd_back" or not ex.fields.get("id_number"):
            continue
        mrz_checks = [c for c in ex.checks if c.rule == "mrz_check_digits"]
        if mrz_checks and all(c.ok for c in mrz_checks):
            ids.append(ex.fields["id_number"])
    return ids


def cross_check(extractions: list[Extraction]) -> list[Extraction]:
    trusted = mrz_verified_ids(extractions)
    if not trusted:
        return extractions
    out = []
    for ex in extractions:
        printed = ex.fields.get("id_number")
        if ex.doc_type not in PRINTED_ID_TYPES or not printed:
            out.append(ex)
            continue
        if printed in trusted:
            out.append(ex.model_copy(update={"checks": [*ex.checks, Check(
                field="id_number", rule="agrees_with_mrz_in_dossier", ok=True)]}))
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
