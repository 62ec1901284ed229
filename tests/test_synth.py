"""Tests of the synthetic document generator (sohoa.synth)."""

from __future__ import annotations

import hashlib
import json
import random
import re
import unicodedata
from dataclasses import replace
from datetime import date

import cv2
import numpy as np
import pdfplumber
import pypdfium2
import pytest
from PIL import Image, ImageFilter
from stdnum.vn import mst

from sohoa.synth import data, mrz
from sohoa.synth.corpus import TEXT_PDF_TEMPLATES, generate_corpus
from sohoa.synth.degrade import degrade
from sohoa.synth.people import Address, random_person, tax_code
from sohoa.synth.render import (CARD_TEMPLATES, TEMPLATES, RenderedDoc, render_document,
                                write_text_pdf)
from sohoa.synth.sheet import rasterize

# Two people of /work/shared/samples/truth.jsonl (doc003.png and dossier01.pdf#2), copied here so
# the tests do not depend on the shared folder.
KHOA = dict(surname="Trương", middle="Gia", given="Khoa", sex="Nam",
            date_of_birth=date(1969, 6, 19), id_number="075069789840",
            cccd_issue_date=date(2023, 8, 24),
            personal_identification="Sẹo chấm C:1cm dưới trước mép phải")
KHOA_MRZ = ["IDVNM0697898407075069789840<<<", "6906193M2906195VNM<<<<<<<<<<<5",
            "TRUONG<<GIA<KHOA<<<<<<<<<<<<<<"]
VY = dict(surname="Lý", middle="Bích", given="Vy", sex="Nữ", date_of_birth=date(2002, 7, 21),
          id_number="074302338690", cccd_issue_date=date(2022, 4, 18),
          personal_identification="Nốt ruồi C:2cm trên sau đuôi mắt trái")
VY_MRZ = ["IDVNM3023386900074302338690<<<", "0207212F2707211VNM<<<<<<<<<<<7",
          "LY<<BICH<VY<<<<<<<<<<<<<<<<<<<"]

# doc001.png of the samples: its printed text, wrapping included
HO_MINH_KHOA = dict(surname="Hồ", middle="Minh", given="Khoa", sex="Nam",
                    date_of_birth=date(1990, 3, 26), id_number="040090680553",
                    cccd_issue_date=date(2022, 5, 1),
                    place_of_origin=Address("Xã Diễn Châu", "huyện Diễn Châu", "tỉnh Nghệ An"),
                    place_of_residence=Address("Phường Tân Định", "Quận 1", "Thành phố Hồ Chí Minh",
                                               "Tổ 5, khu phố 2"))
DOC001_TEXT = """CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Độc lập - Tự do - Hạnh phúc
SOCIALIST REPUBLIC OF VIET NAM
Independence - Freedom - Happiness
CĂN CƯỚC CÔNG DÂN
Citizen Identity Card
Số / No.:
040090680553
Họ và tên / Full name:
HỒ MINH KHOA
Ngày sinh / Date of birth:
26/03/1990
Giới tính / Sex:
Nam
Quốc tịch / Nationality:
Việt Nam
Quê quán / Place of origin:
Xã Diễn Châu, huyện Diễn Châu, tỉnh Nghệ An
Nơi thường trú / Place of residence:
Tổ 5, khu phố 2, Phường Tân Định,
Quận 1, Thành phố Hồ Chí Minh
Có giá trị đến:
26/03/2030"""
DOC001_FIELDS = {
    "id_number": "040090680553", "full_name": "Hồ Minh Khoa", "date_of_birth": "1990-03-26",
    "sex": "Nam", "nationality": "Việt Nam",
    "place_of_origin": "Xã Diễn Châu, huyện Diễn Châu, tỉnh Nghệ An",
    "place_of_residence": "Tổ 5, khu phố 2, Phường Tân Định, Quận 1, Thành phố Hồ Chí Minh",
    "date_of_expiry": "2030-03-26",
}

# field keys each doc_type may carry (the contract, /work/shared/spec/document-types.md)
CONTRACT = {
    "cccd": {"id_number", "full_name", "date_of_birth", "sex", "nationality", "place_of_origin",
             "place_of_residence", "date_of_expiry"},
    "cccd_back": {"id_number", "date_of_issue", "personal_identification", "place_of_residence",
                  "place_of_birth", "mrz"},
    "cmnd": {"id_number", "full_name", "date_of_birth", "place_of_origin", "place_of_residence"},
    "birth_certificate": {"full_name", "date_of_birth", "sex", "ethnicity", "nationality",
                          "id_number", "father_name", "mother_name", "registration_number",
                          "registration_book", "registration_place", "registration_date"},
    "official_letter": {"issuing_authority", "document_number", "issue_date", "subject", "signer"},
    "business_registration": {"enterprise_code", "company_name", "head_office_address",
                              "charter_capital_vnd", "legal_representative",
                              "legal_representative_id_number", "first_registration_date"},
    "marriage_certificate": {f"{who}_{what}" for who in ("husband", "wife")
                             for what in ("name", "date_of_birth", "ethnicity", "nationality",
                                          "residence", "id_number")}
                            | {"registration_place", "registration_date", "registration_number",
                               "registration_book"},
    "residence_form": {"addressed_to", "full_name", "date_of_birth", "sex", "id_number", "phone",
                       "email", "head_of_household_name", "relationship_to_head",
                       "head_of_household_id_number", "request", "declaration_date"},
}
DATE_FIELDS = {"date_of_birth", "date_of_expiry", "date_of_issue", "registration_date",
               "issue_date", "first_registration_date", "husband_date_of_birth",
               "wife_date_of_birth", "declaration_date"}


def person(**values):
    return replace(random_person(random.Random(0)), **values)


# --- MRZ ---------------------------------------------------------------------------------------
def test_icao_check_digit_examples():
    # ICAO Doc 9303 part 3 worked examples
    assert mrz.check_digit("L898902C3") == "6"
    assert mrz.check_digit("740812") == "2"
    assert mrz.check_digit("120415") == "9"


@pytest.mark.parametrize("values,expiry,expected", [
    (KHOA, date(2029, 6, 19), KHOA_MRZ),
    (VY, date(2027, 7, 21), VY_MRZ),
])
def test_mrz_reproduces_sample_lines(values, expiry, expected):
    given = f"{values['middle']} {values['given']}"
    lines = mrz.td1(values["id_number"], values["surname"], given, values["date_of_birth"],
                    values["sex"], expiry)
    assert lines == expected
    assert mrz.verify(lines)


@pytest.mark.parametrize("values,expected", [(KHOA, KHOA_MRZ), (VY, VY_MRZ)])
def test_card_back_renders_sample_mrz_and_expiry(values, expected):
    doc = render_document("cccd_back_2021", person(**values), random.Random(1))
    assert doc.fields["mrz"] == "\n".join(expected)
    assert doc.fields["id_number"] == values["id_number"]
    assert doc.fields["date_of_issue"] == values["cccd_issue_date"].isoformat()
    assert doc.text.splitlines()[-3:] == expected


def test_mrz_of_random_people_verifies():
    rng = random.Random(7)
    for _ in range(100):
        for template in ("cccd_back_2021", "cancuoc_back_2024"):
            _, fields = TEMPLATES[template].build(random_person(rng), rng)  # layout only, no pixels
            lines = fields["mrz"].split("\n")
            assert [len(line) for line in lines] == [30, 30, 30]
            assert all(re.fullmatch(r"[A-Z0-9<]{30}", line) for line in lines)
            assert mrz.verify(lines)


# --- people --------------------------------------------------------------------------------------
def test_id_numbers_agree_with_birth_date_sex_and_province():
    codes = {p["code"] for p in data.PROVINCES.values()}
    rng = random.Random(11)
    for _ in range(500):
        p = random_person(rng)
        assert re.fullmatch(r"\d{12}", p.id_number)
        assert p.id_number[:3] in codes
        assert p.id_number[:3] == data.PROVINCES[p.birth_place.province]["code"]
        century = p.date_of_birth.year // 100 - 19
        assert int(p.id_number[3]) == 2 * century + (p.sex == "Nữ")
        assert p.id_number[4:6] == f"{p.date_of_birth.year % 100:02d}"
        assert unicodedata.is_normalized("NFC", p.full_name)
        assert p.full_name == " ".join(w[0].upper() + w[1:] for w in p.full_name.split())


def test_card_expiry_rule():
    # valid to 25/40/60 years of age; issued within 2 years of a milestone -> the next one
    assert person(**KHOA).cccd_expiry == date(2029, 6, 19)
    assert person(**VY).cccd_expiry == date(2027, 7, 21)
    assert person(date_of_birth=date(1986, 9, 27), cccd_issue_date=date(2024, 6, 9)).cccd_expiry \
        == date(2026, 9, 27)
    assert person(date_of_birth=date(1990, 1, 1), cccd_issue_date=date(2028, 6, 1)).cccd_expiry \
        == date(2050, 1, 1)
    old = person(date_of_birth=date(1955, 1, 1), cccd_issue_date=date(2022, 1, 1))
    assert old.cccd_expiry is None
    doc = render_document("cccd_front_2021", old, random.Random(0))
    assert "date_of_expiry" not in doc.fields
    assert doc.text.endswith("Có giá trị đến:\nKhông thời hạn")


def test_tax_codes_validate():
    rng = random.Random(5)
    for _ in range(300):
        code = tax_code(rng, rng.choice([p["tax"] for p in data.PROVINCES.values()]))
        assert len(code) == 10 and mst.is_valid(code)
    for _ in range(30):
        doc = render_document("business_registration", random_person(rng), rng)
        f = doc.fields
        assert mst.is_valid(f["enterprise_code"])
        assert isinstance(f["charter_capital_vnd"], int)
        printed = f"{f['charter_capital_vnd']:,}".replace(",", ".") + " đồng"
        assert f"Vốn điều lệ: {printed}" in doc.text
        assert f["company_name"] == f["company_name"].upper()


# --- rendering -----------------------------------------------------------------------------------
def test_sample_card_is_reproduced_exactly():
    doc = render_document("cccd_front_2021", person(**HO_MINH_KHOA), random.Random(3))
    assert doc.text == DOC001_TEXT
    assert doc.fields == DOC001_FIELDS
    assert (doc.doc_type, doc.variant) == ("cccd", "2021")
    assert doc.image.size == (1012, 638) and doc.image.mode == "RGB"


@pytest.mark.parametrize("template", list(TEMPLATES))
def test_every_template_follows_the_contract(template):
    rng = random.Random(template)
    for _ in range(5):
        p = random_person(rng)
        doc = render_document(template, p, rng)
        assert isinstance(doc, RenderedDoc)
        assert doc.doc_type == TEMPLATES[template].doc_type
        assert set(doc.fields) <= CONTRACT[doc.doc_type]
        for key, value in doc.fields.items():
            assert value != "" and value is not None
            if isinstance(value, str):
                assert unicodedata.is_normalized("NFC", value)
                assert value == value.strip() and not value.endswith((",", ".", ";"))
            if key in DATE_FIELDS:
                date.fromisoformat(value)
        assert unicodedata.is_normalized("NFC", doc.text)
        assert doc.image.mode == "RGB"
        assert doc.image.size == ((1012, 638) if template in CARD_TEMPLATES else (1654, 2339))
        if doc.doc_type == "cccd" and doc.variant == "2024":
            assert "place_of_origin" not in doc.fields
        if doc.doc_type == "cmnd":
            assert re.fullmatch(r"\d{9}", doc.fields["id_number"]) and "sex" not in doc.fields


def _fine_structure(img: Image.Image) -> np.ndarray:
    """Pixels that stand out from their 2-px neighbourhood: 1-px lines do, smooth tints do not."""
    grey = img.convert("L")
    sharp = np.asarray(grey, np.float32)
    soft = np.asarray(grey.filter(ImageFilter.GaussianBlur(2)), np.float32)
    return np.abs(sharp - soft) > 4


@pytest.mark.parametrize("template", CARD_TEMPLATES)
def test_cards_print_a_guilloche_under_the_text(template):
    rng = random.Random(template)
    doc = render_document(template, random_person(rng), rng)
    sheet = doc.sheet
    # the background is what the text and photo leave free (grown by 3 px for anti-aliasing)
    bare = rasterize(replace(sheet, pattern=None), 300).convert("L")
    background = np.asarray(bare.filter(ImageFilter.MinFilter(7))) == 255
    assert background.mean() > 0.6
    assert _fine_structure(doc.image)[background].mean() > 0.5
    # the same render without the line-work: the zigzag tint alone is smooth
    tint_only = rasterize(replace(sheet, pattern=replace(sheet.pattern, linework=())), 300)
    assert _fine_structure(tint_only)[background].mean() < 0.05
    # pale enough that the text (ink at ~25) stands well clear of the darkest lines
    pattern = np.asarray(Image.fromarray(sheet.pattern.raster(1012, 638, 1.0)).convert("L"))
    assert np.percentile(pattern, 1) > 110 and np.median(pattern) > 190
    assert doc.text == "\n".join(sheet.lines)


def test_card_guilloche_is_deterministic_and_varies():
    def one(seed):
        rng = random.Random(seed)
        return render_document("cancuoc_back_2024", random_person(rng), rng)

    a, b, c = one(4), one(4), one(5)
    assert a.image.tobytes() == b.image.tobytes() and a.text == b.text
    assert a.sheet.pattern.linework != c.sheet.pattern.linework


def test_birth_certificate_registration_place_form():
    doc = render_document("birth_certificate", random_person(random.Random(2)), random.Random(2))
    place = doc.fields["registration_place"]
    assert re.fullmatch(r"Ủy ban nhân dân (Phường|Xã|Thị trấn) .+", place)
    assert doc.image.size == (1654, 2339)


# --- text-layer PDFs -----------------------------------------------------------------------------
def _squash(s: str) -> str:
    return " ".join(s.split())


@pytest.mark.parametrize("template", ["official_letter", "business_registration",
                                      "birth_certificate"])
def test_text_pdf_has_extractable_vietnamese_text(template, tmp_path):
    rng = random.Random(template)
    doc = render_document(template, random_person(rng), rng)
    path = tmp_path / "letter.pdf"
    write_text_pdf([doc], path)
    with pdfplumber.open(path) as pdf:
        assert len(pdf.pages) == 1
        text = unicodedata.normalize("NFC", pdf.pages[0].extract_text())
    flat = _squash(text)
    for line in doc.text.splitlines():
        assert _squash(line) in flat, line
    for value in doc.fields.values():
        if isinstance(value, str) and template != "official_letter":
            assert value.upper() in flat.upper() or "-" in value  # ISO dates are printed d/m/y


# --- degradation ---------------------------------------------------------------------------------
@pytest.mark.parametrize("level", ["clean", "scan", "photo"])
def test_degrade_is_deterministic_and_rotates(level):
    doc = render_document("cmnd_front", random_person(random.Random(1)), random.Random(1))
    a = degrade(doc.image, level, random.Random(42), rotation=90)
    b = degrade(doc.image, level, random.Random(42), rotation=90)
    assert np.array_equal(np.asarray(a), np.asarray(b))
    assert a.mode == "RGB" and a.height > a.width  # a landscape card turned by 90 degrees
    if level == "clean":
        assert a.size == (638, 1012)
        assert np.array_equal(np.asarray(a.transpose(Image.Transpose.ROTATE_270)),
                              np.asarray(doc.image))
    c = degrade(doc.image, level, random.Random(43))
    if level != "clean":
        assert not np.array_equal(np.asarray(c), np.asarray(degrade(doc.image, level,
                                                                      random.Random(42))))


@pytest.mark.parametrize("template,seeds", [("cmnd_front", range(4)),
                                            ("birth_certificate", range(1))])
def test_photo_level_samples_the_paper_at_120_to_150_dpi(template, seeds):
    rng = random.Random(1)
    doc = render_document(template, random_person(rng), rng)  # cards at 300 dpi, pages at 200
    paper_w, paper_h = doc.image.width / doc.dpi, doc.image.height / doc.dpi  # inches
    for seed in seeds:
        photo = degrade(doc.image, "photo", random.Random(seed))
        dpi = photo.info["dpi"][0]
        assert 120 <= dpi <= 150
        # the frame holds the turned paper plus some table, at the recorded dpi ...
        assert 0.95 < photo.width / dpi / paper_w < 1.6
        assert 0.95 < photo.height / dpi / paper_h < 1.6
        # ... and the paper (light, on a darker table) covers its physical area at that dpi
        grey = np.asarray(photo.convert("L"))
        _, paper = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        area = np.count_nonzero(paper) / dpi ** 2
        assert 0.85 < area / (paper_w * paper_h) < 1.1


def test_render_is_deterministic():
    def one(seed):
        rng = random.Random(seed)
        return render_document("official_letter", random_person(rng), rng)

    a, b = one(9), one(9)
    assert a.fields == b.fields and a.text == b.text
    assert a.image.tobytes() == b.image.tobytes()
    assert one(10).fields != a.fields


# --- corpus --------------------------------------------------------------------------------------
def _open_pages(path) -> int:
    if path.suffix == ".pdf":
        pdf = pypdfium2.PdfDocument(str(path))
        n = len(pdf)
        for i in range(n):
            assert pdf[i].render(scale=0.2).to_pil().size[0] > 0
        pdf.close()
        return n
    with Image.open(path) as im:
        n = getattr(im, "n_frames", 1)
        for i in range(n):
            im.seek(i)
            im.load()
        return n


def test_generate_corpus_writes_openable_files_and_truth(tmp_path):
    rows = generate_corpus(tmp_path, 1, ["clean", "scan"], seed=3,
                           formats=("png", "jpg", "pdf", "tiff"), dossiers=1, text_pdfs=1,
                           rotations=True)
    lines = (tmp_path / "truth.jsonl").read_text("utf-8").splitlines()
    truth = [json.loads(line) for line in lines]
    assert truth == json.loads(json.dumps(rows))
    # singles, dossier as PDF + TIFF, text PDFs
    assert len(rows) == len(TEMPLATES) * 2 + 3 * 2 + len(TEXT_PDF_TEMPLATES)
    pages: dict[str, int] = {}
    for row in rows:
        assert list(row)[:1] == ["file"]
        keys = {"template", "doc_type", "variant", "level", "rotation", "fields", "text"}
        assert keys <= set(row)
        assert row["rotation"] in (0, 90, 180, 270)
        assert set(row["fields"]) <= CONTRACT[row["doc_type"]]
        path = tmp_path / row["file"]
        if row["file"] not in pages:
            pages[row["file"]] = _open_pages(path)
        if "pages" in row:
            assert row["pages"][0] <= pages[row["file"]]
    assert {p.suffix for p in map(lambda f: tmp_path / f, pages)} >= {".pdf", ".tif"}
    dossier = [r for r in rows if r["file"].startswith("dossier") and r["file"].endswith(".pdf")]
    assert [r["pages"] for r in dossier] == [[1], [2], [3]]
    assert len({r["fields"]["id_number"] for r in dossier}) == 1  # one person's papers
    assert pages[dossier[0]["file"]] == 3
    text_pdfs = [r for r in rows if r.get("text_layer")]
    assert {r["doc_type"] for r in text_pdfs} >= {"official_letter", "business_registration"}
    with pdfplumber.open(tmp_path / text_pdfs[0]["file"]) as pdf:
        assert _squash(text_pdfs[0]["text"].splitlines()[0]) in _squash(pdf.pages[0].extract_text())
    assert (tmp_path / "registry.csv").read_text("utf-8").startswith("id_number,full_name,")
    expected = json.loads((tmp_path / "expected_verification.json").read_text("utf-8"))
    assert expected
    assert all(re.fullmatch(r"match|not_found|mismatch:\w+", v) for v in expected.values())


def test_generate_corpus_is_deterministic(tmp_path):
    def run(sub, workers):
        out = tmp_path / sub
        rows = generate_corpus(out, 1, ["photo"], seed=8, formats=("jpg", "pdf"), text_pdfs=1,
                               workers=workers)
        digests = {f.name: hashlib.sha256(f.read_bytes()).hexdigest()
                   for f in sorted(out.iterdir())}
        return rows, digests

    assert run("a", 1) == run("b", 2)  # same bytes, in one process or several
