"""Papers of one dossier checked against each other: the card back's verified MRZ fixes a misread ID."""

from __future__ import annotations

from extraction.dossier import cross_check
from extraction.mrz import check_digit
from sohoa.models import Check, Extraction

MRZ_OK = Check(field="mrz", rule="mrz_check_digits", ok=True)


def td1(id_number: str, birth: str = "930715", sex: str = "M", expiry: str = "330715",
        name: str = "PHAM<<GIA<TRUNG") -> str:
    """The three MRZ lines of a Vietnamese card, check digits computed."""
    number = id_number[3:]
    l1 = f"IDVNM{number}{check_digit(number)}{id_number}<<<"
    l2 = f"{birth}{check_digit(birth)}{sex}{expiry}{check_digit(expiry)}VNM" + "<" * 11
    l2 += check_digit(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29])
    return "\n".join([l1, l2, name.ljust(30, "<")])


def back(id_number: str, ok: bool = True) -> Extraction:
    return Extraction(doc_type="cccd_back", fields={"id_number": id_number, "mrz": td1(id_number)},
                      checks=[MRZ_OK if ok else MRZ_OK.model_copy(update={"ok": False})])


def front(id_number: str, **fields) -> Extraction:
    fields = {"id_number": id_number, "full_name": "Phạm Gia Trung"} | fields
    return Extraction(doc_type="cccd", fields=fields, confidence={k: 0.9 for k in fields})


def test_one_digit_misread_is_corrected_from_the_mrz_and_flagged() -> None:
    f, b = cross_check([front("078093762295"), back("079093762295")])
    assert f.fields["id_number"] == "079093762295"
    assert f.needs_review and f.confidence["id_number"] < 0.8
    assert [c.ok for c in f.checks if c.rule == "agrees_with_mrz_in_dossier"] == [False]
    assert b.fields["id_number"] == "079093762295"


def test_agreeing_numbers_get_a_passing_check() -> None:
    f, _ = cross_check([front("079093762295"), back("079093762295")])
    assert {c.field: c.ok for c in f.checks if c.rule == "agrees_with_mrz_in_dossier"} == {
        "id_number": True, "full_name": True}
    assert not f.needs_review and f.confidence["id_number"] > 0.9


def test_person_fields_checked_against_the_mrz_of_the_same_card() -> None:
    """Check digits cover the date of birth and sex: agreement raises their confidence, a
    disagreement lowers it and sends the paper to review. The name's letters are compared;
    tone marks are not in the MRZ, so agreement does not raise the name's confidence."""
    f, _ = cross_check([front("079093762295", date_of_birth="1993-07-15", sex="Nam"), back("079093762295")])
    assert f.confidence["date_of_birth"] > 0.9 and f.confidence["sex"] > 0.9
    assert f.confidence["full_name"] == 0.9 and not f.needs_review
    f, _ = cross_check([front("079093762295", date_of_birth="1993-07-16", full_name="Phạm Gia Trang"),
                        back("079093762295")])
    failed = {c.field for c in f.checks if c.rule == "agrees_with_mrz_in_dossier" and not c.ok}
    assert failed == {"date_of_birth", "full_name"}
    assert f.needs_review and f.confidence["date_of_birth"] < 0.6


def test_other_people_and_unverified_mrz_are_left_alone() -> None:
    f, _ = cross_check([front("074302338690"), back("079093762295")])  # another person
    assert f.fields["id_number"] == "074302338690" and not f.checks
    f, _ = cross_check([front("078093762295"), back("079093762295", ok=False)])  # MRZ did not verify
    assert f.fields["id_number"] == "078093762295" and not f.checks
