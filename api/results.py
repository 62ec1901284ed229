"""Reading and correcting results: what downstream systems, archivists and reviewers call.

Every read of personal data is audited (api/deps.py `audit`); the change feed and the file list
carry none and are not.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field
from sqlalchemy import select

from sohoa import chain, pipeline, review
from sohoa.models import ResultObject
from sohoa.provenance import as_vn
from sohoa.services import Services
from storage import changes
from storage.db import DocumentRow, FileRow
from storage.objects import result_key

from .deps import ArchiveReaderDep, FieldReaderDep, ReviewerDep, ServicesDep, audit
from .problems import Problem

router = APIRouter(prefix="/v1")

MEDIA_TYPES = {".png": "image/png", ".xml": "application/xml", ".pdf": "application/pdf",
               ".txt": "text/plain; charset=utf-8", ".json": "application/json",
               ".jpeg": "image/jpeg", ".jpg": "image/jpeg", ".tiff": "image/tiff"}


class StoredFile(BaseModel):
    name: str = Field(description='"original", or an artefact under the result: "searchable.pdf", "pages/1.png" …')
    sha256: str = Field(description="as provenance recorded it when it was stored")
    url: str


class ResultAnswer(ResultObject):
    files: list[StoredFile] | None = Field(None, description="with `content=files` only")


Content = Literal["fields", "text", "files"]


@router.get("/results/{result_code}", response_model=ResultAnswer, response_model_exclude_none=True)
def get_result(
    result_code: str, svc: ServicesDep, caller: FieldReaderDep,
    content: Annotated[Content, Query(description=(
        "fields: the fields, checks and verification, without the OCR text; text: also the text "
        "(the default); files: also the stored files (originals, page images, searchable PDF), "
        "for archivists and reviewers"))] = "text",
) -> ResultAnswer:
    if content == "files" and caller.role not in ("archivist", "reviewer", "admin"):
        raise Problem(403, "files_not_allowed", f"a {caller.role} key reads fields and text, not files")
    result = pipeline.get_result(svc, result_code)
    if result is None:
        raise Problem(404, "result_not_found", f"no result {result_code}")
    audit(svc, caller, "read_result", result_code, content=content)
    answer = ResultAnswer(**result.model_dump())
    if content == "fields":
        answer.text = ""
    elif content == "files":
        answer.files = [StoredFile(name=name, sha256=digest, url=f"/v1/results/{result_code}/files/{name}")
                        for name, (_key, digest) in sorted(_files(svc, result_code).items())]
    return answer


def _files(svc: Services, result_code: str) -> dict[str, tuple[str, str]]:
    """name -> (object key, SHA-256), from the result's provenance: only what was recorded can be
    downloaded, so no name can reach another object."""
    prefix = result_key(result_code, "")
    out = {}
    for key, digest in chain.recorded_objects(chain.events(svc, result_code)).items():
        if key.startswith(prefix) and not key.startswith(prefix + "events/"):
            out[key.removeprefix(prefix)] = (key, digest)
        elif key.startswith("originals/"):
            out["original"] = (key, digest)
    return out


@router.get("/results/{result_code}/files/{name:path}", response_class=Response,
            responses={200: {"content": {"application/octet-stream": {}}},
                       307: {"description": "to a short-lived URL of the object store"}})
def get_result_file(result_code: str, name: str, svc: ServicesDep, caller: ArchiveReaderDep) -> Response:
    found = _files(svc, result_code).get(name)
    if found is None:
        raise Problem(404, "file_not_found", f"no file {name[:200]!r} in result {result_code}")
    audit(svc, caller, "read_file", result_code, file=name)
    return _serve(svc, found[0], name)


def _serve(svc: Services, key: str, name: str) -> Response:
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    media_type = MEDIA_TYPES.get(suffix) or _original_type(svc, key)
    url = svc.store.presigned_get(key, svc.settings.s3_presign_seconds, content_type=media_type)
    if url:  # the bytes go from the store to the client; the API only authorises
        return Response(status_code=status.HTTP_307_TEMPORARY_REDIRECT, headers={"Location": url})
    return Response(svc.store.get(key), media_type=media_type)


def _original_type(svc: Services, key: str) -> str:
    with svc.sessions() as s:
        kind = s.scalar(select(FileRow.kind).where(FileRow.original_key == key).limit(1))
    return MEDIA_TYPES.get(f".{kind}", "application/octet-stream")


@router.get("/documents/{document_id}", response_model=ResultObject)
def get_document(document_id: str, svc: ServicesDep, caller: FieldReaderDep) -> ResultObject:
    with svc.sessions() as s:
        row = s.get(DocumentRow, document_id)
    if row is None:
        raise Problem(404, "document_not_found", f"no document {document_id}")
    audit(svc, caller, "read_document", document_id)
    return ResultObject.model_validate(row.result)


@router.get("/documents/{document_id}/original", response_class=Response)
def get_original(document_id: str, svc: ServicesDep, caller: ArchiveReaderDep) -> Response:
    with svc.sessions() as s:
        row = s.get(DocumentRow, document_id)
    found = _files(svc, row.result_code).get("original") if row else None
    if found is None:
        raise Problem(404, "document_not_found", f"no document {document_id}")
    audit(svc, caller, "read_original", document_id)
    return _serve(svc, found[0], "original")


# ============================================================================ the change feed
class ChangeEntry(BaseModel):
    cursor: int
    result_code: str
    change: Literal["created", "corrected"]
    at: datetime = Field(description="when the change was committed")
    doc_type: str | None


class ChangePage(BaseModel):
    changes: list[ChangeEntry]
    next_after: int = Field(description="pass as `after` to read on; the same value when nothing is new yet")


@router.get("/changes", response_model=ChangePage)
def get_changes(
    svc: ServicesDep, caller: FieldReaderDep,
    after: Annotated[int, Query(ge=0, le=2**62, description="the cursor: 0 for the beginning")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    doc_type: Annotated[list[str] | None, Query(max_length=20)] = None,
) -> ChangePage:
    """Results created or corrected after a cursor, in commit order: a downstream system keeps
    the last `next_after` and asks again. No personal data: fetch each result to read it."""
    with svc.sessions() as s:
        page = changes.after(s, after, limit, doc_type)
    entries = [ChangeEntry(cursor=c.cursor, result_code=c.result_code, change=c.kind, doc_type=c.doc_type,
                           at=as_vn(c.at)) for c in page]
    return ChangePage(changes=entries, next_after=page[-1].cursor if page else after)


# ============================================================================ review
@router.post("/results/{result_code}/review", response_model=ResultObject,
             responses={404: {"description": "no such result"},
                        422: {"description": "a field the document does not have, or a value that is not one"}})
def review_result(result_code: str, body: review.Review, svc: ServicesDep, caller: ReviewerDep) -> ResultObject:
    """Correct fields (each normalised as extraction would), re-run the registry check, and
    record the correction — old value, new value, who, when, why — in the result's provenance.
    Downstream systems hear of it through the change feed and webhooks."""
    try:
        corrected = review.apply(svc, result_code, body, caller.name)
    except LookupError:
        raise Problem(404, "result_not_found", f"no result {result_code}") from None
    except review.ReviewError as exc:
        raise Problem(422, "invalid_correction", str(exc)) from None
    audit(svc, caller, "review_result", result_code, fields=sorted(c.field for c in body.corrections))
    return corrected
