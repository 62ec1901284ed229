"""The pipeline, top to bottom as the data flows:

    receive  -> the original is stored durably and queued (ingest)
    process  -> pages (text layer or clean-up + OCR) -> documents (dossier split)
             -> fields (extract) -> registry check (verify) -> artefacts + signed provenance (store)

`receive` and `process_file` are the only entry points; the CLI, the API and the workers all
call them, in-process or from a queue.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import uuid
from dataclasses import dataclass

import cv2
from sqlalchemy import select

from extraction.addresses import resolve_places
from extraction.dossier import cross_check
from extraction.extract import extract
from extraction.normalize import fold
from extraction.split import split_dossier
from ingest.errors import IngestError
from ingest.pages import iter_pages
from ingest.sniff import sniff
from ingest.unpack import unpack_zip
from ocr.alto import to_alto
from ocr.pool import read_timed
from ocr.read import PageResult
from ocr.searchable_pdf import make_searchable_pdf
from storage.db import BatchRow, DocumentRow, FileRow, utcnow
from storage.objects import ObjectNotFound, original_key, result_key, sha256

from . import __version__, registry
from .models import DocState, Extraction, FileKind, ProcessingError, ProvenanceRecord, ResultObject, Source
from .provenance import StepRecorder, now_vn, sign
from .services import Services
from .verify import verify

log = logging.getLogger("sohoa.pipeline")


# ============================================================================ 1. ingest
def create_batch(svc: Services, branch: str | None, idempotency_key: str | None = None) -> str:
    with svc.sessions() as s, s.begin():
        if idempotency_key:
            existing = s.scalar(select(BatchRow).where(BatchRow.idempotency_key == idempotency_key))
            if existing:
                return existing.id
        batch_id = "b-" + uuid.uuid4().hex[:20]
        s.add(BatchRow(id=batch_id, branch=branch, idempotency_key=idempotency_key))
    return batch_id


def receive(svc: Services, batch_id: str, name: str, data: bytes, depth: int = 0) -> list[str]:
    """Store one received file and queue it. Never raises for a bad file: it is recorded as failed."""
    digest = sha256(data)
    key = original_key(digest)
    # The original is safe before anything looks inside it: nothing received is ever lost.
    if not svc.store.exists(key):
        svc.store.put(key, data)
    file_id = "f-" + uuid.uuid4().hex[:20]
    kind: FileKind | None = None
    error: IngestError | None = None
    limits = svc.settings.limits
    try:
        if len(data) > limits.max_file_bytes:
            raise IngestError("file_too_large", f"{len(data)} bytes; the limit is {limits.max_file_bytes}")
        kind = sniff(data[:2048])
    except IngestError as exc:
        error = exc
    ids = [file_id]
    with svc.sessions() as s, s.begin():
        row = FileRow(id=file_id, batch_id=batch_id, name=name, sha256=digest, size=len(data),
                      kind=kind.value if kind else None, original_key=key, state=DocState.queued.value)
        if error:
            _fail(row, error.to_model())
        elif kind is FileKind.zip:
            row.state = DocState.done.value  # the archive itself is kept; its members are the work
        elif _has_documents(s, digest):
            row.state = DocState.done.value  # identical bytes seen before: reuse, never redo
        s.add(row)
    if kind is FileKind.zip and not error:
        ids += _receive_zip(svc, batch_id, file_id, name, data, depth)
    return ids


def _receive_zip(svc: Services, batch_id: str, zip_id: str, name: str, data: bytes, depth: int) -> list[str]:
    limits = svc.settings.limits
    try:
        if depth >= limits.max_zip_depth:
            raise IngestError("zip_too_deep", f"ZIP nested deeper than {limits.max_zip_depth} level(s)")
        members = unpack_zip(data, limits)
    except IngestError as exc:
        with svc.sessions() as s, s.begin():
            _fail(s.get(FileRow, zip_id), exc.to_model())
        return []
    ids: list[str] = []
    for m in members:
        member_name = f"{name}/{m.name}"
        if m.error:
            ids.append(_record_failure(svc, batch_id, member_name, m.error))
        else:
            ids += receive(svc, batch_id, member_name, m.data or b"", depth + 1)
    return ids


def _record_failure(svc: Services, batch_id: str, name: str, error: IngestError) -> str:
    file_id = "f-" + uuid.uuid4().hex[:20]
    with svc.sessions() as s, s.begin():
        row = FileRow(id=file_id, batch_id=batch_id, name=name, sha256="", size=0, original_key="",
                      state=DocState.queued.value)
        _fail(row, error.to_model())
        s.add(row)
    return file_id


def _fail(row: FileRow, error: ProcessingError) -> None:
    row.state, row.error_code, row.error_message, row.updated_at = DocState.failed.value, error.code, error.message, utcnow()


def _has_documents(s, digest: str) -> bool:  # noqa: ANN001 - a Session
    """Identical bytes were processed before: their documents are the result, nothing is redone."""
    return s.scalar(select(DocumentRow.id).where(DocumentRow.source_sha256 == digest).limit(1)) is not None


# ============================================================================ 2. process
@dataclass
class _Context:
    svc: Services
    row: FileRow
    branch: str | None
    recorder: StepRecorder


def process_file(svc: Services, file_id: str) -> list[ResultObject]:
    """Run one queued file through the whole pipeline. Failures are recorded on the file row."""
    with svc.sessions() as s:
        row = s.get(FileRow, file_id)
        if row is None:
            raise KeyError(file_id)
        batch = s.get(BatchRow, row.batch_id)
        branch = batch.branch if batch else None
    if row.state in (DocState.done.value, DocState.failed.value):
        return results_for_file(svc, file_id)
    if _documents_exist(svc, row.sha256):
        _set_state(svc, file_id, DocState.done)
        return results_for_file(svc, file_id)
    ctx = _Context(svc, row, branch, StepRecorder(actor=f"{svc.settings.service_name}@{svc.settings.site}"
                                                        f"/branch:{branch or '-'}"))
    try:
        results = _run(ctx)
    except IngestError as exc:
        _set_state(svc, file_id, DocState.failed, exc.to_model())
        log.info("file %s failed: %s", file_id, exc.code)
        return results_for_file(svc, file_id)
    _set_state(svc, file_id, DocState.done)
    return results


def process_file_or_record(svc: Services, file_id: str) -> list[ResultObject]:
    """`process_file` for one-shot runs (the CLI): an unexpected error is recorded on the file
    as `processing_failed` instead of ending the run, so the rest of the batch goes on."""
    try:
        return process_file(svc, file_id)
    except Exception as exc:  # noqa: BLE001
        log.exception("file %s: unexpected error", file_id)
        _set_state(svc, file_id, DocState.failed,
                   ProcessingError(code="processing_failed", message=f"{type(exc).__name__}: {exc}"))
        return results_for_file(svc, file_id)


def _run(ctx: _Context) -> list[ResultObject]:
    svc, row = ctx.svc, ctx.row
    try:
        data = svc.store.get(row.original_key)
    except ObjectNotFound:
        raise IngestError("original_missing", "the stored original is missing from object storage") from None
    if sha256(data) != row.sha256:
        raise IngestError("original_damaged", "the stored original no longer matches its SHA-256")
    kind = FileKind(row.kind)
    with ctx.recorder.step("ingest", software={"sohoa": __version__},
                           parameters={"file": row.name, "kind": kind.value, "size": row.size},
                           inputs={"original": row.sha256}):
        pass
    pages = _read_pages(ctx, data, kind)
    groups = split_dossier([p.text for p in pages])
    by_number = {p.text.page: p for p in pages}
    documents = [_extract_document(ctx, [by_number[t.page] for t in group]) for group in groups]
    checked = cross_check([d.extraction for d in documents])
    return [_finish_document(ctx, d, ex) for d, ex in zip(documents, checked)]


def _read_pages(ctx: _Context, data: bytes, kind: FileKind) -> list[PageResult]:
    svc = ctx.svc
    opts = svc.settings.preprocess
    pages = iter_pages(data, kind, svc.settings.limits, dpi=opts.render_dpi)
    pool = svc.page_pool
    # In-process, engines load on the first page that needs OCR (a text-layer PDF never loads one).
    timed = pool.read(pages) if pool else (
        read_timed(raw, svc.ocr if raw.text_lines is None else None, svc.settings) for raw in pages)
    results: list[PageResult] = []
    for page in timed:
        raw, result = page.raw, page.result
        source = "text_layer" if raw.text_lines is not None else "ocr"
        software = {"sohoa": __version__, "opencv": cv2.__version__}
        software |= page.versions
        ctx.recorder.record(f"read_page_{raw.number}", page.started_at, page.finished_at, software=software,
                            parameters={"source": source, "ocr_engine": svc.settings.ocr_engine, **opts.model_dump()},
                            inputs={"original": ctx.row.sha256},
                            outputs={"text": sha256(result.text.text.encode())})
        raw.image = None  # the page is kept compressed (result.original_jpeg) from here on
        results.append(result)
    return results


@dataclass
class _Extracted:
    pages: list[PageResult]
    steps: StepRecorder
    extraction: Extraction


def _extract_document(ctx: _Context, pages: list[PageResult]) -> _Extracted:
    numbers = [p.text.page for p in pages]
    text = "\n".join(p.text.text for p in pages)
    # File-level steps (ingest, this document's pages) followed by the document's own steps.
    steps = StepRecorder(ctx.recorder.actor)
    steps.steps = [st for st in ctx.recorder.steps
                   if not st.step.startswith("read_page_") or int(st.step.rsplit("_", 1)[1]) in numbers]

    cal = ctx.svc.calibration
    with steps.step("extract", software={"sohoa.extraction": __version__},
                    parameters={"review_threshold": cal.threshold, "calibration": cal.fitted_on or "none"},
                    inputs={"text": sha256(text.encode())}) as out:
        ex = extract([p.text for p in pages], calibration=cal)
        out["fields"] = sha256(json.dumps(ex.fields, sort_keys=True, ensure_ascii=False).encode())
    return _Extracted(pages, steps, ex)


def _finish_document(ctx: _Context, doc: _Extracted, ex: Extraction) -> ResultObject:
    """Registry check and storage of one document, after the dossier cross-checks."""
    svc, row, pages, steps = ctx.svc, ctx.row, doc.pages, doc.steps
    numbers = [p.text.page for p in pages]
    document_id = f"d-{row.sha256[:20]}-p{numbers[0]}-{numbers[-1]}"
    text = "\n".join(p.text.text for p in pages)
    if ex is not doc.extraction:
        with steps.step("cross_check", parameters={"rule": "agrees_with_mrz_in_dossier"}) as out:
            out["fields"] = sha256(json.dumps(ex.fields, sort_keys=True, ensure_ascii=False).encode())

    with steps.step("verify", parameters={"record_source": "registry"}) as out:
        ver = verify(ex, lambda n: registry.lookup(svc.sessions, n), threshold=svc.calibration.threshold,
                     near=lambda n: registry.lookup_near(svc.sessions, n))
        out["verification"] = sha256(ver.model_dump_json().encode())

    result_code = make_result_code(document_id, ctx.branch)
    result = ResultObject(
        document_id=document_id,
        source=Source(file=row.name, sha256=row.sha256, pages=numbers, branch=ctx.branch),
        doc_type=ex.doc_type, fields=ex.fields, confidence=ex.confidence, checks=ex.checks + ver.checks,
        missing=ex.missing, needs_review=ex.needs_review or any(not c.ok for c in ver.checks if c.rule != "agrees_with_registry"),
        verification=ver, places=resolve_places(ex.fields), text=text, result_code=result_code,
        provenance=f"sohoa://{result_key(result_code, 'provenance.json')}",
    )
    _store_document(ctx, result, pages, steps)
    return result


def _store_document(ctx: _Context, result: ResultObject, pages: list[PageResult], steps: StepRecorder) -> None:
    svc = ctx.svc
    code = result.result_code
    assert code
    with steps.step("store", parameters={"backend": svc.settings.storage_backend}) as out:
        for p in pages:
            if p.cleaned_png is not None:
                out[f"page_{p.text.page}.png"] = svc.store.put(result_key(code, f"pages/{p.text.page}.png"),
                                                               p.cleaned_png, "image/png")
        for p in pages:
            w, h = _size(p)
            out[f"alto_{p.text.page}.xml"] = svc.store.put(
                result_key(code, f"alto/{p.text.page}.xml"),
                to_alto(p.text, f"{result.source.file}#page={p.text.page}", w, h), "application/xml")
        if any(p.original_jpeg for p in pages):
            pdf = make_searchable_pdf([(p.original_jpeg, p.text, p.dpi)
                                       for p in pages if p.original_jpeg], title=code)
            out["searchable.pdf"] = svc.store.put(result_key(code, "searchable.pdf"), pdf, "application/pdf")
        out["text.txt"] = svc.store.put(result_key(code, "text.txt"), result.text.encode(), "text/plain; charset=utf-8")
        out["result.json"] = svc.store.put(result_key(code, "result.json"),
                                           result.model_dump_json(indent=2).encode(), "application/json")
    record = sign(ProvenanceRecord(result_code=code, document_id=result.document_id,
                                   steps=steps.steps, created_at=now_vn()), svc.signing_key)
    svc.store.put(result_key(code, "provenance.json"), record.model_dump_json(indent=2).encode(), "application/json")
    id_number = result.fields.get("id_number")
    with svc.sessions() as s, s.begin():
        if s.get(DocumentRow, result.document_id) is None:
            s.add(DocumentRow(
                id=result.document_id, source_sha256=result.source.sha256, first_page=result.source.pages[0],
                result_code=code, doc_type=result.doc_type,
                id_number_hash=hashlib.sha256(id_number.encode()).hexdigest() if id_number else None,
                verification_status=result.verification.status, needs_review=result.needs_review,
                branch=result.source.branch, result=result.model_dump(mode="json"),
                search_text=fold(" ".join([result.text, *map(str, result.fields.values())])),
            ))


def _size(p: PageResult) -> tuple[int, int]:
    return p.original_size or (p.text.width, p.text.height)


def make_result_code(document_id: str, branch: str | None) -> str:
    """`KQ-<branch>-<yymmdd>-<10 chars>`: unique, readable at a desk, and free of personal data.

    The tail is derived from the document id (a content hash), so the same paper always maps to
    the same code.
    """
    tail = base64.b32encode(hashlib.sha256(document_id.encode()).digest()).decode()[:10]
    branch_part = re.sub(r"[^A-Z0-9]", "", (branch or "HQ").upper())[:12] or "HQ"
    return f"KQ-{branch_part}-{now_vn():%y%m%d}-{tail}"


def _documents_exist(svc: Services, digest: str) -> bool:
    with svc.sessions() as s:
        return _has_documents(s, digest)


def _set_state(svc: Services, file_id: str, state: DocState, error: ProcessingError | None = None) -> None:
    with svc.sessions() as s, s.begin():
        row = s.get(FileRow, file_id)
        if error:
            _fail(row, error)
        else:
            row.state, row.updated_at = state.value, utcnow()


# ============================================================================ 3. read back
def results_for_file(svc: Services, file_id: str) -> list[ResultObject]:
    """The result objects of one received file, named as that file was named (dedup-safe)."""
    with svc.sessions() as s:
        row = s.get(FileRow, file_id)
        batch = s.get(BatchRow, row.batch_id)
        if row.state == DocState.failed.value:
            return [ResultObject(
                document_id=f"f:{row.id}",
                source=Source(file=row.name, sha256=row.sha256, pages=[], branch=batch.branch if batch else None),
                error=ProcessingError(code=row.error_code or "failed", message=row.error_message or ""),
            )]
        docs = s.scalars(select(DocumentRow).where(DocumentRow.source_sha256 == row.sha256)
                         .order_by(DocumentRow.first_page)).all()
        out = []
        for d in docs:
            r = ResultObject.model_validate(d.result)
            r.source.file = row.name  # identical bytes may have arrived under another name
            out.append(r)
        return out


def get_result(svc: Services, result_code: str) -> ResultObject | None:
    with svc.sessions() as s:
        d = s.scalar(select(DocumentRow).where(DocumentRow.result_code == result_code))
        return ResultObject.model_validate(d.result) if d else None


def search(svc: Services, query: str, limit: int = 20) -> list[ResultObject]:
    terms = fold(query).split()
    with svc.sessions() as s:
        stmt = select(DocumentRow)
        for t in terms:
            stmt = stmt.where(DocumentRow.search_text.contains(t))
        return [ResultObject.model_validate(d.result) for d in s.scalars(stmt.order_by(DocumentRow.created_at.desc()).limit(limit))]


__all__ = ["create_batch", "receive", "process_file", "process_file_or_record", "results_for_file", "get_result", "search"]
