"""Digitised copies (Decree 30/2020/NĐ-CP): the scan at 100 % in colour, the "SAO Y" details at
the top right of page 1, an invisible PAdES signature that validates offline, and the provenance
event that records each copy issued."""

from __future__ import annotations

import hashlib
import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pdfplumber
import pikepdf
import pytest
from pikepdf import PdfImage
from PIL import Image, ImageDraw
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from sohoa import chain, pipeline
from sohoa.certs import DevPki, init_dev_pki
from sohoa.config import Settings
from sohoa.copies import (
    MARGIN,
    copy_pages,
    issue_copy,
    make_copy,
    sign_copy,
    validate_copy,
)
from storage.objects import original_key

from .docs import card_png, text_pdf

AT = datetime(2026, 11, 26, 14, 3, 22, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
AGENCY = "Trung tâm Phục vụ hành chính công tỉnh Bình Dương"
A5_300 = (1748, 2480)  # A5 at 300 dpi: small enough to be quick, a real page size
SEAL = (1400, 2100)  # centre of the red "seal" drawn on the scan
ISO_VN = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return init_dev_pki(tmp_path_factory.mktemp("pki"), AGENCY, b"")


@pytest.fixture(scope="module")
def other_pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return init_dev_pki(tmp_path_factory.mktemp("other"), AGENCY, b"")


def colour_scan(size: tuple[int, int] = A5_300, dpi: float | None = 300, fmt: str = "PNG") -> bytes:
    """A pale page with black text bars and a red seal, saved with its resolution (or none)."""
    img = Image.new("RGB", size, (248, 244, 232))
    draw = ImageDraw.Draw(img)
    for i in range(8):
        draw.rectangle((150, 600 + 120 * i, size[0] - 150, 640 + 120 * i), fill=(20, 20, 20))
    x, y = SEAL if size == A5_300 else (size[0] // 2, size[1] // 2)
    draw.ellipse((x - 180, y - 180, x + 180, y + 180), outline=(200, 20, 30), width=30)
    buf = io.BytesIO()
    img.save(buf, fmt, **({"dpi": (dpi, dpi)} if dpi else {}), **({"quality": 90} if fmt == "JPEG" else {}))
    return buf.getvalue()


def words(pdf: bytes, page: int = 0) -> tuple[list[dict], float, float]:
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        p = doc.pages[page]
        return p.extract_words(extra_attrs=["fontname", "size", "non_stroking_color"]), p.width, p.height


# ============================================================================ the PDF
def test_copy_is_the_scan_at_100_percent_in_colour() -> None:
    pdf = make_copy([(colour_scan(), 300.0), (colour_scan(), 300.0)], AGENCY, AT)
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        assert tuple(map(int, doc.pdf_version.split("."))) >= (1, 4)
        assert len(doc.pages) == 2
        for page in doc.pages:
            x0, y0, x1, y1 = (float(v) for v in page.MediaBox)
            assert abs((x1 - x0) - A5_300[0] / 300 * 72) < 0.5
            assert abs((y1 - y0) - A5_300[1] / 300 * 72) < 0.5
            [image] = [PdfImage(obj) for obj in page.get_images().values()]
            assert (image.width, image.height) == A5_300  # never resampled
            assert image.colorspace == "/DeviceRGB"
            pil = image.as_pil_image()
            r, g, b = pil.getpixel((SEAL[0], SEAL[1] - 165))  # on the seal's ring
            assert r > 150 and g < 80 and b < 80  # still red: colour kept


def test_jpeg_scan_is_embedded_as_it_is() -> None:
    jpeg = colour_scan(fmt="JPEG")
    pdf = make_copy([(jpeg, 300.0)], AGENCY, AT)
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        [obj] = doc.pages[0].get_images().values()
        filters = obj.Filter if isinstance(obj.Filter, pikepdf.Array) else [obj.Filter]
        assert list(filters) == [pikepdf.Name.DCTDecode] and obj.read_raw_bytes() == jpeg


def test_stamp_at_top_right_of_page_one_in_times_10pt_black() -> None:
    # A UTC time is shown in Vietnam's zone, as the decree asks.
    pdf = make_copy([(colour_scan(), 300.0), (colour_scan(), 300.0)], AGENCY,
                    datetime(2026, 11, 26, 7, 3, 22, tzinfo=UTC))
    found, width, height = words(pdf)
    text = " ".join(w["text"] for w in found)
    assert text == f"SAO Y {AGENCY} Thời gian ký: 2026-11-26T14:03:22+07:00"
    assert any(ISO_VN.fullmatch(w["text"]) for w in found)
    for w in found:
        assert "Liberation" in w["fontname"] or "Times" in w["fontname"]
        assert round(w["size"], 1) == 10.0
        assert tuple(w["non_stroking_color"]) in ((0, 0, 0), (0,))
        assert w["bottom"] < height / 4  # at the top
    lines: dict[float, list[dict]] = {}
    for w in found:
        lines.setdefault(round(w["top"]), []).append(w)
    assert len(lines) == 3
    for line in lines.values():
        right = max(w["x1"] for w in line)
        left = min(w["x0"] for w in line)
        assert abs(right - (width - MARGIN)) < 1  # right-aligned, 10 mm in
        assert (left + right) / 2 > width / 2  # at the right
    assert min(w["top"] for w in found) < MARGIN + 5  # first line starts about 10 mm from the top
    assert words(pdf, page=1)[0] == []  # page 1 only


def test_long_agency_name_wraps_on_a_card_sized_scan() -> None:
    card = colour_scan(size=(1012, 638))  # 85.7 x 54 mm at 300 dpi
    agency = "Trung tâm Phục vụ hành chính công tỉnh Bình Dương, Chi nhánh thành phố Thủ Dầu Một"
    found, width, _ = words(make_copy([(card, 300.0)], agency, AT))
    assert " ".join(w["text"] for w in found) == f"SAO Y {agency} Thời gian ký: 2026-11-26T14:03:22+07:00"
    assert min(w["x0"] for w in found) >= MARGIN - 1  # nothing runs off the page
    assert max(w["x1"] for w in found) <= width - MARGIN + 1


def test_below_200_dpi_is_refused_not_upsampled() -> None:
    with pytest.raises(ValueError, match=r"page 1 is 150 dpi.*at least 200"):
        make_copy([(colour_scan(dpi=150), 150.0)], AGENCY, AT)
    with pytest.raises(ValueError, match=r"page 2 is 199 dpi"):
        make_copy([(colour_scan(), 300.0), (colour_scan(dpi=199), 199.0)], AGENCY, AT)


def test_originals_give_their_own_resolution(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    # PNG stores pixels per metre: a 200-dpi scan reads back as 199.9996 dpi and must pass.
    [(_, dpi)] = copy_pages(colour_scan(dpi=200), [1], settings)
    assert dpi == 200.0
    jpeg = colour_scan(fmt="JPEG")
    assert copy_pages(jpeg, [1], settings) == [(jpeg, 300.0)]  # the scan's own bytes
    with pytest.raises(ValueError, match="150 dpi"):
        copy_pages(colour_scan(dpi=150), [1], settings)
    with pytest.raises(ValueError, match="states no resolution"):
        copy_pages(colour_scan(dpi=None), [1], settings)  # never assumed
    [(rendered, dpi)] = copy_pages(text_pdf(["Giấy xác nhận"]), [1], settings)
    assert dpi == 300.0 and Image.open(io.BytesIO(rendered)).size == (round(86 / 25.4 * 300), round(54 / 25.4 * 300))


# ============================================================================ signature
def signed_copy(pki: DevPki, scan: bytes | None = None) -> bytes:
    return sign_copy(make_copy([(scan or colour_scan(), 300.0)], AGENCY, AT), pki.agency_p12, b"", AT, AGENCY)


def test_signed_copy_validates_and_shows_no_signature(pki: DevPki) -> None:
    signed = signed_copy(pki)
    v = validate_copy(signed, [pki.ca_pem.read_bytes()])
    assert (v.valid, v.intact, v.trusted, v.problems) == (True, True, True, [])
    assert v.signer == AGENCY and v.signed_at == AT
    with pikepdf.open(io.BytesIO(signed)) as doc:
        [field] = doc.Root.AcroForm.Fields
        assert field.FT == pikepdf.Name.Sig
        assert [float(x) for x in field.Rect] == [0, 0, 0, 0]  # invisible: no signature image
        assert field.V.SubFilter == pikepdf.Name("/ETSI.CAdES.detached")  # PAdES
        assert str(field.V.Reason) == "SAO Y" and str(field.V.M) == "D:20261126140322+07'00'"
        [annot] = doc.pages[0].Annots
        assert annot.objgen == field.objgen


def test_tampered_copy_is_not_intact(pki: DevPki) -> None:
    jpeg = colour_scan(fmt="JPEG")
    signed = bytearray(signed_copy(pki, jpeg))
    at = signed.index(jpeg[len(jpeg) // 2:len(jpeg) // 2 + 32])
    with pikepdf.open(io.BytesIO(bytes(signed))) as doc:
        a, b, c, d = (int(x) for x in doc.Root.AcroForm.Fields[0].V.ByteRange)
    assert a <= at < a + b or c <= at < c + d  # the changed byte is one the signature covers
    signed[at] ^= 0x01
    v = validate_copy(bytes(signed), [pki.ca_pem.read_bytes()])
    assert not v.valid and not v.intact
    assert any("changed after signing" in p for p in v.problems)


def test_content_added_after_signing_is_caught(pki: DevPki) -> None:
    """An incremental update leaves the signed bytes intact but paints over the page."""
    w = IncrementalPdfFileWriter(io.BytesIO(signed_copy(pki)))
    box = w.add_object(generic.StreamObject(stream_data=b"1 1 1 rg 200 500 200 80 re f"))
    w.add_stream_to_page(0, box)
    out = io.BytesIO()
    w.write(out)
    v = validate_copy(out.getvalue(), [pki.ca_pem.read_bytes()])
    assert v.intact and v.trusted and not v.valid
    assert any("modified after signing" in p for p in v.problems)


def test_copy_from_another_ca_is_not_trusted(pki: DevPki, other_pki: DevPki) -> None:
    signed = signed_copy(pki)
    for roots in ([other_pki.ca_pem.read_bytes()], []):  # same CA name, other key; no roots at all
        v = validate_copy(signed, roots)
        assert v.intact and not v.trusted and not v.valid
        assert any("trusted CA" in p for p in v.problems)


def test_unsigned_or_damaged_file_is_invalid(pki: DevPki) -> None:
    assert validate_copy(make_copy([(colour_scan(), 300.0)], AGENCY, AT), []).problems == ["the PDF carries no signature"]
    assert not validate_copy(b"not a pdf", [pki.ca_pem.read_bytes()]).valid


def test_password_protected_agency_key(tmp_path: Path) -> None:
    pki = init_dev_pki(tmp_path, AGENCY, b"mat-khau")
    assert pki.agency_p12.stat().st_mode & 0o777 == 0o600 and pki.ca_key.stat().st_mode & 0o777 == 0o600
    unsigned = make_copy([(colour_scan(), 300.0)], AGENCY, AT)
    with pytest.raises(ValueError, match="wrong password"):
        sign_copy(unsigned, pki.agency_p12, b"sai", AT, AGENCY)
    signed = sign_copy(unsigned, pki.agency_p12, b"mat-khau", AT, AGENCY)
    assert validate_copy(signed, [pki.ca_pem.read_bytes()]).valid
    with pytest.raises(FileExistsError):
        init_dev_pki(tmp_path, AGENCY, b"")  # an agency key is never silently replaced


# ============================================================================ issuing from a stored result
def card_300dpi() -> bytes:
    buf = io.BytesIO()
    Image.open(io.BytesIO(card_png())).save(buf, "PNG", dpi=(300, 300))
    return buf.getvalue()


def test_issue_copy_of_a_stored_result(svc) -> None:  # noqa: ANN001
    pki = init_dev_pki(svc.settings.data_dir / "keys", svc.settings.copies.agency_name, b"")
    data = card_300dpi()
    [fid] = pipeline.receive(svc, pipeline.create_batch(svc, "B"), "card.png", data)
    [result] = pipeline.process_file(svc, fid)
    code = result.result_code
    assert code

    first = issue_copy(svc, code)
    assert first.key == f"results/{code}/copies/1.pdf" and first.pages == [1] and first.dpi == [300.0]
    stored = svc.store.get(first.key)
    assert hashlib.sha256(stored).hexdigest() == first.sha256
    v = validate_copy(stored, [pki.ca_pem.read_bytes()])
    assert v.valid and v.signer == svc.settings.copies.agency_name and v.signed_at == first.signed_at
    with pikepdf.open(io.BytesIO(stored)) as doc:
        [obj] = doc.pages[0].get_images().values()
        width, height = Image.open(io.BytesIO(data)).size
        assert (int(obj.Width), int(obj.Height)) == (width, height)
        assert abs(float(doc.pages[0].MediaBox[2]) - width / 300 * 72) < 0.5

    second = issue_copy(svc, code)
    assert second.key == f"results/{code}/copies/2.pdf"
    last = chain.events(svc, code)[-1]  # processing may record events of its own before these
    assert last.type == "copy_issued" and last.premis_type == "digital signature generation"
    assert last.outputs == {second.key: second.sha256}
    assert last.inputs == {original_key(result.source.sha256): result.source.sha256}
    assert last.parameters["form"] == "SAO Y" and last.parameters["pages"] == [1]
    assert [e.type for e in chain.events(svc, code)][-2:] == ["copy_issued", "copy_issued"]
    assert chain.check_outputs(svc, chain.events(svc, code)[-2:]) == []  # the stored copies match their hashes
    assert chain.verify_subject(svc, code) == []  # and the chain is still sound with them at its end


def test_issue_copy_refuses_a_scan_without_resolution(svc) -> None:  # noqa: ANN001
    init_dev_pki(svc.settings.data_dir / "keys", svc.settings.copies.agency_name, b"")
    [fid] = pipeline.receive(svc, pipeline.create_batch(svc, "B"), "card.png", card_png())
    [result] = pipeline.process_file(svc, fid)
    with pytest.raises(ValueError, match="states no resolution"):
        issue_copy(svc, result.result_code)
    assert svc.store.list(f"results/{result.result_code}/copies/") == []
    with pytest.raises(LookupError):
        issue_copy(svc, "KQ-NOPE")


def test_cli_init_dev_and_copy(svc) -> None:  # noqa: ANN001
    from typer.testing import CliRunner

    from sohoa.cli import app

    env = {"SOHOA_DATA_DIR": str(svc.settings.data_dir)}
    if svc.settings.database_url:
        env["SOHOA_DATABASE_URL"] = svc.settings.database_url
    made = CliRunner().invoke(app, ["certs", "init-dev"], env=env)
    assert made.exit_code == 0, made.output
    assert (svc.settings.data_dir / "keys" / "agency.p12").stat().st_mode & 0o777 == 0o600
    again = CliRunner().invoke(app, ["certs", "init-dev"], env=env)
    assert again.exit_code == 1 and "exists" in again.output

    [fid] = pipeline.receive(svc, pipeline.create_batch(svc, "B"), "card.png", card_300dpi())
    [result] = pipeline.process_file(svc, fid)
    issued = CliRunner().invoke(app, ["copy", result.result_code], env=env)
    assert issued.exit_code == 0, issued.output
    key, report = issued.stdout.split("\n", 1)
    assert key == f"results/{result.result_code}/copies/1.pdf" and svc.store.exists(key)
    validation = json.loads(report)
    assert validation["valid"] and validation["trusted"] and validation["problems"] == []
    assert CliRunner().invoke(app, ["copy", "KQ-NOPE"], env=env).exit_code == 1


def _processed_with_copy(tmp_path, n: int):  # noqa: ANN001, ANN202 - (services, result, issued copy)
    """A text-layer card processed in a fresh data dir with a dev PKI, and a copy issued for it."""
    from sohoa.copies import issue_copy
    from sohoa.services import build_services

    from .docs import card_lines, text_pdf

    settings = Settings(data_dir=tmp_path / "data")
    svc = build_services(settings)
    init_dev_pki(settings.data_dir / "keys", settings.copies.agency_name, b"")
    batch = pipeline.create_batch(svc, "CN1")
    [fid] = pipeline.receive(svc, batch, "card.pdf", text_pdf(card_lines(n)))
    [res] = pipeline.process_file(svc, fid)
    return svc, res, issue_copy(svc, res.result_code)


def test_verify_command_checks_the_copies_signatures(tmp_path, monkeypatch) -> None:
    """`sohoa verify` validates each issued copy's PAdES signature, not only its bytes' hash."""
    from typer.testing import CliRunner

    from sohoa.cli import app

    svc, res, issued = _processed_with_copy(tmp_path, 5)
    monkeypatch.setattr("sohoa.cli._services", lambda **_: svc)
    ok = CliRunner().invoke(app, ["verify", res.result_code])
    assert ok.exit_code == 0, ok.output
    # Another CA as the only trust root: the bytes still match the chain, the signature is not trusted.
    init_dev_pki(tmp_path / "other", "Another agency", b"")
    svc.settings.copies.trust_roots = [tmp_path / "other" / "ca.pem"]
    bad = CliRunner().invoke(app, ["verify", res.result_code])
    said = " ".join(bad.output.split())  # the console wraps long lines
    assert bad.exit_code == 1 and f"{issued.key}: the copy's signature is not valid" in said
    assert chain.verify_subject(svc, res.result_code) == []  # the chain itself is sound


def test_any_single_byte_change_of_an_issued_copy_is_named_by_verify(tmp_path) -> None:
    svc, res, issued = _processed_with_copy(tmp_path, 6)
    path = svc.settings.objects_dir / issued.key
    good = path.read_bytes()
    for at in (0, len(good) // 4, len(good) // 2, 3 * len(good) // 4, len(good) - 1):
        changed = bytearray(good)
        changed[at] ^= 0x01
        path.write_bytes(bytes(changed))
        assert any(p.startswith(f"{issued.key}:") for p in chain.verify_subject(svc, res.result_code)), at
    path.write_bytes(good)
    assert chain.verify_subject(svc, res.result_code) == []
