"""Back of a citizen identity card: 2021 (identifying marks, issue date, MRZ) and 2024
(residence, place of birth registration, issue date, MRZ)."""

from __future__ import annotations

import re

from extraction import checks, mrz
from extraction.fields import FAILED_CHECK_FACTOR, Draft, verified
from extraction.labels import Doc, Line
from extraction.normalize import fold, squash
from extraction.parsers.common import REPAIRED, UNUSUAL_NAME, has_date, is_text, label, put_address, put_date
from extraction.places import text_quality

FIELDS_2021 = ["date_of_issue", "personal_identification", "mrz", "id_number"]
FIELDS_2024 = ["date_of_issue", "place_of_residence", "place_of_birth", "mrz", "id_number"]

LABELS = [
    label("personal_identification", "Đặc điểm nhân dạng", english=("Personal identification",)),
    label("date_of_issue", "Ngày, tháng, năm", "Ngày, tháng, năm cấp",
          english=("Date, month, year", "Date of issue")),
    label("place_of_residence", "Nơi cư trú", english=("Place of residence",)),
    label("place_of_birth", "Nơi đăng ký khai sinh", english=("Place of birth",)),
    label("_expiry", "Ngày, tháng, năm hết hạn", english=("Date of expiry",)),
    label("_authority", "CỤC TRƯỞNG CỤC CẢNH SÁT", "QUẢN LÝ HÀNH CHÍNH VỀ TRẬT TỰ XÃ HỘI",
          "BỘ CÔNG AN", "MINISTRY OF PUBLIC SECURITY", "GIÁM ĐỐC"),
    label("_fingers", "Ngón trỏ trái", "Ngón trỏ phải", english=("Left index finger", "Right index finger")),
]

NAME_REPAIRED = 0.95  # letters of the MRZ name changed to make Vietnamese syllables

# "C:1cm" (distance of a scar or mole) is often read "C:lcm" or "C:lem".
_MARK_DISTANCE = re.compile(r"(C\s*[:;.]\s*)([0-9lIO]+(?:[,.][0-9lIO]+)?)\s*[ce]m\b")


# Words of identifying marks whose diacritics OCR tends to drop, restored where the plain
# spelling is no other word of a mark ("duoi" is both "dưới" and "đuôi": left alone).
_MARK_WORDS = {
    "seo": "sẹo", "not": "nốt", "ruoi": "ruồi", "cham": "chấm", "tren": "trên",
    "truoc": "trước", "mep": "mép", "phai": "phải", "trai": "trái", "mat": "mắt",
    "may": "mày", "mui": "mũi", "cam": "cằm", "tran": "trán", "canh": "cánh", "cach": "cách",
}


# Of those, the ones whose plain spelling no other mark word shares ("mắt"/"mặt" do).
_UNAMBIGUOUS = set(_MARK_WORDS) - {"mat", "not", "canh"}


def _restore(word: str) -> str:
    plain = fold(word)
    if plain not in _MARK_WORDS or not (word.isascii() or plain in _UNAMBIGUOUS):
        return word
    fixed = _MARK_WORDS[plain]
    return fixed.capitalize() if word[:1].isupper() else fixed


def _marks(text: str) -> tuple[str, bool]:
    """Identifying marks with OCR slips repaired; and whether anything was repaired."""
    def fix(m: re.Match[str]) -> str:
        return m[1].replace(";", ":").replace(".", ":") + m[2].translate(str.maketrans("lIO", "110")) + "cm"

    fixed = _MARK_DISTANCE.sub(fix, text)
    fixed = re.sub(r"[^\W\d_]+", lambda m: _restore(m.group(0)), fixed)
    return squash(fixed), fixed != text


def parse(lines: list[Line]) -> Draft:
    doc = Doc(lines, LABELS)
    new = doc.has("place_of_residence") or doc.has("place_of_birth")
    d = Draft("cccd_back", list(FIELDS_2024 if new else FIELDS_2021))

    put_date(d, "date_of_issue", doc.value("date_of_issue", accept=has_date))
    v = doc.value("personal_identification", lines=2, accept=is_text)
    if v is not None:
        marks, repaired = _marks(" ".join(v.parts))
        d.put("personal_identification", marks, v, quality=REPAIRED if repaired else text_quality(marks))
    put_address(d, "place_of_residence", doc.value("place_of_residence", lines=3, accept=is_text), card=True)
    put_address(d, "place_of_birth", doc.value("place_of_birth", lines=3, accept=is_text), card=True)

    found = mrz.parse([line.text for line in lines])
    if found is not None:
        confs = [lines[i].confidence for i in found.source_lines]
        if found.valid:
            # Check digits prove lines 1-2; nothing proves the (possibly repaired) name line.
            names = confs[2] * (NAME_REPAIRED if found.name_repaired else 1.0)
            # A name of Vietnamese syllables is half-checked: misreads seldom leave one.
            names = 1.0 - (1.0 - names) * 0.5 if found.name_is_vietnamese else names * UNUSUAL_NAME
            d.put_conf("mrz", found.text, min(verified(confs[0]), verified(confs[1]), names))
            d.put_conf("id_number", found.id_number, verified(confs[0]))
        else:
            d.put_conf("mrz", found.text, sum(confs) / 3 * FAILED_CHECK_FACTOR)
            d.put_conf("id_number", found.id_number, confs[0] * FAILED_CHECK_FACTOR)
        d.check(checks.mrz_digits(found))
        for c in checks.mrz_agrees(found, d.fields):
            d.check(c, "mrz", "id_number")
        if found.id_number:
            d.check(checks.id_structure("id_number", found.id_number))
            if found.birth_date:
                d.check(checks.dob_agrees(found.id_number, found.birth_date, field="mrz"), "mrz", "id_number")
            if found.sex:
                d.check(checks.sex_agrees(found.id_number, found.sex, field="mrz"), "mrz", "id_number")
    return d
