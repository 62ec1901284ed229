"""Dossier tracking: the public status page the province promises citizens, and the staff view.

The public lookup needs no key and says nothing personal: no names, no file names, no numbers
read from the papers, no result codes; only what happened when. A dossier code is guessable
(a unit, a day, a sequence), so it must never open more than that.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel

from sohoa import dossiers
from sohoa.dossiers import Tracking

from .deps import BatchReaderDep, ServicesDep, audit
from .problems import Problem
from .ratelimit import public_lookups

router = APIRouter(prefix="/v1")

CodePath = Annotated[str, Path(max_length=40, description="e.g. 000.00.15.H42-261126-0007")]


def _load(svc, code: str) -> dossiers.Dossier:  # noqa: ANN001 - Services
    try:
        code = str(dossiers.parse(code))
    except dossiers.DossierCodeError as exc:
        raise Problem(422, "invalid_dossier_code", f"dossier code: {exc}") from None
    with svc.sessions() as s:
        found = dossiers.load(s, code)
    if found is None:
        raise Problem(404, "dossier_not_found", f"no dossier {code}")
    return found


@router.get("/track/{dossier_code}", response_model=Tracking, tags=["public"], dependencies=[Depends(public_lookups)],
            responses={429: {"description": "too many lookups from this address (`rate_limited`, with Retry-After)"}})
def track(dossier_code: CodePath, svc: ServicesDep) -> Tracking:
    """Where a dossier's digitisation stands, with its timeline. Public: no API key."""
    return dossiers.tracking(_load(svc, dossier_code))


class DossierBatch(BaseModel):
    batch_id: str
    url: str
    branch: str | None


class DossierView(Tracking):
    batches: list[DossierBatch]
    result_codes: list[str]


@router.get("/dossiers/{dossier_code}", response_model=DossierView)
def dossier(dossier_code: CodePath, svc: ServicesDep, caller: BatchReaderDep) -> DossierView:
    """The staff view: the public timeline with the batches and results behind it. A scanner
    sees the dossiers of its own branch only."""
    d = _load(svc, dossier_code)
    if not any(caller.sees_branch(b.branch) for b in d.batches):
        raise Problem(404, "dossier_not_found", f"no dossier {d.code}")  # as for batches: no probing
    audit(svc, caller, "read_dossier", d.code)
    visible = [b for b in d.batches if caller.sees_branch(b.branch)]
    digests = {f.sha256 for f in d.files if f.batch_id in {b.id for b in visible}}
    return DossierView(**dossiers.tracking(d).model_dump(),
                       batches=[DossierBatch(batch_id=b.id, url=f"/v1/batches/{b.id}", branch=b.branch)
                                for b in visible],
                       result_codes=[doc.result_code for doc in d.documents if doc.source_sha256 in digests])
