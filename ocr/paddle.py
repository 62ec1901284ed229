"""PaddleOCR (the real `paddleocr` package, optional extra `paddle`) with models from local directories.

Both model directories must be configured: paddleocr fetches any model it is not given a directory
for, and this service must never download at run time. The stock PP-OCR recognisers cannot write
Vietnamese tone marks (docs/paddle.md); the engine exists so that a deployment with a
Vietnamese-trained recogniser plugs it in through `SOHOA_PADDLE__REC_MODEL_DIR`.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from sohoa.config import PaddleOptions
from sohoa.models import OcrLine, OcrWord

from .detector import sort_reading_order
from .engine import file_sha256, make_line

WEIGHTS = "inference.pdiparams"
CONFIG = "inference.yml"  # model name, pre/post-processing and the recogniser's character dictionary


class PaddleUnavailable(RuntimeError):
    pass


def _model_dir(configured: Path | None, kind: str) -> Path:
    env = f"SOHOA_PADDLE__{kind.upper()}_MODEL_DIR"
    if configured is None:
        raise PaddleUnavailable(f"no PaddleOCR {kind} model directory configured: set {env} "
                                "(scripts/paddle-models fetches the stock ones); models are never downloaded")
    path = Path(configured)
    missing = [n for n in (WEIGHTS, CONFIG) if not (path / n).is_file()]
    if missing:
        raise PaddleUnavailable(f"PaddleOCR {kind} model directory {path} ({env}) lacks {', '.join(missing)}")
    return path


def _import_paddleocr() -> Any:
    # Importing paddlex otherwise probes four model hosts over the network and waits on each.
    os.environ["PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK"] = "True"
    try:
        import paddleocr
    except ImportError as exc:
        raise PaddleUnavailable(f"the paddleocr package is not installed ({exc}); "
                                "pip install -e '.[paddle]' (docs/paddle.md)") from exc
    return paddleocr


@contextmanager
def _quiet() -> Iterator[None]:
    # Loading a model imports paddle, which warns about a C++ compiler cache that only matters for
    # building custom operators: noise in every worker's log.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="No ccache found", category=UserWarning)
        yield


def _check_model_name(path: Path, name: str) -> None:
    """paddlex asserts this itself, with an unhelpful message; say which setting is wrong."""
    import yaml  # a paddlex dependency

    found = (yaml.safe_load((path / CONFIG).read_text(encoding="utf-8")) or {}).get("Global", {}).get("model_name")
    if found != name:
        raise PaddleUnavailable(f"{path / CONFIG} is model {found!r} but {name!r} is configured; "
                                "set the matching SOHOA_PADDLE__*_MODEL_NAME")


class PaddleEngine:
    name = "paddle"

    def __init__(self, options: PaddleOptions | None = None):
        self.options = options or PaddleOptions()
        self.det_dir = _model_dir(self.options.det_model_dir, "det")
        self.rec_dir = _model_dir(self.options.rec_model_dir, "rec")
        self._paddleocr = _import_paddleocr()
        _check_model_name(self.det_dir, self.options.det_model_name)
        _check_model_name(self.rec_dir, self.options.rec_model_name)
        # Paddle predictors are not safe to call from two threads; one lock per engine (per process
        # in the workers) and parallelism across processes, as with Tesseract.
        self._lock = threading.Lock()
        self._page: Any = None  # PaddleOCR pipeline, loaded on first page
        self._rec: Any = None  # TextRecognition alone, for crops that must not be re-detected

    def _common(self) -> dict[str, Any]:
        return {"device": "cpu", "enable_mkldnn": self.options.enable_mkldnn, "cpu_threads": self.options.cpu_threads}

    def _page_pipeline(self) -> Any:
        if self._page is None:
            with _quiet():
                self._page = self._paddleocr.PaddleOCR(
                    text_detection_model_name=self.options.det_model_name, text_detection_model_dir=str(self.det_dir),
                    text_recognition_model_name=self.options.rec_model_name,
                    text_recognition_model_dir=str(self.rec_dir),
                    # Each of these would load (and so download) another model; pages arrive upright and flat.
                    use_doc_orientation_classify=False, use_doc_unwarping=False, use_textline_orientation=False,
                    **self._common())
        return self._page

    def _recogniser(self) -> Any:
        if self._rec is None:
            with _quiet():
                self._rec = self._paddleocr.TextRecognition(
                    model_name=self.options.rec_model_name, model_dir=str(self.rec_dir), **self._common())
        return self._rec

    def version(self) -> dict[str, str]:
        return {
            "paddleocr": self._paddleocr.__version__,
            "paddlepaddle": metadata.version("paddlepaddle"),
            f"model:{self.options.det_model_name}": f"sha256:{file_sha256(self.det_dir / WEIGHTS)}",
            f"model:{self.options.rec_model_name}": f"sha256:{file_sha256(self.rec_dir / WEIGHTS)}",
        }

    def detect_orientation(self, grey: np.ndarray) -> tuple[int, float]:
        # Answering would need the document-orientation model; with no confidence the caller
        # confirms orientation by reading instead.
        return 0, 0.0

    def read_line(self, grey: np.ndarray, alphabet: str) -> tuple[str, float]:
        # PP-OCR has no whitelist: read freely, then drop what the zone cannot contain.
        text, score = self._read_crop(grey)
        allowed = set(alphabet)
        return "".join(c for c in text if c in allowed), score

    def recognize_single_line(self, grey: np.ndarray) -> list[OcrWord]:
        text, score = self._read_crop(grey)
        h, w = grey.shape[:2]
        return _words(text, score, (0, 0, w, h))

    def recognize(self, grey: np.ndarray) -> list[OcrLine]:
        h, w = grey.shape[:2]
        with self._lock:
            results = self._page_pipeline().predict(_bgr(grey))
        segments: dict[int, tuple[str, float]] = {}
        quads: list[np.ndarray] = []
        for res in results:
            for poly, text, score in zip(res["rec_polys"], res["rec_texts"], res["rec_scores"], strict=True):
                if text.strip():
                    quad = np.asarray(poly, np.float32).reshape(-1, 2)
                    quads.append(quad)
                    segments[id(quad)] = (text, float(score))
        lines: list[OcrLine] = []
        # The same row grouping as the detector + reader engine, so both give cards the same layout;
        # it returns the very quad objects, hence the lookup by identity.
        for row in sort_reading_order(quads):
            words: list[OcrWord] = []
            for quad in row:
                x0, y0 = (max(0, int(v)) for v in quad.min(axis=0))
                x1, y1 = (min(lim, int(np.ceil(v))) for v, lim in zip(quad.max(axis=0), (w, h), strict=True))
                words += _words(*segments[id(quad)], (x0, y0, x1, y1))
            if words:
                lines.append(make_line(words))
        return lines

    def _read_crop(self, grey: np.ndarray) -> tuple[str, float]:
        if grey.size == 0:
            return "", 0.0
        with self._lock:
            res = self._recogniser().predict(_bgr(grey))
        if not res:
            return "", 0.0
        return str(res[0]["rec_text"]).strip(), _clamp(float(res[0]["rec_score"]))


def _bgr(grey: np.ndarray) -> np.ndarray:
    # The predictors take 3-channel BGR arrays; a grey page is the same in every channel.
    return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2)) if grey.ndim == 2 else grey


def _clamp(v: float) -> float:
    return round(min(1.0, max(0.0, v)), 4)


def _words(text: str, score: float, box: tuple[int, int, int, int]) -> list[OcrWord]:
    """A recognised segment split on spaces. PP-OCR scores the whole segment and gives no character
    positions, so each word gets the segment's score and a box proportional to its place in the text."""
    x0, y0, x1, y1 = box
    text = text.strip()
    n = max(len(text), 1)
    words: list[OcrWord] = []
    start = 0
    for part in text.split(" "):
        if part:
            a = x0 + (x1 - x0) * start // n
            b = x0 + (x1 - x0) * (start + len(part)) // n
            words.append(OcrWord(text=part, bbox=(a, y0, b, y1), confidence=_clamp(score)))
        start += len(part) + 1
    return words

