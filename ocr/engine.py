"""The OCR engine interface. Engines read an upright, cleaned greyscale page into lines.

Engines: `tesseract` (ocr/tesseract.py), `paddle` (ocr/paddle.py, PaddleOCR from local model
directories), and detector + line reader (ocr/detect_read.py); `SOHOA_OCR_ENGINE` picks one.
"""

from __future__ import annotations

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
