"""The PaddleOCR engine (ocr/paddle.py) on rendered Vietnamese text, fully offline.

Needs the `paddle` extra and local models: scripts/test-paddle provides both (its own venv,
models from PyPI). Elsewhere everything but the configuration checks skips.

The stock PP-OCRv5 recogniser has no Vietnamese tone marks (it writes "Sö dinh danh" for
"Số định danh"), so text is compared with diacritics removed. Measured on this page with
Liberation Serif (docs/paddle.md): CER 16.7 % with diacritics, 1.6 % without (whole-page engine)
and 3.2 % without (detector + Paddle reader); the 5 % and 8 % bounds leave room for other CPUs
and library builds, and still fail if reading breaks rather than merely lacking marks.
"""

from __future__ import annotations

import importlib.util
import socket
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from rapidfuzz.distance import Levenshtein

from ocr.paddle import PaddleEngine, PaddleUnavailable
from sohoa.config import PaddleOptions, Settings
from sohoa.models import OcrLine

FONTS = Path("/usr/share/fonts/truetype/liberation2")
ID_NUMBER = "001203004567"
LINES = [
    "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    "Độc lập - Tự do - Hạnh phúc",
    "GIẤY XÁC NHẬN THÔNG TIN VỀ CƯ TRÚ",
    "Họ, chữ đệm, tên: NGUYỄN THỊ HỒNG NHUNG",
    f"Số định danh cá nhân: {ID_NUMBER}",
    "Ngày, tháng, năm sinh: 12/03/1987",
    "Nơi thường trú: Số 12 đường Yersin, Phường Phú Cường",
    "Quê quán: Xã Tân Hiệp, huyện Hóc Môn, TP Hồ Chí Minh",
]
MRZ = ["IDVNM0012030045671001203004567<<8", "8703129F2703125VNM<<<<<<<<<<<0", "NGUYEN<<THI<HONG<NHUNG<<<<<<<"]
MRZ_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ<"
PAGE_CER = 0.05
DETECT_READ_CER = 0.08

network_attempts: list[object] = []


def plain(text: str) -> str:
    """Text without Vietnamese diacritics: what a recogniser without tone marks can be held to."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def cer(ref: str, hyp: str) -> float:
    return Levenshtein.distance(ref, hyp) / len(ref)


def font(name: str, size: int = 40) -> ImageFont.FreeTypeFont:
    path = FONTS / name
    if not path.exists():
        pytest.skip("fonts-liberation2 is not installed")
    return ImageFont.truetype(str(path), size)


def render_page(lines: list[str] = LINES) -> np.ndarray:
    f = font("LiberationSerif-Regular.ttf")
    img = Image.new("L", (1700, 80 + 110 * len(lines)), 255)
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        draw.text((80, 50 + i * 110), line, font=f, fill=0)
    return np.array(img)


def render_line(text: str, name: str = "LiberationSerif-Regular.ttf", pad: int = 12) -> np.ndarray:
    """A tight crop, as the detector hands the reader one line."""
    f = font(name)
    left, top, right, bottom = f.getbbox(text)
    img = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 255)
    ImageDraw.Draw(img).text((pad - left, pad - top), text, font=f, fill=0)
    return np.array(img)


def page_text(lines: list[OcrLine]) -> str:
    return "\n".join(line.text for line in lines)


def assert_boxes_inside(lines: list[OcrLine], grey: np.ndarray) -> None:
    h, w = grey.shape
    for line in lines:
        for box in [line.bbox, *(word.bbox for word in line.words)]:
            x0, y0, x1, y1 = box
            assert 0 <= x0 <= x1 <= w and 0 <= y0 < y1 <= h, (box, line.text)
        assert 0.0 <= line.confidence <= 1.0
        assert all(0.0 <= word.confidence <= 1.0 for word in line.words)


@pytest.fixture(scope="module", autouse=True)
def no_network() -> Iterator[None]:
    """Every connection and name lookup fails and is recorded: the engine must never need one."""

    def refuse(*args: object, **kwargs: object) -> None:
        network_attempts.append((args, kwargs))
        raise OSError("network access attempted in an offline test")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", refuse)
        mp.setattr(socket.socket, "connect_ex", refuse)
        mp.setattr(socket, "getaddrinfo", refuse)
        yield


@pytest.fixture(scope="module")
def options() -> PaddleOptions:
    if importlib.util.find_spec("paddleocr") is None:  # find_spec: importing paddlex has side effects
        pytest.skip("paddleocr is not installed (the `paddle` extra; scripts/test-paddle)")
    opts = Settings().paddle  # SOHOA_PADDLE__* as a deployment sets them
    if opts.det_model_dir is None or opts.rec_model_dir is None:
        pytest.skip("SOHOA_PADDLE__DET_MODEL_DIR / REC_MODEL_DIR unset (scripts/paddle-models)")
    return opts


@pytest.fixture(scope="module")
def engine(options: PaddleOptions) -> PaddleEngine:
    return PaddleEngine(options)


@pytest.fixture(scope="module")
def page() -> np.ndarray:
    return render_page()


def test_missing_model_dir_is_refused_not_downloaded(tmp_path: Path) -> None:
    with pytest.raises(PaddleUnavailable, match="SOHOA_PADDLE__DET_MODEL_DIR"):
        PaddleEngine(PaddleOptions())
    with pytest.raises(PaddleUnavailable, match="lacks inference.pdiparams"):
        PaddleEngine(PaddleOptions(det_model_dir=tmp_path / "nowhere", rec_model_dir=tmp_path / "nowhere"))


def test_missing_package_is_named(tmp_path: Path) -> None:
    if importlib.util.find_spec("paddleocr") is not None:
        pytest.skip("paddleocr is installed here")
    for name in ("inference.pdiparams", "inference.yml"):
        (tmp_path / name).write_text("")
    with pytest.raises(PaddleUnavailable, match="paddleocr package is not installed"):
        PaddleEngine(PaddleOptions(det_model_dir=tmp_path, rec_model_dir=tmp_path))


def test_wrong_model_name_names_the_setting(options: PaddleOptions) -> None:
    bad = options.model_copy(update={"rec_model_name": "PP-OCRv5_server_rec"})
    with pytest.raises(PaddleUnavailable, match="SOHOA_PADDLE__\\*_MODEL_NAME"):
        PaddleEngine(bad)


def test_page_reads_without_diacritics(engine: PaddleEngine, page: np.ndarray) -> None:
    lines = engine.recognize(page)
    text = page_text(lines)
    assert len(lines) == len(LINES), text
    assert cer(plain("\n".join(LINES)), plain(text)) < PAGE_CER, text
    assert ID_NUMBER in text.split()
    assert "12/03/1987" in text
    assert_boxes_inside(lines, page)
    # Lines come top to bottom, words left to right inside each line.
    assert [ln.bbox[1] for ln in lines] == sorted(ln.bbox[1] for ln in lines)
    assert all(a.bbox[0] <= b.bbox[0] for ln in lines for a, b in zip(ln.words, ln.words[1:]))


def test_single_line_and_restricted_alphabet(engine: PaddleEngine) -> None:
    crop = render_line(f"Số định danh cá nhân: {ID_NUMBER}")
    words = engine.recognize_single_line(crop)
    assert words[-1].text == ID_NUMBER
    assert cer(plain(LINES[4]), plain(" ".join(w.text for w in words))) < PAGE_CER
    h, w = crop.shape
    assert all(0 <= wd.bbox[0] <= wd.bbox[2] <= w and wd.bbox[1] == 0 and wd.bbox[3] == h for wd in words)
    for line in MRZ:
        text, conf = engine.read_line(render_line(line, "LiberationMono-Regular.ttf"), MRZ_ALPHABET)
        assert text == line and 0.5 < conf <= 1.0


def test_version_carries_model_hashes(engine: PaddleEngine, options: PaddleOptions) -> None:
    v = engine.version()
    assert next(iter(v)) == "paddleocr"  # the first value names the engine in PageText.engine
    assert v["paddlepaddle"]
    for name in (options.det_model_name, options.rec_model_name):
        assert v[f"model:{name}"].startswith("sha256:") and len(v[f"model:{name}"]) == 7 + 64
    assert engine.detect_orientation(np.full((50, 50), 255, np.uint8)) == (0, 0.0)


def test_detector_with_paddle_reader(engine: PaddleEngine, page: np.ndarray) -> None:
    from ocr.detect_read import DetectReadEngine
    from ocr.detector import DetectorUnavailable
    from ocr.tesseract import TesseractEngine, TesseractUnavailable

    try:
        combined = DetectReadEngine(engine, helper=TesseractEngine())
    except (TesseractUnavailable, DetectorUnavailable) as exc:
        pytest.skip(str(exc))
    lines = combined.recognize(page)
    text = page_text(lines)
    assert cer(plain("\n".join(LINES)), plain(text)) < DETECT_READ_CER, text
    assert ID_NUMBER in text.split()
    assert_boxes_inside(lines, page)
    assert combined.name == "pp-ocr-det+paddle" and "paddleocr" in combined.version()


def test_no_network_was_attempted(engine: PaddleEngine) -> None:
    # Runs last in this module: covers importing paddleocr, loading both models and every read above.
    engine.recognize_single_line(render_line("Hạnh phúc"))
    assert network_attempts == []
