"""Watched-folder ingest: a file is taken only when complete, exactly once, moved to done/ or
failed/; a crash between taking and moving never makes a second batch."""

from __future__ import annotations

import os

from sqlalchemy import func, select

from ingest.watch import DONE, FAILED, TAKING, Watcher, _content_key
from sohoa import dossiers, pipeline
from storage.db import BatchRow, FileRow

from .docs import card_lines, text_pdf


def watcher_for(svc, root, **kw) -> Watcher:  # noqa: ANN001
    def accept(files, key, name):  # noqa: ANN001, ANN202
        return pipeline.accept(svc, files, "CN2", idempotency_key=key,
                               dossier_code=dossiers.code_in_name(name)).file_ids

    return Watcher(root, accept, settle_seconds=2.0, **kw)


def count(svc, model) -> int:  # noqa: ANN001
    with svc.sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


def done_files(root) -> list[str]:  # noqa: ANN001
    return sorted(p.name for p in (root / DONE).rglob("*") if p.is_file())


def test_a_file_is_taken_only_once_it_stops_changing(svc, tmp_path) -> None:
    root = tmp_path / "scan"
    w = watcher_for(svc, root)
    pdf = text_pdf(card_lines(11))
    (root / "hs001.pdf").write_bytes(pdf[:1000])  # the scanner is still writing
    assert w.poll(now=100.0) == []
    (root / "hs001.pdf").write_bytes(pdf)  # grew: the clock starts again
    assert w.poll(now=101.0) == []
    assert w.poll(now=102.5) == []  # 1.5 s unchanged: not yet
    (root / "hs002.pdf.part").write_bytes(b"%PDF-")  # a temporary name: never taken
    ids = w.poll(now=103.2)
    assert len(ids) == 1 and done_files(root) == ["hs001.pdf"]
    assert (root / "hs002.pdf.part").exists() and count(svc, FileRow) == 1
    assert w.poll(now=200.0) == []  # nothing is read twice
    with svc.sessions() as s:
        row = s.get(FileRow, ids[0])
        assert row.state == "queued" and svc.store.exists(row.original_key)


def test_a_folder_is_one_dossier(svc, tmp_path) -> None:
    root = tmp_path / "scan"
    w = watcher_for(svc, root)
    dossier = root / "HS-0042"
    dossier.mkdir(parents=True)
    (dossier / "to-khai.pdf").write_bytes(text_pdf(card_lines(12)))
    (dossier / "cccd.pdf").write_bytes(text_pdf(card_lines(13)))
    w.poll(now=10.0)
    ids = w.poll(now=13.0)
    assert len(ids) == 2 and count(svc, BatchRow) == 1
    assert not dossier.exists() and sorted(done_files(root)) == ["cccd.pdf", "to-khai.pdf"]


def test_a_folder_or_file_named_by_its_dossier_code_joins_that_dossier(svc, tmp_path) -> None:
    root = tmp_path / "scan"
    w = watcher_for(svc, root)
    (root / "000.00.15.H42-261120-0007").mkdir(parents=True)
    (root / "000.00.15.H42-261120-0007" / "cccd.pdf").write_bytes(text_pdf(card_lines(14)))
    (root / "000.00.15.H42-261120-0008.pdf").write_bytes(text_pdf(card_lines(15)))
    (root / "HS-0043.pdf").write_bytes(text_pdf(card_lines(16)))
    w.poll(now=10.0)
    assert len(w.poll(now=13.0)) == 3
    with svc.sessions() as s:
        codes = sorted(s.scalars(select(BatchRow.dossier_code)).all(), key=str)
    assert codes == ["000.00.15.H42-261120-0007", "000.00.15.H42-261120-0008", None]


def test_a_crash_after_accepting_never_makes_a_second_batch(svc, tmp_path) -> None:
    root = tmp_path / "scan"
    w = watcher_for(svc, root)
    (root / "hs003.pdf").write_bytes(text_pdf(card_lines(14)))
    w.poll(now=0.0)
    # The watcher took the file and accepted it, then died before moving it to done/.
    taken = root / TAKING / "hs003.pdf"
    os.rename(root / "hs003.pdf", taken)
    files = [("hs003.pdf", taken.read_bytes())]
    pipeline.accept(svc, files, "CN2", idempotency_key="watch:" + _content_key(files))
    restarted = watcher_for(svc, root)
    restarted.poll(now=50.0)  # finishes what was taken
    assert count(svc, BatchRow) == 1 and count(svc, FileRow) == 1
    assert done_files(root) == ["hs003.pdf"] and not any((root / TAKING).iterdir())


def test_a_bad_document_is_accepted_and_recorded_an_unreadable_one_fails(svc, tmp_path) -> None:
    root = tmp_path / "scan"
    w = watcher_for(svc, root)
    (root / "broken.pdf").write_bytes(b"%PDF-1.7\nnot really")
    (root / "b\xe1d-name.pdf".encode("latin-1").decode("utf-8", "surrogateescape")).write_bytes(text_pdf(card_lines(15)))
    w.poll(now=0.0)
    ids = w.poll(now=3.0)
    assert len(ids) == 2
    with svc.sessions() as s:
        rows = {r.name: r for r in s.scalars(select(FileRow))}
    assert rows["broken.pdf"].state == "failed" and rows["broken.pdf"].error_code == "corrupt_file"
    assert "b\ufffdd-name.pdf" in rows  # a name that is not UTF-8 is kept, readably
    assert len(done_files(root)) == 2

    def down(files, key):  # noqa: ANN001, ANN202
        raise PermissionError(13, "Permission denied")

    broken = Watcher(root, down, settle_seconds=0)
    (root / "x.pdf").write_bytes(b"%PDF-1.7")
    broken.poll(now=0.0)
    broken.poll(now=1.0)
    failed = sorted(p.name for p in (root / FAILED).rglob("*") if p.is_file())
    assert failed == ["x.pdf", "x.pdf.error.txt"]
