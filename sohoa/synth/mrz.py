"""ICAO 9303 TD1 machine-readable zone as printed on the back of Vietnamese ID cards.

Vietnamese cards put the last 9 digits of the 12-digit id in the document-number field and the
full id in the optional data of line 1, e.g. for 075069789840:
    IDVNM0697898407075069789840<<<
    6906193M2906195VNM<<<<<<<<<<<5
    TRUONG<<GIA<KHOA<<<<<<<<<<<<<<
"""

from __future__ import annotations

import unicodedata
from datetime import date

_WEIGHTS = (7, 3, 1)


def _value(c: str) -> int:
    if c.isdigit():
        return int(c)
    if "A" <= c <= "Z":
        return ord(c) - ord("A") + 10
    if c == "<":
        return 0
    raise ValueError(f"not an MRZ character: {c!r}")


def check_digit(s: str) -> str:
    return str(sum(_value(c) * _WEIGHTS[i % 3] for i, c in enumerate(s)) % 10)


def transliterate(s: str) -> str:
    """Vietnamese -> MRZ letters: strip tone and vowel marks, Đ -> D, anything else -> '<'."""
    s = unicodedata.normalize("NFD", s.replace("Đ", "D").replace("đ", "d"))
    s = "".join(c for c in s if not unicodedata.combining(c)).upper()
    return "".join(c if "A" <= c <= "Z" else "<" for c in s)


def _yymmdd(d: date | None) -> str:
    # A card "Không thời hạn" has no expiry; ICAO allows an all-filler field, whose check digit
    # computes to 0 like any other field.
    return d.strftime("%y%m%d") if d else "<<<<<<"


def td1(id_number: str, surname: str, given_names: str, date_of_birth: date, sex: str,
        date_of_expiry: date | None, nationality: str = "VNM") -> list[str]:
    doc = id_number[-9:]
    line1 = f"IDVNM{doc}{check_digit(doc)}{id_number}".ljust(30, "<")[:30]
    dob, exp = _yymmdd(date_of_birth), _yymmdd(date_of_expiry)
    sx = {"Nam": "M", "Nữ": "F"}.get(sex, "<")
    head = f"{dob}{check_digit(dob)}{sx}{exp}{check_digit(exp)}{nationality}".ljust(29, "<")
    composite = line1[5:30] + head[0:7] + head[8:15] + head[18:29]
    line2 = head + check_digit(composite)
    line3 = f"{transliterate(surname)}<<{transliterate(given_names)}".ljust(30, "<")[:30]
    return [line1, line2, line3]


def verify(lines: list[str]) -> bool:
    """True when all four TD1 check digits of the three lines verify."""
    l1, l2, _ = lines
    return (
        check_digit(l1[5:14]) == l1[14]
        and check_digit(l2[0:6]) == l2[6]
        and check_digit(l2[8:14]) == l2[14]
        and check_digit(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29]) == l2[29]
    )
