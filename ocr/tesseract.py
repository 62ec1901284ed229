"""Tesseract 5 through tesserocr (in-process libtesseract), with Debian's `vie` model by default."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
from PIL import Image

from sohoa.config import TesseractOptions
from sohoa.models import OcrLine, OcrWord

# Must be set before libtesseract starts its OpenMP runtime.
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

import tesserocr  # noqa: E402

from .engine import file_sha256, make_line  # noqa: E402

_DEFAULT_TESSDATA = [Path("/usr/share/tesseract-ocr/5/tessdata"), Path("/usr/share/tesseract-ocr/4.00/tessdata"),
                     Path("/usr/share/tessdata"), Path("/usr/local/share/tessdata")]


class TesseractUnavailable(RuntimeError):
    pass


def find_tessdata(configured: Path | None, lang: str) -> Path:
    candidates = [configured] if configured else []
    if os.environ.get("TESSDATA_PREFIX"):
        candidates.append(Path(os.environ["TESSDATA_PREFIX"]))
    candidates += _DEFAULT_TESSDATA
    for c in candidates:
        if c and (c / f"{lang}.traineddata").is_file():
            return c
    raise TesseractUnavailable(
        f"no {lang}.traineddata found (looked in {', '.join(str(c) for c in candidates if c)}); "
        "install Debian's tesseract-ocr-vie or set SOHOA_TESSERACT__TESSDATA_DIR"
    )


class TesseractEngine:
    name = "tesseract"

    def __init__(self, options: TesseractOptions | None = None):
        self.options = options or TesseractOptions()
        self.tessdata = find_tessdata(self.options.tessdata_dir, self.options.lang)
        self._local = threading.local()  # a TessBaseAPI is not thread-safe: one per thread

    def _api(self, lang: str, psm: int) -> tesserocr.PyTessBaseAPI:
        key = f"api_{lang}_{psm}"
        api = getattr(self._local, key, None)
        if api is None:
            api = tesserocr.PyTessBaseAPI(path=str(self.tessdata), lang=lang, psm=psm)
            setattr(self._local, key, api)
        return api

    def version(self) -> dict[str, str]:
        model = self.tessdata / f"{self.options.lang}.traineddata"
        return {
            "tesseract": tesserocr.tesseract_version().split()[1],
            "tesserocr": tesserocr.__version__,
            f"model:{self.options.lang}.traineddata": f"sha256:{file_sha256(model)[:16]}",
        }

    def detect_orientation(self, grey: np.ndarray) -> tuple[int, float]:
        if not (self.tessdata / "osd.traineddata").is_file():
            return 0, 0.0
        api = self._api("osd", tesserocr.PSM.OSD_ONLY)
        api.SetImage(Image.fromarray(grey))
        try:
            res = api.DetectOrientationScript()
        except RuntimeError:  # too little text to decide
            return 0, 0.0
        if not res:
            return 0, 0.0
        # Tesseract reports how far the page is turned clockwise; undo it.
        return (360 - int(res["orient_deg"])) % 360, float(res["orient_conf"])

    def read_line(self, grey: np.ndarray, alphabet: str) -> tuple[str, float]:
        """One line of text restricted to `alphabet` (machine-readable zones), with its confidence.

        Uses the `eng` model when present: MRZ characters are Latin capitals, digits and '<',
        and the Vietnamese model's diacritics only add ways to misread them.
        """
        lang = "eng" if (self.tessdata / "eng.traineddata").is_file() else self.options.lang
        api = self._api(f"{lang}", tesserocr.PSM.SINGLE_LINE)
        api.SetVariable("tessedit_char_whitelist", alphabet)
        api.SetImage(Image.fromarray(grey))
        text = api.GetUTF8Text().strip().replace(" ", "")
        api.SetVariable("tessedit_char_whitelist", "")
        return text, api.MeanTextConf() / 100

    def recognize(self, grey: np.ndarray) -> list[OcrLine]:
        return self._read(grey, self.options.psm)

    def recognize_single_line(self, grey: np.ndarray) -> list[OcrWord]:
        """Words of one cropped text line (boxes in the crop's pixels)."""
        return [w for line in self._read(grey, tesserocr.PSM.SINGLE_LINE) for w in line.words]

    def _read(self, grey: np.ndarray, psm: int) -> list[OcrLine]:
        api = self._api(self.options.lang, psm)
        api.SetImage(Image.fromarray(grey))
        api.Recognize()
        lines: list[OcrLine] = []
        it = api.GetIterator()
        level_line, level_word = tesserocr.RIL.TEXTLINE, tesserocr.RIL.WORD
        words: list[OcrWord] = []
        # Walk words and cut at line boundaries: one pass gives both granularities.
        if it is None:
            return lines
        while True:
            try:
                text = it.GetUTF8Text(level_word)
            except RuntimeError:  # an empty element (no text at this position)
                text = None
            if text and text.strip():
                box = it.BoundingBox(level_word)
                words.append(OcrWord(text=text.strip(), bbox=tuple(box), confidence=it.Confidence(level_word) / 100))
            if it.IsAtFinalElement(level_line, level_word):
                if words:
                    lines.append(make_line(words))
                words = []
            if not it.Next(level_word):
                break
        if words:
            lines.append(make_line(words))
        return lines

