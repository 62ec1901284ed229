"""Hostile input: over forty bad files in one batch around a good one. Each gets a clear, named
error on its own row (or, when it is a harmless oddity, is processed); the good file is processed;
nothing is written outside the data dir; the process stays up."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import pikepdf
import pytest
from PIL import Image

from ingest.names import display_name
from sohoa import pipeline
from storage.db import FileRow

from .docs import card_lines, text_pdf
from .test_bad_input import encrypted_pdf, png_header_only
from .test_ingest import pdf_bytes, zip_of


# ---------------------------------------------------------------- builders
def png(size=(64, 64), color=(250, 250, 250), **save) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG", **save)
    return buf.getvalue()


def jpeg(size=(64, 64)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 200, 200)).save(buf, "JPEG")
    return buf.getvalue()


def jpeg_header_claiming(width: int, height: int) -> bytes:
    """A JPEG whose SOF0 declares a huge frame: decoding it would need gigabytes."""
    data = bytearray(jpeg())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def tiff_claiming(width: int, height: int) -> bytes:
    """A little-endian TIFF whose only IFD declares huge dimensions and no real strip."""
    entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
               (273, 4, 1, 8), (277, 3, 1, 1), (278, 4, 1, height), (279, 4, 1, 1)]
    ifd = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", *e) for e in entries) + b"\0\0\0\0"
    return b"II*\x00" + struct.pack("<I", 8) + ifd


def tiff_frames(n: int) -> bytes:
    frames = [Image.new("L", (8, 8), 255) for _ in range(n)]
    buf = io.BytesIO()
    frames[0].save(buf, "TIFF", save_all=True, append_images=frames[1:])
    return buf.getvalue()


def pdf_pages(n: int, size=(595, 842)) -> bytes:
    pdf = pikepdf.new()
    for _ in range(n):
        pdf.add_blank_page(page_size=size)
    buf = io.BytesIO()
    pdf.save(buf)
    return buf.getvalue()


def pdf_zero_pages() -> bytes:
    return b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n" \
           b"trailer<</Root 1 0 R>>\n%%EOF\n"


def pdf_with_javascript() -> bytes:
    pdf = pikepdf.open(io.BytesIO(text_pdf(card_lines(501))))
    pdf.Root.OpenAction = pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert('x')"))
    buf = io.BytesIO()
    pdf.save(buf)
    return buf.getvalue()


def pdf_broken_xref() -> bytes:
    data = text_pdf(card_lines(502))
    at = data.rindex(b"startxref")
    return data[:at] + b"startxref\n999999\n%%EOF\n"  # a wrong offset: readers must recover or refuse


def zip_bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.png", b"\x89PNG\r\n\x1a\n" + b"\0" * (30 * 1024 * 1024))  # 30 MB of zeros, ~30 KB zipped
    return buf.getvalue()


def zip_raw(entries: list[tuple[zipfile.ZipInfo | str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for info, data in entries:
            zf.writestr(info, data)
    return buf.getvalue()


def zip_symlink() -> bytes:
    info = zipfile.ZipInfo("link.png")
    info.external_attr = (0o120777 << 16)  # a symlink, pointing outside
    return zip_raw([(info, b"/etc/passwd")])


def zip_encrypted_member() -> bytes:
    data = bytearray(zip_of({"secret.png": png()}))
    # Set the "encrypted" flag bit in the local header and the central directory entry.
    data[6] |= 0x1
    cd = data.rindex(b"PK\x01\x02")
    data[cd + 8] |= 0x1
    return bytes(data)


def png_text_bomb() -> bytes:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "A" * (20 * 1024 * 1024), zip=True)  # a 20 MB zTXt chunk, tiny once compressed
    return png(pnginfo=info)


GOOD = text_pdf(card_lines(500))
LIMITS_BYTES = 5_000_000  # the test's per-file limit (settings below)

# name -> (bytes, expected: an error code, or "done" for harmless oddities that are processed)
CASES: dict[str, tuple[bytes, str]] = {
    "zero.pdf": (b"", "empty_file"),
    "truncated.pdf": (pdf_bytes("hello")[:150], "corrupt_file"),
    "garbage.pdf": (b"%PDF-1.7\n" + bytes(range(256)) * 8, "corrupt_file"),
    "encrypted.pdf": (encrypted_pdf(), "encrypted_pdf"),
    "ten-thousand-pages.pdf": (pdf_pages(10_000), "too_many_pages"),
    "zero-pages.pdf": (pdf_zero_pages(), "empty_document|corrupt_file"),  # pdfium refuses a page-less tree
    "giant-page.pdf": (pdf_pages(1, size=(14400, 14400)), "too_many_pixels"),
    "javascript.pdf": (pdf_with_javascript(), "done"),  # never executed: its text layer is read
    "broken-xref.pdf": (pdf_broken_xref(), "done"),  # pdfium repairs the cross-reference table
    "png-bomb.png": (png_header_only(60_000, 60_000), "too_many_pixels"),
    "png-truncated.png": (png()[:40], "corrupt_file"),
    "png-text-bomb.png": (png_text_bomb(), "corrupt_file"),
    "jpeg-bomb.jpg": (jpeg_header_claiming(65_000, 65_000), "too_many_pixels"),
    "jpeg-truncated.jpg": (jpeg()[:30], "corrupt_file"),
    "tiff-bomb.tif": (tiff_claiming(100_000, 100_000), "too_many_pixels"),
    "tiff-frames.tif": (tiff_frames(40), "too_many_pages"),
    "tiff-bad-ifd.tif": (b"II*\x00" + struct.pack("<I", 10_000_000), "corrupt_file"),
    "tiny.png": (png(size=(1, 1)), "done"),
    "too-big.pdf": (b"%PDF-1.4\n" + b"0" * (LIMITS_BYTES + 10), "file_too_large"),
    "notes.txt": ("chỉ là văn bản".encode(), "unsupported_type"),
    "page.html": (b"<!doctype html><html><body>hi</body></html>", "unsupported_type"),
    "image.svg": (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "unsupported_type"),
    "anim.gif": (b"GIF89a" + b"\0" * 64, "unsupported_type"),
    "pic.bmp": (b"BM" + b"\0" * 64, "unsupported_type"),
    "pic.webp": (b"RIFF\x24\0\0\0WEBPVP8 " + b"\0" * 32, "unsupported_type"),
    "elf.pdf": (b"\x7fELF" + b"\0" * 64, "unsupported_type"),  # an executable under a PDF name
    "png-named.pdf": (png(size=(32, 32)), "done"),  # the bytes decide, not the extension
    "pdf-named.jpg": (text_pdf(card_lines(503)), "done"),
    "polyglot.pdf": (text_pdf(card_lines(504)) + zip_of({"x.png": png()}), "done"),  # read as the PDF it starts as
    "zip-bomb.zip": (zip_bomb(), "zip_too_large|file_too_large"),
    "traversal.zip": (zip_of({"../../../../tmp/escape.pdf": GOOD}), "zip_path_traversal"),
    "absolute.zip": (zip_of({"/etc/cron.d/evil.pdf": GOOD}), "zip_path_traversal"),
    "backslash.zip": (zip_of({"..\\..\\evil.pdf": GOOD}), "zip_path_traversal"),
    "nested.zip": (zip_of({"inner.zip": zip_of({"deeper.zip": zip_of({"x.pdf": GOOD})})}), "zip_too_deep"),
    "many.zip": (zip_of({f"f{i}.txt": b"x" for i in range(30)}), "zip_too_many_entries"),
    "empty.zip": (zip_of({}), "done"),  # an empty archive: nothing in it to fail
    "dirs-only.zip": (zip_raw([(zipfile.ZipInfo("folder/"), b"")]), "done"),
    "symlink.zip": (zip_symlink(), "unsupported_type"),  # its "content" is a path string, never followed
    "encrypted-member.zip": (zip_encrypted_member(), "encrypted_file"),
    "truncated.zip": (zip_of({"a.pdf": GOOD})[:60], "corrupt_file"),
    "duplicate-names.zip": (zip_raw([("same.pdf", text_pdf(card_lines(505))), ("same.pdf", text_pdf(card_lines(506)))]),
                            "done"),
    "n\udce1me-not-utf8.pdf": (text_pdf(card_lines(507)), "done"),
    "../../outside.pdf": (text_pdf(card_lines(508)), "done"),  # a name, never a path
    "nul\x00byte.pdf": (text_pdf(card_lines(509)), "done"),
    "x" * 3000 + ".pdf": (text_pdf(card_lines(510)), "done"),
}


@pytest.fixture(scope="module")
def outcome(tmp_path_factory) -> dict:
    """The whole hostile batch, accepted and processed once."""
    from sohoa.config import Limits, Settings
    from sohoa.services import build_services

    root = tmp_path_factory.mktemp("hostile")
    svc = build_services(Settings(data_dir=root / "data", ocr_workers=1, limits=Limits(
        max_file_bytes=LIMITS_BYTES, max_pages=20, max_zip_entries=20, max_zip_total_bytes=20_000_000)))
    before = _tree(root.parent)
    accepted = pipeline.accept(svc, [("good.pdf", GOOD), *((n, d) for n, (d, _) in CASES.items())], "HOSTILE")
    for fid in accepted.file_ids:
        pipeline.process_file_or_record(svc, fid)
    with svc.sessions() as s:
        rows = list(s.query(FileRow).filter(FileRow.batch_id == accepted.batch_id))
    after = _tree(root.parent)
    return {"svc": svc, "rows": rows, "new_outside": sorted(p for p in after - before if not p.startswith(str(root)))}


def _tree(base: Path) -> set[str]:
    return {str(p) for p in base.rglob("*")}


def _top_row(rows: list[FileRow], name: str) -> FileRow:
    return next(r for r in rows if r.name == display_name(name))


def test_there_are_at_least_forty_hostile_inputs() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("name", list(CASES))
def test_each_hostile_input_gets_its_named_outcome(outcome, name) -> None:
    expected = CASES[name][1]
    rows = outcome["rows"]
    top = _top_row(rows, name)
    # A ZIP's own row is done when it could be opened; its members carry their own errors.
    members = [r for r in rows if r.name.startswith(top.name + "/")]
    got = {r.error_code or r.state for r in [top, *members] if r.error_code or not members}
    assert got & set(expected.split("|")), f"{name}: got {got}, expected {expected}"
    for r in [top, *members]:
        if r.state == "failed":
            assert r.error_message and len(r.error_message) > 10  # a reason a person can act on
        assert "\x00" not in r.name and len(r.name) <= 255 and r.name.isprintable()  # shown and logged safely


def test_the_good_file_in_the_hostile_batch_is_processed(outcome) -> None:
    good = _top_row(outcome["rows"], "good.pdf")
    assert good.state == "done"
    [doc] = pipeline.results_for_file(outcome["svc"], good.id)
    assert doc.doc_type == "cccd" and doc.fields.get("id_number") == "074187000500"


def test_nothing_is_written_outside_the_data_dir(outcome) -> None:
    assert outcome["new_outside"] == []
    assert not Path("/tmp/escape.pdf").exists()
