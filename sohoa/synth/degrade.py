"""Make a clean render look scanned or photographed. Deterministic for a given `rng` state.

- clean: as rendered.
- scan: the paper on a flatbed/copier: small rotation (±3°) and skew, soft blur, sensor noise,
  uneven illumination, a paper tint, JPEG q40–70.
- photo: a harsh phone photo: the paper on a darker table, turned by up to ±8° with its corners
  moved by 2–6% of its size (perspective), a drop shadow, a strong light gradient and one or two
  glare spots that wash the print towards white (legible still), defocus blur, sampled at 120–150 dpi of the paper (cards
  are rendered at 300 dpi, pages at 200: the scale follows the input's dpi), sensor noise,
  JPEG q25–40.
`rotation` then turns the whole picture counter-clockwise by 0/90/180/270 degrees (a page fed
sideways or upside down); undo it by rotating clockwise by the same angle.
"""

from __future__ import annotations

import io
import math
import random

import cv2
import numpy as np
from PIL import Image

LEVELS = ("clean", "scan", "photo")
_TRANSPOSE = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180,
              270: Image.Transpose.ROTATE_270}


PHOTO_DPI = (120.0, 150.0)


def degrade(img: Image.Image, level: str, rng: random.Random, rotation: int = 0,
            photo_dpi: tuple[float, float] = PHOTO_DPI) -> Image.Image:
    """`photo_dpi`: the range the photo level samples the paper at (another range measures how
    reading depends on resolution; the default is the harsh level)."""
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; expected one of {LEVELS}")
    if rotation % 360 not in (0, 90, 180, 270):
        raise ValueError("rotation must be a multiple of 90")
    dpi = float(img.info.get("dpi", (300, 300))[0])
    out, scale = img.convert("RGB"), 1.0
    if level != "clean":
        nrng = np.random.default_rng(rng.getrandbits(64))
        arr = np.asarray(out, dtype=np.float32)
        arr, scale = _scan(arr, rng, nrng) if level == "scan" else _photo(arr, rng, nrng, dpi, photo_dpi)
        quality = rng.randint(40, 70) if level == "scan" else rng.randint(25, 40)
        out = _jpeg(Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB"), quality)
    if rotation % 360:
        out = out.transpose(_TRANSPOSE[rotation % 360])
    out.info.clear()
    out.info["dpi"] = (round(dpi * scale, 2),) * 2
    return out


def _is_card(arr: np.ndarray) -> bool:
    # An ID card render is ~1012 px wide; pages are 1654 px and more.
    return max(arr.shape[:2]) < 1400


def _scan(arr, rng, nrng):
    h, w = arr.shape[:2]
    card = _is_card(arr)
    # Cards lie on the glass with the lid open (dark surround); pages fill a light copier bed.
    bg = rng.uniform(55, 95) if card else rng.uniform(205, 238)
    margin = int(max(h, w) * rng.uniform(0.05, 0.08))
    arr = _warp(arr, rng, nrng, margin, angle=rng.uniform(-3, 3), jitter=0.008, bg=bg,
                bg_texture=2.5, shadow=0.0)
    tint = np.array([1.0, rng.uniform(0.98, 1.0), rng.uniform(0.93, 0.99)], np.float32)
    arr *= tint
    arr = _illumination(arr, rng, strength=0.10)
    arr = cv2.GaussianBlur(arr, (0, 0), rng.uniform(0.5, 1.0))
    arr = _noise(arr, nrng, rng.uniform(3, 6))
    return arr, 1.0


def _photo(arr: np.ndarray, rng: random.Random, nrng: np.random.Generator,
           dpi: float, photo_dpi: tuple[float, float] = PHOTO_DPI) -> tuple[np.ndarray, float]:
    h, w = arr.shape[:2]
    scale = rng.uniform(*photo_dpi) / dpi
    a, jitter = math.radians(rng.uniform(-8, 8)), rng.uniform(0.02, 0.06)
    corners = []
    for x, y in _rect(w, h) - [w / 2, h / 2]:
        corners.append([x * math.cos(a) - y * math.sin(a) + rng.uniform(-jitter, jitter) * w,
                        x * math.sin(a) + y * math.cos(a) + rng.uniform(-jitter, jitter) * h])
    corners = np.float32(corners)
    # the frame grows to hold the whole turned paper plus some table, rather than shrinking the
    # paper into a fixed frame: the paper keeps its size, so the recorded dpi stays true
    margin = np.float32([w, h]) * rng.uniform(0.05, 0.12)
    lo, hi = corners.min(axis=0) - margin, corners.max(axis=0) + margin
    W, H = round((hi[0] - lo[0]) * scale), round((hi[1] - lo[1]) * scale)
    dst = ((corners - lo) * [W / (hi[0] - lo[0]), H / (hi[1] - lo[1])]).astype(np.float32)
    # the lens blurs before the sensor samples: low-pass at the input resolution, for focus and so
    # that the warp's sampling at ~0.5x does not alias the 1-px guilloche into moiré
    arr = cv2.GaussianBlur(arr, (0, 0), rng.uniform(0.45, 0.8) / scale)
    arr = _place(arr, cv2.getPerspectiveTransform(_rect(w, h), dst), W, H, nrng,
                 bg=rng.uniform(45, 110), bg_texture=14.0, shadow=rng.uniform(0.25, 0.5),
                 off=max(1, int(margin.min() * scale * 0.25)))
    arr *= np.array([rng.uniform(0.95, 1.05), 1.0, rng.uniform(0.88, 1.0)], np.float32)
    # Glare lowers the contrast but leaves the print legible to a person: a burnt-out spot holds no
    # text for any reader, so it would measure nothing about OCR.
    glare = [rng.uniform(0.25, 0.5) for _ in range(rng.randint(1, 2))]
    arr = _illumination(arr, rng, strength=0.3, glare=glare)
    arr = _noise(arr, nrng, rng.uniform(5, 9))
    return arr, float(W / (hi[0] - lo[0]))


def _rect(w: int, h: int) -> np.ndarray:
    return np.float32([[0, 0], [w, 0], [w, h], [0, h]])


def _warp(arr, rng, nrng, margin, angle, jitter, bg, bg_texture, shadow):
    """Put the paper on a background, rotated by `angle` degrees with each corner moved by up to
    `jitter` of the paper size (perspective), optionally casting a soft shadow."""
    h, w = arr.shape[:2]
    W, H = w + 2 * margin, h + 2 * margin
    src = _rect(w, h)
    cx, cy = W / 2, H / 2
    a = math.radians(angle)
    dst = []
    for x, y in src - [w / 2, h / 2]:
        rx = x * math.cos(a) - y * math.sin(a) + cx + rng.uniform(-jitter, jitter) * w
        ry = x * math.sin(a) + y * math.cos(a) + cy + rng.uniform(-jitter, jitter) * h
        dst.append([rx, ry])
    # shrink if a corner would leave the canvas
    dst = np.float32(dst)
    lo, hi = dst.min(axis=0), dst.max(axis=0)
    fit = min(1.0, (W - 4) / (hi[0] - lo[0]), (H - 4) / (hi[1] - lo[1]))
    dst = ((dst - [cx, cy]) * fit + [cx, cy]).astype(np.float32)
    m = cv2.getPerspectiveTransform(src, dst)
    return _place(arr, m, W, H, nrng, bg, bg_texture, shadow, max(1, int(margin * 0.25)))


def _place(arr: np.ndarray, m: np.ndarray, W: int, H: int, nrng: np.random.Generator,
           bg: float, bg_texture: float, shadow: float, off: int) -> np.ndarray:
    """Warp the paper by the perspective `m` onto a W x H textured background, casting a soft
    drop shadow of darkness `shadow` `off` px down and right."""
    h, w = arr.shape[:2]
    paper = cv2.warpPerspective(arr, m, (W, H), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
    mask = cv2.warpPerspective(np.ones((h, w), np.float32), m, (W, H), flags=cv2.INTER_LINEAR)
    back = _texture(nrng, H, W, bg, bg_texture)
    if shadow:  # blurred at 1/8 size since it has no fine detail
        sm = np.zeros_like(mask)
        sm[off:, off:] = mask[:-off, :-off]
        small = cv2.resize(sm, (max(2, W // 8), max(2, H // 8)), interpolation=cv2.INTER_AREA)
        small = cv2.GaussianBlur(small, (0, 0), max(1.0, off * 0.1))
        sm = cv2.resize(small, (W, H), interpolation=cv2.INTER_LINEAR)
        back *= (1 - shadow * sm)[..., None]
    m3 = mask[..., None]
    return paper * m3 + back * (1 - m3)


def _texture(nrng, h, w, level, amount):
    """Low-frequency mottled surface (table, copier lid), slightly coloured."""
    small = nrng.normal(0, amount, (max(2, h // 24), max(2, w // 24))).astype(np.float32)
    small = cv2.GaussianBlur(small, (0, 0), 0.7)
    noise = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)[..., None]
    colour = np.array([1.0, 0.97, 0.93], np.float32) * level
    return np.broadcast_to(colour, (h, w, 3)) + noise


def _illumination(arr, rng, strength, glare=()):
    """Multiply by a smooth light field (gradient + vignette), then for each peak g in `glare` a
    specular spot that pulls the picture towards white by up to g. The fields are computed at 1/8
    resolution: they have no detail worth the full-size arithmetic."""
    h, w = arr.shape[:2]
    sh, sw = max(2, h // 8), max(2, w // 8)
    ys, xs = np.mgrid[0:sh, 0:sw].astype(np.float32)
    xs /= sw - 1
    ys /= sh - 1
    gx, gy = rng.uniform(-strength, strength), rng.uniform(-strength, strength)
    gain = 1.0 + gx * (xs - 0.5) + gy * (ys - 0.5)
    gain -= strength * 0.8 * ((xs - 0.5) ** 2 + (ys - 0.5) ** 2)  # corners darker
    white = np.zeros_like(gain)
    for peak in glare:
        # an elongated hot spot (a lamp mirrored in glossy laminate or paper)
        gx0, gy0 = rng.uniform(0.15, 0.85), rng.uniform(0.15, 0.85)
        r, stretch, turn = rng.uniform(0.06, 0.16), rng.uniform(1.0, 2.5), rng.uniform(0, math.pi)
        u = (xs - gx0) * math.cos(turn) + (ys - gy0) * math.sin(turn)
        v = (ys - gy0) * math.cos(turn) - (xs - gx0) * math.sin(turn)
        spot = np.exp(-((u / stretch) ** 2 + v ** 2) / (2 * r * r))
        white = 1 - (1 - white) * (1 - peak * spot)
    gain = cv2.resize(gain, (w, h), interpolation=cv2.INTER_LINEAR)[..., None]
    white = cv2.resize(white, (w, h), interpolation=cv2.INTER_LINEAR)[..., None]
    lit = arr * gain
    return lit + (255 - lit) * white


def _noise(arr, nrng, sigma):
    h, w = arr.shape[:2]
    luma = nrng.normal(0, sigma, (h, w, 1)).astype(np.float32)
    chroma = nrng.normal(0, sigma * 0.3, (h, w, 3)).astype(np.float32)
    return arr + luma + chroma


def _jpeg(img: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    buf.seek(0)
    out = Image.open(buf)
    out.load()
    return out.convert("RGB")
