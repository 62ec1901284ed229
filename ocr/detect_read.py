"""Detector + reader: PP-OCR finds the text lines, a line reader (Tesseract `vie` by default) reads
each line crop.

PP-OCR's own recognisers cannot write Vietnamese tone marks; Tesseract can, but its page
segmentation collapses on photos and guilloche backgrounds. Each does the half it is good at.
A deployment with a Vietnamese-trained PaddleOCR recogniser makes that the line reader instead.
"""

from __future__ import annotations

import numpy as np

from sohoa.models import OcrLine, OcrWord

from .detector import TextDetector, crop_quad
from .engine import LineReader, OcrEngine, make_line


class DetectReadEngine:
    def __init__(self, reader: LineReader, detector: TextDetector | None = None,
                 helper: OcrEngine | None = None):
        """`reader` reads line crops; `helper` (default: the reader) answers orientation and
        restricted-alphabet reads, which only Tesseract does well."""
        self.reader = reader
        self.helper = helper or reader
        self.detector = detector or TextDetector()
        self.name = f"pp-ocr-det+{reader.name}"

    def version(self) -> dict[str, str]:
        import onnxruntime

        return {**self.helper.version(), **self.reader.version(), "detector": self.detector.model_path.name,
                "onnxruntime": onnxruntime.__version__}

    def detect_orientation(self, grey: np.ndarray) -> tuple[int, float]:
        return self.helper.detect_orientation(grey)

    def read_line(self, grey: np.ndarray, alphabet: str) -> tuple[str, float]:
        return self.helper.read_line(grey, alphabet)

    def recognize(self, grey: np.ndarray) -> list[OcrLine]:
        lines: list[OcrLine] = []
        for row in self.detector.detect(grey):
            words = [w for quad in row for w in self._read_segment(grey, quad)]
            if words:
                lines.append(make_line(words))
        return lines

    def _read_segment(self, grey: np.ndarray, quad: np.ndarray) -> list[OcrWord]:
        crop = crop_quad(grey, quad)
        if crop.shape[0] < 6 or crop.shape[1] < 6:
            return []
        x0, y0 = (max(0, int(v)) for v in quad.min(axis=0))
        x1, y1 = (int(v) for v in quad.max(axis=0))
        fx = (x1 - x0) / max(crop.shape[1], 1)
        # Word boxes are placed proportionally along the segment: exact for level lines,
        # approximate for the slanted ones of a photo.
        return [OcrWord(text=w.text, confidence=w.confidence,
                        bbox=(x0 + int(w.bbox[0] * fx), y0, x0 + int(w.bbox[2] * fx), y1))
                for w in self.reader.recognize_single_line(crop)]
