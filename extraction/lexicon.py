"""Spelled Vietnamese words, tone marks included: does a word OCR read exist as written?

The syllable pattern in extraction/names.py ignores tone marks, so "Sõ" for "Số" or "Khù" for
"Khu" pass it. This list does not: it is Tesseract's own Vietnamese word list (from the
`tesseract-ocr-vie` package that the OCR already needs, unpacked with Tesseract's
`combine_tessdata` and `dawg2wordlist`), plus every word of the official administrative-unit
names, which covers the southern and minority place names the word list lacks ("Giồng Trôm").

A word missing from it is not proof of a misreading (rare given names are missing too), so it
only lowers a field's confidence; the calibration (extraction/calibration.py) measures by how much
it should.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

from extraction.normalize import nfc

log = logging.getLogger(__name__)

TESSDATA = (Path("/usr/share/tesseract-ocr/5/tessdata"), Path("/usr/share/tesseract-ocr/4.00/tessdata"),
            Path("/usr/share/tessdata"), Path("/usr/local/share/tessdata"))


def tesseract_words(traineddata: Path) -> list[str]:
    """The word list inside a Tesseract model; [] when the tools or the model are missing."""
    tools = shutil.which("combine_tessdata"), shutil.which("dawg2wordlist")
    if not all(tools) or not traineddata.is_file():
        return []
    with tempfile.TemporaryDirectory() as tmp:
        prefix = f"{tmp}/m."
        try:
            subprocess.run([tools[0], "-u", str(traineddata), prefix], check=True, capture_output=True, timeout=30)
            out = Path(tmp) / "words.txt"
            subprocess.run([tools[1], prefix + "lstm-unicharset", prefix + "lstm-word-dawg", str(out)],
                           check=True, capture_output=True, timeout=30)
            return out.read_text(encoding="utf-8").split()
        except (subprocess.SubprocessError, OSError) as e:
            log.warning("could not unpack the word list of %s: %s", traineddata, e)
            return []


@lru_cache(maxsize=1)
def words() -> frozenset[str]:
    """Lower-case spelled words; empty when Tesseract's word list is not available, and then
    every word is treated as known."""
    model = next((d / "vie.traineddata" for d in TESSDATA if (d / "vie.traineddata").is_file()), None)
    listed = tesseract_words(model) if model else []
    if not listed:
        return frozenset()
    from extraction.addresses import unit_name_words

    return frozenset(nfc(w).lower() for w in listed) | unit_name_words()


def unknown_words(text: str) -> int:
    """Words of two or more letters, none of them digits, that are not spelled Vietnamese."""
    known = words()
    if not known:
        return 0
    return sum(nfc(w).lower() not in known for w in re.findall(r"(?<![\w])[^\W\d_]{2,}(?![\w])", text))
