"""One page in, its text out: the text layer when the PDF has one, else clean-up + OCR."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ingest.pages import RawPage
from sohoa.config import PreprocessOptions
from sohoa.models import OcrLine, PageText

from . import preprocess as pp
from .codes import SMALL_PAGE_PIXELS, find_qr_codes
from .engine import OcrEngine
from .mrz import reread_mrz

# Below this OSD confidence Tesseract's orientation guess is noise (measured on card scans).
MIN_ORIENTATION_CONFIDENCE = 1.5
# Orientation trials read a copy at most this large: a card as it is, an A4 page at ~150 dpi.
PROBE_MAX_SIDE = 1800


@dataclass
class PageResult:
    text: PageText
    cleaned: np.ndarray | None  # the greyscale page that was OCR'd (stored as the page image)
    original_jpeg: bytes | None = None  # the colour page as received, for the searchable PDF
    dpi: float = 300.0
    cleaned_png: bytes | None = None  # `cleaned`, encoded where it was made (an OCR worker)
    original_size: tuple[int, int] | None = None  # (width, height) of the page as received


# background_pattern_share above which a page counts as patterned (guilloche): measured on the
# generated corpus (all levels), plain pages stay at or below 0.01, ID cards at 0.06-0.36.
PATTERN_MIN_SHARE = 0.04


@dataclass
class Prepared:
    grey: np.ndarray
    forward: np.ndarray  # 3x3: original-page pixels -> prepared-page pixels
    # The page's outline was found on a contrasting surface and straightened from an oblique
    # view: the signature of a phone photo.
    photographed: bool = False
    # Security print (guilloche) behind the text: an ID card, where Tesseract's own layout
    # analysis splits and drops lines that the PP-OCR line detector finds.
    patterned: bool = False


# Corners further than this from right angles mean the picture was taken at a slant (measured:
# flatbed scans of cards stay under ~1 degree; phone photos show 2-10).
PHOTO_MIN_PERSPECTIVE_DEGREES = 2.0


def prepare(raw: RawPage, opts: PreprocessOptions) -> Prepared:
    """Greyscale, straightened, light flattened, cropped to the content, upscaled when small."""
    grey = pp.to_grey(raw.image)
    forward = np.eye(3)
    photographed = False
    if opts.correct_perspective and (quad := pp.find_document_quad(grey)) is not None:
        matrix, size = pp.perspective_matrix(quad)
        grey, forward = pp.warp(grey, matrix, size), matrix
        photographed = pp.perspective_skew(quad) > PHOTO_MIN_PERSPECTIVE_DEGREES
    patterned = False
    if opts.normalise_illumination:
        grey = pp.flatten_illumination(grey)
        patterned = pp.background_pattern_share(grey) >= PATTERN_MIN_SHARE
        # Only on patterned paper: on plain paper the curve would fade thin tone marks (a tilde).
        # Not on photos either: their blurred, low-resolution strokes are as pale as the pattern.
        if opts.suppress_background and patterned and not photographed:
            grey = pp.suppress_background(grey, opts.background_white_point)
    ox = oy = 0
    if opts.crop_to_content:
        grey, (ox, oy) = pp.crop_to_content(grey)
    grey, scale = pp.upscale_if_small(grey, opts.min_width_px)
    crop = np.array([[scale, 0, -ox * scale], [0, scale, -oy * scale], [0, 0, 1]], float)
    return Prepared(grey, crop @ forward, photographed, patterned)


def to_original(prepared_shape: tuple[int, int], forward: np.ndarray, rotation: int, skew: float) -> list[list[float]]:
    """3x3 homography from cleaned-page pixels back to the original page (boxes for ALTO and PDFs)."""
    q = pp.quadrant_matrix(prepared_shape, rotation)
    turned = (prepared_shape[::-1] if rotation in (90, 270) else prepared_shape)
    m, _ = pp.small_rotation(turned, skew) if skew else (np.eye(3)[:2], None)
    full = np.vstack([m, [0, 0, 1]]) @ q @ forward
    back = np.linalg.inv(full)
    return np.round(back / back[2, 2], 9).tolist()


def text_score(lines: list[OcrLine]) -> float:
    """How much believable text a reading holds: characters weighted by word confidence.

    Upside-down or sideways pages read as short, low-confidence junk, so the right
    orientation scores far higher.
    """
    return sum(w.confidence * len(w.text) for ln in lines for w in ln.words if w.confidence >= 0.5)


def _upright(grey: np.ndarray, rotation: int, opts: PreprocessOptions) -> tuple[np.ndarray, float]:
    page = pp.rotate_quadrant(grey, rotation)
    skew = pp.estimate_skew(page, opts.max_deskew_degrees) if opts.deskew else 0.0
    return pp.rotate_small(page, skew), skew


@dataclass
class _Reading:
    rotation: int
    skew: float
    page: np.ndarray
    lines: list[OcrLine]


def read_upright(grey: np.ndarray, engine: OcrEngine, opts: PreprocessOptions) -> _Reading:
    """Turn the page the quarter turn that makes it read best, deskew it, and read it.

    Most pages arrive upright, so the page is read as it is first; a confident reading ends
    it there, with no orientation detection at all (Tesseract's OSD costs ~40 % of a page's
    reading time). Otherwise OSD's guess, then the remaining turns, are tried on a copy no
    larger than PROBE_MAX_SIDE: OSD is wrong often enough on cards (guilloche, photos) that a
    guess must be confirmed by reading confidently, else the turn with the most believable
    text wins and is read at full size.
    """
    page, skew = _upright(grey, 0, opts)
    reading = _Reading(0, skew, page, engine.recognize(page))
    if _confident(reading.lines) or not opts.detect_orientation:
        return reading
    probe = grey
    if max(grey.shape) > PROBE_MAX_SIDE:
        f = PROBE_MAX_SIDE / max(grey.shape)
        probe = cv2.resize(grey, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    suggested, conf = engine.detect_orientation(probe)
    order = [suggested] if conf >= MIN_ORIENTATION_CONFIDENCE and suggested else []
    order += [r for r in (180, 90, 270) if r not in order]
    # Scores of a full-size and a small reading compare fairly: both count believable characters.
    best, best_score = reading, text_score(reading.lines)
    for rotation in order:
        page, skew = _upright(probe, rotation, opts)
        trial = _Reading(rotation, skew, page, engine.recognize(page))
        if (score := text_score(trial.lines)) > best_score:
            best, best_score = trial, score
        if _confident(trial.lines):
            break
    if best is not reading and probe is not grey:  # the winner was read on the small copy
        page, skew = _upright(grey, best.rotation, opts)
        best = _Reading(best.rotation, skew, page, engine.recognize(page))
    return best


def read_page(raw: RawPage, engine: OcrEngine, opts: PreprocessOptions,
              fallback: OcrEngine | None = None) -> PageResult:
    """Text of one page. In auto mode `fallback` (the detector + line reader) re-reads a page
    with security print (guilloche) behind its text, and any page the engine did not read
    confidently (then the reading whose characters are read more surely wins).

    Whether the page was photographed is measured and recorded, but does not send it to the
    fallback: once the perspective is corrected, doing so made photos worse (docs/ocr.md).
    """
    if raw.text_lines is not None:
        w, h = raw.image.size if raw.image is not None else (0, 0)
        text = PageText(page=raw.number, width=w, height=h, source="text_layer",
                        engine=raw.text_layer_engine or "pdf text layer", lines=raw.text_lines)
        return PageResult(text=text, cleaned=None)
    prep = prepare(raw, opts)
    codes = read_codes(raw, prep)
    used = engine
    reading = read_upright(prep.grey, engine, opts)
    security_print = prep.patterned and not prep.photographed
    if fallback is not None and (security_print or not _confident(reading.lines)):
        alt = fallback.recognize(reading.page)
        if security_print:
            # Tesseract's layout analysis splits and drops lines on guilloche that the line
            # detector finds (docs/benchmarks.md: card CER 1.8 -> 1.2 % clean, 3.6 -> 2.7 % scan);
            # its reading is kept unless it lost a good part of the text.
            better = _chars(alt) >= 0.8 * _chars(reading.lines)
        else:
            # Judged by how sure each reading is of its characters, not how many it found: the
            # detector also finds background texture that Tesseract's layout analysis skips.
            better = mean_confidence(alt) > mean_confidence(reading.lines) + 0.02
        if better:
            reading.lines, used = alt, fallback
    reading.lines = reread_mrz(reading.page, reading.lines, engine)
    h, w = reading.page.shape
    versions = used.version()
    text = PageText(page=raw.number, width=w, height=h, source="ocr",
                    engine=f"{used.name} {next(iter(versions.values()))}",
                    rotation=reading.rotation, skew=round(reading.skew, 2), photographed=prep.photographed,
                    lines=reading.lines, codes=codes,
                    to_original=to_original(prep.grey.shape, prep.forward, reading.rotation, reading.skew))
    return PageResult(text=text, cleaned=reading.page)


def read_codes(raw: RawPage, prep: Prepared) -> list[str]:
    """QR codes on the page, looked for on the cleaned page (straightened, guilloche whitened:
    on cards as many decode there as on the page as received, at a third of the time), and for
    a card-sized photo that gave none also on the photo as received, which decodes some the
    cleaned page does not. Scans and large pages are not searched twice: it never helped scans,
    and a second pass would cost every A4 page without a code ~30-50 ms more. Measured with
    bench/qr.py, docs/ocr.md "QR code"."""
    codes = find_qr_codes(prep.grey)
    if (not codes and prep.photographed and raw.image is not None
            and raw.image.width * raw.image.height <= SMALL_PAGE_PIXELS):
        codes = find_qr_codes(pp.to_grey(raw.image))
    return codes


def mean_confidence(lines: list[OcrLine]) -> float:
    """Word confidence weighted by characters."""
    words = [w for ln in lines for w in ln.words]
    chars = sum(len(w.text) for w in words)
    return sum(w.confidence * len(w.text) for w in words) / chars if chars else 0.0


def _chars(lines: list[OcrLine]) -> int:
    return sum(len(w.text) for ln in lines for w in ln.words)


def _confident(lines: list[OcrLine]) -> bool:
    return _chars(lines) >= 40 and mean_confidence(lines) >= 0.85
