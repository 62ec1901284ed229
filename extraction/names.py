"""Is a word a Vietnamese syllable? Used to judge OCR'd names and to repair MRZ names.

Vietnamese writes one syllable a word with a small set of onsets, vowel clusters and codas,
so a misread letter ("GTA", "MTNH") usually leaves a word no Vietnamese could write.
"""

from __future__ import annotations

import re

from extraction.normalize import fold

_SYLLABLE = re.compile(
    r"(ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnprstvx])?"
    r"(uye|uya|oai|oay|oao|oeo|uay|uoi|uou|uya|ieu|yeu|uye|ai|ao|au|ay|eo|eu|ia|ie|iu|oa|oe|oi|oo|ua|ue|"
    r"ui|uo|uu|uy|ye|ya|[aeiouy])"
    r"(ng|nh|ch|[cmnptk]|i|y|o|u)?"  # k: minority place names (Đắk Lắk, Krông Búk)
)
_TITLES = re.compile(
    r"\b(chu tich|giam doc|thu truong|bo truong|chanh van phong|cuc truong|truong phong|truong ban|"
    r"uy ban|nhan dan|nguoi ky|cong hoa|doc lap|kt|tm|tl|ttl)\b"
)


def is_syllable(word: str) -> bool:
    f = fold(word)
    # The pattern is loose about glides; no Vietnamese syllable doubles these vowels.
    return (bool(_SYLLABLE.fullmatch(f)) and not any(v in f for v in ("aa", "ee", "ii", "yy"))
            and not re.search(r"[aeiouy]{4}", f))  # no syllable runs four vowels ("oaiy")


def vietnamese_share(name: str) -> float:
    """Share of the words of `name` that are Vietnamese syllables (1.0 for a clean name)."""
    words = name.split()
    if not words:
        return 0.0
    return sum(is_syllable(w) for w in words) / len(words)


def looks_like_name(text: str) -> bool:
    """2-6 capitalised Vietnamese syllables and nothing else: a person's name as printed."""
    words = text.split()
    if not 2 <= len(words) <= 6:
        return False
    if not all(w[:1].isupper() and w.isalpha() for w in words):
        return False
    if _TITLES.search(fold(text)):
        return False  # "PHÓ CHỦ TỊCH", "GIÁM ĐỐC SỞ" are titles, not names
    return vietnamese_share(text) == 1.0


# Vietnamese surnames as printed. OCR often misplaces the tone of a surname ("Hỗ" for "Hồ",
# "Nguyên" for "Nguyễn"); where exactly one surname has that spelling without diacritics,
# that surname is what was printed.
SURNAMES = (
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ",
    "Ngô", "Dương", "Lý", "Trương", "Đinh", "Lâm", "Mai", "Trịnh", "Đoàn", "Cao", "Tạ", "Lương", "Tô",
    "Hà", "Văn", "Thái", "Châu", "Quách", "Kiều", "Lưu", "Tăng", "Triệu", "Tiêu", "Lã", "Hứa", "Diệp",
    "Lục", "Từ", "Giang", "Mạc", "Khúc", "Âu", "Doãn", "Chu", "Phùng", "La", "Thân", "Nghiêm", "Ông",
    "Quan", "Vương", "Trịnh", "Đàm", "Bạch", "Ninh", "Kim", "Thạch", "Danh", "Sơn", "Lò", "Lường",
)
_BY_FOLD: dict[str, set[str]] = {}
for _s in SURNAMES:
    _BY_FOLD.setdefault(fold(_s), set()).add(_s)


def fix_surname(name: str) -> tuple[str, bool]:
    """`name` with its first word replaced by the surname OCR garbled the tone of, if that
    is unambiguous; and whether it changed."""
    words = name.split()
    if not words:
        return name, False
    first = words[0]
    if first in SURNAMES:
        return name, False
    candidates = _BY_FOLD.get(fold(first), set())
    if len(candidates) != 1:
        return name, False
    fixed = next(iter(candidates))
    if first.isupper():
        fixed = fixed.upper()
    return " ".join([fixed, *words[1:]]), True
