"""Page-level parallelism: the pages of one file are read in a pool of worker processes.

Processes, not threads: Tesseract's and OpenCV's own threads fight on small machines
(notes/ocr-engines.md) and the GIL serialises the Python parts of clean-up. Each worker builds
its engines once (initializer), and is replaced after `ocr_worker_max_pages` pages so that
whatever the native libraries keep cannot grow without bound. At most two pages per worker are
in flight, so a 500-page PDF never sits decoded in memory at once.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

import cv2

from ingest.pages import RawPage
from sohoa.config import Settings
from sohoa.provenance import now_vn

from .read import PageResult, read_page
from .searchable_pdf import encode_jpeg

log = logging.getLogger("sohoa.ocr")


@dataclass
class TimedPage:
    raw: RawPage
    result: PageResult
    started_at: str
    finished_at: str
    versions: dict[str, str]  # software and models that read it (empty for a text layer)


def pool_size(configured: int) -> int:
    return configured if configured > 0 else (os.cpu_count() or 1)


def read_timed(raw: RawPage, engines, settings: Settings) -> TimedPage:  # noqa: ANN001 - OcrEngines | None
    """Read one page and encode its images for storage, where it runs (an OCR worker): the
    encoding is a third of a page's work, and bytes travel back faster than bitmaps.
    `engines` may be None for a text-layer page (nothing to OCR)."""
    started = now_vn()
    ocr = raw.text_lines is None
    result = read_page(raw, engines.primary if ocr else None, settings.preprocess,
                       fallback=engines.fallback if ocr else None)
    if raw.image is not None:
        # Encoded as the searchable PDF embeds it, so the PDF writer passes the bytes through.
        result.original_jpeg, result.original_size = encode_jpeg(raw.image), raw.image.size
    result.dpi = raw.dpi
    if result.cleaned is not None:
        ok, png = cv2.imencode(".png", result.cleaned)
        result.cleaned_png, result.cleaned = (png.tobytes() if ok else None), None
    # The bitmap came from the caller, which still has it; don't send it back.
    return TimedPage(RawPage(raw.number, None, raw.dpi), result, started, now_vn(),
                     engines.versions if ocr else {})


_worker: tuple[object, Settings] | None = None


def _init_worker(settings_json: str) -> None:
    global _worker
    from .engines import build_engines, one_thread_per_process

    one_thread_per_process()
    settings = Settings.model_validate_json(settings_json)
    _worker = (build_engines(settings), settings)


def _read_in_worker(raw: RawPage) -> TimedPage:
    assert _worker is not None, "pool worker used before its initializer ran"
    engines, settings = _worker
    return read_timed(raw, engines, settings)


class PagePool:
    def __init__(self, settings: Settings, workers: int):
        self.settings = settings
        self.workers = workers
        self._executor: ProcessPoolExecutor | None = None

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            # spawn, not fork: the parent holds database connections and libtesseract state.
            self._executor = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker, initargs=(self.settings.model_dump_json(),),
                max_tasks_per_child=self.settings.ocr_worker_max_pages)
        return self._executor

    def read(self, pages: Iterable[RawPage]) -> Iterator[TimedPage]:
        """The pages' readings in page order. Text-layer pages are read here: nothing to OCR,
        so the calling process never loads an engine."""
        pending: deque[tuple[RawPage, Future]] = deque()
        try:
            for raw in pages:
                fut: Future = Future()
                if raw.text_lines is not None:
                    fut.set_result(read_timed(raw, None, self.settings))
                else:
                    fut = self._submit(raw)
                pending.append((raw, fut))
                if len(pending) >= 2 * self.workers:
                    yield self._done(*pending.popleft())
            while pending:
                yield self._done(*pending.popleft())
        finally:
            for _, fut in pending:
                fut.cancel()

    def _submit(self, raw: RawPage) -> Future:
        try:
            return self._pool().submit(_read_in_worker, raw)
        except BrokenProcessPool:
            # A worker died while idle (killed, out of memory): start afresh once.
            self.close()
            return self._pool().submit(_read_in_worker, raw)

    def _done(self, raw: RawPage, fut: Future) -> TimedPage:
        try:
            timed = fut.result()
        except BrokenProcessPool:
            # A worker died (killed, out of memory, a native crash): the next file gets a new pool.
            self.close()
            raise
        timed.raw = raw
        return timed

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
