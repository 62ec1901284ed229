"""Make a clean render look scanned or photographed. Deterministic for a given `rng` state.

- clean: as rendered.
- scan: the paper on a flatbed/copier: small rotation (±3°) and skew, soft blur, sensor noise,
  uneven illumination, a paper tint, JPEG q40–70.
- photo: a phone photo: perspective warp onto a darker table, shadow, strong light gradient and
  glare, lower resolution, JPEG q30–50.
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


def degrade(img: Image.Image, level: str, rng: random.Random, rotation: int = 0) -> Image.Image:
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; expected one of {LEVELS}")
    if rotation % 360 not in (0, 90, 180, 270):
        raise ValueError("rotation must be a multiple of 90")
    dpi = float(img.info.get("dpi", (300, 300))[0])
    out, scale = img.convert("RGB"), 1.0
    if level != "clean":
        nrng = np.random.default_rng(rng.getrandbits(64))
        arr = np.asarray(out, dtype=np.float32)
        arr, scale = (_scan if level == "scan" else _photo)(arr, rng, nrng)
        quality = rng.randint(40, 70) if level == "scan" else rng.randint(30, 50)
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
    arr = _illumination(arr, rng, strength=0.10, glare=0.0)
    arr = cv2.GaussianBlur(arr, (0, 0), rng.uniform(0.5, 1.0))
    arr = _noise(arr, nrng, rng.uniform(3, 6))
    return arr, 1.0


def _photo(arr, rng, nrng):
    h, w = arr.shape[:2]
    bg = rng.uniform(45, 110)
    margin = int(max(h, w) * rng.uniform(0.08, 0.14))
    arr = _warp(arr, rng, nrng, margin, angle=rng.uniform(-6, 6), jitter=rng.uniform(0.03, 0.07),
                bg=bg, bg_texture=14.0, shadow=rng.uniform(0.25, 0.5))
    arr *= np.array([rng.uniform(0.95, 1.05), 1.0, rng.uniform(0.88, 1.0)], np.float32)
    arr = _illumination(arr, rng, strength=0.28, glare=rng.uniform(30, 75))
    arr = cv2.GaussianBlur(arr, (0, 0), rng.uniform(0.7, 1.4))
    scale = rng.uniform(0.6, 0.85)
    arr = cv2.resize(arr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    arr = _noise(arr, nrng, rng.uniform(5, 9))
    return arr, scale


def _warp(arr, rng, nrng, margin, angle, jitter, bg, bg_texture, shadow):
    """Put the paper on a background, rotated by `angle` degrees with each corner moved by up to
    `jitter` of the paper size (perspective), optionally casting a soft shadow."""
    h, w = arr.shape[:2]
    W, H = w + 2 * margin, h + 2 * margin
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
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
    paper = cv2.warpPerspective(arr, m, (W, H), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
    mask = cv2.warpPerspective(np.ones((h, w), np.float32), m, (W, H), flags=cv2.INTER_LINEAR)
    back = _texture(nrng, H, W, bg, bg_texture)
    if shadow:  # soft drop shadow, blurred at 1/8 size since it has no fine detail
        off = max(1, int(margin * 0.25))
        sm = np.zeros_like(mask)
        sm[off:, off:] = mask[:-off, :-off]
        small = cv2.resize(sm, (max(2, W // 8), max(2, H // 8)), interpolation=cv2.INTER_AREA)
        small = cv2.GaussianBlur(small, (0, 0), max(1.0, margin * 0.025))
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


def _illumination(arr, rng, strength, glare):
    """Multiply by a smooth light field (gradient + vignette) and add a glare spot. The field is
    computed at 1/8 resolution: it has no detail worth the full-size arithmetic."""
    h, w = arr.shape[:2]
    sh, sw = max(2, h // 8), max(2, w // 8)
    ys, xs = np.mgrid[0:sh, 0:sw].astype(np.float32)
    xs /= sw - 1
    ys /= sh - 1
    gx, gy = rng.uniform(-strength, strength), rng.uniform(-strength, strength)
    gain = 1.0 + gx * (xs - 0.5) + gy * (ys - 0.5)
    gain -= strength * 0.8 * ((xs - 0.5) ** 2 + (ys - 0.5) ** 2)  # corners darker
    add = np.zeros_like(gain)
    if glare:
        gx0, gy0, r = rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8), rng.uniform(0.12, 0.3)
        add = glare * np.exp(-(((xs - gx0) ** 2 + (ys - gy0) ** 2) / (2 * r * r)))
    gain = cv2.resize(gain, (w, h), interpolation=cv2.INTER_LINEAR)[..., None]
    add = cv2.resize(add, (w, h), interpolation=cv2.INTER_LINEAR)[..., None]
    return arr * gain + add


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
