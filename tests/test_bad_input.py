"""Bad input is recorded against the batch with a named error; the rest of the batch goes on."""

from __future__ import annotations

import io
import struct
import zlib

from sohoa import pipeline
from sohoa.config import Limits, Settings
from sohoa.services import build_services

from .docs import card_png
from .test_ingest import pdf_bytes, zip_of


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims huge dimensions in a few bytes: a decompression bomb's calling card."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def encrypted_pdf() -> bytes:
    from pypdf import PdfReader, PdfWriter

    w = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes("secret"))))
    w.encrypt("user-pw", "owner-pw")
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def test_a_batch_of_bad_files_around_a_good_one(tmp_path, database_url) -> None:
    svc = build_services(Settings(data_dir=tmp_path / "d", database_url=database_url,
                                  limits=Limits(max_file_bytes=2_000_000, max_pages=3)))
    good = card_png()
    inputs = {
        "empty.pdf": b"",
        "notes.txt": "chỉ là văn bản".encode(),
        "truncated.pdf": pdf_bytes("hello")[:150],
        "locked.pdf": encrypted_pdf(),
        "long.pdf": pdf_bytes(pages=5),
        "bomb.png": png_header_only(60_000, 60_000),
        "huge.tif": b"II*\x00" + b"\0" * 2_100_000,
        "photo.jpg.pdf": good,  # a PNG with a wrong extension is still a PNG
        "batch.zip": zip_of({"../../escape.png": good, "inner.zip": zip_of({"x.png": good}), "ok/card2.png": good + b"x"}),
    }
    batch = pipeline.create_batch(svc, "BAD")
    results = {}
    for name, data in inputs.items():
        for fid in pipeline.receive(svc, batch, name, data):
            for r in pipeline.process_file_or_record(svc, fid):
                results[r.source.file] = r
    errors = {k: r.error.code for k, r in results.items() if r.error}
    assert errors == {
        "empty.pdf": "empty_file",
        "notes.txt": "unsupported_type",
        "truncated.pdf": "corrupt_file",
        "locked.pdf": "encrypted_pdf",
        "long.pdf": "too_many_pages",
        "bomb.png": "too_many_pixels",
        "huge.tif": "file_too_large",
        "batch.zip/../../escape.png": "zip_path_traversal",
        "batch.zip/inner.zip": "zip_too_deep",
    }
    for message in (r.error.message for r in results.values() if r.error):
        assert message and len(message) > 10
    assert results["photo.jpg.pdf"].doc_type == "cccd"
    assert results["batch.zip/ok/card2.png"].doc_type == "cccd"
    # nothing was written outside the data dir
    assert not (tmp_path / "escape.png").exists() and not (tmp_path.parent / "escape.png").exists()



def test_corrupt_zip_fails_its_own_row_only(svc) -> None:
    batch = pipeline.create_batch(svc, "BAD")
    first = pipeline.receive(svc, batch, "scans.zip", zip_of({"card.png": card_png()}))
    broken = pipeline.receive(svc, batch, "scans.zip", b"PK\x03\x04 truncated")  # same name, bad bytes
    assert [r.error for r in pipeline.results_for_file(svc, first[0])] == []  # the good archive row is done
    [res] = pipeline.results_for_file(svc, broken[0])
    assert res.error and res.error.code == "corrupt_file"
