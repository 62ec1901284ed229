"""Verification statuses exactly as the field contract defines them."""

from __future__ import annotations

from sohoa.models import Extraction
from sohoa.verify import verify

REC = {"id_number": "074187001234", "full_name": "Nguyễn Thị Hồng Nhung", "date_of_birth": "1987-03-12",
       "sex": "Nữ", "place_of_residence": "Số 12 đường Yersin, Phường Phú Cường, thành phố Thủ Dầu Một, tỉnh Bình Dương"}


def lookup(n: str):
    return REC if n == REC["id_number"] else None


def ex(**fields) -> Extraction:
    return Extraction(doc_type="cccd", fields=fields)


def test_match_compares_names_case_insensitively() -> None:
    v = verify(ex(id_number="074187001234", full_name="NGUYỄN THỊ HỒNG NHUNG", date_of_birth="1987-03-12", sex="Nữ"), lookup)
    assert v.status == "match" and v.mismatched_fields == []


def test_mismatch_lists_fields() -> None:
    v = verify(ex(id_number="074187001234", full_name="Nguyễn Thị Hồng Nhung", date_of_birth="1987-03-21", sex="Nam"), lookup)
    assert v.status == "mismatch" and v.mismatched_fields == ["date_of_birth", "sex"]


def test_address_difference_is_a_check_not_a_mismatch() -> None:
    v = verify(ex(id_number="074187001234", full_name="Nguyễn Thị Hồng Nhung",
                  place_of_residence="Số 12 đường Yersin, Phường Thủ Dầu Một, Thành phố Hồ Chí Minh"), lookup)
    assert v.status == "match"
    assert [c.ok for c in v.checks if c.field == "place_of_residence"] == [False]


def test_not_found_and_not_checked() -> None:
    assert verify(ex(id_number="079093762295"), lookup).status == "not_found"
    assert verify(ex(full_name="Ai Đó"), lookup).status == "not_checked"
    assert verify(Extraction(doc_type="official_letter", fields={"document_number": "1/UBND"}), lookup).status == "not_checked"


def test_unsure_misreading_is_a_check_not_a_mismatch() -> None:
    """A name read without its tone marks, with low confidence, is not the citizen's paper
    contradicting the record: it is listed for a person to confirm."""
    doubtful = Extraction(doc_type="cccd", fields={"id_number": "074187001234", "full_name": "Nguyễn Thi Hông Nhung",
                                                   "date_of_birth": "1987-03-13"},
                          confidence={"full_name": 0.4, "date_of_birth": 0.5})
    v = verify(doubtful, lookup, threshold=0.8)
    assert v.status == "match"
    assert sorted(c.field for c in v.checks if c.rule == "registry_differs_where_unsure") == ["date_of_birth", "full_name"]


def test_confident_or_unlike_differences_stay_mismatches() -> None:
    confident = Extraction(doc_type="cccd", fields={"id_number": "074187001234", "full_name": "Nguyễn Thi Hông Nhung"},
                           confidence={"full_name": 0.95})
    assert verify(confident, lookup, threshold=0.8).mismatched_fields == ["full_name"]
    other_name = Extraction(doc_type="cccd", fields={"id_number": "074187001234", "full_name": "Nguyễn Thị Hồng Trang",
                                                     "date_of_birth": "1987-08-21"},
                            confidence={"full_name": 0.3, "date_of_birth": 0.3})
    assert verify(other_name, lookup, threshold=0.8).mismatched_fields == ["full_name", "date_of_birth"]
