"""HTTP routes: scanners post batches; downstream systems and archivists read results; admins
manage keys and the registry. Who may call what: docs/api-access.md."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import (APIRouter, BackgroundTasks, File, Form, Header, HTTPException, Query, Request, Response,
                     UploadFile, status)
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from sohoa import dossiers, pipeline, registry
from sohoa.models import Batch, BatchItem, DocState, ProcessingError, ResultObject
from sohoa.provenance import as_vn
from sohoa.services import Services
from storage.db import BatchRow, FileRow
from storage.search import Hit
from workers.tasks import send

from . import keys
from .deps import AdminDep, ArchiveReaderDep, BatchReaderDep, FieldReaderDep, ScannerDep, ServicesDep, audit
from .problems import Problem

router = APIRouter(prefix="/v1")


class BatchAccepted(BaseModel):
    batch_id: str
    url: str
    files: int
    dossier_code: str | None = Field(description="as sent, or issued by this service (SOHOA_UNIT_CODE)")


@router.post("/batches", status_code=status.HTTP_202_ACCEPTED, response_model=BatchAccepted,
             responses={503: {"description": "database or object storage unavailable: retry later, with the "
                                             "same Idempotency-Key"}})
async def post_batch(
    svc: ServicesDep, caller: ScannerDep, request_files: Annotated[list[UploadFile], File(alias="files")],
    response: Response, background: BackgroundTasks,
    branch: Annotated[str | None, Form(max_length=64)] = None,
    dossier_code: Annotated[str | None, Form(max_length=40, description=(
        "the dossier's code in the national format V1V2V3.Z1Z2.Y1Y2.MX1X2-YYMMDD-XXXX (Circular "
        "01/2018/TT-VPCP Art. 19), e.g. 000.00.15.H42-261126-0007; batches handed in later for "
        "the same dossier carry the same code"))] = None,
    idempotency_key: Annotated[str | None, Header(max_length=200, description=(
        "the client's name for this upload: a retry with the same key (after a timeout or a 503) "
        "returns the batch accepted the first time instead of creating a second one"))] = None,
) -> BatchAccepted:
    recorded_branch = caller.upload_branch(branch, svc.settings.default_branch)
    limit = svc.settings.limits.max_file_bytes
    # One byte more than allowed tells "too large" apart.
    received = [(upload.filename or "upload", await upload.read(limit + 1)) for upload in request_files]
    # Storing and recording block on disk and network: off the event loop.
    try:
        accepted = await run_in_threadpool(pipeline.accept, svc, received, recorded_branch,
                                           idempotency_key, caller.name, dossier_code)
    except dossiers.DossierCodeError as exc:
        raise Problem(422, "invalid_dossier_code", f"dossier code: {exc}") from None
    if accepted.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    else:
        # After the response: the files are already durably queued (the database is the queue of
        # record; a message that never reaches the broker is re-sent by the sweeper).
        background.add_task(_hand_over, svc, accepted.queued)
    return BatchAccepted(batch_id=accepted.batch_id, url=f"/v1/batches/{accepted.batch_id}",
                         files=len(accepted.file_ids), dossier_code=accepted.dossier_code)


def _hand_over(svc: Services, queued: dict[str, int | None]) -> None:
    send(svc, queued)
    if svc.worker:
        svc.worker.wake()


@router.get("/batches/{batch_id}", response_model=Batch)
def get_batch(batch_id: str, svc: ServicesDep, caller: BatchReaderDep) -> Batch:
    with svc.sessions() as s:
        batch = s.get(BatchRow, batch_id)
        # Another branch's batch is "not found", not "forbidden": 403 is for what a role may never
        # do, and a different answer would let a scanner probe which batch ids exist elsewhere.
        if batch is None or not caller.sees_branch(batch.branch):
            raise HTTPException(404, f"no batch {batch_id}")
        rows = s.scalars(select(FileRow).where(FileRow.batch_id == batch_id).order_by(FileRow.created_at)).all()
    items = []
    for r in rows:
        docs = pipeline.results_for_file(svc, r.id) if r.state == DocState.done.value else []
        items.append(BatchItem(
            file_id=r.id, name=r.name, sha256=r.sha256, state=DocState(r.state), pages=r.pages,
            error=ProcessingError(code=r.error_code, message=r.error_message or "") if r.error_code else None,
            # Batch status is for scanners: no personal data in it, only where each paper went.
            documents=[ResultObject(document_id=d.document_id, source=d.source, doc_type=d.doc_type,
                                    needs_review=d.needs_review, verification=d.verification,
                                    result_code=d.result_code, provenance=d.provenance) for d in docs],
        ))
    states = {i.state for i in items}
    overall = (DocState.processing if states & {DocState.queued, DocState.processing} and states - {DocState.queued}
               else DocState.queued if states & {DocState.queued} else DocState.done)
    created = as_vn(batch.created_at)
    progress = {state: sum(1 for i in items if i.state == state) for state in DocState}
    return Batch(batch_id=batch_id, branch=batch.branch, dossier_code=batch.dossier_code, created_at=created,
                 state=overall, progress=progress, items=items)


class HoldingsQuery(BaseModel):
    doc_type: str = Field(max_length=40, examples=["cccd"])
    id_number: str = Field(pattern=r"^\d{9}(\d{3})?$", description="the citizen's 12-digit (or old 9-digit) number")


class HoldingsAnswer(BaseModel):
    held: bool  # a usable result exists: provenance sound, registry match, not expired
    holdings: list[pipeline.Holding]


@router.post("/holdings", response_model=HoldingsAnswer)
def holdings(query: HoldingsQuery, svc: ServicesDep, caller: FieldReaderDep) -> HoldingsAnswer:
    """Does the state already hold a valid paper of this type for this citizen? (so the desk need
    not ask for it again). POST, not GET: the id number stays out of URLs and access logs."""
    found = pipeline.holdings(svc, query.doc_type, query.id_number)
    audit(svc, caller, "holdings", query.doc_type, found=len(found), results=[h.result_code for h in found])
    return HoldingsAnswer(held=any(h.usable for h in found), holdings=found)


class SearchAnswer(BaseModel):
    total: int = Field(description="every matching document, not only this page's (a lower bound when "
                                   "`total_exact` is false)")
    total_exact: bool = Field(description="false: more match than are counted (10,000 on SQLite, 2,000 on "
                                          "PostgreSQL) and `total` is that number")
    results: list[Hit]
    next_offset: int | None = Field(description="`offset` of the next page; null on the last one")


@router.get("/search", response_model=SearchAnswer)
def search(
    q: Annotated[str, Query(min_length=1, max_length=500, pattern=r"\S", description=(
        'words (all must occur, any order) and "quoted phrases"; with or without diacritics (docs/search.md)'))],
    svc: ServicesDep, caller: ArchiveReaderDep,
    doc_type: Annotated[str | None, Query(max_length=40, pattern="^[a-z0-9_]+$")] = None,
    # No NUL: PostgreSQL refuses it in a parameter (a 500), and no stored branch holds one.
    branch: Annotated[str | None, Query(max_length=64, pattern=r"^[^\x00]+$")] = None,
    created_from: Annotated[date | None, Query(description="first day stored (Vietnam time), included")] = None,
    created_to: Annotated[date | None, Query(description="last day stored (Vietnam time), included")] = None,
    verification_status: Annotated[str | None, Query(pattern="^(match|mismatch|not_found|not_checked)$")] = None,
    needs_review: bool | None = None,
    limit: Annotated[int, Query(description="page size, at most 100")] = 20,
    # Deep offsets cost a ranking of every hit before them: past this, narrow the query instead.
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> SearchAnswer:
    page = pipeline.search(svc, q, limit=min(max(limit, 1), 100), offset=offset, doc_type=doc_type, branch=branch,
                           created_from=created_from, created_to=created_to,
                           verification_status=verification_status, needs_review=needs_review)
    audit(svc, caller, "search", "results", hits=len(page.hits), total=page.total,
          total_exact=page.total_exact, results=[h.result_code for h in page.hits])
    return SearchAnswer(total=page.total, total_exact=page.total_exact, results=list(page.hits),
                        next_offset=page.next_offset)


class KeyRequest(BaseModel):
    role: keys.Role
    branch: str | None = Field(None, max_length=64, description="a scanner key's branch (required for scanners)")
    label: str | None = Field(None, max_length=200, description="who holds the key: a desk, a system")


class KeyInfo(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    role: str
    branch: str | None
    label: str | None
    created_at: datetime
    revoked_at: datetime | None


class NewKey(KeyInfo):
    secret: str = Field(description="shown this once: only its SHA-256 is kept")


@router.post("/keys", status_code=status.HTTP_201_CREATED, response_model=NewKey)
def create_key(body: KeyRequest, svc: ServicesDep, caller: AdminDep) -> NewKey:
    try:
        row, secret = keys.create_key(svc.sessions, body.role, body.branch, body.label)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    audit(svc, caller, "create_key", row.id, role=row.role, branch=row.branch)
    return NewKey(**KeyInfo.model_validate(row).model_dump(), secret=secret)


@router.get("/keys", response_model=list[KeyInfo])
def list_keys(svc: ServicesDep, caller: AdminDep) -> list[KeyInfo]:
    return [KeyInfo.model_validate(row) for row in keys.list_keys(svc.sessions)]


@router.delete("/keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def revoke_key(key_id: str, svc: ServicesDep, caller: AdminDep) -> Response:
    if keys.revoke_key(svc.sessions, key_id) is None:
        raise HTTPException(404, f"no key {key_id}")
    audit(svc, caller, "revoke_key", key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


class RejectedRow(BaseModel):
    line: int
    reason: str


class RegistryImport(BaseModel):
    inserted: int
    updated: int
    unchanged: int
    rejected: list[RejectedRow]


CSV_BODY = {"requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}}


@router.post("/registry", response_model=RegistryImport, openapi_extra=CSV_BODY,
             responses={415: {"description": "the body is not text/csv"},
                        422: {"description": "not UTF-8, or the header lacks a required column"}})
async def import_registry(
    request: Request, svc: ServicesDep, caller: AdminDep,
    source: Annotated[str | None, Query(max_length=200, description="where the extract came from "
                                                                    "(recorded on every row)")] = None,
) -> RegistryImport:
    """Load registry records (the CSV of `sohoa records import`; idempotent upsert). Rejected rows
    are listed with their line and reason, id numbers masked."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "text/csv":
        raise HTTPException(415, "send the registry extract as text/csv")
    try:
        text = (await request.body()).decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPException(422, "the CSV is not UTF-8") from None
    origin = source or f"api:{caller.name}"
    try:
        # One transaction over every row: off the event loop.
        report = await run_in_threadpool(registry.import_csv, text, svc.sessions, origin)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    await run_in_threadpool(audit, svc, caller, "import_registry", origin, inserted=report.inserted,
                            updated=report.updated, unchanged=report.unchanged, rejected=len(report.rejected))
    return RegistryImport(inserted=report.inserted, updated=report.updated, unchanged=report.unchanged,
                          rejected=[RejectedRow(line=n, reason=r) for n, r in report.rejected])
