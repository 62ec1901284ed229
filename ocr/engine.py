"""The OCR engine interface. Engines read an upright, cleaned greyscale page into lines.

Later engines (PaddleOCR from a local model directory, detector + line reader) implement the
same protocol and are picked by `SOHOA_OCR_ENGINE`.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from sohoa.models import OcrLine


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
