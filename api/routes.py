"""HTTP routes: scanners post batches; downstream systems and archivists read results."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, File, Form, Header, HTTPException, Response, UploadFile, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlalchemy import select

from sohoa import pipeline
from sohoa.models import Batch, BatchItem, DocState, ProcessingError, ResultObject
from sohoa.services import Services
from storage.db import BatchRow, DocumentRow, FileRow
from workers.tasks import enqueue

from .deps import CallerDep, ServicesDep, audit

router = APIRouter(prefix="/v1")


class BatchAccepted(BaseModel):
    batch_id: str
    url: str
    files: int


@router.post("/batches", status_code=status.HTTP_202_ACCEPTED, response_model=BatchAccepted,
             responses={503: {"description": "database or object storage unavailable: retry later, with the "
                                             "same Idempotency-Key"}})
async def post_batch(
    svc: ServicesDep, caller: CallerDep, request_files: Annotated[list[UploadFile], File(alias="files")],
    response: Response, background: BackgroundTasks,
    branch: Annotated[str | None, Form(max_length=64)] = None,
    idempotency_key: Annotated[str | None, Header(max_length=200, description=(
        "the client's name for this upload: a retry with the same key (after a timeout or a 503) "
        "returns the batch accepted the first time instead of creating a second one"))] = None,
) -> BatchAccepted:
    limit = svc.settings.limits.max_file_bytes
    # One byte more than allowed tells "too large" apart.
    received = [(upload.filename or "upload", await upload.read(limit + 1)) for upload in request_files]
    # Storing and recording block on disk and network: off the event loop.
    accepted = await run_in_threadpool(pipeline.accept, svc, received, branch or svc.settings.default_branch,
                                       idempotency_key)
    if accepted.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    else:
        # After the response: the files are already durably queued (the database is the queue of
        # record; a message that never reaches the broker is re-sent by the sweeper).
        background.add_task(_hand_over, svc, accepted.file_ids)
    return BatchAccepted(batch_id=accepted.batch_id, url=f"/v1/batches/{accepted.batch_id}",
                         files=len(accepted.file_ids))


def _hand_over(svc: Services, file_ids: list[str]) -> None:
    enqueue(svc, file_ids)
    if svc.worker:
        svc.worker.wake()


@router.get("/batches/{batch_id}", response_model=Batch)
def get_batch(batch_id: str, svc: ServicesDep, caller: CallerDep) -> Batch:
    with svc.sessions() as s:
        batch = s.get(BatchRow, batch_id)
        if batch is None:
            raise HTTPException(404, f"no batch {batch_id}")
        rows = s.scalars(select(FileRow).where(FileRow.batch_id == batch_id).order_by(FileRow.created_at)).all()
    items = []
    for r in rows:
        docs = pipeline.results_for_file(svc, r.id) if r.state == DocState.done.value else []
        items.append(BatchItem(
            file_id=r.id, name=r.name, sha256=r.sha256, state=DocState(r.state),
            error=ProcessingError(code=r.error_code, message=r.error_message or "") if r.error_code else None,
            # Batch status is for scanners: no personal data in it, only where each paper went.
            documents=[ResultObject(document_id=d.document_id, source=d.source, doc_type=d.doc_type,
                                    needs_review=d.needs_review, verification=d.verification,
                                    result_code=d.result_code, provenance=d.provenance) for d in docs],
        ))
    states = {i.state for i in items}
    overall = (DocState.processing if states & {DocState.queued, DocState.processing} and states - {DocState.queued}
               else DocState.queued if states & {DocState.queued} else DocState.done)
    created = batch.created_at if batch.created_at.tzinfo else batch.created_at.replace(tzinfo=UTC)  # SQLite drops tz
    return Batch(batch_id=batch_id, branch=batch.branch, created_at=created, state=overall, items=items)


@router.get("/results/{result_code}", response_model=ResultObject)
def get_result(result_code: str, svc: ServicesDep, caller: CallerDep, include_text: bool = True) -> ResultObject:
    result = pipeline.get_result(svc, result_code)
    if result is None:
        raise HTTPException(404, f"no result {result_code}")
    audit(svc, caller, "read_result", result_code)
    return result if include_text else result.model_copy(update={"text": ""})


@router.get("/documents/{document_id}", response_model=ResultObject)
def get_document(document_id: str, svc: ServicesDep, caller: CallerDep) -> ResultObject:
    with svc.sessions() as s:
        row = s.get(DocumentRow, document_id)
    if row is None:
        raise HTTPException(404, f"no document {document_id}")
    audit(svc, caller, "read_document", document_id)
    return ResultObject.model_validate(row.result)


@router.get("/documents/{document_id}/original", response_class=Response)
def get_original(document_id: str, svc: ServicesDep, caller: CallerDep) -> Response:
    with svc.sessions() as s:
        row = s.get(DocumentRow, document_id)
        f = s.scalar(select(FileRow).where(FileRow.sha256 == row.source_sha256).limit(1)) if row else None
    if row is None or f is None:
        raise HTTPException(404, f"no document {document_id}")
    audit(svc, caller, "read_original", document_id)
    media = {"pdf": "application/pdf", "png": "image/png", "jpeg": "image/jpeg", "tiff": "image/tiff"}
    media_type = media.get(f.kind or "", "application/octet-stream")
    # With an object store the bytes go straight from it to the client; the API only authorises.
    url = svc.store.presigned_get(f.original_key, svc.settings.s3_presign_seconds, content_type=media_type)
    if url:
        return Response(status_code=status.HTTP_307_TEMPORARY_REDIRECT, headers={"Location": url})
    return Response(svc.store.get(f.original_key), media_type=media_type)


class HoldingsQuery(BaseModel):
    doc_type: str = Field(max_length=40, examples=["cccd"])
    id_number: str = Field(pattern=r"^\d{9}(\d{3})?$", description="the citizen's 12-digit (or old 9-digit) number")


class HoldingsAnswer(BaseModel):
    held: bool  # a usable result exists: provenance sound, registry match, not expired
    holdings: list[pipeline.Holding]


@router.post("/holdings", response_model=HoldingsAnswer)
def holdings(query: HoldingsQuery, svc: ServicesDep, caller: CallerDep) -> HoldingsAnswer:
    """Does the state already hold a valid paper of this type for this citizen? (so the desk need
    not ask for it again). POST, not GET: the id number stays out of URLs and access logs."""
    found = pipeline.holdings(svc, query.doc_type, query.id_number)
    audit(svc, caller, "holdings", query.doc_type, found=len(found))
    return HoldingsAnswer(held=any(h.usable for h in found), holdings=found)


@router.get("/search", response_model=list[ResultObject])
def search(q: str, svc: ServicesDep, caller: CallerDep, limit: int = 20) -> list[ResultObject]:
    results = pipeline.search(svc, q, limit=min(max(limit, 1), 100))
    audit(svc, caller, "search", "results", hits=len(results))
    return results
