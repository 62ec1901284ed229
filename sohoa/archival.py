"""Archival metadata of a dossier (hồ sơ) and of each of its documents (văn bản), after
Decree 30/2020/NĐ-CP on clerical work (công tác văn thư), Appendix VI "Hệ thống quản lý tài liệu
điện tử", Part II "Chuẩn thông tin đầu vào của Hệ thống".

Source followed: the field tables of Appendix VI, Part II — table II "Thông tin đầu vào của dữ
liệu quản lý văn bản đến" (18 fields) for a document and table III "… quản lý hồ sơ" (11 fields)
for a dossier — as transcribed from the decree in the public repository ericphan28/van-ban-plus
(docs/van-ban-phap-quy/nghi-dinh/30-2020-ND-CP/van-ban-goc/30.2020.NĐ-CP/Phuluc6.md); the
official gazette text itself could not be reached from here, so check the numbering against it
before relying on it. A paper handed in at a desk is a "văn bản đến" in the decree's sense (a
document an agency receives from an organisation or a person), hence table II, not table I.

Every field carries its Vietnamese name (the JSON schema `title`), the decree's English tag
(`tag`, e.g. `FileCode`) and its place in the appendix (`appendix_vi`, e.g. "III.2"); our
JSON keys are snake_case English. Fields marked `appendix_vi: null` are our extensions.

What cannot be filled here, and why (docs/archive.md has the full table):
- Mã định danh của cơ quan lập danh mục hồ sơ (III.1.1, OrganId): the agency's electronic
  identifier is not configured anywhere in this service; a caller may pass it.
- Số đến (II.13), Mức độ khẩn/độ mật (II.15), Đơn vị hoặc người nhận (II.16), Ý kiến phân phối,
  chỉ đạo (II.17), Thời hạn giải quyết (II.18): they are assigned by the agency's clerical register
  and its one-stop case system, not printed on the paper.
- Chức vụ người ký (II.14.1): the extractor reads only the signer's name of an official letter.
- Tên cơ quan ban hành of ID cards and business registrations: the issuing office is not an
  extracted field.

Personal data rule: the metadata describes the paper, not the citizen. No name, personal id
number, date of birth, address or parent of a citizen is ever copied into it, whatever the type:
ID cards (cccd, cccd_back, cmnd) contribute only their type name, page count and date of issue;
civil-status papers their registration number, book, date and registering office; a residence
form its date. The only names that appear are those of a public act: the signer of an official
letter (an official acting in office) and a company's registered name.

The retention periods below are configurable defaults chosen for this project, NOT the law:
the binding periods are in the agency's own retention schedule (bảng thời hạn bảo quản).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from storage.db import BatchRow, DocumentRow, FileRow

from . import __version__
from .models import DocType, ResultObject
from .provenance import as_vn

LANGUAGE = "vi"  # ISO 639-1; the decree leaves the coding open (String 30/50)
PERMANENT = "Vĩnh viễn"
# Dossiers handed in at a desk carry citizens' personal data (Decree 13/2023/NĐ-CP): restricted
# by default. A configurable default, not a legal classification.
DEFAULT_RIGHTS = "Hạn chế"

# Configurable default retention per document type: years, or None for permanent. NOT the law.
RETENTION_YEARS: dict[str, int | None] = {
    "birth_certificate": None,  # civil-status papers: kept for good
    "marriage_certificate": None,
    "business_registration": 20,
    "residence_form": 20,
    "official_letter": 10,
    "cccd": 5,
    "cccd_back": 5,
    "cmnd": 5,
    "unknown": 10,
}

TYPE_NAMES: dict[str, str] = {
    "cccd": "Căn cước công dân",
    "cccd_back": "Căn cước công dân (mặt sau)",
    "cmnd": "Chứng minh nhân dân",
    "birth_certificate": "Giấy khai sinh",
    "marriage_certificate": "Giấy chứng nhận kết hôn",
    "official_letter": "Công văn",
    "business_registration": "Giấy chứng nhận đăng ký doanh nghiệp",
    "residence_form": "Tờ khai thay đổi thông tin cư trú",
    "unknown": "Tài liệu chưa xác định loại",
}

# Trích yếu of papers whose content is a citizen's own data: what the paper is for, nothing of whom.
GENERIC_SUBJECTS: dict[str, str] = {
    "cccd": "Giấy tờ tùy thân nộp kèm hồ sơ",
    "cccd_back": "Giấy tờ tùy thân nộp kèm hồ sơ",
    "cmnd": "Giấy tờ tùy thân nộp kèm hồ sơ",
    "birth_certificate": "Đăng ký khai sinh",
    "marriage_certificate": "Đăng ký kết hôn",
    "residence_form": "Đề nghị thay đổi thông tin cư trú",
    "business_registration": "Đăng ký doanh nghiệp",
}


def _f(vi: str, tag: str | None, ref: str | None, default: Any = None) -> Any:
    return Field(default, title=vi, json_schema_extra={"vi": vi, "tag": tag, "appendix_vi": ref})


class ArchivalModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SignerInfo(ArchivalModel):
    position: str | None = _f("Chức vụ của người ký văn bản", "Position", "II.14.1")
    full_name: str | None = _f("Họ và tên người ký văn bản", "FullName", "II.14.2")


class DocumentMetadata(ArchivalModel):
    """One document of a dossier: Appendix VI, Part II, table II (văn bản đến)."""

    file_code: str = _f("Mã hồ sơ", "FileCode", "II.1")
    doc_ordinal: int = _f("Số thứ tự văn bản trong hồ sơ", "DocOrdinal", "II.2")
    type_name: str = _f("Tên loại văn bản", "TypeName", "II.3")
    code_number: str | None = _f("Số của văn bản", "CodeNumber", "II.4")
    code_notation: str | None = _f("Ký hiệu của văn bản", "CodeNotation", "II.5")
    issued_date: date | None = _f("Ngày, tháng, năm văn bản", "IssuedDate", "II.6")
    organ_name: str | None = _f("Tên cơ quan, tổ chức ban hành văn bản", "OrganName", "II.7")
    subject: str | None = _f("Trích yếu nội dung", "Subject", "II.8")
    language: str = _f("Ngôn ngữ", "Language", "II.9", LANGUAGE)
    page_amount: int = _f("Số trang của văn bản", "PageAmount", "II.10")
    description: str | None = _f("Ghi chú", "Description", "II.11")
    arrival_date: date | None = _f("Ngày, tháng, năm đến", "ArrivalDate", "II.12")
    arrival_number: int | None = _f("Số đến", "ArrivalNumber", "II.13")
    signer_info: SignerInfo = Field(default_factory=SignerInfo, title="Chức vụ, họ tên người ký",
                                    json_schema_extra={"vi": "Chức vụ, họ tên người ký", "tag": "SignerInfo",
                                                       "appendix_vi": "II.14"})
    priority: int | None = _f("Mức độ khẩn, độ mật", "Priority", "II.15")
    to_places: str | None = _f("Đơn vị hoặc người nhận", "ToPlaces", "II.16")
    trace_header_list: str | None = _f("Ý kiến phân phối, chỉ đạo, trạng thái xử lý văn bản",
                                       "TraceHeaderList", "II.17")
    due_date: date | None = _f("Thời hạn giải quyết", "DueDate", "II.18")
    # Extensions: what links the description to the digitised artefacts.
    document_code: str | None = _f("Mã định danh văn bản (mã kết quả số hóa)", None, None)
    doc_type: DocType = _f("Loại văn bản (mã trong hệ thống)", None, None, "unknown")
    source_sha256: str = _f("Mã băm SHA-256 của tệp gốc", None, None)
    source_pages: list[int] = _f("Các trang trong tệp gốc", None, None, [])
    retention: str = _f("Thời hạn bảo quản đề xuất (mặc định cấu hình)", None, None)
    needs_review: bool = _f("Cần người kiểm tra lại", None, None, False)


class DossierMetadata(ArchivalModel):
    """One dossier (a batch received at a desk): Appendix VI, Part II, table III (hồ sơ)."""

    file_code: str = _f("Mã hồ sơ", "FileCode", "III.1")
    organ_id: str | None = _f("Mã định danh của cơ quan, tổ chức lập danh mục hồ sơ", "OrganId", "III.1.1")
    file_catalog: int = _f("Năm hình thành hồ sơ", "FileCatalog", "III.1.2")
    file_notation: str = _f("Số và ký hiệu hồ sơ", "FileNotation", "III.1.3")
    title: str = _f("Tiêu đề hồ sơ", "Title", "III.2")
    maintenance: str = _f("Thời hạn bảo quản", "Maintenance", "III.3")
    rights: str = _f("Chế độ sử dụng", "Rights", "III.4", DEFAULT_RIGHTS)
    creator: str = _f("Người lập hồ sơ", "Creator", "III.5")
    language: str = _f("Ngôn ngữ", "Language", "III.6", LANGUAGE)
    start_date: date = _f("Thời gian bắt đầu", "StartDate", "III.7")
    end_date: date = _f("Thời gian kết thúc", "EndDate", "III.8")
    doc_total: int = _f("Tổng số văn bản trong hồ sơ", "DocTotal", "III.9")
    page_total: int = _f("Tổng số trang của hồ sơ", "PageTotal", "III.10")
    description: str | None = _f("Ghi chú", "Description", "III.11")
    # Extensions.
    batch_id: str = _f("Mã lô tiếp nhận", None, None)
    branch: str | None = _f("Chi nhánh (bộ phận một cửa) tiếp nhận", None, None)
    received_at: datetime = _f("Thời điểm tiếp nhận", None, None)
    documents: list[str] = _f("Mã định danh các văn bản, theo số thứ tự", None, None, [])


# ============================================================================ documents
def retention_label(years: int | None) -> str:
    return PERMANENT if years is None else f"{years} năm"


def retention_for(doc_type: str, table: Mapping[str, int | None] = RETENTION_YEARS) -> int | None:
    return table.get(doc_type, table.get("unknown", 10))


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None  # a date the extractor could not normalise is no archival date


def split_number(document_number: str) -> tuple[str | None, str | None]:
    """`1234/UBND-KSTTHC` -> ("1234", "UBND-KSTTHC"): Decree 30 prints the number, then after the
    first slash the notation (ký hiệu)."""
    number, _, notation = document_number.partition("/")
    return number.strip() or None, notation.strip() or None


def _described(result: ResultObject) -> dict[str, Any]:
    """The type-specific part of the metadata, from the extracted fields. A whitelist per type, so
    that a field added to a parser never reaches the archive unless it is named here."""
    f, t = result.fields, result.doc_type
    out: dict[str, Any] = {"subject": GENERIC_SUBJECTS.get(t)}
    if t == "official_letter":
        number, notation = split_number(f["document_number"]) if f.get("document_number") else (None, None)
        out |= {"code_number": number, "code_notation": notation, "issued_date": _date(f.get("issue_date")),
                "organ_name": f.get("issuing_authority"), "subject": f.get("subject"),
                "signer_info": SignerInfo(full_name=f.get("signer"))}
    elif t in ("birth_certificate", "marriage_certificate"):
        out |= {"code_number": f.get("registration_number"), "issued_date": _date(f.get("registration_date")),
                "organ_name": f.get("registration_place"),
                "description": f"Quyển số: {f['registration_book']}" if f.get("registration_book") else None}
    elif t == "business_registration":
        # The enterprise code and registered name are public register data, not a person's.
        out |= {"code_number": f.get("enterprise_code"), "issued_date": _date(f.get("first_registration_date"))}
        if f.get("company_name"):
            out["subject"] = f"Đăng ký doanh nghiệp: {f['company_name']}"
    elif t == "residence_form":
        out["issued_date"] = _date(f.get("declaration_date"))
    elif t == "cccd_back":
        out["issued_date"] = _date(f.get("date_of_issue"))
    return out


def document_metadata(result: ResultObject, dossier_code: str, order: int, received: date | None = None,
                      retention: Mapping[str, int | None] = RETENTION_YEARS) -> DocumentMetadata:
    """A processed document's archival description; `order` is its 1-based place in the dossier,
    `received` the day the dossier came in at the desk."""
    described = _described(result)
    if result.needs_review:
        note = "Dữ liệu trích xuất tự động, cần người kiểm tra lại"
        described["description"] = "; ".join(filter(None, [described.get("description"), note]))
    return DocumentMetadata(
        file_code=dossier_code, doc_ordinal=order, type_name=TYPE_NAMES.get(result.doc_type, TYPE_NAMES["unknown"]),
        page_amount=len(result.source.pages), arrival_date=received, document_code=result.result_code,
        doc_type=result.doc_type, source_sha256=result.source.sha256, source_pages=list(result.source.pages),
        retention=retention_label(retention_for(result.doc_type, retention)), needs_review=result.needs_review,
        **described,
    )


# ============================================================================ dossiers
def received_at(batch: BatchRow) -> datetime:
    """When the dossier came in, in Vietnam time (SQLite hands timestamps back without a zone: UTC)."""
    return as_vn(batch.created_at)


def batch_results(svc, batch_id: str) -> list[ResultObject]:  # noqa: ANN001 - Services
    """The documents of a batch in dossier order (file received, then first page). A file whose
    bytes were processed before, in another batch, contributes those documents, as
    `pipeline.results_for_file` does."""
    with svc.sessions() as s:
        if s.get(BatchRow, batch_id) is None:
            raise KeyError(batch_id)
        files = s.scalars(select(FileRow).where(FileRow.batch_id == batch_id)
                          .order_by(FileRow.created_at, FileRow.id)).all()
        seen: set[str] = set()
        out: list[ResultObject] = []
        for f in files:
            if not f.sha256 or f.sha256 in seen:
                continue
            seen.add(f.sha256)
            docs = s.scalars(select(DocumentRow).where(DocumentRow.source_sha256 == f.sha256)
                             .order_by(DocumentRow.first_page)).all()
            out += [ResultObject.model_validate(d.result) for d in docs]
    return out


def dossier_code_of(batch_id: str, dossier_code: str | None = None) -> str:
    """The dossier's code: the one-stop system's code when the caller has one, else the batch id."""
    return dossier_code or batch_id


def dossier_metadata(svc, batch_id: str, dossier_code: str | None = None, organ_id: str | None = None,  # noqa: ANN001
                     retention: Mapping[str, int | None] = RETENTION_YEARS) -> DossierMetadata:
    return describe_dossier(svc, batch_id, dossier_code, organ_id, retention)[0]


def describe_dossier(svc, batch_id: str, dossier_code: str | None = None, organ_id: str | None = None,  # noqa: ANN001
                     retention: Mapping[str, int | None] = RETENTION_YEARS,
                     ) -> tuple[DossierMetadata, list[DocumentMetadata]]:
    """The dossier's metadata and its documents' (made together, so that they agree)."""
    with svc.sessions() as s:
        batch = s.get(BatchRow, batch_id)
        if batch is None:
            raise KeyError(batch_id)
        failed = s.scalars(select(FileRow.error_code).where(FileRow.batch_id == batch_id,
                                                             FileRow.state == "failed")).all()
    at = received_at(batch)
    code = dossier_code_of(batch_id, dossier_code or batch.dossier_code)
    # The organ is the unit that received the dossier: the unit part of its national code.
    organ_id = organ_id or (batch.dossier_code or "").partition("-")[0] or svc.settings.unit_code
    docs = [document_metadata(r, code, i, at.date(), retention)
            for i, r in enumerate(batch_results(svc, batch_id), start=1)]
    dates = [d.issued_date for d in docs if d.issued_date] or [at.date()]
    branch = batch.branch or svc.settings.default_branch
    dossier = DossierMetadata(
        file_code=code, organ_id=organ_id, file_catalog=at.year, file_notation=code,
        title=_title(branch, at, docs), maintenance=_longest(docs, retention), creator=branch,
        start_date=min(dates), end_date=max(dates), doc_total=len(docs),
        page_total=sum(d.page_amount for d in docs), description=_note(docs, failed),
        batch_id=batch_id, branch=batch.branch, received_at=at, documents=[d.document_code or "" for d in docs],
    )
    return dossier, docs


def _title(branch: str, at: datetime, docs: list[DocumentMetadata]) -> str:
    # Type names only: a title naming the citizen would put personal data in every listing.
    kinds = list(dict.fromkeys(d.type_name for d in docs))
    what = ", ".join(kinds) if kinds else "không có văn bản"
    return f"Hồ sơ tiếp nhận tại {branch} ngày {at:%d/%m/%Y}: {what}"


def _longest(docs: list[DocumentMetadata], table: Mapping[str, int | None]) -> str:
    """A dossier is kept as long as its longest-kept document."""
    periods = [retention_for(d.doc_type, table) for d in docs] or [retention_for("unknown", table)]
    return retention_label(None if None in periods else max(p for p in periods if p is not None))


def _note(docs: list[DocumentMetadata], failed: list[str | None]) -> str:
    parts = [f"Số hóa bằng sohoa {__version__}"]
    if review := sum(d.needs_review for d in docs):
        parts.append(f"{review} văn bản cần người kiểm tra lại dữ liệu trích xuất")
    if failed:
        codes = ", ".join(sorted({c or "failed" for c in failed}))
        parts.append(f"{len(failed)} tệp không xử lý được ({codes})")
    return "; ".join(parts)


__all__ = [
    "RETENTION_YEARS",
    "TYPE_NAMES",
    "DocumentMetadata",
    "DossierMetadata",
    "SignerInfo",
    "batch_results",
    "describe_dossier",
    "document_metadata",
    "dossier_metadata",
    "split_number",
]
