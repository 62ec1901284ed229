"""A second, restricted reading of machine-readable-zone lines (ICAO 9303 TD1 on card backs).

The general Vietnamese reading confuses MRZ characters (I/T, 0/9, 0/6); read again with only
the MRZ alphabet, the same crop comes out right far more often (bench/fields.py). The
extraction stage still verifies every check digit.
"""

from __future__ import annotations


import numpy as np

from extraction.mrz import looks_like_mrz  # one test of "is this an MRZ line", shared with the parser
from sohoa.models import OcrLine, OcrWord

from .engine import OcrEngine

MRZ_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<"
TD1_LENGTH = 30
def _fit(text: str) -> str:
    # Runs of fillers at the end are what a line reader drops; the line length is fixed.
    if len(text) < TD1_LENGTH and text.endswith("<"):
        return text + "<" * (TD1_LENGTH - len(text))
    return text


def reread_mrz(page: np.ndarray, lines: list[OcrLine], engine: OcrEngine) -> list[OcrLine]:
    out: list[OcrLine] = []
    for line in lines:
        if not looks_like_mrz(line.text):
            out.append(line)
            continue
        x0, y0, x1, y1 = line.bbox
        pad = max(4, (y1 - y0) // 3)
        crop = page[max(0, y0 - pad): y1 + pad, max(0, x0 - pad): x1 + pad]
        text, conf = engine.read_line(crop, MRZ_ALPHABET)
        text = _fit(text)
        if len(text) == TD1_LENGTH and set(text) <= set(MRZ_ALPHABET):
            conf = max(conf, 0.0)
            out.append(OcrLine(text=text, bbox=line.bbox, confidence=conf,
                               words=[OcrWord(text=text, bbox=line.bbox, confidence=conf)]))
        else:
            out.append(line)
    return out
