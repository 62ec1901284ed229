"""Ingest: type from magic bytes, limits, ZIP safety, corrupt and encrypted files."""

from __future__ import annotations

import io
import zipfile

import pytest
from PIL import Image

from ingest.errors import IngestError
from ingest.pages import iter_pages
from ingest.sniff import sniff
from ingest.unpack import unpack_zip
from sohoa.config import Limits
from sohoa.models import FileKind


def png_bytes(size=(200, 100), color="white") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


def pdf_bytes(text: str | None = None, pages: int = 1) -> bytes:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    for _ in range(pages):
        if text:
            c.drawString(72, 720, text)
        c.showPage()
    c.save()
    return buf.getvalue()


@pytest.mark.parametrize("data,kind", [
    (b"%PDF-1.7\n...", FileKind.pdf),
    (b"\x89PNG\r\n\x1a\n....", FileKind.png),
    (b"\xff\xd8\xff\xe0....", FileKind.jpeg),
    (b"II*\x00....", FileKind.tiff),
    (b"MM\x00*....", FileKind.tiff),
    (b"PK\x03\x04....", FileKind.zip),
])
def test_sniff_by_magic(data: bytes, kind: FileKind) -> None:
    assert sniff(data) is kind


def test_sniff_rejects_empty_and_unknown() -> None:
    with pytest.raises(IngestError) as e:
        sniff(b"")
    assert e.value.code == "empty_file"
    with pytest.raises(IngestError) as e:
        sniff(b"GIF89a......")
    assert e.value.code == "unsupported_type"


def test_image_pixel_limit_is_a_clear_error() -> None:
    data = png_bytes((3000, 3000))
    with pytest.raises(IngestError) as e:
        list(iter_pages(data, FileKind.png, Limits(max_pixels_per_page=1_000_000)))
    assert e.value.code == "too_many_pixels"


def test_pdf_page_limit() -> None:
    data = pdf_bytes(pages=5)
    with pytest.raises(IngestError) as e:
        list(iter_pages(data, FileKind.pdf, Limits(max_pages=3), dpi=50))
    assert e.value.code == "too_many_pages"


def test_truncated_pdf_is_corrupt() -> None:
    data = pdf_bytes("hello")[:200]
    with pytest.raises(IngestError) as e:
        list(iter_pages(data, FileKind.pdf, Limits(), dpi=50))
    assert e.value.code == "corrupt_file"


def test_encrypted_pdf_is_named() -> None:
    from pypdf import PdfReader, PdfWriter  # noqa: F401 - optional; skip when absent

    w = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes("secret"))))
    w.encrypt("user-pw", "owner-pw")
    buf = io.BytesIO()
    w.write(buf)
    with pytest.raises(IngestError) as e:
        list(iter_pages(buf.getvalue(), FileKind.pdf, Limits(), dpi=50))
    assert e.value.code == "encrypted_pdf"


def test_text_layer_is_used_instead_of_ocr() -> None:
    body = "Giay chung nhan dang ky doanh nghiep, ma so doanh nghiep 0100109106"
    pages = list(iter_pages(pdf_bytes(body), FileKind.pdf, Limits(), dpi=72))
    assert len(pages) == 1
    assert pages[0].text_lines is not None
    assert pages[0].text_lines[0].text == body


def test_scanned_pdf_page_has_no_text_layer() -> None:
    pages = list(iter_pages(pdf_bytes(None), FileKind.pdf, Limits(), dpi=72))
    assert pages[0].text_lines is None and pages[0].image is not None


def test_multipage_tiff() -> None:
    buf = io.BytesIO()
    frames = [Image.new("RGB", (100, 80), c) for c in ("white", "grey", "black")]
    frames[0].save(buf, "TIFF", save_all=True, append_images=frames[1:])
    pages = list(iter_pages(buf.getvalue(), FileKind.tiff, Limits()))
    assert [p.number for p in pages] == [1, 2, 3]


def zip_of(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_zip_path_traversal_is_refused_per_member() -> None:
    members = unpack_zip(zip_of({"../evil.png": png_bytes(), "ok.png": png_bytes()}), Limits())
    by_name = {m.name: m for m in members}
    assert by_name["ok.png"].data and by_name["ok.png"].error is None
    bad = [m for m in members if m.error]
    assert len(bad) == 1 and bad[0].error.code == "zip_path_traversal"


def test_zip_bomb_is_cut_at_the_budget() -> None:
    bomb = zip_of({"bomb.png": b"\0" * (5 * 1024 * 1024)})
    members = unpack_zip(bomb, Limits(max_zip_total_bytes=1024 * 1024))
    assert members[0].error and members[0].error.code == "zip_too_large"


def test_corrupt_zip() -> None:
    with pytest.raises(IngestError) as e:
        unpack_zip(b"PK\x03\x04garbage", Limits())
    assert e.value.code == "corrupt_file"
