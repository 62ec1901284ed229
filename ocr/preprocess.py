"""Scan clean-up before OCR: greyscale, perspective correction, light flattening, orientation,
deskew, upscaling.

Each step is a pure function on a NumPy image so it can be measured and swapped alone.
Hard binarisation is deliberately absent: measured here, it costs Tesseract accuracy on
degraded pages, while dividing out the background lighting helps (notes/ocr-engines.md).
"""

from __future__ import annotations

import itertools

import cv2
import numpy as np
from PIL import Image


def to_grey(image: Image.Image | np.ndarray) -> np.ndarray:
    arr = np.asarray(image)
    if arr.ndim == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_RGBA2GRAY if arr.shape[2] == 4 else cv2.COLOR_RGB2GRAY)
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


def background_pattern_share(grey: np.ndarray, max_side: int = 1200) -> float:
    """Share of the page covered by pale print that is not part of any text stroke (guilloche,
    security tint, textured paper). Plain paper scores ~0, an ID card's guilloche 0.3 or more.
    Expects flattened light (paper near white)."""
    h, w = grey.shape
    f = min(1.0, max_side / max(h, w))
    small = cv2.resize(grey, (int(w * f), int(h * f)), interpolation=cv2.INTER_AREA) if f < 1 else grey
    # Stroke edges and anti-aliasing are mid-toned too; whatever lies near real ink is not pattern.
    near_ink = cv2.dilate((small < 120).astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    pale = (small >= 120) & (small < 230)
    return float((pale & ~near_ink).mean())


def suppress_background(grey: np.ndarray, white_point: float = 0.8) -> np.ndarray:
    """Stretch the tones so that print paler than `white_point` of the way from ink to paper
    turns white: guilloche security patterns, paper texture and faint show-through go, while
    text keeps its grey edges (a tone curve, not a threshold: rank order is preserved below the
    white point). Expects a page whose paper is already flattened to white.

    Measured on generated ID cards (bench/ocr.py): CER 3.2 -> 1.4 % clean, 3.7 -> 2.8 % scan.
    """
    dark = grey[grey < 160]
    if dark.size < 0.001 * grey.size:  # nothing that looks like ink: leave the page alone
        return grey
    ink = float(np.percentile(dark, 5))
    white = ink + white_point * (255.0 - ink)
    lut = np.clip((np.arange(256, dtype=np.float32) - ink) * (255.0 / max(white - ink, 1.0)), 0, 255)
    return cv2.LUT(grey, lut.astype(np.uint8))


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


def order_corners(pts: np.ndarray) -> np.ndarray:
    """Four points as top-left, top-right, bottom-right, bottom-left (float32, 4x2).

    Sorted by angle around their centre (clockwise on screen), then started at the corner
    nearest the top-left; picking each corner by min/max of x+y and y-x instead ties at 45°.
    """
    pts = np.asarray(pts, np.float32).reshape(4, 2)
    centre = pts.mean(axis=0)
    clockwise = pts[np.argsort(np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0]))]
    start = int(np.argmin(clockwise.sum(axis=1)))
    return np.roll(clockwise, -start, axis=0)


def _corner_angles(quad: np.ndarray) -> list[float]:
    out = []
    for i in range(4):
        a, b, c = quad[i - 1], quad[i], quad[(i + 1) % 4]
        u, v = a - b, c - b
        cos = float(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v) + 1e-9))
        out.append(float(np.degrees(np.arccos(np.clip(cos, -1, 1)))))
    return out


def find_document_quad(grey: np.ndarray, max_side: int = 1000) -> np.ndarray | None:
    """Corners (TL, TR, BR, BL, in `grey` pixels) of a paper or card lying on a contrasting
    surface — a phone photo on a desk, a card on a scanner with the lid open — or None.

    The paper is the largest bright region above a threshold; it counts only when four of its
    outline's corners explain the region, the shape is plausible (convex, roughly rectangular),
    a margin of background is left and the paper is clearly brighter than its surround. Otsu's
    threshold comes first; a glare spot on the table can merge with the paper there, so
    stricter thresholds follow (glare fades smoothly, a paper edge does not).
    """
    h, w = grey.shape
    f = min(1.0, max_side / max(h, w))
    small = cv2.resize(grey, (int(w * f), int(h * f)), interpolation=cv2.INTER_AREA) if f < 1 else grey
    # Blur away text and guilloche so that only the paper/table boundary remains.
    blur = cv2.GaussianBlur(small, (0, 0), max(2.0, min(small.shape) / 150))
    otsu, _ = cv2.threshold(blur, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    for t in np.arange(otsu, min(otsu + 61, 250), 15):
        quad = _paper_quad(blur, float(t))
        if quad is not None:
            return quad / f
    return None


def _paper_quad(blur: np.ndarray, threshold: float) -> np.ndarray | None:
    mask = (blur > threshold).astype(np.uint8) * 255
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (15, 15)))
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    hull = cv2.convexHull(max(contours, key=cv2.contourArea))
    area = cv2.contourArea(hull)
    if not 0.15 * mask.size <= area <= 0.97 * mask.size:
        return None
    quad = _largest_quad(cv2.approxPolyDP(hull, 0.01 * cv2.arcLength(hull, True), True).reshape(-1, 2))
    # A rounded card corner adds vertices; the four that span the most area are the corners,
    # provided they explain nearly all of the region.
    if quad is None or cv2.contourArea(quad) < 0.9 * area:
        return None
    quad = order_corners(quad)
    if not cv2.isContourConvex(quad.reshape(-1, 1, 2)) or any(not 60 <= a <= 120 for a in _corner_angles(quad)):
        return None
    inside = np.zeros_like(mask)
    cv2.fillConvexPoly(inside, quad.astype(np.int32), 255)
    paper, table = blur[inside > 0], blur[inside == 0]
    if table.size < 0.02 * blur.size or float(np.median(paper)) - float(np.median(table)) < 30:
        return None
    # The surface must show all round: a corner on the picture's edge means the "outline" is the
    # frame or a shadow across a page that fills it, and cutting there would cut text off.
    h, w = blur.shape
    margin = 0.01 * max(h, w)
    if (quad[:, 0].min() < margin or quad[:, 1].min() < margin
            or quad[:, 0].max() > w - 1 - margin or quad[:, 1].max() > h - 1 - margin):
        return None
    return quad


def _largest_quad(points: np.ndarray) -> np.ndarray | None:
    """The four of a convex polygon's vertices that enclose the largest area."""
    n = len(points)
    if n < 4 or n > 24:
        return None
    best, best_area = None, 0.0
    for combo in itertools.combinations(range(n), 4):
        quad = points[list(combo)].astype(np.float32)  # hull order is kept, so the quad is simple
        a = cv2.contourArea(quad)
        if a > best_area:
            best, best_area = quad, a
    return best


def perspective_matrix(quad: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """The homography that maps `quad` (TL, TR, BR, BL) onto an upright rectangle, and its size (w, h).

    The rectangle keeps the longer of each pair of opposite sides, so no resolution is lost.
    """
    tl, tr, br, bl = quad
    width = int(round(max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl))))
    height = int(round(max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr))))
    target = np.float32([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]])
    return cv2.getPerspectiveTransform(np.float32(quad), target), (width, height)


def perspective_skew(quad: np.ndarray) -> float:
    """How far the quad's corners are from right angles, in degrees (0 for a flat-on scan)."""
    return max(abs(a - 90.0) for a in _corner_angles(np.asarray(quad, np.float32)))


def warp(grey: np.ndarray, matrix: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return cv2.warpPerspective(grey, matrix, size, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
