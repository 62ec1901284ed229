"""TrueType fonts from Debian's fonts-liberation2 and fonts-dejavu packages.

Liberation Serif/Sans are metric-compatible with Times New Roman/Arial, the fonts Vietnamese
offices actually print with; DejaVu stands in for the wider fonts of older forms. All of them carry
the precomposed Vietnamese letters, so NFC text renders without combining-mark placement issues.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

_LIB = Path("/usr/share/fonts/truetype/liberation2")
_DJV = Path("/usr/share/fonts/truetype/dejavu")

FONTS: dict[str, Path] = {
    "serif": _LIB / "LiberationSerif-Regular.ttf",
    "serif-bold": _LIB / "LiberationSerif-Bold.ttf",
    "serif-italic": _LIB / "LiberationSerif-Italic.ttf",
    "sans": _LIB / "LiberationSans-Regular.ttf",
    "sans-bold": _LIB / "LiberationSans-Bold.ttf",
    "mono": _LIB / "LiberationMono-Regular.ttf",
    "dv-sans": _DJV / "DejaVuSans.ttf",
    "dv-sans-bold": _DJV / "DejaVuSans-Bold.ttf",
    "dv-serif": _DJV / "DejaVuSerif.ttf",
    "dv-serif-bold": _DJV / "DejaVuSerif-Bold.ttf",
}

# Widths are measured on a large instance and scaled, so that line breaks are decided in layout
# units and come out the same at any output dpi and in the PDF text layer.
_MEASURE_PX = 200


@lru_cache(maxsize=256)
def pil_font(key: str, px: float) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONTS[key]), px, layout_engine=ImageFont.Layout.BASIC)


def text_width(text: str, key: str, size: float) -> float:
    return pil_font(key, _MEASURE_PX).getlength(text) * size / _MEASURE_PX


@lru_cache(maxsize=None)
def reportlab_font(key: str) -> str:
    """Register the font with reportlab (embedded subset with a ToUnicode map); return its name."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    name = "Sohoa-" + key
    pdfmetrics.registerFont(TTFont(name, str(FONTS[key])))
    return name
