"""OCR stage: clean-up steps and Tesseract `vie` on rendered Vietnamese text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from ingest.pages import RawPage
from ocr import preprocess as pp
from ocr.alto import map_point
from ocr.read import read_page
from sohoa.config import PreprocessOptions, TesseractOptions

FONT = Path("/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf")
LINES = [
    "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    "Độc lập - Tự do - Hạnh phúc",
    "Họ, chữ đệm, tên: NGUYỄN THỊ HỒNG NHUNG",
    "Nơi thường trú: Số 12 đường Yersin, Phường Phú Cường",
    "Ngày, tháng, năm sinh: 12/03/1987",
]


@pytest.fixture(scope="module")
def engine():
    from ocr.tesseract import TesseractEngine, TesseractUnavailable

    try:
        return TesseractEngine(TesseractOptions())
    except TesseractUnavailable as exc:
        pytest.skip(str(exc))


def page_image(lines=LINES, size=(1700, 900)) -> Image.Image:
    if not FONT.exists():
        pytest.skip("fonts-liberation2 is not installed")
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(str(FONT), 44)
    for i, line in enumerate(lines):
        draw.text((80, 80 + i * 140), line, font=font, fill="black")
    return img


def test_skew_estimate_recovers_a_known_angle() -> None:
    grey = pp.to_grey(page_image())
    tilted = pp.rotate_small(grey, 3.0)
    assert pp.estimate_skew(tilted) == pytest.approx(-3.0, abs=0.3)
    assert pp.estimate_skew(grey) == pytest.approx(0.0, abs=0.2)


def test_illumination_flattening_removes_a_gradient() -> None:
    grey = pp.to_grey(page_image()).astype(np.float32)
    ramp = np.linspace(0.45, 1.0, grey.shape[1], dtype=np.float32)[None, :]
    shaded = (grey * ramp).astype(np.uint8)
    flat = pp.flatten_illumination(shaded)
    # Paper on the dark side and the bright side ends up equally light.
    left, right = np.median(flat[:, :200]), np.median(flat[:, -200:])
    assert abs(int(left) - int(right)) < 15 and left > 200


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_reads_vietnamese_with_diacritics_at_any_orientation(engine, rotation: int) -> None:
    img = page_image().rotate(-rotation, expand=True).filter(ImageFilter.GaussianBlur(0.8))
    result = read_page(RawPage(number=1, image=img, dpi=300), engine, PreprocessOptions())
    text = result.text.text
    for line in LINES:
        assert line in text, f"missing {line!r} in {text!r}"
    assert result.text.source == "ocr"
    assert all(0.0 <= ln.confidence <= 1.0 and ln.bbox[2] > ln.bbox[0] for ln in result.text.lines)
    assert result.text.mean_confidence > 0.85


def test_text_layer_page_skips_ocr(engine) -> None:
    from sohoa.models import OcrLine

    line = OcrLine(text="Số: 181/UBND-KSTTHC", bbox=(0, 0, 10, 10), confidence=1.0)
    raw = RawPage(number=1, image=Image.new("RGB", (10, 10)), dpi=72, text_lines=[line], text_layer_engine="pdfplumber")
    result = read_page(raw, engine, PreprocessOptions())
    assert result.text.source == "text_layer" and result.cleaned is None
    assert result.text.text == "Số: 181/UBND-KSTTHC"


def test_card_copied_on_a4_is_read_from_its_region(engine) -> None:
    card = page_image(size=(1700, 800)).resize((1020, 480))
    rng = np.random.default_rng(3)
    a4 = (rng.normal(238, 6, (3508, 2480)).clip(0, 255)).astype(np.uint8)
    a4 = np.stack([a4] * 3, axis=-1)
    a4[500:980, 600:1620] = np.asarray(card)
    grey = pp.to_grey(a4)
    crop, (ox, oy) = pp.crop_to_content(grey)
    assert 500 < ox + 20 < 700 and 400 < oy + 20 < 600
    assert crop.shape[0] < 700 and crop.shape[1] < 1200
    result = read_page(RawPage(number=1, image=Image.fromarray(a4), dpi=300), engine, PreprocessOptions())
    assert "Độc lập - Tự do - Hạnh phúc" in result.text.text


def test_full_page_is_not_cropped() -> None:
    grey = pp.to_grey(page_image())
    crop, _ = pp.crop_to_content(grey)
    assert crop.size > 0.3 * grey.size


@pytest.mark.parametrize("rotation", [0, 90, 270])
def test_boxes_map_back_to_the_original_page(engine, rotation: int) -> None:
    """A word's box, mapped through `to_original`, lands on that word in the turned original."""
    img = page_image()
    turned = img.rotate(-rotation, expand=True)  # the scanner fed it turned clockwise
    result = read_page(RawPage(number=1, image=turned, dpi=300), engine, PreprocessOptions())
    word = next(w for ln in result.text.lines for w in ln.words if w.text == "Yersin,")
    x0, y0, x1, y1 = word.bbox
    cx, cy = map_point((x0 + x1) / 2, (y0 + y1) / 2, result.text.to_original)
    # where "Yersin," sits on the upright rendering, turned the same way
    ux, uy = 80 + ImageFont.truetype(str(FONT), 44).getlength("Nơi thường trú: Số 12 đường ") + 70, 80 + 3 * 140 + 25
    w, h = img.size
    expected = {0: (ux, uy), 90: (h - 1 - uy, ux), 270: (uy, w - 1 - ux)}[rotation]
    assert abs(cx - expected[0]) < 40 and abs(cy - expected[1]) < 40, (cx, cy, expected)
