"""The QR code of chip ID cards: its payload for a person, and its modules drawn on a `Sheet`.

The 2021 "CĂN CƯỚC CÔNG DÂN" chip card carries it on the front (top right), the 2024 "CĂN CƯỚC"
card on the back. As read by a decoder it holds, in UTF-8 byte mode,
`id|old id|name|ddmmyyyy birth|sex|address|ddmmyyyy issue`; the old id (the 9-digit CMND) is
empty for people who never held one.

Modules are drawn as filled rectangles (one per horizontal run of dark modules), so the code
rasterises at any dpi and stays vector in PDFs.
"""

from __future__ import annotations

import math
from datetime import date

import segno

from .people import Person, add_years
from .sheet import INK, Color, Sheet

# 12-digit CCCDs replaced the CMND from 2016 (and CMNDs were issued from the age of 14): only
# people who reached 14 before then can have held one.
CCCD_START = date(2016, 1, 1)
CMND_AGE = 14
# Error correction: M at least (segno raises it when the payload leaves room in the same version).
ERROR = "m"
# Shrink of each rectangle, in sheet units: Pillow fills both end pixels of a rectangle, which
# would fatten every dark module by a pixel; a quarter unit stays invisible in a PDF.
_INSET = 0.25


def old_id(p: Person) -> str:
    """The 9-digit CMND number the QR repeats, or "" when the person never held a CMND."""
    return p.cmnd_number if add_years(p.date_of_birth, CMND_AGE) < CCCD_START else ""


def ddmmyyyy(d: date) -> str:
    return d.strftime("%d%m%Y")


def payload(p: Person, issued: date) -> str:
    """What a decoder reads from the card's QR code."""
    return "|".join([p.id_number, old_id(p), p.full_name, ddmmyyyy(p.date_of_birth), p.sex,
                     p.place_of_residence.full(), ddmmyyyy(issued)])


def matrix(data: str) -> list[list[bool]]:
    """Dark (True) and light modules of the symbol, without its quiet zone."""
    qr = segno.make_qr(data, error=ERROR, encoding="utf-8")
    return [[bool(v) for v in row] for row in qr.matrix]


def module_size(modules: int, min_side: float) -> int:
    """Whole sheet units a module, the fewest that make the symbol at least `min_side` wide:
    whole pixels at 300 dpi keep every module the same width on a card render."""
    return max(1, math.ceil(min_side / modules))


def runs(row: list[bool]) -> list[tuple[int, int]]:
    """(start, end) column spans of the dark modules of one row, end exclusive."""
    out: list[tuple[int, int]] = []
    start = None
    for i, dark in enumerate([*row, False]):
        if dark and start is None:
            start = i
        elif not dark and start is not None:
            out.append((start, i))
            start = None
    return out


def draw(sh: Sheet, x: float, y: float, modules: list[list[bool]], module: float,
         ink: Color = INK) -> float:
    """Draw the symbol with its top-left corner at (x, y); returns its side. The quiet zone is
    whatever lies around it on the card."""
    for r, row in enumerate(modules):
        y0 = y + r * module
        for c0, c1 in runs(row):
            sh.rect(x + c0 * module, y0, x + c1 * module - _INSET, y0 + module - _INSET, fill=ink)
    return len(modules) * module
