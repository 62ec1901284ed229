"""Builds the OCR engines that the settings ask for: the primary engine and, in `auto` mode, the
detector + reader that photographed or poorly read pages go to."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sohoa.config import Settings

from .engine import OcrEngine

log = logging.getLogger("sohoa.ocr")


@dataclass
class OcrEngines:
    primary: OcrEngine
    fallback: OcrEngine | None = None
    versions: dict[str, str] = field(default_factory=dict)


def one_thread_per_process() -> None:
    """For a process that is one of several reading pages (page pool, Celery pool child, `sohoa
    process --jobs N`): OpenCV's own thread pool on top of the processes oversubscribes the cores
    (measured: two Celery processes read a page 27 % slower than one; with this, 1.93-2.02x the pages
    of one). Tesseract and ONNX Runtime are already held to one thread everywhere. A lone process
    keeps OpenCV's threads: they use the cores it would otherwise leave idle."""
    import cv2

    cv2.setNumThreads(1)


def build_engines(settings: Settings) -> OcrEngines:
    from .tesseract import TesseractEngine

    kind = settings.ocr_engine
    tesseract = TesseractEngine(settings.tesseract)
    paddle = None
    if kind == "paddle" or (kind in ("detect", "auto") and settings.detector.reader == "paddle"):
        from .paddle import PaddleEngine

        paddle = PaddleEngine(settings.paddle)

    def detect_read() -> OcrEngine:
        from .detect_read import DetectReadEngine
        from .detector import TextDetector

        # Orientation, MRZ re-reads and restricted-alphabet reads stay with Tesseract in every mode.
        return DetectReadEngine(paddle or tesseract, TextDetector(settings.detector.model_path), helper=tesseract)

    if kind == "paddle":
        engines = OcrEngines(paddle)
    elif kind == "detect":
        engines = OcrEngines(detect_read())
    elif kind == "auto":
        from .detector import DetectorUnavailable

        try:
            engines = OcrEngines(tesseract, detect_read())
        except DetectorUnavailable as exc:
            log.warning("auto OCR without the line detector: %s", exc)
            engines = OcrEngines(tesseract)
    else:
        engines = OcrEngines(tesseract)
    engines.versions = {**engines.primary.version(), **(engines.fallback.version() if engines.fallback else {})}
    return engines
