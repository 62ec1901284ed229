"""Spelled Vietnamese words, tone marks included: does a word OCR read exist as written?

The syllable pattern in extraction/names.py ignores tone marks, so "Sõ" for "Số" or "Khù" for
"Khu" pass it. This list does not: it is Tesseract's own Vietnamese word list (from the
`tesseract-ocr-vie` package that the OCR already needs, unpacked with Tesseract's
`combine_tessdata` and `dawg2wordlist`), plus every word of the official administrative-unit
names, which covers the southern and minority place names the word list lacks ("Giồng Trôm").

Tesseract's list also holds Vietnamese typed without marks ("nguyen", "thuong"), which are not
Vietnamese spelling: the diphthongs iê/yê and uô/ươ before a final are always written with their
circumflex or horn. Words that break that rule are dropped from the list and counted as unknown,
which is what catches a name OCR read without its marks ("Huyen" for "Huyền").

A word missing from it is not proof of a misreading (rare given names are missing too), so it
only lowers a field's confidence; the calibration (extraction/calibration.py) measures by how much
it should.
"""

from __future__ import annotations

import logging
import re
import unicodedata
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

from extraction.normalize import nfc

log = logging.getLogger(__name__)

TESSDATA = (Path("/usr/share/tesseract-ocr/5/tessdata"), Path("/usr/share/tesseract-ocr/4.00/tessdata"),
            Path("/usr/share/tessdata"), Path("/usr/local/share/tessdata"))


_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}  # huyền, sắc, ngã, hỏi, nặng
# ie/ye and uo/ưo/uơ followed by a final or glide: written iê, yê, uô, ươ in Vietnamese.
_UNMARKED_DIPHTHONG = re.compile(r"[iy]e[a-zđ]|uo[a-zđ]|ưo[a-zđ]|(?<!q)uơ[a-zđ]")  # "quới": qu + ơi


def misspelled(word: str) -> bool:
    """A word that breaks a rule of Vietnamese spelling regardless of its tone: "huyen", "thuong"."""
    bare = "".join(c for c in unicodedata.normalize("NFD", word.lower()) if c not in _TONES)
    return bool(_UNMARKED_DIPHTHONG.search(unicodedata.normalize("NFC", bare)))


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

    return frozenset(w for w in (nfc(x).lower() for x in listed) if not misspelled(w)) | unit_name_words()


def unknown_words(text: str) -> int:
    """Words of two or more letters, none of them digits, that are not spelled Vietnamese."""
    known = words()
    if not known:
        return 0
    return sum(nfc(w).lower() not in known or misspelled(w)
               for w in re.findall(r"(?<![\w])[^\W\d_]{2,}(?![\w])", text))
