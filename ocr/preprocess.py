"""Scan clean-up before OCR: greyscale, light flattening, orientation, deskew, upscaling.

Each step is a pure function on a NumPy image so it can be measured and swapped alone.
Hard binarisation is deliberately absent: measured here, it costs Tesseract accuracy on
degraded pages, while dividing out the background lighting helps (notes/ocr-engines.md).
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image



def to_grey(image: Image.Image | np.ndarray) -> np.ndarray:
    arr = np.asarray(image)
    if arr.ndim == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_RGB2GRAY)
    return arr


def flatten_illumination(grey: np.ndarray) -> np.ndarray:
    """Divide by an estimate of the paper's brightness so shadows and gradients vanish.

    The background is what remains after closing away text strokes (dark, thin) with a
    kernel wider than any stroke, then smoothing. Lighting varies slowly, so it is estimated
    on a quarter-size copy: the same result at a twentieth of the cost on a 300-dpi page.
    """
    h, w = grey.shape
    f = 4 if min(h, w) >= 800 else 1
    small = cv2.resize(grey, (w // f, h // f), interpolation=cv2.INTER_AREA) if f > 1 else grey
    k = max(5, (min(small.shape) // 40) | 1)
    background = cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    background = cv2.GaussianBlur(background, (0, 0), k / 2)
    if f > 1:
        background = cv2.resize(background, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.divide(grey, background, scale=255)


def rotate_quadrant(grey: np.ndarray, degrees_clockwise: int) -> np.ndarray:
    codes = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}
    return cv2.rotate(grey, codes[degrees_clockwise]) if degrees_clockwise in codes else grey


def _ink(grey: np.ndarray, max_side: int = 1200) -> tuple[np.ndarray, float]:
    """A small binary ink mask used only for measuring (never for OCR)."""
    h, w = grey.shape
    f = min(1.0, max_side / max(h, w))
    small = cv2.resize(grey, (int(w * f), int(h * f)), interpolation=cv2.INTER_AREA) if f < 1 else grey
    _, ink = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    return ink, f


def estimate_skew(grey: np.ndarray, max_degrees: float = 10.0) -> float:
    """Skew angle in degrees (positive = text rises to the right), by projection-profile sharpness.

    Rows of text make the horizontal ink profile spikiest when the lines are level; the
    search is coarse-to-fine over ±max_degrees.
    """
    ink, _ = _ink(grey)
    if ink.mean() < 0.5:  # blank page
        return 0.0
    h, w = ink.shape
    centre = (w / 2, h / 2)

    def sharpness(angle: float) -> float:
        m = cv2.getRotationMatrix2D(centre, angle, 1.0)
        rotated = cv2.warpAffine(ink, m, (w, h), flags=cv2.INTER_NEAREST, borderValue=0)
        profile = rotated.sum(axis=1, dtype=np.float64)
        return float(np.sum(np.diff(profile) ** 2))

    best = 0.0
    for step, span in ((1.0, max_degrees), (0.2, 1.0), (0.05, 0.2)):
        candidates = np.arange(best - span, best + span + 1e-9, step)
        best = float(max(candidates, key=sharpness))
    return -best if abs(best) >= 0.1 else 0.0


def small_rotation(shape: tuple[int, int], degrees: float) -> tuple[np.ndarray, tuple[int, int]]:
    """The 2x3 matrix of a small rotation that grows the canvas so no corner is cut, and the new size."""
    h, w = shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), -degrees, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(h * sin + w * cos), int(h * cos + w * sin)
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    return m, (nw, nh)


def rotate_small(grey: np.ndarray, degrees: float) -> np.ndarray:
    if not degrees:
        return grey
    m, size = small_rotation(grey.shape, degrees)
    return cv2.warpAffine(grey, m, size, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)


def quadrant_matrix(shape: tuple[int, int], degrees_clockwise: int) -> np.ndarray:
    """3x3 matrix taking a point of an image of `shape` to where `rotate_quadrant` puts it."""
    h, w = shape
    return {
        0: np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], float),
        90: np.array([[0, -1, h - 1], [1, 0, 0], [0, 0, 1]], float),
        180: np.array([[-1, 0, w - 1], [0, -1, h - 1], [0, 0, 1]], float),
        270: np.array([[0, 1, 0], [-1, 0, w - 1], [0, 0, 1]], float),
    }[degrees_clockwise % 360]


def upscale_if_small(grey: np.ndarray, min_width: int) -> tuple[np.ndarray, float]:
    h, w = grey.shape
    short_side = min(h, w)
    if short_side >= min_width * 0.6:
        return grey, 1.0
    f = (min_width * 0.6) / short_side
    return cv2.resize(grey, (int(w * f), int(h * f)), interpolation=cv2.INTER_CUBIC), f


def content_box(grey: np.ndarray, max_side: int = 1200) -> tuple[int, int, int, int] | None:
    """Bounding box of everything on the page that is not bare paper, or None for a blank page.

    A card photocopied onto A4 fills a small part of the page; Tesseract's page layout analysis
    finds nothing there, but reads the card well once the page is cropped to it.
    """
    h, w = grey.shape
    f = min(1.0, max_side / max(h, w))
    small = cv2.resize(grey, (int(w * f), int(h * f)), interpolation=cv2.INTER_AREA) if f < 1 else grey
    small = cv2.medianBlur(small, 3)  # scanner speckle is not content
    paper = np.percentile(small, 90)
    mask = (small < paper - 25).astype(np.uint8) * 255
    # Grow strokes into blocks so that lines of text, not letters, are the components.
    mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_RECT, (25, 25)))
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask)
    keep = [i for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] > 0.002 * mask.size]
    if not keep:
        return None
    x0 = min(stats[i, cv2.CC_STAT_LEFT] for i in keep)
    y0 = min(stats[i, cv2.CC_STAT_TOP] for i in keep)
    x1 = max(stats[i, cv2.CC_STAT_LEFT] + stats[i, cv2.CC_STAT_WIDTH] for i in keep)
    y1 = max(stats[i, cv2.CC_STAT_TOP] + stats[i, cv2.CC_STAT_HEIGHT] for i in keep)
    return int(x0 / f), int(y0 / f), int(x1 / f), int(y1 / f)


def crop_to_content(grey: np.ndarray, max_fraction: float = 0.6) -> tuple[np.ndarray, tuple[int, int]]:
    """Crop to the content when it covers less than `max_fraction` of the page (a margin is kept).

    Returns the crop and its top-left offset in the page, so boxes can be mapped back.
    """
    box = content_box(grey)
    if box is None:
        return grey, (0, 0)
    h, w = grey.shape
    x0, y0, x1, y1 = box
    if (x1 - x0) * (y1 - y0) >= max_fraction * w * h:
        return grey, (0, 0)
    m = max(20, int(0.03 * max(x1 - x0, y1 - y0)))
    left, top = max(0, x0 - m), max(0, y0 - m)
    return grey[top: min(h, y1 + m), left: min(w, x1 + m)], (left, top)
