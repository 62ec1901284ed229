"""The OCR engine interface. Engines read an upright, cleaned greyscale page into lines.

Engines: `tesseract` (ocr/tesseract.py), `paddle` (ocr/paddle.py, PaddleOCR from local model
directories), and detector + line reader (ocr/detect_read.py); `SOHOA_OCR_ENGINE` picks one.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Protocol

import numpy as np

from sohoa.models import OcrLine, OcrWord


class OcrEngine(Protocol):
    name: str

    def version(self) -> dict[str, str]:
        """Software and model versions (and model hashes) for provenance."""

    def detect_orientation(self, grey: np.ndarray) -> tuple[int, float]:
        """(clockwise degrees the page must be turned to be upright, confidence)."""

    def read_line(self, grey: np.ndarray, alphabet: str) -> tuple[str, float]:
        """A single cropped line read with a restricted alphabet, and its 0..1 confidence."""

    def recognize(self, grey: np.ndarray) -> list[OcrLine]:
        """Lines in reading order with pixel boxes and 0..1 confidences."""


class LineReader(Protocol):
    """Reads one cropped text line (detector + reader engines feed it line crops)."""

    name: str

    def version(self) -> dict[str, str]: ...

    def recognize_single_line(self, grey: np.ndarray) -> list[OcrWord]:
        """Words of a crop that holds one line, boxes in crop pixels, 0..1 confidences."""


def make_line(words: list[OcrWord]) -> OcrLine:
    """A line from its words: the union of their boxes, confidence weighted by characters."""
    chars = sum(len(w.text) for w in words)
    box = (min(w.bbox[0] for w in words), min(w.bbox[1] for w in words),
           max(w.bbox[2] for w in words), max(w.bbox[3] for w in words))
    conf = sum(w.confidence * len(w.text) for w in words) / max(chars, 1)
    return OcrLine(text=" ".join(w.text for w in words), bbox=box, confidence=round(conf, 4), words=words)


@cache
def file_sha256(path: Path) -> str:
    """SHA-256 of a model file, for provenance; models do not change while a process runs."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
