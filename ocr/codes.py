"""QR codes on a page image (the chip ID cards carry one), decoded with OpenCV.

`QRCodeDetectorAruco` finds the symbol on card print where the classic `QRCodeDetector` does
not: on the page as received, 40 generated 2021 fronts and 2024 backs a level, the classic one
decoded 8 % of clean cards and none of the scans, the ArUco-based one 100 % and 98 %
(`bench/qr.py --where original,classic-original`, docs/ocr.md "QR code"). Scans blur the
3-4 px modules, so a symbol found but not decoded is decoded again from an enlarged crop; a page
where nothing was found is searched again enlarged only when it is card-sized, so an A4 letter
pays for one pass.

Decoding never raises: a failure is no code. Payloads are personal data: never log them.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from .preprocess import to_grey

log = logging.getLogger("sohoa.ocr")

# Enlargements of a found symbol's crop, tried in turn: 3-px modules blurred by a scan decode
# at 2x and 3x, not as they are (measured).
CROP_SCALES = (2.0, 3.0)
CROP_MARGIN = 0.15  # of the symbol's side, so the quiet zone is part of the crop
# A page no larger than this (a card at 300 dpi, cleaned: 0.65 MP; a card photo at 120-250 dpi)
# is searched again at twice its size when nothing was found. A4 pages are larger even at
# 120 dpi (1.4 MP), so a letter pays for one pass only.
SMALL_PAGE_PIXELS = 1_000_000
WHOLE_PAGE_SCALE = 2.0


def find_qr_codes(image: np.ndarray) -> list[str]:
    """Texts of the QR codes on a greyscale or RGB page image, in the order found, without
    duplicates; [] when there are none or none could be decoded."""
    try:
        grey = _grey(image)
        if grey is None:
            return []
        return _find(grey)
    except Exception as exc:  # noqa: BLE001 - a code is a bonus: its failure must not fail the page
        log.warning("QR decoding failed: %s", type(exc).__name__)  # the type only: no payload
        return []


def _grey(image: np.ndarray) -> np.ndarray | None:
    arr = to_grey(image)
    if arr.ndim != 2 or min(arr.shape) < 21:  # smaller than a version-1 symbol at 1 px a module
        return None
    return np.ascontiguousarray(arr, dtype=np.uint8)


def _find(grey: np.ndarray) -> list[str]:
    detector = cv2.QRCodeDetectorAruco()
    texts, missed = detect_and_decode(detector, grey)
    for quad in missed:
        texts += _decode_crop(detector, grey, quad)
    if not texts and not missed and grey.size <= SMALL_PAGE_PIXELS:
        big = _resize(grey, WHOLE_PAGE_SCALE)
        found, missed = detect_and_decode(detector, big)
        texts += found
        for quad in missed:
            texts += _decode_crop(detector, big, quad)
    return list(dict.fromkeys(texts))


def detect_and_decode(detector: cv2.QRCodeDetectorAruco, grey: np.ndarray) -> tuple[list[str], list[np.ndarray]]:
    """One pass of `detector`: the decoded texts, and the corner quads of symbols that were
    found but not decoded."""
    ok, payloads, quads, _ = detector.detectAndDecodeBytesMulti(grey)
    if not ok or quads is None:
        return [], []
    texts, missed = [], []
    for raw, quad in zip(payloads, quads):
        text = _text(raw)
        if text:
            texts.append(text)
        else:
            missed.append(np.asarray(quad, np.float32).reshape(4, 2))
    return texts, missed


def _decode_crop(detector: cv2.QRCodeDetectorAruco, grey: np.ndarray, quad: np.ndarray) -> list[str]:
    """The symbol inside `quad` decoded from an enlarged crop around it."""
    x0, y0 = quad.min(axis=0)
    x1, y1 = quad.max(axis=0)
    pad = CROP_MARGIN * max(x1 - x0, y1 - y0)
    h, w = grey.shape
    xa, ya = max(0, int(x0 - pad)), max(0, int(y0 - pad))
    xb, yb = min(w, int(x1 + pad) + 1), min(h, int(y1 + pad) + 1)
    if xb - xa < 21 or yb - ya < 21:
        return []
    crop = grey[ya:yb, xa:xb]
    for scale in CROP_SCALES:
        texts, _ = detect_and_decode(detector, _resize(crop, scale))
        if texts:
            return texts
    return []


def _resize(grey: np.ndarray, scale: float) -> np.ndarray:
    return cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)


def _text(raw: bytes | str | None) -> str:
    """The payload as text: UTF-8 (what the cards use); Latin-1, the QR default, otherwise."""
    if not raw:
        return ""
    if isinstance(raw, str):
        return raw
    try:
        return bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return bytes(raw).decode("latin-1")
