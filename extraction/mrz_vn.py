"""Repairing the MRZ of a Vietnamese card from the redundancy its fields carry.

Beyond the ICAO check digits, a Vietnamese TD1 repeats itself: the document number is digits
4-12 of the 12-digit id in the optional data; the id opens with a province code, then a digit
for century and sex and the two digits of the birth year; and the card expires on a birthday,
so the expiry's month and day are the birth date's. When a check digit fails, readings that
differ by one commonly confused digit are tried, and one is taken only if every check digit and
every one of these relations then holds and no other reading does as well.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from extraction.places import PROVINCE_CODES

# Digits Tesseract confuses in OCR-B.
_CONFUSED = {
    "0": "689", "1": "74", "2": "7", "3": "85", "4": "19", "5": "63", "6": "058", "7": "12", "8": "0369",
    "9": "084",
}


def check_digit(s: str) -> str:
    from extraction.mrz import check_digit as cd  # one definition of the 7-3-1 rule

    return cd(s)


def _one_off(s: str) -> Iterator[str]:
    for i, c in enumerate(s):
        for alt in _CONFUSED.get(c, ""):
            yield s[:i] + alt + s[i + 1:]


def _sex_digits(sex: str) -> str:
    """Possible digit 4 of the id for an MRZ sex: even for men, odd for women (any century)."""
    return {"M": "02468", "F": "13579"}.get(sex, "")


def _is_date(yymmdd: str) -> bool:
    try:
        date(2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:6]))
    except ValueError:
        return False
    return True


def _fixes(value: str, cd: str, extra: list[str], is_date: bool = False) -> list[tuple[str, str]]:
    """(field, check digit) as read if they agree; else readings one confusion away that do:
    the field's one-off readings (or `extra` readings from elsewhere on the card), or the
    check digit itself misread."""
    if check_digit(value) == cd:
        return [(value, cd)]
    out = [(x, cd) for x in [*extra, *_one_off(value)]
           if x != value and check_digit(x) == cd and (not is_date or _is_date(x))]
    if check_digit(value) in _CONFUSED.get(cd, ""):
        out.append((value, check_digit(value)))
    return list(dict.fromkeys(out))


@dataclass
class Repaired:
    line1: str
    birth: str
    birth_cd: str
    expiry: str
    expiry_cd: str
    composite_cd: str


def repair(l1: str, birth: str, birth_cd: str, sex: str, expiry: str, expiry_cd: str, opt2: str,
           composite_cd: str) -> Repaired | None:
    """The fields made consistent, or None when no single reading is."""
    number, number_cd, ident = l1[5:14], l1[14], l1[15:27]
    if l1[:5] != "IDVNM" or not (number + number_cd + ident).isdigit() or l1[27:].strip("<"):
        return None
    births = _fixes(birth, birth_cd, [birth[:2] + expiry[2:]], is_date=True)
    no_expiry = expiry == "<" * 6
    expiries = [(expiry, expiry_cd)] if no_expiry else _fixes(expiry, expiry_cd, [expiry[:2] + birth[2:]], True)
    numbers = _fixes(number, number_cd, [ident[3:]])
    provinces = [ident[:3]] if ident[:3] in PROVINCE_CODES else [
        p for p in PROVINCE_CODES if sum(a != b for a, b in zip(p, ident[:3])) == 1
    ]
    read = l1 + birth + birth_cd + expiry + expiry_cd + composite_cd
    found: list[tuple[int, Repaired]] = []
    for (b, bcd), (e, ecd), (n, ncd), p in itertools.product(births, expiries, numbers, provinces):
        if n[0] not in _sex_digits(sex) or n[1:3] != b[:2]:
            continue
        if not no_expiry and e[2:] != b[2:]:
            continue
        line1 = "IDVNM" + n + ncd + p + n + l1[27:]
        ccd = check_digit(line1[5:30] + b + bcd + e + ecd + opt2)
        if ccd != composite_cd and ccd not in _CONFUSED.get(composite_cd, ""):
            continue
        candidate = Repaired(line1, b, bcd, e, ecd, ccd)
        now = line1 + b + bcd + e + ecd + ccd
        found.append((sum(x != y for x, y in zip(now, read)), candidate))
    if not found:
        return None
    found.sort(key=lambda f: f[0])
    if len(found) > 1 and found[0][0] == found[1][0] and found[0][1] != found[1][1]:
        return None  # two readings equally close: not ours to choose
    return found[0][1]
