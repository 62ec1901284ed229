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


def clean_page(raw: RawPage, engine: OcrEngine, opts: PreprocessOptions) -> pp.Preprocessed:
    grey = pp.to_grey(raw.image)
    if opts.normalise_illumination:
        grey = pp.flatten_illumination(grey)
    if opts.crop_to_content:
        grey = pp.crop_to_content(grey)
    grey, scale = pp.upscale_if_small(grey, opts.min_width_px)
    rotation = 0
    if opts.detect_orientation:
        rotation, conf = engine.detect_orientation(grey)
        if conf < MIN_ORIENTATION_CONFIDENCE:
            rotation = 0
        grey = pp.rotate_quadrant(grey, rotation)
    skew = 0.0
    if opts.deskew:
        skew = pp.estimate_skew(grey, opts.max_deskew_degrees)
        grey = pp.rotate_small(grey, skew)
    return pp.Preprocessed(image=grey, rotation=rotation, skew=skew, scale=scale)


def read_page(raw: RawPage, engine: OcrEngine, opts: PreprocessOptions) -> PageResult:
    if raw.text_lines is not None:
        w, h = raw.image.size if raw.image is not None else (0, 0)
        text = PageText(page=raw.number, width=w, height=h, source="text_layer",
                        engine=raw.text_layer_engine or "pdf text layer", lines=raw.text_lines)
        return PageResult(text=text, cleaned=None)
    cleaned = clean_page(raw, engine, opts)
    lines: list[OcrLine] = engine.recognize(cleaned.image)
    h, w = cleaned.image.shape
    versions = engine.version()
    text = PageText(page=raw.number, width=w, height=h, source="ocr",
                    engine=f"{engine.name} {next(iter(versions.values()))}",
                    rotation=cleaned.rotation, skew=round(cleaned.skew, 2), lines=lines)
    return PageResult(text=text, cleaned=cleaned.image)
