"""A tiny layout model shared by the raster renderer and the born-digital PDF writer.

A template draws onto a `Sheet` in its own units (card templates in 300-dpi pixels, A4 templates in
points); the sheet records drawing operations and, in order, every printed text line. The same
recorded sheet is then rasterised with Pillow at any dpi, or written with reportlab as a PDF whose
text layer holds exactly those lines, so the image, the PDF text and the truth `text` agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image, ImageDraw

from .fonts import pil_font, reportlab_font, text_width

INK = (25, 25, 28)
RED = (170, 28, 36)

Color = tuple[int, int, int]


@dataclass(frozen=True)
class Linework:
    """Fine security line-work printed over the tint of a card, under the personalised text."""

    ink: Color  # the ink's colour at full cover on white
    alpha: float  # cover at a line's centre

    def coverage(self, xs: np.ndarray, ys: np.ndarray, scale: float) -> np.ndarray:
        """Ink cover 0..1 per pixel; xs, ys are the pixel centres in sheet units, `scale` px per
        unit."""
        raise NotImplementedError


@dataclass(frozen=True)
class Waves(Linework):
    """A family of fine wavy lines: the level sets v + a(v)·sin(2πu/wavelength + phase) =
    k·spacing in coordinates (u, v) turned by `angle` degrees, with the swing a(v) swelling along
    v. Two such families half a wave apart weave the chains of lenses of offset guilloche."""

    ink: Color
    alpha: float
    spacing: float
    wavelength: float
    amplitude: float
    phase: float = 0.0
    angle: float = 0.0
    swell: float = 0.0  # relative change of the swing ...
    swell_period: float = 400.0  # ... over this distance across the lines
    width: float = 1.0

    def coverage(self, xs: np.ndarray, ys: np.ndarray, scale: float) -> np.ndarray:
        a = math.radians(self.angle)
        u = xs * math.cos(a) + ys * math.sin(a)
        v = ys * math.cos(a) - xs * math.sin(a)
        swing = self.amplitude * (1 + self.swell * np.sin(2 * math.pi * v / self.swell_period))
        phi = (v + swing * np.sin(2 * math.pi * u / self.wavelength + self.phase)) / self.spacing
        return _level_lines(phi, self.width * scale)


def _level_lines(phi: np.ndarray, width_px: float) -> np.ndarray:
    """Anti-aliased lines `width_px` wide where the smooth field `phi` takes integer values: the
    distance to the nearest one is the offset in phi over its slope, both per pixel."""
    gy, gx = np.gradient(phi)
    dist = np.abs(phi - np.round(phi)) / (np.hypot(gx, gy) + 1e-6)
    # below one pixel a line cannot get thinner, only paler: keep the ink per length
    return np.clip(width_px / 2 + 0.5 - dist, 0, 1) * min(1.0, width_px)


_SHIFT = 4  # fractional bits of OpenCV's fixed-point coordinates: curves placed to 1/16 px


def _pixels(points: np.ndarray, scale: float) -> np.ndarray:
    """Sheet units to OpenCV's fixed-point pixel coordinates."""
    return np.round(points * scale * (1 << _SHIFT)).astype(np.int32)


@dataclass(frozen=True)
class Rosette(Linework):
    """Spirograph rosette: hypotrochoids of a wheel rolling `turns` times inside a ring to close
    after `lobes` lobes, one curve per pen distance (fractions of the wheel radius), all scaled to
    `radius` units and turned by `turn` radians; lobes/turns coprime make the dense star mesh."""

    ink: Color
    alpha: float
    cx: float
    cy: float
    radius: float
    lobes: int
    turns: int
    pens: tuple[float, ...] = (0.6, 0.8, 1.0)
    turn: float = 0.0

    def coverage(self, xs: np.ndarray, ys: np.ndarray, scale: float) -> np.ndarray:
        mask = np.zeros(xs.shape, np.uint8)
        roll = self.turns / self.lobes  # wheel radius, ring radius 1
        # vertex count from sheet units, not pixels, so a curve is the same polygon at any dpi
        t = np.linspace(0, 2 * math.pi * self.turns, int(self.lobes * (self.radius * 0.6 + 40)))
        c, s = math.cos(self.turn), math.sin(self.turn)
        curves = []
        for pen in self.pens:
            d = pen * roll
            x = (1 - roll) * np.cos(t) + d * np.cos((1 - roll) / roll * t)
            y = (1 - roll) * np.sin(t) - d * np.sin((1 - roll) / roll * t)
            k = self.radius / (1 - roll + d)
            pts = np.stack([self.cx + k * (x * c - y * s), self.cy + k * (x * s + y * c)], 1)
            curves.append(_pixels(pts, scale))
        cv2.polylines(mask, curves, True, 255, 1, cv2.LINE_AA, _SHIFT)
        return mask.astype(np.float32) * (min(1.0, scale) / 255)


@dataclass(frozen=True)
class Drum(Linework):
    """The bronze-drum face (Đông Sơn) faintly printed on the cards: a sun star of `rays` points,
    then bands of concentric rings, radial hatching and small circles out to `radius`."""

    ink: Color
    alpha: float
    cx: float
    cy: float
    radius: float
    rays: int = 14
    turn: float = 0.0

    def coverage(self, xs: np.ndarray, ys: np.ndarray, scale: float) -> np.ndarray:
        mask = np.zeros(xs.shape, np.uint8)
        r0, c = self.radius, np.array([self.cx, self.cy])
        ang = self.turn + np.arange(2 * self.rays) * math.pi / self.rays
        star = np.where(np.arange(2 * self.rays) % 2 == 0, 0.22 * r0, 0.07 * r0)
        pts = c + np.stack([star * np.cos(ang), star * np.sin(ang)], 1)
        cv2.fillPoly(mask, [_pixels(pts, scale)], 255, cv2.LINE_AA, _SHIFT)

        def circle(centre: np.ndarray, rr: float) -> None:
            cv2.circle(mask, tuple(int(v) for v in _pixels(centre, scale)),
                       round(rr * scale * (1 << _SHIFT)), 255, 1, cv2.LINE_AA, _SHIFT)

        for frac in (0.25, 0.27, 0.45, 0.47, 0.62, 0.64, 0.80, 0.82, 0.98, 1.0):
            circle(c, frac * r0)
        # radial hatching between 0.27 and 0.45 (ticks ~7 units apart), 45 small circles between
        # 0.64 and 0.80
        n = int(2 * math.pi * 0.36 * r0 / 7)
        a = self.turn + np.arange(n) * 2 * math.pi / n
        dirs = np.stack([np.cos(a), np.sin(a)], 1)
        ticks = [_pixels(np.stack([c + 0.27 * r0 * v, c + 0.45 * r0 * v]), scale) for v in dirs]
        cv2.polylines(mask, ticks, False, 255, 1, cv2.LINE_AA, _SHIFT)
        for k in range(45):
            b = self.turn + k * 2 * math.pi / 45
            circle(c + 0.72 * r0 * np.array([math.cos(b), math.sin(b)]), 0.035 * r0)
        return mask.astype(np.float32) * (min(1.0, scale) / 255)


@dataclass
class Guilloche:
    """Security-print background: zigzag stripes like the samples' card backgrounds, then fine
    line-work (`Waves`, `Rosette`, `Drum`) in transparent inks over them."""

    base: Color
    shade: Color
    wavelength: float = 52.0  # horizontal distance between stripes
    period: float = 100.0  # vertical length of one zigzag
    amplitude: float = 40.0  # sideways swing of a stripe
    phase: float = 0.0
    linework: tuple[Linework, ...] = ()

    def raster(self, w: int, h: int, scale: float) -> np.ndarray:
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32) / scale
        # half triangle, half cosine (both 1 at the tips, 0 half-way): chevrons with the rounded
        # tips of offset-printed guilloche
        f = (ys / self.period) % 1.0
        tri = np.abs(f - 0.5) + 0.25 + 0.25 * np.cos(2 * math.pi * f)
        shift = xs + self.amplitude * tri + self.phase
        v = 0.5 + 0.5 * np.cos(2 * math.pi * shift / self.wavelength)
        v = v[..., None]
        base, shade = np.array(self.base, np.float32), np.array(self.shade, np.float32)
        out = base * (1 - v) + shade * v
        for work in self.linework:
            # offset inks are transparent: each layer filters the light, like a multiply blend
            cover = (work.alpha * work.coverage(xs, ys, scale))[..., None]
            out *= 1 - cover * (1 - np.array(work.ink, np.float32) / 255)
        return np.clip(out, 0, 255).astype(np.uint8)


@dataclass
class Sheet:
    width: float
    height: float
    pt_per_unit: float  # 72/300 when the template is drawn in 300-dpi pixels, 1 for points
    paper: Color = (255, 255, 255)
    pattern: Guilloche | None = None
    offset: tuple[float, float] = (0.0, 0.0)  # jitter of the whole print on the paper
    ops: list[tuple] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    # --- drawing -------------------------------------------------------------------------------
    def text(self, x: float, y: float, s: str, font: str, size: float, fill: Color = INK,
             anchor: str = "l", record: bool = True) -> float:
        """Draw one line with its baseline at y; anchor l/m/r is where x sits. Returns the width."""
        self.ops.append(("text", x, y, s, font, size, fill, anchor))
        if record:
            self.lines.append(s)
        return text_width(s, font, size)

    def para(self, x: float, y: float, s: str, font: str, size: float, width: float,
             leading: float, fill: Color = INK, anchor: str = "l") -> float:
        """Word-wrap s into `width`, draw it, return the baseline after the last line."""
        for line in wrap(s, font, size, width):
            self.text(x, y, line, font, size, fill, anchor)
            y += leading
        return y

    def rect(self, x0, y0, x1, y1, fill: Color | None = None, outline: Color | None = None,
             width: float = 1.0) -> None:
        self.ops.append(("rect", x0, y0, x1, y1, fill, outline, width))

    def ellipse(self, x0, y0, x1, y1, outline: Color, width: float = 1.0) -> None:
        self.ops.append(("ellipse", x0, y0, x1, y1, None, outline, width))

    def line(self, x0, y0, x1, y1, fill: Color = INK, width: float = 1.0) -> None:
        self.ops.append(("line", x0, y0, x1, y1, fill, width))

    @property
    def text_content(self) -> str:
        return "\n".join(self.lines)


def wrap(s: str, font: str, size: float, width: float) -> list[str]:
    """Greedy word wrap on spaces, as word processors and card printers do. A line that fits is
    kept as is, so deliberate runs of spaces (column gaps) survive."""
    if text_width(s, font, size) <= width:
        return [s]
    lines: list[str] = []
    cur = ""
    for word in s.split():
        trial = f"{cur} {word}" if cur else word
        if cur and text_width(trial, font, size) > width:
            lines.append(cur)
            cur = word
        else:
            cur = trial
    if cur:
        lines.append(cur)
    return lines


def rasterize(sheet: Sheet, dpi: float) -> Image.Image:
    scale = sheet.pt_per_unit * dpi / 72.0
    w, h = round(sheet.width * scale), round(sheet.height * scale)
    if sheet.pattern is not None:
        img = Image.fromarray(sheet.pattern.raster(w, h, scale), "RGB")
    else:
        img = Image.new("RGB", (w, h), sheet.paper)
    draw = ImageDraw.Draw(img)
    ox, oy = sheet.offset

    def p(x: float, y: float) -> tuple[float, float]:
        return (x + ox) * scale, (y + oy) * scale

    for op in sheet.ops:
        kind = op[0]
        if kind == "text":
            _, x, y, s, font, size, fill, anchor = op
            draw.text(p(x, y), s, font=pil_font(font, round(size * scale * 4) / 4), fill=fill,
                      anchor=anchor + "s")
        elif kind in ("rect", "ellipse"):
            _, x0, y0, x1, y1, fill, outline, width = op
            box = [*p(x0, y0), *p(x1, y1)]
            fn = draw.rectangle if kind == "rect" else draw.ellipse
            fn(box, fill=fill, outline=outline, width=max(1, round(width * scale)))
        elif kind == "line":
            _, x0, y0, x1, y1, fill, width = op
            draw.line([*p(x0, y0), *p(x1, y1)], fill=fill, width=max(1, round(width * scale)))
    img.info["dpi"] = (dpi, dpi)
    return img


def write_pdf(sheets: list[Sheet], path, title: str = "") -> None:
    """Born-digital PDF: real text (embedded TrueType subsets with ToUnicode maps), vector rules."""
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pageCompression=1, invariant=1)  # invariant: same bytes per seed
    c.setTitle(title)
    for sheet in sheets:
        k = sheet.pt_per_unit
        pw, ph = sheet.width * k, sheet.height * k
        c.setPageSize((pw, ph))
        if sheet.pattern is not None:
            bg = rasterize(Sheet(sheet.width, sheet.height, k, pattern=sheet.pattern), 150)
            c.drawImage(ImageReader(bg), 0, 0, pw, ph)
        elif sheet.paper != (255, 255, 255):
            c.setFillColorRGB(*(v / 255 for v in sheet.paper))
            c.rect(0, 0, pw, ph, stroke=0, fill=1)
        ox, oy = sheet.offset
        for op in sheet.ops:
            kind = op[0]
            if kind == "text":
                _, x, y, s, font, size, fill, anchor = op
                c.setFillColorRGB(*(v / 255 for v in fill))
                c.setFont(reportlab_font(font), size * k)
                draw = {"l": c.drawString, "m": c.drawCentredString, "r": c.drawRightString}[anchor]
                draw((x + ox) * k, ph - (y + oy) * k, s)
            elif kind in ("rect", "ellipse"):
                _, x0, y0, x1, y1, fill, outline, width = op
                if fill:
                    c.setFillColorRGB(*(v / 255 for v in fill))
                if outline:
                    c.setStrokeColorRGB(*(v / 255 for v in outline))
                c.setLineWidth(width * k)
                args = ((x0 + ox) * k, ph - (y1 + oy) * k)
                if kind == "rect":
                    c.rect(*args, (x1 - x0) * k, (y1 - y0) * k, stroke=int(bool(outline)),
                           fill=int(bool(fill)))
                else:
                    c.ellipse(*args, (x1 + ox) * k, ph - (y0 + oy) * k, stroke=1, fill=0)
            elif kind == "line":
                _, x0, y0, x1, y1, fill, width = op
                c.setStrokeColorRGB(*(v / 255 for v in fill))
                c.setLineWidth(width * k)
                c.line((x0 + ox) * k, ph - (y0 + oy) * k, (x1 + ox) * k, ph - (y1 + oy) * k)
        c.showPage()
    c.save()
