"""Small rendered documents for tests that need a real page (no shared samples needed)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

FONT = Path("/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf")
FONT_BOLD = Path("/usr/share/fonts/truetype/liberation2/LiberationSans-Bold.ttf")

CARD_LINES = [
    ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", True),
    ("Độc lập - Tự do - Hạnh phúc", True),
    ("CĂN CƯỚC CÔNG DÂN", True),
    ("Số / No.: 074187001234", False),
    ("Họ và tên / Full name:", False),
    ("NGUYỄN THỊ HỒNG NHUNG", True),
    ("Ngày sinh / Date of birth: 12/03/1987", False),
    ("Giới tính / Sex: Nữ", False),
    ("Quốc tịch / Nationality: Việt Nam", False),
    ("Quê quán / Place of origin: Xã Diễn Châu, huyện Diễn Châu, tỉnh Nghệ An", False),
    ("Nơi thường trú / Place of residence: Số 12 đường Yersin, Phường Phú Cường,", False),
    ("thành phố Thủ Dầu Một, tỉnh Bình Dương", False),
    ("Có giá trị đến: 12/03/2027", False),
]


def card_png(lines=CARD_LINES) -> bytes:
    """A plain rendering of a 2021 CCCD front (the generator in sohoa.synth makes realistic ones)."""
    if not FONT.exists():
        pytest.skip("fonts-liberation2 is not installed")
    img = Image.new("RGB", (1400, 60 + 52 * len(lines)), (250, 250, 245))
    draw = ImageDraw.Draw(img)
    regular, bold = ImageFont.truetype(str(FONT), 30), ImageFont.truetype(str(FONT_BOLD), 30)
    for i, (text, is_bold) in enumerate(lines):
        draw.text((40, 30 + 52 * i), text, font=bold if is_bold else regular, fill=(20, 20, 20))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def text_pdf(lines: list[str], pages: int = 1) -> bytes:
    """A born-digital PDF (a real text layer: no OCR needed), card-sized, `pages` pages each
    carrying `lines` and its page number: fast documents for tests of the work queue."""
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    if not FONT.exists():
        pytest.skip("fonts-liberation2 is not installed")
    if "LiberationSans" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("LiberationSans", str(FONT)))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(86 * mm, 54 * mm))
    for page in range(1, pages + 1):
        c.setFont("LiberationSans", 6)
        for i, line in enumerate([*lines, f"Trang {page}/{pages}"]):
            c.drawString(4 * mm, (50 - 3.2 * i) * mm, line)
        c.showPage()
    c.save()
    return buf.getvalue()


def card_lines(n: int) -> list[str]:
    """The plain card's text with a different 12-digit id number for each `n` (distinct bytes)."""
    return [f"Số / No.: 0741870{n:05d}" if text.startswith("Số / No.") else text for text, _ in CARD_LINES]
