"""ALTO v4 XML for one page: words with their boxes on the original page image and confidences.

OCR boxes are in pixels of the cleaned page (turned upright, deskewed, cropped, maybe
upscaled); `PageText.to_original` maps them back, so a viewer can highlight a word on the
image the user actually sent.
"""

from __future__ import annotations

import math
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from sohoa.models import BBox, OcrLine, PageText

ALTO_NS = "http://www.loc.gov/standards/alto/ns-v4#"
ALTO_SCHEMA = "http://www.loc.gov/standards/alto/v4/alto-4-2.xsd"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

# [[a, b, c], [d, e, f]] (affine) or [[a, b, c], [d, e, f], [g, h, i]] (homography, after a
# perspective correction): x' = (a*x + b*y + c) / (g*x + h*y + i), likewise y'.
Matrix = Sequence[Sequence[float]]


def map_point(x: float, y: float, matrix: Matrix | None) -> tuple[float, float]:
    if matrix is None:
        return x, y
    (a, b, c), (d, e, f) = matrix[0], matrix[1]
    g, h, i = matrix[2] if len(matrix) > 2 else (0.0, 0.0, 1.0)
    w = g * x + h * y + i
    return (a * x + b * y + c) / w, (d * x + e * y + f) / w


def local_affine(x: float, y: float, matrix: Matrix | None) -> tuple[float, float, float, float]:
    """(a, b, d, e): the linear part of `matrix` near (x, y) — exact for an affine matrix, the
    Jacobian for a homography, so a word's text can follow a slanted photographed line."""
    if matrix is None:
        return 1.0, 0.0, 0.0, 1.0
    (a, b, _), (d, e, _) = matrix[0], matrix[1]
    g, h, i = matrix[2] if len(matrix) > 2 else (0.0, 0.0, 1.0)
    w = g * x + h * y + i
    u, v = map_point(x, y, matrix)
    return (a - u * g) / w, (b - u * h) / w, (d - v * g) / w, (e - v * h) / w


def mapped_box(bbox: BBox, matrix: Matrix | None, size: tuple[int, int] | None = None) -> BBox:
    """The axis-aligned box around `bbox`'s four mapped corners, clamped to `size` (w, h) if given."""
    x0, y0, x1, y1 = bbox
    pts = [map_point(x, y, matrix) for x, y in ((x0, y0), (x1, y0), (x0, y1), (x1, y1))]
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    # Outward rounding (the 1e-6 absorbs float noise) keeps the whole word inside the box.
    bx0, by0 = math.floor(min(xs) + 1e-6), math.floor(min(ys) + 1e-6)
    bx1, by1 = math.ceil(max(xs) - 1e-6), math.ceil(max(ys) - 1e-6)
    if size is not None:
        w, h = size
        bx0, bx1 = min(max(bx0, 0), w), min(max(bx1, 0), w)
        by0, by1 = min(max(by0, 0), h), min(max(by1, 0), h)
    return bx0, by0, bx1, by1


def text_rotation(matrix: Matrix | None) -> float:
    """Degrees counterclockwise that the page's lines run at on the original image (ALTO ROTATION)."""
    if matrix is None:
        return 0.0
    a, _, d, _ = local_affine(0.0, 0.0, matrix)
    # The image's y axis points down, so a visual counterclockwise turn is -d.
    return round(math.degrees(math.atan2(-d, a)) % 360.0, 2) % 360.0


def clean_text(text: str) -> str:
    """NFC, one space between words, no characters XML 1.0 cannot carry (controls, surrogates)."""
    chars = (
        " " if unicodedata.category(ch) in ("Cc", "Cs") or ch in "\ufffe\uffff" else ch
        for ch in unicodedata.normalize("NFC", text)
    )
    return " ".join("".join(chars).split())


def line_words(line: OcrLine) -> list[tuple[str, BBox, float]]:
    """(text, box, confidence) of each word; a line the engine gave no words is one word."""
    if line.words:
        items = [(clean_text(w.text), w.bbox, w.confidence) for w in line.words]
    else:
        items = [(clean_text(line.text), line.bbox, line.confidence)]
    return [(t, b, c) for t, b, c in items if t]


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    e = ET.SubElement(parent, f"{{{ALTO_NS}}}{tag}", attrs)
    e.text = text
    return e


def _pos(el: ET.Element, box: BBox) -> None:
    x0, y0, x1, y1 = box
    el.set("HPOS", str(x0))
    el.set("VPOS", str(y0))
    el.set("WIDTH", str(x1 - x0))
    el.set("HEIGHT", str(y1 - y0))


def _union(boxes: list[BBox]) -> BBox:
    return min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)


def to_alto(page: PageText, image_name: str, width: int, height: int) -> bytes:
    """ALTO v4 (pixel units) for `page`, whose original image `image_name` is `width` x `height`."""
    ET.register_namespace("", ALTO_NS)
    ET.register_namespace("xsi", XSI_NS)
    root = ET.Element(f"{{{ALTO_NS}}}alto", {
        "SCHEMAVERSION": "4.2", f"{{{XSI_NS}}}schemaLocation": f"{ALTO_NS} {ALTO_SCHEMA}"})
    desc = _el(root, "Description")
    _el(desc, "MeasurementUnit", "pixel")
    _el(_el(desc, "sourceImageInformation"), "fileName", image_name)
    step = _el(_el(desc, "OCRProcessing", ID="ocr1"), "ocrProcessingStep")
    _el(step, "processingStepSettings",
        f"source={page.source} rotation={page.rotation} skew={page.skew:g} photographed={page.photographed}")
    _el(_el(step, "processingSoftware"), "softwareName", page.engine)

    pg = _el(_el(root, "Layout"), "Page", ID=f"p{page.page}", PHYSICAL_IMG_NR=str(page.page),
            WIDTH=str(width), HEIGHT=str(height))
    space = _el(pg, "PrintSpace", HPOS="0", VPOS="0", WIDTH=str(width), HEIGHT=str(height))

    matrix, size = page.to_original, (width, height)
    # PageText carries no blocks, so all lines go in one block (a TextLine needs >= 1 String).
    lines = [(ln, words) for ln in page.lines if (words := line_words(ln))]
    if not lines:
        return ET.tostring(root, encoding="utf-8", xml_declaration=True)
    line_boxes = [mapped_box(ln.bbox, matrix, size) for ln, _ in lines]
    block = _el(space, "TextBlock", ID=f"p{page.page}_b1")
    _pos(block, _union(line_boxes))
    if rotation := text_rotation(matrix):
        block.set("ROTATION", f"{rotation:g}")
    for li, ((ln, words), lbox) in enumerate(zip(lines, line_boxes), start=1):
        tl = _el(block, "TextLine", ID=f"p{page.page}_l{li}")
        _pos(tl, lbox)
        prev_x1: int | None = None
        for wi, (text, box, conf) in enumerate(words, start=1):
            if prev_x1 is not None:
                # The gap is taken on the cleaned page, where the line is horizontal.
                gap = (prev_x1, ln.bbox[1], max(prev_x1, box[0]), ln.bbox[3])
                _pos(_el(tl, "SP"), mapped_box(gap, matrix, size))
            s = _el(tl, "String", ID=f"p{page.page}_l{li}_w{wi}", CONTENT=text)
            _pos(s, mapped_box(box, matrix, size))
            s.set("WC", f"{min(max(conf, 0.0), 1.0):.3f}")
            prev_x1 = box[2]
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
