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
                                                   "date_of_birth": "1987-03-12"},
                          confidence={"full_name": 0.4, "date_of_birth": 0.5})
    v = verify(doubtful, lookup, threshold=0.8)
    assert v.status == "match"
    assert [c.field for c in v.checks if c.rule == "registry_differs_where_unsure"] == ["full_name"]
    # a date one digit off is not excused, however unsure: registrations get days wrong too
    off = doubtful.model_copy(update={"fields": {**doubtful.fields, "date_of_birth": "1987-03-13"}})
    assert verify(off, lookup, threshold=0.8).mismatched_fields == ["date_of_birth"]


def test_confident_or_unlike_differences_stay_mismatches() -> None:
    confident = Extraction(doc_type="cccd", fields={"id_number": "074187001234", "full_name": "Nguyễn Thi Hông Nhung"},
                           confidence={"full_name": 0.95})
    assert verify(confident, lookup, threshold=0.8).mismatched_fields == ["full_name"]
    other_name = Extraction(doc_type="cccd", fields={"id_number": "074187001234", "full_name": "Nguyễn Thị Hồng Trang",
                                                     "date_of_birth": "1987-08-21"},
                            confidence={"full_name": 0.3, "date_of_birth": 0.3})
    assert verify(other_name, lookup, threshold=0.8).mismatched_fields == ["full_name", "date_of_birth"]


def test_unsure_id_one_digit_from_the_same_person_is_a_misreading() -> None:
    read = Extraction(doc_type="cccd", fields={"id_number": "074187001284", "full_name": "Nguyễn Thị Hồng Nhung",
                                               "date_of_birth": "1987-03-12"}, confidence={"id_number": 0.5})

    def near(n: str) -> list[dict]:
        return [REC] if sum(a != b for a, b in zip(n, REC["id_number"])) == 1 else []

    v = verify(read, lookup, threshold=0.8, near=near)
    assert v.status == "match"
    assert [(c.rule, c.ok) for c in v.checks if c.field == "id_number"] == [("registry_near_id", False)]
    # read with confidence, or another person's name: the id is simply not in the registry
    sure = read.model_copy(update={"confidence": {"id_number": 0.95}})
    assert verify(sure, lookup, threshold=0.8, near=near).status == "not_found"
    other = read.model_copy(update={"fields": {**read.fields, "full_name": "Trần Văn Nam"}})
    assert verify(other, lookup, threshold=0.8, near=near).status == "not_found"


def test_lookup_near_finds_records_one_digit_away(svc) -> None:
    from sohoa import registry

    csv_text = "id_number,full_name,date_of_birth,sex,place_of_residence\n" + ",".join(
        f'"{REC[k]}"' for k in ("id_number", "full_name", "date_of_birth", "sex", "place_of_residence")) + "\n"
    registry.import_csv(csv_text, svc.sessions, source="test")
    assert [r["id_number"] for r in registry.lookup_near(svc.sessions, "074187001284")] == [REC["id_number"]]
    assert registry.lookup_near(svc.sessions, "074187001289") == []  # two digits away
    assert registry.lookup_near(svc.sessions, REC["id_number"]) == []  # the id itself is not "near"
