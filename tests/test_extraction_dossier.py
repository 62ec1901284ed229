"""Papers of one dossier checked against each other: the card back's verified MRZ fixes a misread ID."""

from __future__ import annotations

from extraction.dossier import cross_check
from sohoa.models import Check, Extraction

MRZ_OK = Check(field="mrz", rule="mrz_check_digits", ok=True)


def back(id_number: str, ok: bool = True) -> Extraction:
    return Extraction(doc_type="cccd_back", fields={"id_number": id_number},
                      checks=[MRZ_OK if ok else MRZ_OK.model_copy(update={"ok": False})])


def front(id_number: str) -> Extraction:
    return Extraction(doc_type="cccd", fields={"id_number": id_number, "full_name": "Phạm Gia Trung"},
                      confidence={"id_number": 0.95})


def test_one_digit_misread_is_corrected_from_the_mrz_and_flagged() -> None:
    f, b = cross_check([front("078093762295"), back("079093762295")])
    assert f.fields["id_number"] == "079093762295"
    assert f.needs_review and f.confidence["id_number"] < 0.8
    assert [c.ok for c in f.checks if c.rule == "agrees_with_mrz_in_dossier"] == [False]
    assert b.fields["id_number"] == "079093762295"


def test_agreeing_numbers_get_a_passing_check() -> None:
    f, _ = cross_check([front("079093762295"), back("079093762295")])
    assert [c.ok for c in f.checks if c.rule == "agrees_with_mrz_in_dossier"] == [True]
    assert not f.needs_review


def test_other_people_and_unverified_mrz_are_left_alone() -> None:
    f, _ = cross_check([front("074302338690"), back("079093762295")])  # another person
    assert f.fields["id_number"] == "074302338690" and not f.checks
    f, _ = cross_check([front("078093762295"), back("079093762295", ok=False)])  # MRZ did not verify
    assert f.fields["id_number"] == "078093762295" and not f.checks
