"""Page-level parallelism (ocr/pool.py): the pages of one file read in spawned worker processes.

The pool must be invisible in the results (same text, same order, same stored artefacts as
reading in the calling process), bounded in what it holds, and must survive a worker that dies.
Spawned workers load Tesseract (~1.5 s each), so pools are shared per module where a test does
not break them on purpose.
"""

from __future__ import annotations

import io
import json
import os
import random
import signal
import threading
import time
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from ingest.pages import RawPage
from ocr.pool import PagePool, pool_size, read_timed
from sohoa import pipeline
from sohoa.config import Settings
from sohoa.models import OcrLine, OcrWord
from sohoa.services import build_services
from storage.objects import result_key

FONT = Path("/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf")
NAMES = ["NGUYỄN THỊ HỒNG NHUNG", "TRẦN VĂN BÌNH", "LÊ HOÀNG PHÚC", "PHẠM THỊ NGỌC ÁNH", "VŨ ĐỨC THẮNG", "ĐẶNG MỸ DUYÊN"]


@pytest.fixture(autouse=True)
def deadline():
    """A hung pool must fail the test, not the whole run."""
    def expired(*_):
        raise TimeoutError("the test took over 180 s (a pool hung?)")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(180)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def text_page(number: int, lines: int = 3, size=(1400, 520)) -> Image.Image:
    if not FONT.exists():
        pytest.skip("fonts-liberation2 is not installed")
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(str(FONT), 44)
    rows = [f"Trang số {number}: Độc lập - Tự do - Hạnh phúc",
            f"Họ và tên: {NAMES[number % len(NAMES)]}",
            f"Số hồ sơ: {1000 + 37 * number}, Phường Phú Cường, tỉnh Bình Dương"]
    for i in range(lines):
        draw.text((60, 50 + i * 140), rows[i % 3], font=font, fill="black")
    return img


def raw(number: int, image: Image.Image) -> RawPage:
    return RawPage(number=number, image=image, dpi=240)


def text_layer_page(number: int) -> RawPage:
    words = [OcrWord(text="Số:", bbox=(10, 10, 60, 40), confidence=1.0),
             OcrWord(text="181/UBND-KSTTHC", bbox=(70, 10, 300, 40), confidence=1.0)]
    line = OcrLine(text="Số: 181/UBND-KSTTHC", bbox=(10, 10, 300, 40), confidence=1.0, words=words)
    return RawPage(number=number, image=Image.new("RGB", (400, 100), "white"), dpi=72,
                   text_lines=[line], text_layer_engine="pdfplumber")


def worker_state(pid: int) -> str:
    """R/S/D... for a live process, Z for an unreaped one, "gone" when it no longer exists."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return "gone"


def spawned_children() -> set[int]:
    """Pids of this process's live multiprocessing-spawned children (pool workers)."""
    out = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read().rsplit(")", 1)[1].split()
            if int(stat[1]) != os.getpid() or stat[0] == "Z":
                continue
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if b"spawn_main" in f.read():
                    out.add(int(entry))
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
    return out


def wait_until_gone(pids, seconds: float = 15.0) -> dict[int, str]:
    """Poll until every pid has exited (and been reaped); returns the survivors' states."""
    end = time.monotonic() + seconds
    while True:
        left = {p: s for p in pids if (s := worker_state(p)) != "gone"}
        if not left or time.monotonic() > end:
            return left
        time.sleep(0.1)


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    return Settings(data_dir=tmp_path_factory.mktemp("pool") / "data", ocr_workers=2)


@pytest.fixture(scope="module")
def engines(settings):
    from ocr.engines import build_engines
    from ocr.tesseract import TesseractUnavailable

    try:
        return build_engines(settings)
    except TesseractUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def pool(settings, engines):
    p = PagePool(settings, 2)
    yield p
    p.close()


@pytest.fixture(scope="module")
def pages() -> list[Image.Image]:
    # Page 1 is long (it finishes last), the others short: completion order differs from page order.
    return [text_page(1, lines=18, size=(1700, 2600))] + [text_page(n) for n in range(2, 6)]


# ----------------------------------------------------------------------------- pool_size
def test_pool_size(monkeypatch) -> None:
    assert pool_size(3) == 3 and pool_size(1) == 1
    monkeypatch.setattr(os, "cpu_count", lambda: 7)
    assert pool_size(0) == 7
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert pool_size(0) == 1


def test_services_make_a_pool_only_for_several_workers(tmp_path) -> None:
    one = build_services(Settings(data_dir=tmp_path / "one", ocr_workers=1))
    assert one.page_pool is None
    one.close()
    two = build_services(Settings(data_dir=tmp_path / "two", ocr_workers=2))
    two.close()  # never used: closing must not build it
    assert "page_pool" not in two.__dict__
    assert isinstance(two.page_pool, PagePool) and two.page_pool.workers == 2
    assert two.page_pool._executor is None  # no process is started before a page needs one
    two.close()


# ----------------------------------------------------------------------------- reading
def test_pool_reads_pages_in_order_with_the_in_process_results(pool, engines, settings, pages) -> None:
    local = [read_timed(raw(n, img), engines, settings) for n, img in enumerate(pages, start=1)]
    sent = [raw(n, img) for n, img in enumerate(pages, start=1)]
    got = list(pool.read(iter(sent)))

    assert [t.raw.number for t in got] == [1, 2, 3, 4, 5]
    # Each reading comes back attached to the caller's own page (its bitmap never travelled back).
    assert all(t.raw is s for t, s in zip(got, sent))
    for t, ref in zip(got, local):
        r, e = t.result, ref.result
        assert r.text.source == "ocr" and r.text.page == t.raw.number
        assert r.text.text == e.text.text and r.text.text.startswith(f"Trang số {t.raw.number}:")
        assert [ln.bbox for ln in r.text.lines] == [ln.bbox for ln in e.text.lines]
        assert r.text.to_original == e.text.to_original
        assert (r.text.rotation, r.text.skew, r.text.width, r.text.height) == \
               (e.text.rotation, e.text.skew, e.text.width, e.text.height)
        # The images are encoded in the worker: bytes, not bitmaps, come back.
        assert r.cleaned is None and r.cleaned_png and r.cleaned_png == e.cleaned_png
        assert r.original_jpeg == e.original_jpeg
        assert r.original_size == pages[t.raw.number - 1].size and r.dpi == 240
        with Image.open(io.BytesIO(r.cleaned_png)) as png:
            assert png.size == (r.text.width, r.text.height)
        assert t.started_at <= t.finished_at


def test_pool_holds_at_most_two_pages_per_worker(pool, engines, pages) -> None:
    pulled = 0

    def source():
        nonlocal pulled
        for n in range(1, 8):
            pulled += 1
            yield raw(n, pages[1] if n > 1 else pages[2])

    seen = []
    for t in pool.read(source()):
        seen.append((t.raw.number, pulled))
    assert [n for n, _ in seen] == list(range(1, 8))
    # When page k is handed out, no more than 2 x workers pages have been taken from the source
    # beyond the k - 1 already handed out.
    assert all(p <= (k - 1) + 2 * pool.workers for k, p in seen), seen


def test_text_layer_pages_are_not_sent_to_a_worker(settings, engines) -> None:
    fresh = PagePool(settings, 2)
    try:
        got = list(fresh.read([text_layer_page(1), text_layer_page(2)]))
        assert fresh._executor is None  # no worker process was ever started
        assert [t.raw.number for t in got] == [1, 2]
        for t in got:
            assert t.result.text.source == "text_layer" and t.result.text.text == "Số: 181/UBND-KSTTHC"
            assert t.result.cleaned_png is None and t.result.original_size == (400, 100)
            assert t.versions == {}  # nothing was OCR'd, so no engine is named in its provenance
    finally:
        fresh.close()


def test_text_layer_and_scanned_pages_keep_their_order(pool, engines, pages) -> None:
    sent = [raw(1, pages[1]), text_layer_page(2), raw(3, pages[2]), text_layer_page(4)]
    got = list(pool.read(sent))
    assert [t.raw.number for t in got] == [1, 2, 3, 4]
    assert [t.result.text.source for t in got] == ["ocr", "text_layer", "ocr", "text_layer"]
    assert "tesseract" in got[0].versions and got[1].versions == {}
    assert got[0].result.text.text.startswith("Trang số 2:")  # pages[1] is the page drawn as number 2


# ----------------------------------------------------------------------------- worker lifecycle
def test_a_worker_killed_mid_file_breaks_that_file_only(settings, engines) -> None:
    pool = PagePool(settings, 2)
    try:
        slow = [raw(n, text_page(n, lines=18, size=(1700, 2400))) for n in range(1, 5)]
        it = pool.read(slow)
        first = next(it)  # all four pages are in flight now (2 per worker)
        assert first.raw.number == 1
        pids = list(pool._executor._processes)
        os.kill(pids[0], signal.SIGKILL)  # the OOM killer, or a native crash
        with pytest.raises(BrokenProcessPool):
            for _ in it:
                pass
        assert pool._executor is None
        assert wait_until_gone(pids) == {}  # the broken pool's other worker is not left behind
        # The next file gets a fresh pool.
        again = list(pool.read([raw(1, text_page(1)), raw(2, text_page(2))]))
        assert [t.result.text.text.split(":")[0] for t in again] == ["Trang số 1", "Trang số 2"]
        assert not set(pool._executor._processes) & set(pids)
    finally:
        pool.close()


def test_a_worker_that_dies_between_files_does_not_break_later_files(settings, engines) -> None:
    pool = PagePool(settings, 2)
    try:
        assert len(list(pool.read([raw(1, text_page(1)), raw(2, text_page(2))]))) == 2
        pids = list(pool._executor._processes)
        os.kill(pids[0], signal.SIGKILL)
        wait_until_gone(pids[:1])
        time.sleep(0.5)  # the executor notices the death
        outcomes = []
        for _ in range(3):  # at most one file may fail; the ones after it must be read
            try:
                outcomes.append(len(list(pool.read([raw(1, text_page(1))]))))
            except BrokenProcessPool:
                outcomes.append("broken")
        assert outcomes[-1] == 1 and outcomes.count("broken") <= 1, outcomes
    finally:
        pool.close()


def test_workers_are_replaced_after_their_page_budget(tmp_path, engines) -> None:
    settings = Settings(data_dir=tmp_path / "data", ocr_workers=1, ocr_worker_max_pages=1)
    pool = PagePool(settings, 1)
    seen: set[int] = set()
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            ex = pool._executor
            if ex is not None:
                try:
                    seen.update(list(ex._processes))
                except RuntimeError:  # the dict changed while copied
                    pass
            stop.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        got = list(pool.read([raw(n, text_page(n)) for n in (1, 2, 3)]))
    finally:
        stop.set()
        sampler.join()
        pool.close()
    assert [t.result.text.text.split(":")[0] for t in got] == ["Trang số 1", "Trang số 2", "Trang số 3"]
    # One worker at a time, one page each: three processes did the work.
    assert len(seen) >= 3, seen
    assert wait_until_gone(seen) == {}


def test_close_leaves_no_worker_alive(settings, engines, pages) -> None:
    pool = PagePool(settings, 2)
    list(pool.read([raw(1, pages[1]), raw(2, pages[2])]))
    idle = list(pool._executor._processes)
    assert len(idle) == 2 and all(worker_state(p) != "gone" for p in idle)
    pool.close()
    assert pool._executor is None
    assert wait_until_gone(idle) == {}
    # Closed in the middle of a file (the caller gave up on it): nothing is left running either.
    it = pool.read([raw(n, pages[1]) for n in range(1, 7)])
    next(it)
    busy = list(pool._executor._processes)
    pool.close()
    it.close()
    assert wait_until_gone(busy) == {}
    assert not spawned_children() & (set(idle) | set(busy))


# ----------------------------------------------------------------------------- through the pipeline
def continuation_page() -> Image.Image:
    """Page 2 of a letter: no title, no national motto; text only."""
    img = Image.new("RGB", (1654, 900), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(str(FONT), 34)
    for i, line in enumerate(["3. Các phòng, ban liên quan chịu trách nhiệm thi hành văn bản này.",
                              "4. Văn bản có hiệu lực kể từ ngày ký.", "Nơi nhận:", "- Như trên;",
                              "- Lưu: VT."]):
        draw.text((150, 80 + i * 70), line, font=font, fill="black")
    return img


@pytest.fixture(scope="module")
def dossier_pdf() -> bytes:
    if not FONT.exists():
        pytest.skip("fonts-liberation2 is not installed")
    from sohoa.synth.people import random_person
    from sohoa.synth.render import render_document

    rng = random.Random(11)
    person = random_person(rng)
    card = render_document("cccd_front_2021", person, rng).image  # 300 dpi
    letter = render_document("official_letter", person, rng).image  # 200 dpi
    card = card.resize((round(card.width * 2 / 3), round(card.height * 2 / 3)), Image.LANCZOS)
    pages = [card.convert("RGB"), letter.convert("RGB"), continuation_page()]
    buf = io.BytesIO()
    pages[0].save(buf, "PDF", save_all=True, append_images=pages[1:], resolution=200)
    return buf.getvalue()


def run_pipeline(data_dir: Path, workers_asked: int, pdf: bytes):
    svc = build_services(Settings(data_dir=data_dir, ocr_workers=workers_asked, preprocess={"render_dpi": 200}))
    try:
        batch = pipeline.create_batch(svc, "POOL")
        [fid] = pipeline.receive(svc, batch, "dossier.pdf", pdf)
        results = pipeline.process_file(svc, fid)
        records = {r.document_id: json.loads(svc.store.get(r.provenance.removeprefix("sohoa://")))
                   for r in results if r.provenance}
        pngs = {(r.document_id, n): svc.store.get(key) if svc.store.exists(key := result_key(r.result_code, f"pages/{n}.png"))
                else None for r in results if r.result_code for n in r.source.pages}
        used_pool = "page_pool" in svc.__dict__ and svc.page_pool is not None
        workers = set(svc.page_pool._executor._processes) if used_pool and svc.page_pool._executor else set()
    finally:
        svc.close()
    # Closing the services ends the pool's workers (while the services object is still alive).
    left = wait_until_gone(workers)
    assert svc.settings.ocr_workers == workers_asked
    return results, records, pngs, workers, left


def test_pipeline_with_a_pool_gives_the_same_documents(tmp_path, dossier_pdf) -> None:
    serial, serial_records, serial_pngs, no_workers, _ = run_pipeline(tmp_path / "serial", 1, dossier_pdf)
    pooled, pooled_records, pooled_pngs, workers, left = run_pipeline(tmp_path / "pooled", 2, dossier_pdf)
    assert no_workers == set() and len(workers) == 2
    assert left == {}  # Services.close() ended the workers

    assert [r.error for r in pooled] == [None] * len(pooled)
    assert [(r.document_id, r.doc_type, r.source.pages) for r in pooled] == \
           [(r.document_id, r.doc_type, r.source.pages) for r in serial]
    assert [r.doc_type for r in pooled][:2] == ["cccd", "official_letter"]
    assert pooled[1].source.pages == [2, 3]  # the continuation page joined the letter
    assert [r.fields for r in pooled] == [r.fields for r in serial]
    assert pooled[0].fields.get("id_number")
    assert [r.text for r in pooled] == [r.text for r in serial]
    # The cleaned page images stored are the same bytes, and there is one per page.
    assert pooled_pngs == serial_pngs and all(v for v in pooled_pngs.values())

    for r in pooled:
        steps = pooled_records[r.document_id]["steps"]
        reads = [s for s in steps if s["step"].startswith("read_page_")]
        assert [s["step"] for s in reads] == [f"read_page_{n}" for n in r.source.pages]
        extract = next(s for s in steps if s["step"] == "extract")
        for s in reads:
            # Each page's own reading time, taken where it was read (a read takes milliseconds at least).
            assert datetime.fromisoformat(s["started_at"]) < datetime.fromisoformat(s["finished_at"])
            assert datetime.fromisoformat(s["finished_at"]) <= datetime.fromisoformat(extract["started_at"])
            assert s["parameters"]["source"] == "ocr" and s["inputs"]["original"] == r.source.sha256
        serial_reads = [s for s in serial_records[r.document_id]["steps"] if s["step"].startswith("read_page_")]
        assert [s["outputs"] for s in reads] == [s["outputs"] for s in serial_reads]
