"""A reviewer corrects fields of a stored result.

The correction is normalised as extraction would have normalised it, the registry check runs
again on the corrected fields, and one transaction records all of it: the new result, a signed
`review` event on the result's provenance chain (old value, new value, who, when, why) and a
`corrected` change, which downstream systems read from the change feed and webhooks.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select, update

from extraction.kinds import field_kind
from extraction.normalize import norm_date, norm_id, norm_money, norm_name, norm_sex
from storage import changes
from storage.db import DocumentRow, EventRow
from storage.objects import result_key, sha256

from . import __version__, chain
from .models import Check, Extraction, ResultObject
from .pipeline import _document_row, check_registry  # a result's row and registry check, made one way
from .services import Services
from .verify import raises_doubt


class ReviewError(ValueError):
    """The correction cannot be applied; the message names the field and the reason."""


class Correction(BaseModel):
    field: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$", examples=["full_name"])
    value: str | int | None = Field(
        None, description="the value as the paper prints it (normalised like extraction: dates to "
                          "YYYY-MM-DD, names capitalised); null: the paper does not have it")


class Review(BaseModel):
    corrections: list[Correction] = Field(default_factory=list, max_length=50)
    reason: str | None = Field(None, max_length=500, description="why (recorded in provenance)")
    # The reviewer looked at the whole document: it leaves the review queue unless the registry
    # check still disagrees.
    done: bool = True


_NORMALISERS = {"date": norm_date, "name": norm_name, "money": norm_money}


def normalise(name: str, value: str | int | None) -> Any:
    """The stored form of a typed value, or ReviewError when it is not a value of that field."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    kind = field_kind(name)
    if name == "sex":
        out = norm_sex(text)
    elif name == "id_number":
        out = norm_id(text)
        out = out if out and len(out) in (9, 12) else None
    else:
        out = _NORMALISERS.get(kind, lambda v: " ".join(v.split()))(text)
    if out is None or out == "":
        raise ReviewError(f"{name}: {text[:40]!r} is not a valid {kind}")
    return out


def apply(svc: Services, result_code: str, review: Review, reviewer: str) -> ResultObject:
    """Correct, re-verify and record. LookupError for an unknown result; ReviewError for a
    correction that cannot be applied.

    One transaction holds the result's document row from before it is read until the review is
    committed, so concurrent reviews of one result run one after the other, each from the result
    the previous one stored; the store's result.json is only ever written by the holder. The
    result as it was is kept beside it (history/), named by the review event."""
    key = result_key(result_code, "result.json")
    replaced: bytes | None = None  # what result.json held, once it holds the new result
    try:
        with svc.sessions() as s, s.begin():
            # An UPDATE that changes nothing takes the lock: the row's on PostgreSQL, the database's
            # write lock on SQLite. result_code is in no trigger (search re-indexing is not wanted).
            s.execute(update(DocumentRow).where(DocumentRow.result_code == result_code)
                      .values(result_code=DocumentRow.result_code))
            row = s.scalar(select(DocumentRow).where(DocumentRow.result_code == result_code))
            head = s.scalar(select(EventRow).where(EventRow.subject == result_code)
                            .order_by(EventRow.seq.desc()).limit(1))
            if row is None or head is None:
                raise LookupError(result_code)
            before = ResultObject.model_validate(row.result)
            after, changed = _corrected(svc, before, review)
            old_bytes = svc.store.get(key)  # as stored: what a failed commit must put back
            new_bytes = after.model_dump_json(indent=2).encode()
            seq = head.seq + 1
            history = result_key(result_code, f"history/result-before-{seq}.json")
            event = chain.sign_event(chain.new_event(
                result_code, "review", seq, head.hash, reviewer, software={"sohoa": __version__},
                parameters={"corrections": changed, "reason": review.reason, "done": review.done,
                            "verification": after.verification.status},
                inputs={key: sha256(old_bytes)}, outputs={key: sha256(new_bytes), history: sha256(old_bytes)}),
                svc.signing_key)
            # The objects first, so the committed chain never names bytes that are not stored.
            svc.store.put(history, old_bytes, "application/json")
            svc.store.put(key, new_bytes, "application/json")
            replaced = old_bytes
            fresh = _document_row(after)
            for attr in ("result", "verification_status", "needs_review", "search_text", "id_number_hash"):
                setattr(row, attr, getattr(fresh, attr))
            s.add(chain.row(event))
            changes.record(s, [result_code], changes.CORRECTED)
    except BaseException:
        if replaced is not None:  # not committed: the stored result goes back to the committed one
            svc.store.put(key, replaced, "application/json")
        raise
    chain.put(svc, [event])
    return after


def _corrected(svc: Services, before: ResultObject, review: Review) -> tuple[ResultObject, list[dict]]:
    allowed = set(before.fields) | set(before.missing)
    fields, confidence = dict(before.fields), dict(before.confidence)
    changed = []
    for c in review.corrections:
        if c.field not in allowed:
            raise ReviewError(f"{c.field}: not a field of a {before.doc_type} document "
                              f"(fields: {', '.join(sorted(allowed))})")
        new = normalise(c.field, c.value)
        old = fields.get(c.field)
        if new == old:
            continue
        changed.append({"field": c.field, "old": old, "new": new})
        if new is None:
            fields.pop(c.field, None)
            confidence.pop(c.field, None)
        else:
            fields[c.field], confidence[c.field] = new, 1.0  # a person read it off the paper
    corrected = {c["field"] for c in changed}
    # Extraction's checks on a corrected field judged the value read, not the one typed; the
    # registry's own checks are made again below.
    checks = [k for k in before.checks if k.field not in corrected and k not in before.verification.checks]
    checks += [Check(field=f, rule="corrected_by_reviewer", ok=True) for f in sorted(corrected)]
    removed = [c["field"] for c in changed if c["new"] is None]
    missing = [m for m in before.missing if m not in fields] + [f for f in removed if f not in before.missing]
    ex = Extraction(doc_type=before.doc_type, fields=fields, confidence=confidence, checks=checks, missing=missing)
    ver = check_registry(svc, ex)
    still_doubtful = any(v < svc.calibration.threshold for v in confidence.values()) or \
        any(not k.ok for k in checks)
    after = before.model_copy(update={
        "fields": fields, "confidence": confidence, "checks": checks + ver.checks, "missing": missing,
        "verification": ver, "needs_review": raises_doubt(ver) or (still_doubtful and not review.done)})
    return after, changed
