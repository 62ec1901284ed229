"""One page in, its text out: the text layer when the PDF has one, else clean-up + OCR."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ingest.pages import RawPage
from sohoa.config import PreprocessOptions
from sohoa.models import OcrLine, PageText

from . import preprocess as pp
from .engine import OcrEngine

# Below this OSD confidence Tesseract's orientation guess is noise (measured on card scans).
MIN_ORIENTATION_CONFIDENCE = 1.5


@dataclass
class PageResult:
    text: PageText
    cleaned: np.ndarray | None  # the greyscale page that was OCR'd (stored as the page image)


def prepare(raw: RawPage, opts: PreprocessOptions) -> tuple[np.ndarray, float]:
    """Greyscale, light flattened, cropped to the content, upscaled when small."""
    grey = pp.to_grey(raw.image)
    if opts.normalise_illumination:
        grey = pp.flatten_illumination(grey)
    if opts.crop_to_content:
        grey = pp.crop_to_content(grey)
    return pp.upscale_if_small(grey, opts.min_width_px)


def text_score(lines: list[OcrLine]) -> float:
    """How much believable text a reading holds: characters weighted by word confidence.

    Upside-down or sideways pages read as short, low-confidence junk, so the right
    orientation scores far higher.
    """
    return sum(w.confidence * len(w.text) for ln in lines for w in ln.words if w.confidence >= 0.5)


def _upright_and_read(grey: np.ndarray, rotation: int, engine: OcrEngine, opts: PreprocessOptions):
    page = pp.rotate_quadrant(grey, rotation)
    skew = pp.estimate_skew(page, opts.max_deskew_degrees) if opts.deskew else 0.0
    page = pp.rotate_small(page, skew)
    return page, skew, engine.recognize(page)


def read_page(raw: RawPage, engine: OcrEngine, opts: PreprocessOptions) -> PageResult:
    if raw.text_lines is not None:
        w, h = raw.image.size if raw.image is not None else (0, 0)
        text = PageText(page=raw.number, width=w, height=h, source="text_layer",
                        engine=raw.text_layer_engine or "pdf text layer", lines=raw.text_lines)
        return PageResult(text=text, cleaned=None)
    grey, _scale = prepare(raw, opts)
    candidates = [0]
    if opts.detect_orientation:
        rotation, conf = engine.detect_orientation(grey)
        if rotation and conf >= MIN_ORIENTATION_CONFIDENCE:
            candidates = [rotation, 0]
    # Tesseract's orientation guess is wrong often enough on cards (guilloche, photos) that a
    # suggested turn is confirmed by reading: the turned page must read at least as well as the
    # page as it came. The second reading is only paid for when a turn was suggested.
    best = None
    for rotation in candidates:
        page, skew, lines = _upright_and_read(grey, rotation, engine, opts)
        score = text_score(lines)
        if best is None or score > best[0]:
            best = (score, rotation, page, skew, lines)
        if _confident(lines):
            break
    _, rotation, page, skew, lines = best
    h, w = page.shape
    versions = engine.version()
    text = PageText(page=raw.number, width=w, height=h, source="ocr",
                    engine=f"{engine.name} {next(iter(versions.values()))}",
                    rotation=rotation, skew=round(skew, 2), lines=lines)
    return PageResult(text=text, cleaned=page)


def _confident(lines: list[OcrLine]) -> bool:
    words = [w for ln in lines for w in ln.words]
    chars = sum(len(w.text) for w in words)
    return chars >= 40 and sum(w.confidence * len(w.text) for w in words) / chars >= 0.85
