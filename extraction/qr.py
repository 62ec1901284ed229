"""The QR code of chip ID cards: its payload, and the printed fields checked against it.

The 2021 chip card carries the code on its front, the 2024 card on its back. Decoded
(`ocr/codes.py`) it reads `id|old id|name|ddmmyyyy birth|sex|address|ddmmyyyy issue`, e.g.
`074187001234|281234567|Nguyễn Thị Hồng Nhung|12031987|Nữ|Số 12 đường Yersin, ...|15082021`.
A decoded QR code is machine-read under Reed-Solomon error correction: unlike the OCR'd print
it is either exact or not read at all, so a printed field that agrees with it is as sure as an
MRZ value whose check digits verify, one that disagrees goes to a person, and one OCR lost is
taken from it.

Payloads are personal data: never log them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from rapidfuzz import fuzz

from extraction.fields import Draft, verified
from extraction.normalize import fold, make_date, nfc, norm_name, norm_sex, squash
from sohoa.models import Check

RULE = "agrees_with_qr"
FILLED_RULE = "filled_from_qr"
# Confidence of a field OCR did not read, taken from a decoded QR code: the decoder's error
# correction makes a wrong payload very unlikely, but the code might belong to another card
# lying on the same page.
FILLED_CONFIDENCE = 0.95
# Each comma-separated unit of either address must appear in the other this well
# (rapidfuzz partial ratio, 0-100, on folded text): one OCR slip in a unit ("Phuờng") keeps
# ~90, another ward or district ("Phú Cường" for "Phú Lợi", "Quận 7" for "Quận 1") drops
# below 85.
ADDRESS_MIN_SCORE = 85.0

_FIELDS = 7
_DATE = re.compile(r"(\d{2})(\d{2})(\d{4})")


@dataclass(frozen=True)
class CardQr:
    """A chip card's QR payload in the contract's normal forms."""

    id_number: str  # 12 digits
    old_id_number: str | None  # the 9-digit CMND (or an older 12-digit card), None when empty
    full_name: str  # Vietnamese title case, NFC
    date_of_birth: str  # ISO
    sex: str  # "Nam" or "Nữ"
    place_of_residence: str | None
    date_of_issue: str  # ISO


def _date(text: str) -> str | None:
    m = _DATE.fullmatch(text)
    return make_date(m[3], m[2], m[1]) if m else None


def parse_payload(text: str) -> CardQr | None:
    """The card fields of a decoded QR code, or None when it is not a chip card's payload
    (another QR code on the page, a truncated or corrupt read)."""
    parts = [squash(p) for p in nfc(text or "").split("|")]
    if len(parts) != _FIELDS:
        return None
    id_number, old_id, name, born, sex, address, issued = parts
    if not re.fullmatch(r"\d{12}", id_number) or not re.fullmatch(r"(\d{9}|\d{12})?", old_id):
        return None
    full_name = norm_name(name)
    # The name is letters only: a payload whose name holds digits is not this format.
    if not full_name or any(c.isdigit() for c in name):
        return None
    born_iso, issued_iso = _date(born), _date(issued)
    sex_norm = norm_sex(sex) if fold(sex) in ("nam", "nu") else None
    if not (born_iso and issued_iso and sex_norm):
        return None
    return CardQr(id_number=id_number, old_id_number=old_id or None, full_name=full_name,
                  date_of_birth=born_iso, sex=sex_norm, place_of_residence=address.strip(" ,.") or None,
                  date_of_issue=issued_iso)


def first_card(codes: list[str]) -> CardQr | None:
    """The first decoded code that is a chip card's payload."""
    for text in codes:
        if (card := parse_payload(text)) is not None:
            return card
    return None


# --------------------------------------------------------------------------- comparing
# Abbreviations of unit words that cards and forms use interchangeably with the full words.
_ABBREVIATIONS = [
    (re.compile(r"\btp\b"), "thanh pho"), (re.compile(r"\btx\b"), "thi xa"), (re.compile(r"\btt\b"), "thi tran"),
    (re.compile(r"\bp\b"), "phuong"), (re.compile(r"\bq\b"), "quan"), (re.compile(r"\bh\b"), "huyen"),
    (re.compile(r"\bkp\b"), "khu pho"),
]


def _address_key(text: str) -> str:
    """Folded, abbreviations spelt out, punctuation gone, single spaces."""
    key = re.sub(r"[^a-z0-9/]+", " ", fold(text))
    for pattern, full in _ABBREVIATIONS:
        key = pattern.sub(full, key)
    return " ".join(key.split())


def _units(text: str) -> list[str]:
    return [k for u in text.split(",") if (k := _address_key(u))]


def address_score(a: str, b: str) -> float:
    """How well two addresses agree, 0-100: the worst match of any comma-separated unit of
    either one inside the other. Line wrapping, spacing, punctuation and abbreviations do not
    count; a unit that differs does, however long the rest is."""
    ka, kb = _address_key(a), _address_key(b)
    if not ka or not kb:
        return 0.0
    scores = [fuzz.partial_ratio(u, kb) for u in _units(a)] + [fuzz.partial_ratio(u, ka) for u in _units(b)]
    return min(scores, default=0.0)


def _same_text(a: str, b: str) -> bool:
    return nfc(a).casefold() == nfc(b).casefold()


def same_address(a: str, b: str) -> bool:
    """The same address however wrapped, spaced or abbreviated. Numbers (house, group, ward)
    must be the same: one changed digit is another house, and fuzzy scores barely see it."""
    numbers = [re.findall(r"\d+", _address_key(t)) for t in (a, b)]
    return numbers[0] == numbers[1] and address_score(a, b) >= ADDRESS_MIN_SCORE


Same = Callable[[str, str], bool]
# The printed fields each document type shares with the QR code, and how they are compared.
FRONT: dict[str, Same] = {"id_number": str.__eq__, "full_name": _same_text, "date_of_birth": str.__eq__,
                          "sex": str.__eq__, "place_of_residence": same_address}
BACK: dict[str, Same] = {"id_number": str.__eq__, "date_of_issue": str.__eq__,
                         "place_of_residence": same_address}
SHARED = {"cccd": FRONT, "cccd_back": BACK}


def cross_check(d: Draft, codes: list[str]) -> None:
    """Check each printed field of a card front or back against the card's QR code, when one
    was decoded on its pages: agreeing fields become as sure as a verified MRZ value, differing
    ones fail a check (and go to review), missing ones are taken from the code."""
    shared = SHARED.get(d.doc_type)
    if not shared or not codes or (card := first_card(codes)) is None:
        return
    for name, same in shared.items():
        from_qr = getattr(card, name)
        if from_qr is None:
            continue
        printed = d.fields.get(name)
        if printed is None:
            if name in d.expected:
                d.put_conf(name, from_qr, FILLED_CONFIDENCE)
                d.check(Check(field=name, rule=FILLED_RULE, ok=True,
                              detail="not read on the card; taken from its QR code"))
            continue
        if same(str(printed), from_qr):
            conf = d.confidence.get(name, 0.0)
            d.confidence[name] = max(conf, verified(conf))
            detail = None
            if printed != from_qr and name == "place_of_residence":
                # Same units, the text read with slips: the code's text is the exact one.
                d.fields[name] = from_qr
                detail = "read with small differences; the QR code's text is kept"
            d.check(Check(field=name, rule=RULE, ok=True, detail=detail))
        else:
            d.check(Check(field=name, rule=RULE, ok=False, detail=f"QR code says {from_qr}"))
