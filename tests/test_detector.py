"""PP-OCR line detection (ONNX weights from the rapidocr wheel) + Tesseract per line, on a photo."""

from __future__ import annotations

import random

import numpy as np
import pytest
from rapidfuzz import fuzz

from ingest.pages import RawPage
from ocr.detector import order_corners, sort_reading_order
from ocr.read import prepare
from sohoa.config import PreprocessOptions


def test_reading_order_groups_rows_left_to_right() -> None:
    def quad(x, y, w=100, h=20):
        return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float32)

    rows = sort_reading_order([quad(300, 52), quad(10, 50), quad(10, 100), quad(200, 5)])
    assert [[int(q[0, 0]) for q in row] for row in rows] == [[200], [10, 300], [10]]
    shuffled = np.array([[110, 20], [10, 0], [10, 20], [110, 0]], np.float32)
    assert order_corners(shuffled).tolist() == [[10, 0], [110, 0], [110, 20], [10, 20]]


def test_detect_and_read_a_photographed_card() -> None:
    pytest.importorskip("onnxruntime")
    from ocr.detect_read import DetectReadEngine
    from ocr.detector import DetectorUnavailable
    from ocr.tesseract import TesseractEngine, TesseractUnavailable
    from sohoa.synth.degrade import degrade
    from sohoa.synth.people import random_person
    from sohoa.synth.render import render_document

    try:
        engine = DetectReadEngine(TesseractEngine())
    except (DetectorUnavailable, TesseractUnavailable) as exc:
        pytest.skip(str(exc))
    rng = random.Random(4)
    doc = render_document("cccd_front_2021", random_person(rng), rng)
    photo = degrade(doc.image, "photo", rng)  # the harsh level: ~130 dpi, guilloche, glare, JPEG q25-40
    lines = engine.recognize(prepare(RawPage(1, photo, 130), PreprocessOptions()).grey)
    text = "\n".join(ln.text for ln in lines)
    assert doc.fields["id_number"] in text.replace(" ", "")
    # The title may lose a tone mark at this resolution, but not more than one character.
    assert fuzz.partial_ratio("CĂN CƯỚC CÔNG DÂN", text) >= 94
    assert all(ln.words and 0 <= ln.confidence <= 1 for ln in lines)
    assert "detector" in engine.version()
