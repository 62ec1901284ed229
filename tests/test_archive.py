"""Archival metadata after Decree 30/2020 Appendix VI (sohoa/archival.py): the extracted fields land
in the right metadata fields, citizens' personal data never does, and a dossier's totals add up."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sohoa import archival, pipeline
from sohoa.archival import (
    DocumentMetadata,
    DossierMetadata,
    document_metadata,
    dossier_metadata,
)
from sohoa.models import ResultObject, Source
from storage.db import BatchRow, FileRow

LETTER = {"issuing_authority": "Ủy ban nhân dân phường Phú Cường", "document_number": "1234/UBND-KSTTHC",
          "issue_date": "2024-07-05", "subject": "V/v rà soát hồ sơ thủ tục hành chính tồn đọng",
          "signer": "Trần Văn Bình"}
BIRTH = {"full_name": "Lê Minh Khang", "date_of_birth": "2019-04-30", "sex": "Nam", "ethnicity": "Kinh",
         "nationality": "Việt Nam", "id_number": "074219004321", "father_name": "Lê Văn Hùng",
         "mother_name": "Phạm Thị Thu", "registration_number": "215", "registration_book": "01/2019",
         "registration_place": "Ủy ban nhân dân xã Diễn Hồng, huyện Diễn Châu, tỉnh Nghệ An",
         "registration_date": "2019-05-10"}
CARD = {"id_number": "074187001234", "full_name": "Nguyễn Thị Hồng Nhung", "date_of_birth": "1987-03-12",
        "sex": "Nữ", "nationality": "Việt Nam", "place_of_origin": "Xã Diễn Châu, huyện Diễn Châu, tỉnh Nghệ An",
        "place_of_residence": "Số 12 đường Yersin, Phường Phú Cường, thành phố Thủ Dầu Một, tỉnh Bình Dương",
        "date_of_expiry": "2027-03-12"}
CARD_BACK = {"id_number": "074187001234", "date_of_issue": "2021-08-20",
             "personal_identification": "Nốt ruồi C:2cm trên trước mép phải",
             "mrz": "IDVNM0871001234074187001234<<8\n8703124F2703123VNM<<<<<<<<<<<2\nNGUYEN<<THI<HONG<NHUNG<<<<<<<"}
BUSINESS = {"enterprise_code": "0312345678", "company_name": "Công ty TNHH Thương mại Phú Cường",
            "head_office_address": "Số 5 đường Yersin, Phường Phú Cường", "charter_capital_vnd": 1000000000,
            "legal_representative": "Võ Thanh Tùng", "legal_representative_id_number": "079085002468",
            "first_registration_date": "2018-01-15"}


def result(doc_type: str, fields: dict, pages: list[int], sha: str = "a" * 64, code: str = "KQ-B7-240705-AAAAAAAAAA",
           needs_review: bool = False) -> ResultObject:
    return ResultObject(document_id=f"d-{sha[:20]}-p{pages[0]}-{pages[-1]}", doc_type=doc_type, fields=fields,
                        source=Source(file="scan.pdf", sha256=sha, pages=pages, branch="B7"), result_code=code,
                        text="(text)", needs_review=needs_review)


def test_official_letter_fields_land_in_appendix_vi_fields() -> None:
    meta = document_metadata(result("official_letter", LETTER, [3, 4]), "HS-2024-0012", order=2)
    assert meta.file_code == "HS-2024-0012" and meta.doc_ordinal == 2
    assert meta.type_name == "Công văn"
    assert (meta.code_number, meta.code_notation) == ("1234", "UBND-KSTTHC")
    assert meta.issued_date == date(2024, 7, 5)
    assert meta.organ_name == LETTER["issuing_authority"]
    assert meta.subject == LETTER["subject"]
    assert meta.signer_info.full_name == "Trần Văn Bình"
    assert meta.page_amount == 2 and meta.source_pages == [3, 4]
    assert meta.language == "vi" and meta.retention == "10 năm"
    assert meta.document_code == "KQ-B7-240705-AAAAAAAAAA"


def test_number_and_notation_split_at_the_first_slash() -> None:
    assert archival.split_number("12/2020/NĐ-CP") == ("12", "2020/NĐ-CP")
    assert archival.split_number("181") == ("181", None)


def test_birth_certificate_registration_lands_in_metadata_and_the_child_does_not() -> None:
    meta = document_metadata(result("birth_certificate", BIRTH, [1]), "b-1", order=1, received=date(2025, 3, 1))
    assert meta.type_name == "Giấy khai sinh"
    assert meta.code_number == "215" and meta.code_notation is None
    assert meta.issued_date == date(2019, 5, 10)
    assert meta.organ_name == BIRTH["registration_place"]
    assert "Quyển số: 01/2019" in (meta.description or "")
    assert meta.arrival_date == date(2025, 3, 1)
    assert meta.retention == "Vĩnh viễn"
    text = meta.model_dump_json()
    for key in ("full_name", "date_of_birth", "id_number", "father_name", "mother_name"):
        assert BIRTH[key] not in text, key


def test_id_cards_give_only_type_pages_and_date_of_issue() -> None:
    front = document_metadata(result("cccd", CARD, [1]), "b-1", order=1)
    back = document_metadata(result("cccd_back", CARD_BACK, [2]), "b-1", order=2)
    assert front.type_name == "Căn cước công dân" and front.page_amount == 1 and front.issued_date is None
    assert back.issued_date == date(2021, 8, 20)
    for meta in (front, back):
        assert meta.code_number is None and meta.organ_name is None and meta.signer_info.full_name is None
        text = meta.model_dump_json()
        for value in [*CARD.values(), *CARD_BACK.values()]:
            if value not in ("Việt Nam", "Nữ", "2021-08-20"):  # a nationality or sex names nobody
                assert value not in text, value
        # nor in any other spelling: digits of the id number, the name without its tones
        assert "074187001234" not in text and "Nhung" not in text and "NHUNG" not in text


def test_business_registration_keeps_the_register_data_not_the_representative() -> None:
    meta = document_metadata(result("business_registration", BUSINESS, [1]), "b-1", order=1)
    assert meta.code_number == "0312345678"
    assert meta.issued_date == date(2018, 1, 15)
    assert meta.subject == "Đăng ký doanh nghiệp: Công ty TNHH Thương mại Phú Cường"
    text = meta.model_dump_json()
    assert "Võ Thanh Tùng" not in text and "079085002468" not in text


def test_documents_needing_review_say_so() -> None:
    meta = document_metadata(result("official_letter", LETTER, [1], needs_review=True), "b-1", order=1)
    assert meta.needs_review and "kiểm tra lại" in (meta.description or "")


def test_every_field_names_its_vietnamese_label_and_its_place_in_appendix_vi() -> None:
    for model in (DossierMetadata, DocumentMetadata):
        props = model.model_json_schema()["properties"]
        for key, prop in props.items():
            assert prop.get("title") and "vi" in prop, key
    doc = DocumentMetadata.model_json_schema()["properties"]
    assert doc["subject"]["title"] == "Trích yếu nội dung" and doc["subject"]["tag"] == "Subject"
    assert doc["issued_date"]["appendix_vi"] == "II.6"
    dossier = DossierMetadata.model_json_schema()["properties"]
    assert dossier["maintenance"]["title"] == "Thời hạn bảo quản" and dossier["maintenance"]["appendix_vi"] == "III.3"


# ---------------------------------------------------------------- a dossier from the database
def _add(svc, batch_id: str, name: str, sha: str, docs: list[ResultObject], at: datetime,
         state: str = "done", error: str | None = None) -> None:
    with svc.sessions() as s, s.begin():
        s.add(FileRow(id=f"f-{sha[:10]}", batch_id=batch_id, name=name, sha256=sha, size=1, kind="pdf",
                      original_key="", state=state, error_code=error, created_at=at, updated_at=at))
        for r in docs:
            s.add(pipeline._document_row(r))


def _batch(svc, branch: str | None, at: datetime) -> str:
    batch = pipeline.create_batch(svc, branch)
    with svc.sessions() as s, s.begin():
        s.get(BatchRow, batch).created_at = at
    return batch


def test_dossier_totals_dates_and_order_add_up(svc) -> None:
    t0 = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)
    batch = _batch(svc, "B7", t0)
    letter = result("official_letter", LETTER, [1, 2], sha="1" * 64, code="KQ-B7-250301-LETTER0000")
    card = result("cccd", CARD, [1], sha="2" * 64, code="KQ-B7-250301-CARD000000")
    back = result("cccd_back", CARD_BACK, [2], sha="2" * 64, code="KQ-B7-250301-BACK000000")
    birth = result("birth_certificate", BIRTH, [3, 4, 5], sha="2" * 64, code="KQ-B7-250301-BIRTH00000")
    _add(svc, batch, "letter.pdf", "1" * 64, [letter], t0)
    _add(svc, batch, "dossier.pdf", "2" * 64, [birth, card, back], t0 + timedelta(minutes=1))
    _add(svc, batch, "broken.pdf", "3" * 64, [], t0 + timedelta(minutes=2), state="failed", error="encrypted_pdf")

    dossier, docs = archival.describe_dossier(svc, batch)
    assert dossier == dossier_metadata(svc, batch)
    assert dossier.file_code == dossier.file_notation == batch and dossier.organ_id is None
    assert dossier.doc_total == 4 and dossier.page_total == 2 + 1 + 1 + 3
    assert [d.doc_ordinal for d in docs] == [1, 2, 3, 4]
    # files in the order received, each file's documents in page order
    assert dossier.documents == [letter.result_code, card.result_code, back.result_code, birth.result_code]
    assert (dossier.start_date, dossier.end_date) == (date(2019, 5, 10), date(2024, 7, 5))
    assert dossier.maintenance == "Vĩnh viễn"  # the birth certificate's
    assert dossier.creator == "B7" and dossier.rights == "Hạn chế" and dossier.language == "vi"
    assert "1 tệp không xử lý được (encrypted_pdf)" in (dossier.description or "")
    assert all(d.file_code == batch for d in docs)
    assert dossier.file_catalog == 2025
    assert "Giấy khai sinh" in dossier.title and "Căn cước công dân" in dossier.title
    text = dossier.model_dump_json() + "".join(d.model_dump_json() for d in docs)
    assert "Nguyễn Thị Hồng Nhung" not in text and "074187001234" not in text and "Lê Minh Khang" not in text


def test_a_dossier_without_dated_documents_is_dated_by_its_receipt(svc) -> None:
    at = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)  # 09:00 in Vietnam
    batch = _batch(svc, None, at)
    card = result("cccd", CARD, [1], sha="4" * 64, code="KQ-HQ-250301-CARD000000")
    _add(svc, batch, "card.png", "4" * 64, [card], at)
    dossier = dossier_metadata(svc, batch, dossier_code="000.00.00.H41-250301-0007", organ_id="000.00.00.H41")
    assert dossier.start_date == dossier.end_date == date(2025, 3, 1) == dossier.received_at.date()
    assert dossier.file_code == dossier.file_notation == "000.00.00.H41-250301-0007"
    assert dossier.organ_id == "000.00.00.H41"
    assert dossier.creator == svc.settings.default_branch and dossier.maintenance == "5 năm"


def test_a_batch_received_with_a_dossier_code_is_described_under_it(svc) -> None:
    at = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)
    batch = pipeline.create_batch(svc, "B7", dossier_code="000.00.15.H42-250301-0012")
    with svc.sessions() as s, s.begin():
        s.get(BatchRow, batch).created_at = at
    _add(svc, batch, "card.png", "5" * 64, [result("cccd", CARD, [1], sha="5" * 64, code="KQ-B7-250301-CARD000001")], at)
    dossier = dossier_metadata(svc, batch)  # nothing passed: the code it was received under
    assert dossier.file_code == "000.00.15.H42-250301-0012" and dossier.organ_id == "000.00.15.H42"
