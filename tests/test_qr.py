"""QR codes of chip ID cards: generated, decoded from the page, parsed and checked against the print."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date

import cv2
import numpy as np
import pytest

from extraction.extract import extract
from extraction.fields import REVIEW_THRESHOLD
from extraction.qr import (
    FILLED_CONFIDENCE,
    FILLED_RULE,
    RULE,
    parse_payload,
    same_address,
)
from extraction.testing import page_from_text
from ingest.pages import RawPage
from ocr.codes import detect_and_decode, find_qr_codes
from ocr.read import read_page
from sohoa.config import PreprocessOptions
from sohoa.models import OcrLine, PageText
from sohoa.synth import qr
from sohoa.synth.degrade import degrade
from sohoa.synth.people import random_person
from sohoa.synth.render import render_document

EXAMPLE = ("074187001234|281234567|Nguyễn Thị Hồng Nhung|12031987|Nữ|"
           "Số 12 đường Yersin, Phường Phú Cường, Thành phố Thủ Dầu Một, Bình Dương|15082021")
ISSUE_DATE = {"cccd_front_2021": "cccd_issue_date", "cancuoc_back_2024": "cancuoc_issue_date"}


def card(template: str, seed: int, level: str = "clean"):
    """A rendered (and degraded) chip card, its person and the payload its QR code carries."""
    rng = random.Random(seed)
    person = random_person(rng)
    doc = render_document(template, person, rng)
    image = degrade(doc.image, level, rng) if level != "clean" else doc.image
    return doc, image, qr.payload(person, getattr(person, ISSUE_DATE[template]))


# --- payload -------------------------------------------------------------------------------------
def test_payload_is_parsed_into_normal_forms():
    got = parse_payload(EXAMPLE)
    assert got is not None
    assert got.id_number == "074187001234" and got.old_id_number == "281234567"
    assert got.full_name == "Nguyễn Thị Hồng Nhung"
    assert (got.date_of_birth, got.date_of_issue) == ("1987-03-12", "2021-08-15")
    assert got.sex == "Nữ"
    assert got.place_of_residence == "Số 12 đường Yersin, Phường Phú Cường, Thành phố Thủ Dầu Một, Bình Dương"


def test_payload_with_an_empty_old_id_and_an_upper_case_name():
    got = parse_payload("079203001122||TRẦN VĂN AN|01022003|Nam|Phường 1, Quận 3, Thành phố Hồ Chí Minh|02032022")
    assert got is not None
    assert got.old_id_number is None
    assert got.full_name == "Trần Văn An" and got.sex == "Nam" and got.date_of_birth == "2003-02-01"


@pytest.mark.parametrize("text", [
    "",
    "https://dichvucong.gov.vn/p/home/dvc-trang-chu.html",
    EXAMPLE.rsplit("|", 1)[0],  # a field short
    EXAMPLE + "|extra",
    EXAMPLE.replace("074187001234", "07418700123"),  # 11 digits
    EXAMPLE.replace("074187001234", "0741870O1234"),
    EXAMPLE.replace("281234567", "28123"),
    EXAMPLE.replace("12031987", "31021987"),  # no 31 February
    EXAMPLE.replace("12031987", "12/03/1987"),
    EXAMPLE.replace("|Nữ|", "|X|"),
    EXAMPLE.replace("Nguyễn Thị Hồng Nhung", ""),
    EXAMPLE.replace("Nguyễn Thị Hồng Nhung", "12031987"),
])
def test_malformed_payloads_are_rejected(text):
    assert parse_payload(text) is None


def test_generated_payload_round_trips_through_the_parser():
    person = random_person(random.Random(4))
    got = parse_payload(qr.payload(person, person.cancuoc_issue_date))
    assert got is not None
    assert (got.id_number, got.full_name, got.sex) == (person.id_number, person.full_name, person.sex)
    assert got.date_of_birth == person.date_of_birth.isoformat()
    assert got.date_of_issue == person.cancuoc_issue_date.isoformat()
    assert got.place_of_residence == person.place_of_residence.full()


def test_old_id_only_for_people_who_could_hold_a_cmnd():
    person = random_person(random.Random(1))
    assert qr.old_id(replace(person, date_of_birth=date(1980, 5, 1))) == person.cmnd_number
    assert qr.old_id(replace(person, date_of_birth=date(2004, 5, 1))) == ""


# --- generator -------------------------------------------------------------------------------------
@pytest.mark.parametrize("template", list(ISSUE_DATE))
def test_chip_cards_print_a_qr_code_of_realistic_size(template):
    doc, _, payload = card(template, 3)
    modules = qr.matrix(payload)
    dark = [op for op in doc.sheet.ops if op[0] == "rect" and op[5] == (25, 25, 28)]
    xs = [op[1] for op in dark] + [op[3] for op in dark]
    ys = [op[2] for op in dark] + [op[4] for op in dark]
    side_cm = (max(xs) - min(xs)) / 300 * 2.54
    assert 1.4 <= side_cm <= 1.8
    assert abs((max(ys) - min(ys)) - (max(xs) - min(xs))) < 1
    # one rectangle a run of dark modules of the symbol
    assert len(dark) == sum(len(qr.runs(row)) for row in modules)


def test_cards_without_a_chip_qr_print_none():
    for template in ("cccd_back_2021", "cancuoc_front_2024", "cmnd_front"):
        rng = random.Random(2)
        doc = render_document(template, random_person(rng), rng)
        assert not [op for op in doc.sheet.ops if op[0] == "rect" and op[5] == (25, 25, 28)]


# --- decoding --------------------------------------------------------------------------------------
@pytest.mark.parametrize("template", list(ISSUE_DATE))
@pytest.mark.parametrize("level", ["clean", "scan"])
def test_generated_card_decodes_to_its_payload(template, level):
    _, image, payload = card(template, 11, level)
    assert find_qr_codes(np.asarray(image)) == [payload]


@pytest.mark.parametrize("seed,found", [(20, 1), (8, 0)])
def test_blurred_scans_are_decoded_by_the_retries(seed, found):
    """Scans one pass does not decode: the symbol found but unreadable (decoded from an enlarged
    crop), or not even found (the card-sized page searched again enlarged)."""
    _, image, payload = card("cccd_front_2021", seed, "scan")
    grey = cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2GRAY)
    texts, missed = detect_and_decode(cv2.QRCodeDetectorAruco(), grey)
    assert texts == [] and len(missed) == found
    assert find_qr_codes(grey) == [payload]


def test_page_without_a_qr_code_gives_nothing():
    rng = random.Random(5)
    doc = render_document("official_letter", random_person(rng), rng)
    assert find_qr_codes(np.asarray(doc.image)) == []
    assert find_qr_codes(np.full((500, 400), 255, np.uint8)) == []


@pytest.mark.parametrize("bad", [np.zeros((0, 0), np.uint8), np.zeros((5, 5), np.uint8),
                                 np.zeros((10, 10, 10, 3), np.uint8), None, "not an image"])
def test_decoding_never_raises(bad):
    assert find_qr_codes(bad) == []


class _BlankEngine:
    """An OCR engine that reads nothing: read_page's QR search does not depend on the text."""

    name = "blank"

    def version(self) -> dict[str, str]:
        return {"blank": "0"}

    def detect_orientation(self, grey):
        return 0, 0.0

    def read_line(self, grey, alphabet):
        return "", 0.0

    def recognize(self, grey) -> list[OcrLine]:
        return []


def test_read_page_records_the_codes_of_a_card_and_skips_text_layers():
    _, image, payload = card("cccd_front_2021", 12, "scan")
    opts = PreprocessOptions(detect_orientation=False)
    result = read_page(RawPage(1, image, 300.0), _BlankEngine(), opts)
    assert result.text.codes == [payload]
    layer = read_page(RawPage(1, image, 300.0, text_lines=[]), _BlankEngine(), opts)
    assert layer.text.source == "text_layer" and layer.text.codes == []


# --- cross-check -------------------------------------------------------------------------------------
def front_page(seed: int = 21, drop_name: bool = False, confidence: float = 0.9) -> tuple[PageText, object]:
    """The printed text of a 2021 front as OCR lines (optionally with its name line lost), and
    its person."""
    rng = random.Random(seed)
    person = random_person(rng)
    doc = render_document("cccd_front_2021", person, rng)
    lines = [ln for ln in doc.text.splitlines() if not (drop_name and ln == person.full_name_upper)]
    return page_from_text("\n".join(lines), confidence), person


def with_codes(page: PageText, *codes: str) -> PageText:
    return page.model_copy(update={"codes": list(codes)})


SHARED_FRONT = ["id_number", "full_name", "date_of_birth", "sex", "place_of_residence"]


def test_agreeing_fields_are_checked_and_raise_confidence():
    page, person = front_page()
    plain = extract([page])
    checked = extract([with_codes(page, qr.payload(person, person.cccd_issue_date))])
    assert plain.fields == checked.fields
    qr_checks = {c.field: c for c in checked.checks if c.rule == RULE}
    assert sorted(qr_checks) == sorted(SHARED_FRONT) and all(c.ok for c in qr_checks.values())
    for name in SHARED_FRONT:
        assert checked.confidence[name] >= plain.confidence[name]
    assert any(checked.confidence[n] > plain.confidence[n] for n in SHARED_FRONT)
    assert not checked.needs_review


def test_disagreeing_printed_field_fails_and_goes_to_review():
    page, person = front_page()
    other = replace(person, date_of_birth=date(person.date_of_birth.year, 1, 1)
                    if person.date_of_birth.month != 1 else date(person.date_of_birth.year, 2, 2))
    plain = extract([page])
    checked = extract([with_codes(page, qr.payload(other, person.cccd_issue_date))])
    failed = [c for c in checked.checks if c.rule == RULE and not c.ok]
    assert [c.field for c in failed] == ["date_of_birth"]
    assert checked.fields["date_of_birth"] == plain.fields["date_of_birth"]  # the print is kept
    assert checked.confidence["date_of_birth"] < plain.confidence["date_of_birth"]
    assert checked.needs_review and not plain.needs_review


def test_missing_printed_field_is_filled_from_the_qr_code():
    page, person = front_page(drop_name=True)
    plain = extract([page])
    assert "full_name" not in plain.fields and "full_name" in plain.missing and plain.needs_review
    checked = extract([with_codes(page, qr.payload(person, person.cccd_issue_date))])
    assert checked.fields["full_name"] == person.full_name
    assert checked.confidence["full_name"] == FILLED_CONFIDENCE > REVIEW_THRESHOLD
    assert "full_name" not in checked.missing
    assert any(c.field == "full_name" and c.rule == FILLED_RULE for c in checked.checks)


def test_card_back_checks_id_and_issue_date():
    rng = random.Random(8)
    person = random_person(rng)
    doc = render_document("cancuoc_back_2024", person, rng)
    page = page_from_text(doc.text, 0.9)
    good = extract([with_codes(page, qr.payload(person, person.cancuoc_issue_date))])
    assert good.doc_type == "cccd_back"
    oks = {c.field: c.ok for c in good.checks if c.rule == RULE}
    assert oks == {"id_number": True, "date_of_issue": True, "place_of_residence": True}
    late = extract([with_codes(page, qr.payload(person, date(2025, 12, 31)))])
    assert {c.field: c.ok for c in late.checks if c.rule == RULE}["date_of_issue"] is False
    assert late.needs_review


def test_unparseable_or_foreign_codes_change_nothing():
    page, _ = front_page()
    plain = extract([page])
    assert extract([with_codes(page, "https://example.org", "")]) == plain


def test_address_comparison_ignores_form_but_not_units():
    a = "Số 12 đường Yersin, Phường Phú Cường, Thành phố Thủ Dầu Một, Bình Dương"
    assert same_address(a, "Số 12 đường Yersin, Phường Phú Cường,\nThành phố Thủ Dầu Một , Bình Dương")
    assert same_address(a, "Số 12 đường Yersin, P. Phú Cường, TP. Thủ Dầu Một, Bình Dương")
    assert same_address(a, "Số 12 đường Yersin, Phường Phú Cuờng, Thành phố Thủ Dầu Một, Bình Dương")  # OCR slip
    assert not same_address(a, "Số 12 đường Yersin, Phường Phú Lợi, Thành phố Thủ Dầu Một, Bình Dương")
    assert not same_address(a, "Số 72 đường Yersin, Phường Phú Cường, Thành phố Thủ Dầu Một, Bình Dương")
    assert not same_address(a, "Số 12 đường Yersin, Phường Phú Cường, Thành phố Thủ Dầu Một")
    assert not same_address(a, "")
