"""PP-OCR text-line detection (DB) from the ONNX weights that the `rapidocr` wheel ships.

Detection is language-independent; it finds the lines on photographed or patterned cards where
Tesseract's own page layout analysis collapses (notes/ocr-engines.md). Only the weights are
used from that wheel — never its downloader.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import cv2
import numpy as np

from .preprocess import order_corners

DEFAULT_MODEL = "PP-OCRv6_det_small.onnx"


class DetectorUnavailable(RuntimeError):
    pass


def default_model_path() -> Path:
    try:
        path = Path(str(resources.files("rapidocr") / "models" / DEFAULT_MODEL))
    except ModuleNotFoundError as exc:
        raise DetectorUnavailable("the rapidocr wheel (which ships the detector weights) is not installed") from exc
    if not path.is_file():
        raise DetectorUnavailable(f"{path} is missing")
    return path


class TextDetector:
    # Pre/post-processing constants of PP-OCR's DB detector (PaddleOCR defaults, as rapidocr uses them).
    min_side = 736
    thresh = 0.3
    box_thresh = 0.5
    unclip_ratio = 1.6

    def __init__(self, model_path: Path | None = None, threads: int = 1):
        import onnxruntime as ort

        self.model_path = Path(model_path) if model_path else default_model_path()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads  # parallelism comes from worker processes, not threads
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(self.model_path), opts, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def detect(self, grey: np.ndarray) -> list[list[np.ndarray]]:
        """Rows of quadrilaterals (4x2 float, clockwise from top-left): text segments, top to bottom,
        each row left to right."""
        h, w = grey.shape
        f = max(1.0, self.min_side / min(h, w)) if min(h, w) < self.min_side else 1.0
        f = min(f, 2048 / max(h, w)) if max(h, w) * f > 2048 else f
        nh, nw = max(32, int(round(h * f / 32)) * 32), max(32, int(round(w * f / 32)) * 32)
        img = cv2.resize(cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB), (nw, nh)).astype(np.float32)
        x = ((img / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)[None]
        prob = self.session.run(None, {self.input_name: x})[0][0, 0]
        quads = self._boxes(prob, w / nw, h / nh)
        return sort_reading_order(quads)

    def _boxes(self, prob: np.ndarray, sx: float, sy: float) -> list[np.ndarray]:
        mask = (prob > self.thresh).astype(np.uint8)
        mask = cv2.dilate(mask, np.ones((2, 2), np.uint8))
        contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        quads = []
        for c in contours[:1000]:
            if cv2.contourArea(c) < 9:
                continue
            x, y, bw, bh = cv2.boundingRect(c)
            region = np.zeros((bh, bw), np.uint8)
            cv2.drawContours(region, [c - [x, y]], -1, 1, -1)
            score = float(prob[y:y + bh, x:x + bw][region.astype(bool)].mean())
            if score < self.box_thresh:
                continue
            rect = cv2.minAreaRect(c)
            (cx, cy), (rw, rh), angle = rect
            # DB shrinks text regions when training; grow them back by the same rule.
            d = rw * rh * self.unclip_ratio / (2 * (rw + rh) + 1e-6)
            box = cv2.boxPoints(((cx, cy), (rw + 2 * d, rh + 2 * d), angle))
            box[:, 0] *= sx
            box[:, 1] *= sy
            if min(rw, rh) < 3:
                continue
            quads.append(order_corners(box))
        return quads


def sort_reading_order(quads: list[np.ndarray]) -> list[list[np.ndarray]]:
    """Rows top to bottom (segments whose vertical centres are within half a line height), each
    left to right — the layout Tesseract gives a card ("Giới tính: Nam   Quốc tịch: Việt Nam")."""
    items = sorted(quads, key=lambda q: q[:, 1].mean())
    rows: list[list[np.ndarray]] = []
    for q in items:
        cy, height = q[:, 1].mean(), float(np.ptp(q[:, 1]))
        if rows and abs(np.mean([r[:, 1].mean() for r in rows[-1]]) - cy) < 0.5 * max(height, 1):
            rows[-1].append(q)
        else:
            rows.append([q])
    return [sorted(row, key=lambda q: q[:, 0].min()) for row in rows]


def crop_quad(grey: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """The line under `quad`, warped flat and level."""
    w = int(max(np.linalg.norm(quad[0] - quad[1]), np.linalg.norm(quad[3] - quad[2])))
    h = int(max(np.linalg.norm(quad[0] - quad[3]), np.linalg.norm(quad[1] - quad[2])))
    w, h = max(w, 1), max(h, 1)
    dst = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float32)
    m = cv2.getPerspectiveTransform(quad.astype(np.float32), dst)
    return cv2.warpPerspective(grey, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
