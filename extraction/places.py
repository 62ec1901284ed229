"""Plausibility of an OCR'd address: Vietnamese addresses end with the province, and their
words are Vietnamese syllables, numbers or the usual abbreviations."""

from __future__ import annotations

import re
from functools import lru_cache

from rapidfuzz import fuzz

from extraction.addresses import province_names
from extraction.lexicon import unknown_words
from extraction.names import is_syllable
from extraction.normalize import fold

# Printed forms the official list (extraction.addresses.province_names, from vietnamadminunits)
# does not spell so: the pre-2025 long name of Huế, and the short forms people print.
_PRINTED_PROVINCES = ("Thừa Thiên Huế", "HCM", "Vũng Tàu")


@lru_cache(maxsize=1)
def provinces() -> tuple[str, ...]:
    return (*province_names(), *_PRINTED_PROVINCES)


@lru_cache(maxsize=1)
def _province_words() -> list[list[str]]:
    return [re.findall(r"[a-z]+", fold(p)) for p in provinces()]


# Abbreviations people print in addresses: TP, TX, TT, KP, P1, Q10, ...
_ABBREVIATION = re.compile(r"^([a-z]|tp|tx|tt|kp|tdp|kdt|kdc|ccn|kcn|hcm|tphcm|ea)$")
UNKNOWN_PROVINCE = 0.8  # no province at the end: the address is likely cut or garbled
ODD_WORD = 0.9  # each word that is neither Vietnamese nor a number nor an abbreviation
UNKNOWN_WORD = 0.93  # each word shaped like Vietnamese but not in the lexicon
CUT_WORD = 0.8


def ends_with_province(address: str) -> bool:
    words = re.findall(r"[a-z]+", fold(address))
    for p in _province_words():
        tail = words[-len(p):]
        # Same initials keep "tỉnh Bình" (cut) from passing for "Ninh Bình".
        if len(tail) == len(p) and all(a[0] == b[0] for a, b in zip(tail, p)) \
                and fuzz.ratio(" ".join(tail), " ".join(p)) >= 85:
            return True
    return False


def ends_in_province_unit(address: str) -> bool:
    """The last comma-separated unit of `address` names a province with its rank ("tỉnh Nghệ
    An", "Thành phố Đà Nẵng"): not a street or a commune named like one ("đại lộ Bình Dương",
    "Minh Thuận")."""
    last = fold(address.rstrip(" ,.").rsplit(",", 1)[-1]).strip()
    m = re.match(r"(tinh|thanh pho|tp\.?)\s+(.*)$", last)
    return bool(m) and re.findall(r"[a-z]+", m.group(2)) in _province_words()


def restore_province(address: str) -> str:
    """`address` with the province of its last unit spelt as the province is named, when OCR
    got a tone wrong ("Thành phố Đã Nẵng"): the provinces are a closed list."""
    m = re.search(r"(?:tỉnh|Tỉnh|[Tt]hành phố|TP\.?|Tp\.?)\s+([^,]+?)\s*$", address)
    if not m:
        return address
    read = m.group(1)
    for p in provinces():
        if fold(read) == fold(p) and read != p:
            return address[: m.start(1)] + p
    return address


def odd_words(text: str) -> int:
    return sum(_odd(word) for word in re.findall(r"\w+", text))


def _odd(word: str) -> bool:
    w = fold(word)
    if re.search(r"[^a-z0-9]", w):
        return True  # "0œ", "§ON": letters no Vietnamese text has
    # House numbers and unit codes ("12A", "P11", "K3") are not words to judge.
    return not (any(c.isdigit() for c in w) or _ABBREVIATION.match(w) or is_syllable(word))


def text_quality(text: str) -> float:
    """1.0 for text made of Vietnamese words; lower for each word OCR seems to have garbled,
    and lower still when the last word is one (the value was likely cut: "Ủy ban nh")."""
    words = re.findall(r"\w+", text)
    odd = odd_words(text)
    # Words that pass the syllable pattern but are not spelled so ("Sõ", "Khù"): a wrong tone mark.
    quality = ODD_WORD ** odd * UNKNOWN_WORD ** max(0, unknown_words(text) - odd)
    if words and _odd(words[-1]) and len(words[-1]) > 1:
        quality *= CUT_WORD
    return max(0.5, quality)


def address_quality(address: str) -> float:
    quality = text_quality(address)
    return quality if ends_with_province(address) else quality * UNKNOWN_PROVINCE

# Birth-place codes that open a 12-digit personal id: the 63 provinces (Circular 07/2016/TT-BCA).
PROVINCE_CODES = frozenset({
    "001", "002", "004", "006", "008", "010", "011", "012", "014", "015", "017", "019", "020", "022", "024",
    "025", "026", "027", "030", "031", "033", "034", "035", "036", "037", "038", "040", "042", "044", "045",
    "046", "048", "049", "051", "052", "054", "056", "058", "060", "062", "064", "066", "067", "068", "070",
    "072", "074", "075", "077", "079", "080", "082", "083", "084", "086", "087", "089", "091", "092", "093",
    "094", "095", "096",
})
