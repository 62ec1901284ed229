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
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import cv2
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from extraction.addresses import resolve_places
from extraction.dossier import cross_check
from extraction.extract import extract
from extraction.normalize import fold
from extraction.split import split_dossier
from ingest.errors import IngestError
from ingest.names import display_name
from ingest.pages import RawPage, count_pages, iter_pages
from ingest.sniff import sniff
from ingest.unpack import unpack_zip
from ocr.alto import to_alto
from ocr.pool import TimedPage, read_timed
from ocr.read import PageResult
from ocr.searchable_pdf import make_searchable_pdf
from storage import changes
from storage import search as index
from storage.db import BatchRow, DocumentRow, FileRow, utcnow
from storage.objects import ObjectNotFound, original_key, result_key, sha256

from . import __version__, chain, dossiers, metrics, registry
from .models import (DocState, Extraction, FileKind, PageText, ProcessingError, ProvenanceRecord, ResultObject,
                     Source, Verification)
from .provenance import VN_TZ, StepRecorder, as_vn, now_vn, sign
from .services import Services
from .verify import raises_doubt, verify

log = logging.getLogger("sohoa.pipeline")


# ============================================================================ 1. ingest
@dataclass
class Accepted:
    batch_id: str
    files: list[list[str]]  # file ids per received file (a ZIP gives its own and its members')
    replayed: bool = False  # the Idempotency-Key named a batch accepted before: nothing was added
    # The files left to process (not failed at ingest, not seen before), with their page counts:
    # what the broker is told, without reading back what was just written.
    queued: dict[str, int | None] = field(default_factory=dict)
    dossier_code: str | None = None

    @property
    def file_ids(self) -> list[str]:
        return [fid for group in self.files for fid in group]


def accept(svc: Services, files: Iterable[tuple[str, bytes]], branch: str | None,
           idempotency_key: str | None = None, sender: str | None = None,
           dossier_code: str | None = None) -> Accepted:
    """Receive a whole batch: every original is stored first, then the batch and all its files are
    recorded in one transaction. Either the client hears 'accepted' and every file is queued, or
    nothing is recorded and a retry with the same idempotency key starts clean.

    `dossier_code` (national format, sohoa/dossiers.py) is checked before anything is stored:
    DossierCodeError. Without one, a service with its own unit code issues the next."""
    idempotency_key = (idempotency_key or "").strip() or None  # an empty key is no key (found by schemathesis)
    if idempotency_key and (earlier := _batch_for_key(svc, idempotency_key)):
        return earlier
    code = dossiers.parse(dossier_code) if dossier_code else _issue_dossier_code(svc)
    batch_id = _new_id("b-")
    groups = [_prepare(svc, batch_id, name, data) for name, data in files]
    rows = [row for group in groups for row in group]
    # The dossier's provenance starts with its reception, committed with it.
    # `sender`: who handed the files in (an API key id, a watched folder), after the service and branch.
    actor = _actor(svc, branch) + (f"/{sender}" if sender else "")
    received = chain.sign_event(chain.new_event(batch_id, "received", 1, chain.GENESIS, actor,
                                                **_reception(rows, code)), svc.signing_key)
    chain.put(svc, [received])
    try:
        with svc.sessions() as s, s.begin():
            s.add(BatchRow(id=batch_id, branch=branch, idempotency_key=idempotency_key,
                           dossier_code=str(code) if code else None))
            s.flush()  # the batch row first: PostgreSQL checks the files' foreign key at once
            _commit_files(s, rows)
            s.add(chain.row(received))
    except IntegrityError:
        # Two retries of one upload raced: the other one's batch stands.
        if idempotency_key and (earlier := _batch_for_key(svc, idempotency_key)):
            return earlier
        raise
    return Accepted(batch_id, [[row.id for row in group] for group in groups],
                    queued={r.id: r.pages for r in rows if r.state == DocState.queued.value},
                    dossier_code=str(code) if code else None)


def _issue_dossier_code(svc: Services) -> dossiers.DossierCode | None:
    """The service's next code for today, when it has a unit code. In a transaction of its own,
    before the reception is signed (which records it): an upload that fails after this leaves a
    gap in the day's numbers, never a number given twice."""
    if not svc.settings.unit_code:
        return None
    with svc.sessions() as s, s.begin():
        return dossiers.issue(s, svc.settings.unit_code, now_vn().date())


def create_batch(svc: Services, branch: str | None, dossier_code: str | None = None) -> str:
    """An empty batch that files are added to one by one (`receive`): the CLI and tests."""
    code = dossiers.parse(dossier_code) if dossier_code else _issue_dossier_code(svc)
    batch_id = _new_id("b-")
    with svc.sessions() as s, s.begin():
        s.add(BatchRow(id=batch_id, branch=branch, dossier_code=str(code) if code else None))
    return batch_id


def receive(svc: Services, batch_id: str, name: str, data: bytes) -> list[str]:
    """Store one received file and queue it. Never raises for a bad file: it is recorded as failed."""
    rows = _prepare(svc, batch_id, name, data)
    with svc.sessions() as s, s.begin():
        _commit_files(s, rows)
        branch = s.get(BatchRow, batch_id).branch
    chain.append(svc, batch_id, "received", _actor(svc, branch), **_reception(rows))
    return [row.id for row in rows]


def _actor(svc: Services, branch: str | None) -> str:
    return f"{svc.settings.service_name}@{svc.settings.site}/branch:{branch or '-'}"


def _reception(rows: list[FileRow], code: dossiers.DossierCode | None = None) -> dict:
    """What a reception event records: the dossier code, each file's name and state, and its
    original's key and hash."""
    files = {"files": [{"name": r.name, "state": r.state, "error": r.error_code} for r in rows]}
    return {"software": {"sohoa": __version__},
            "parameters": ({"dossier_code": str(code)} if code else {}) | files,
            "outputs": {r.original_key: r.sha256 for r in rows if r.original_key}}


def _batch_for_key(svc: Services, key: str) -> Accepted | None:
    with svc.sessions() as s:
        batch = s.scalar(select(BatchRow).where(BatchRow.idempotency_key == key))
        if batch is None:
            return None
        ids = s.scalars(select(FileRow.id).where(FileRow.batch_id == batch.id).order_by(FileRow.created_at)).all()
    return Accepted(batch.id, [list(ids)], replayed=True, dossier_code=batch.dossier_code)


def _new_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:20]


def _prepare(svc: Services, batch_id: str, name: str, data: bytes, depth: int = 0) -> list[FileRow]:
    """The original stored, and its file row(s) ready to record: ZIP members are files of their own."""
    name = display_name(name)
    digest = sha256(data)
    key = original_key(digest)
    # The original is safe before anything looks inside it: nothing received is ever lost.
    if not svc.store.exists(key):
        svc.store.put(key, data)
    row = FileRow(id=_new_id("f-"), batch_id=batch_id, name=name, sha256=digest, size=len(data),
                  original_key=key, state=DocState.queued.value, created_at=utcnow())
    limits = svc.settings.limits
    try:
        if len(data) > limits.max_file_bytes:
            raise IngestError("file_too_large", f"{len(data)} bytes; the limit is {limits.max_file_bytes}")
        kind = sniff(data[:2048])
        row.kind = kind.value
        if kind is not FileKind.zip:
            row.pages = count_pages(data, kind)  # routes the work (short or long) and fails early
            if row.pages > limits.max_pages:
                raise IngestError("too_many_pages", f"{row.pages} pages; the limit is {limits.max_pages}")
    except IngestError as exc:
        _fail(row, exc.to_model())
        return [row]
    if kind is not FileKind.zip:
        return [row]
    row.state = DocState.done.value  # the archive itself is kept; its members are the work
    return [row, *_prepare_zip(svc, row, data, depth)]


def _prepare_zip(svc: Services, zip_row: FileRow, data: bytes, depth: int) -> list[FileRow]:
    limits = svc.settings.limits
    try:
        if depth >= limits.max_zip_depth:
            raise IngestError("zip_too_deep", f"ZIP nested deeper than {limits.max_zip_depth} level(s)")
        members = unpack_zip(data, limits)
    except IngestError as exc:
        _fail(zip_row, exc.to_model())
        return []
    rows: list[FileRow] = []
    for m in members:
        member_name = f"{zip_row.name}/{m.name}"
        if m.error:
            failed = FileRow(id=_new_id("f-"), batch_id=zip_row.batch_id, name=member_name, sha256="", size=0,
                             original_key="", state=DocState.queued.value, created_at=utcnow())
            _fail(failed, m.error.to_model())
            rows.append(failed)
        else:
            rows += _prepare(svc, zip_row.batch_id, member_name, m.data or b"", depth + 1)
    return rows


def _commit_files(s, rows: list[FileRow]) -> None:  # noqa: ANN001 - a Session in a transaction
    queued = {r.sha256 for r in rows if r.state == DocState.queued.value}
    # Identical bytes processed before: their documents are the result, nothing is redone.
    seen = set(s.scalars(select(DocumentRow.source_sha256).where(DocumentRow.source_sha256.in_(queued))).all()) if queued else set()
    for row in rows:
        if row.state == DocState.queued.value and row.sha256 in seen:
            row.state = DocState.done.value
        row.updated_at = row.created_at
    s.add_all(rows)


def _fail(row: FileRow, error: ProcessingError) -> None:
    row.state, row.error_code, row.error_message, row.updated_at = DocState.failed.value, error.code, error.message, utcnow()


def _has_documents(s, digest: str) -> bool:  # noqa: ANN001 - a Session
    return s.scalar(select(DocumentRow.id).where(DocumentRow.source_sha256 == digest).limit(1)) is not None


# ============================================================================ 2. process
@dataclass
class _Context:
    svc: Services
    row: FileRow
    branch: str | None
    recorder: StepRecorder


def process_file(svc: Services, file_id: str) -> list[ResultObject]:
    """Run one queued file through the whole pipeline, its pages read here (or in this process's
    OCR pool). Bad input is recorded on the file row; infrastructure errors propagate, so that
    the caller (a worker) can retry."""
    return _process(svc, file_id, lambda ctx, data: _read_pages(ctx, data))


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


def _process(svc: Services, file_id: str, pages_of) -> list[ResultObject]:  # noqa: ANN001 - (ctx, bytes) -> pages
    ctx = _context(svc, file_id)
    if ctx is None:
        return results_for_file(svc, file_id)
    try:
        data = _load_original(ctx)
        results = _documents(ctx, pages_of(ctx, data))
    except IngestError as exc:
        _set_state(svc, file_id, DocState.failed, exc.to_model())
        log.info("file %s failed: %s", file_id, exc.code)
        return results_for_file(svc, file_id)
    return results


def _context(svc: Services, file_id: str) -> _Context | None:
    """What processing a file needs to know; None when there is nothing (left) to do."""
    with svc.sessions() as s:
        row = s.get(FileRow, file_id)
        if row is None:
            raise KeyError(file_id)
        batch = s.get(BatchRow, row.batch_id)
        branch = batch.branch if batch else None
    if row.state in (DocState.done.value, DocState.failed.value):
        return None
    if _documents_exist(svc, row.sha256):
        _set_state(svc, file_id, DocState.done)
        return None
    return _Context(svc, row, branch, StepRecorder(actor=_actor(svc, branch)))


def _load_original(ctx: _Context) -> bytes:
    row = ctx.row
    try:
        data = ctx.svc.store.get(row.original_key)
    except ObjectNotFound:
        raise IngestError("original_missing", "the stored original is missing from object storage") from None
    if sha256(data) != row.sha256:
        raise IngestError("original_damaged", "the stored original no longer matches its SHA-256")
    with ctx.recorder.step("ingest", software={"sohoa": __version__},
                           parameters={"file": row.name, "kind": row.kind, "size": row.size},
                           inputs={"original": row.sha256}) as out:
        out[row.original_key] = row.sha256  # an object key: `sohoa verify` re-hashes it
    return data


def _read_pages(ctx: _Context, data: bytes) -> list[PageResult]:
    svc = ctx.svc
    pages = iter_pages(data, FileKind(ctx.row.kind), svc.settings.limits, dpi=svc.settings.preprocess.render_dpi)
    pool = svc.page_pool
    # In-process, engines load on the first page that needs OCR (a text-layer PDF never loads one).
    timed = pool.read(pages) if pool else (
        read_timed(raw, svc.ocr if raw.text_lines is None else None, svc.settings) for raw in pages)
    results: list[PageResult] = []
    for page in timed:
        page.raw.image = None  # the page is kept compressed (result.original_jpeg) from here on
        _record_page(ctx, page)
        results.append(page.result)
    return results


def _record_page(ctx: _Context, page: TimedPage) -> None:
    settings = ctx.svc.settings
    source = "text_layer" if page.result.text.source == "text_layer" else "ocr"
    software = {"sohoa": __version__, "opencv": cv2.__version__} | page.versions
    ctx.recorder.record(f"read_page_{page.raw.number}", page.started_at, page.finished_at, software=software,
                        parameters={"source": source, "ocr_engine": settings.ocr_engine,
                                    **settings.preprocess.model_dump()},
                        inputs={"original": ctx.row.sha256},
                        outputs={"text": sha256(page.result.text.text.encode())})
    metrics.observe_page(ctx.branch, source)


# ---------------------------------------------------------------- 2b. pages of a long file, fanned out
def read_file_page(svc: Services, file_id: str, number: int) -> None:
    """Read page `number` of a long file and keep the reading in object storage, where the
    worker that finishes the file (`finish_file`) finds it. Idempotent: a page read before is
    not read again."""
    with svc.sessions() as s:
        row = s.get(FileRow, file_id)
    key = _page_key(row.sha256, number)
    if row.state != DocState.processing.value or svc.store.exists(key):
        return
    data = svc.store.get(row.original_key)
    [raw] = iter_pages(data, FileKind(row.kind), svc.settings.limits,
                       dpi=svc.settings.preprocess.render_dpi, only=number)
    page = read_timed(raw, svc.ocr if raw.text_lines is None else None, svc.settings)
    page.raw.image = None
    svc.store.put(key, _page_to_json(page), "application/json")


def pages_read(svc: Services, file_id: str) -> tuple[set[int], int]:
    """(numbers of the pages read so far, pages in the file) of a fanned-out file."""
    with svc.sessions() as s:
        row = s.get(FileRow, file_id)
    keys = svc.store.list(_pages_prefix(row.sha256))
    return {int(k.rsplit("/", 1)[1].split(".")[0]) for k in keys}, row.pages or 0


def finish_file(svc: Services, file_id: str) -> list[ResultObject]:
    """The rest of the pipeline for a file whose pages were read by `read_file_page`."""
    def stored_pages(ctx: _Context, _data: bytes) -> list[PageResult]:
        pages = [_page_from_json(ctx.svc.store.get(_page_key(ctx.row.sha256, n)))
                 for n in range(1, (ctx.row.pages or 0) + 1)]
        for page in pages:
            _record_page(ctx, page)
        return [p.result for p in pages]

    results = _process(svc, file_id, stored_pages)
    with svc.sessions() as s:
        row = s.get(FileRow, file_id)
    if row.state == DocState.done.value:  # the readings served their purpose
        for key in svc.store.list(_pages_prefix(row.sha256)):
            svc.store.delete(key)
    return results


def drop_stale_readings(svc: Services) -> int:
    """Remove the page readings of files no longer being read (done or failed). `finish_file`
    removes them itself right after its commit; this catches a worker that died in between.
    Returns how many objects were removed."""
    keys = svc.store.list("work/")
    digests = {k.split("/")[1] for k in keys}
    if not digests:
        return 0
    with svc.sessions() as s:
        busy = set(s.scalars(select(FileRow.sha256).where(
            FileRow.sha256.in_(digests), FileRow.state.in_([DocState.queued.value, DocState.processing.value]))))
    stale = [k for k in keys if k.split("/")[1] not in busy]
    for key in stale:
        svc.store.delete(key)
    return len(stale)


def _pages_prefix(digest: str) -> str:
    return f"work/{digest}/pages/"


def _page_key(digest: str, number: int) -> str:
    return f"{_pages_prefix(digest)}{number:05d}.json"


def _page_to_json(page: TimedPage) -> bytes:
    r = page.result
    b64 = lambda b: base64.b64encode(b).decode() if b is not None else None  # noqa: E731
    return json.dumps({
        "number": page.raw.number, "dpi": r.dpi, "started_at": str(page.started_at),
        "finished_at": str(page.finished_at), "versions": page.versions, "text": r.text.model_dump(mode="json"),
        "cleaned_png": b64(r.cleaned_png), "original_jpeg": b64(r.original_jpeg),
        "original_size": list(r.original_size) if r.original_size else None,
    }).encode()


def _page_from_json(blob: bytes) -> TimedPage:
    d = json.loads(blob)
    unb64 = lambda v: base64.b64decode(v) if v is not None else None  # noqa: E731
    result = PageResult(text=PageText.model_validate(d["text"]), cleaned=None, original_jpeg=unb64(d["original_jpeg"]),
                        dpi=d["dpi"], cleaned_png=unb64(d["cleaned_png"]),
                        original_size=tuple(d["original_size"]) if d["original_size"] else None)
    return TimedPage(RawPage(d["number"], None, d["dpi"]), result, d["started_at"], d["finished_at"], d["versions"])


# ---------------------------------------------------------------- 2c. pages -> documents -> stored results
def _documents(ctx: _Context, pages: list[PageResult]) -> list[ResultObject]:
    groups = split_dossier([p.text for p in pages])
    by_number = {p.text.page: p for p in pages}
    documents = [_extract_document(ctx, [by_number[t.page] for t in group]) for group in groups]
    checked = cross_check([d.extraction for d in documents])
    finished = [_finish_document(ctx, d, ex) for d, ex in zip(documents, checked)]
    _commit_documents(ctx, finished)
    for f in finished:
        metrics.observe_document(ctx.branch, f.result.doc_type)
        chain.append(ctx.svc, ctx.row.batch_id, "document_stored", ctx.recorder.actor,
                     parameters={"file": ctx.row.name, "pages": f.result.source.pages, "doc_type": f.result.doc_type},
                     outputs={f.result.result_code: f.events[-1].hash})
    return [f.result for f in finished]


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


@dataclass
class _Finished:
    result: ResultObject
    row: DocumentRow
    events: list[chain.Event]  # the result's provenance chain, stored, committed with the row


def _finish_document(ctx: _Context, doc: _Extracted, ex: Extraction) -> _Finished:
    """Registry check and storage of one document, after the dossier cross-checks."""
    svc, row, pages, steps = ctx.svc, ctx.row, doc.pages, doc.steps
    numbers = [p.text.page for p in pages]
    document_id = f"d-{row.sha256[:20]}-p{numbers[0]}-{numbers[-1]}"
    text = "\n".join(p.text.text for p in pages)
    if ex is not doc.extraction:
        with steps.step("cross_check", parameters={"rule": "agrees_with_mrz_in_dossier"}) as out:
            out["fields"] = sha256(json.dumps(ex.fields, sort_keys=True, ensure_ascii=False).encode())

    with steps.step("verify", parameters={"record_source": "registry"}) as out:
        ver = check_registry(svc, ex)
        out["verification"] = sha256(ver.model_dump_json().encode())

    result_code = make_result_code(document_id, ctx.branch, row.created_at)
    result = ResultObject(
        document_id=document_id,
        source=Source(file=row.name, sha256=row.sha256, pages=numbers, branch=ctx.branch),
        doc_type=ex.doc_type, fields=ex.fields, confidence=ex.confidence, checks=ex.checks + ver.checks,
        missing=ex.missing, needs_review=ex.needs_review or raises_doubt(ver),
        verification=ver, places=resolve_places(ex.fields), text=text, result_code=result_code,
        provenance=f"sohoa://{result_key(result_code, 'provenance.json')}",
    )
    _store_objects(ctx, result, pages, steps)
    events = chain.from_steps(result_code, steps.steps, svc.signing_key)
    chain.put(svc, events)
    return _Finished(result, _document_row(result), events)


def check_registry(svc: Services, ex: Extraction) -> Verification:
    """The extracted (or corrected) fields against the population registry."""
    return verify(ex, lambda n: registry.lookup(svc.sessions, n), threshold=svc.calibration.threshold,
                  near=lambda n: registry.lookup_near(svc.sessions, n))


def _store_objects(ctx: _Context, result: ResultObject, pages: list[PageResult], steps: StepRecorder) -> None:
    """The result's artefacts and signed provenance, under its result code. Writing them again
    (a retried task) overwrites the same keys: no second result appears."""
    svc = ctx.svc
    code = result.result_code
    assert code
    record = sign(ProvenanceRecord(result_code=code, document_id=result.document_id,
                                   steps=steps.steps, created_at=now_vn()), svc.signing_key)
    with steps.step("store", parameters={"backend": svc.settings.storage_backend}) as out:
        def put(name: str, data: bytes, content_type: str) -> None:
            key = result_key(code, name)
            out[key] = svc.store.put(key, data, content_type)  # keyed by object: `sohoa verify` re-hashes

        for p in pages:
            if p.cleaned_png is not None:
                put(f"pages/{p.text.page}.png", p.cleaned_png, "image/png")
        for p in pages:
            w, h = _size(p)
            put(f"alto/{p.text.page}.xml", to_alto(p.text, f"{result.source.file}#page={p.text.page}", w, h),
                "application/xml")
        if any(p.original_jpeg for p in pages):
            put("searchable.pdf", make_searchable_pdf([(p.original_jpeg, p.text, p.dpi)
                                                       for p in pages if p.original_jpeg], title=code),
                "application/pdf")
        put("text.txt", result.text.encode(), "text/plain; charset=utf-8")
        put("result.json", result.model_dump_json(indent=2).encode(), "application/json")
        # The processing record up to here, signed on its own (readable without the chain).
        put("provenance.json", record.model_dump_json(indent=2).encode(), "application/json")


def _document_row(result: ResultObject) -> DocumentRow:
    id_number = result.fields.get("id_number")
    return DocumentRow(
        id=result.document_id, source_sha256=result.source.sha256, first_page=result.source.pages[0],
        result_code=result.result_code, doc_type=result.doc_type,
        id_number_hash=hashlib.sha256(id_number.encode()).hexdigest() if id_number else None,
        verification_status=result.verification.status, needs_review=result.needs_review,
        branch=result.source.branch, result=result.model_dump(mode="json"),
        search_text=fold(" ".join([result.text, *map(str, result.fields.values())])),
    )


def _commit_documents(ctx: _Context, finished: list[_Finished]) -> None:
    """All documents of the file, their provenance chains, and the file's `done`, in one
    transaction: a crash before it leaves the file to be processed again whole, never half
    recorded (the retry rewrites the same objects and events)."""
    with ctx.svc.sessions() as s, s.begin():
        new = [f for f in finished if s.get(DocumentRow, f.row.id) is None]
        for f in new:
            s.add(f.row)
            s.add_all(chain.row(ev) for ev in f.events)
        file_row = s.get(FileRow, ctx.row.id)
        file_row.state, file_row.lease_until, file_row.updated_at = DocState.done.value, None, utcnow()
        changes.record(s, [f.row.result_code for f in new], changes.CREATED)  # last: it locks the feed


def _size(p: PageResult) -> tuple[int, int]:
    return p.original_size or (p.text.width, p.text.height)


def make_result_code(document_id: str, branch: str | None, received: datetime) -> str:
    """`KQ-<branch>-<yymmdd>-<10 chars>`: unique, readable at a desk, and free of personal data.

    The tail is derived from the document id (a content hash) and the date is the day the file
    was received, so the same paper always maps to the same code, however often it is retried.
    """
    tail = base64.b32encode(hashlib.sha256(document_id.encode()).digest()).decode()[:10]
    branch_part = re.sub(r"[^A-Z0-9]", "", (branch or "HQ").upper())[:12] or "HQ"
    day = as_vn(received)
    return f"KQ-{branch_part}-{day:%y%m%d}-{tail}"


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
        row.lease_until = None


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


class Holding(BaseModel):
    """One stored result that answers "does the state already hold this paper?"."""

    result_code: str
    doc_type: str
    verification_status: str  # against the registry: match, mismatch, check, not_found, …
    provenance_ok: bool  # its event chain's hashes, links and signatures verify
    expired: bool | None = None  # by the paper's own expiry date, when it has one
    stored_at: datetime

    @property
    def usable(self) -> bool:
        return self.provenance_ok and self.verification_status == "match" and not self.expired


def holdings(svc: Services, doc_type: str, id_number: str) -> list[Holding]:
    """Stored results of `doc_type` for the citizen with `id_number`, newest first. Looked up by the
    number's SHA-256 (the number itself is not indexed in clear)."""
    digest = hashlib.sha256(id_number.encode()).hexdigest()
    with svc.sessions() as s:
        rows = s.scalars(select(DocumentRow).where(DocumentRow.id_number_hash == digest,
                                                   DocumentRow.doc_type == doc_type)
                         .order_by(DocumentRow.created_at.desc())).all()
    today = now_vn().date()
    out = []
    for row in rows:
        expiry = parse_iso_date(row.result.get("fields", {}).get("date_of_expiry"))
        out.append(Holding(result_code=row.result_code, doc_type=row.doc_type,
                           verification_status=row.verification_status,
                           provenance_ok=not chain.verify_subject(svc, row.result_code, check_objects=False),
                           expired=(expiry < today) if expiry else None,
                           stored_at=as_vn(row.created_at)))
    return out


def parse_iso_date(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def search(svc: Services, query: str, limit: int = 20, offset: int = 0, *, doc_type: str | None = None,
           branch: str | None = None, created_from: date | None = None, created_to: date | None = None,
           verification_status: str | None = None, needs_review: bool | None = None) -> index.SearchPage:
    """A page of stored documents matching every word and "phrase" of `query`, with or without
    diacritics, best first (storage/search.py; docs/search.md). The page iterates over its hits.

    `created_from`/`created_to` are days of the desks' calendar (Vietnam time), both included."""
    def start_of(day: date | None) -> datetime | None:
        return datetime(day.year, day.month, day.day, tzinfo=VN_TZ) if day else None

    filters = index.Filters(doc_type=doc_type, branch=branch, verification_status=verification_status,
                            needs_review=needs_review, created_from=start_of(created_from),
                            created_to=start_of(created_to + timedelta(days=1) if created_to and created_to < date.max
                                                else None))
    with svc.sessions() as s:
        return index.search(s.connection(), query, filters, limit=limit, offset=offset)


__all__ = ["accept", "create_batch", "receive", "process_file", "read_file_page", "finish_file", "process_file_or_record", "results_for_file", "get_result", "search"]
