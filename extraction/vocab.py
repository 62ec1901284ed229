"""Fixed phrases of administrative papers, to restore diacritics OCR got wrong in them.

Only phrases the law or the state's naming prescribes are listed ("ỦY BAN NHÂN DÂN",
"CÔNG TY CỔ PHẦN"), so a word that folds to one of them can only be that word. Names of
people and places are never corrected here.
"""

from __future__ import annotations

import re

from extraction.normalize import fold

AUTHORITY_WORDS = (
    "ỦY BAN NHÂN DÂN", "THÀNH PHỐ", "THỊ XÃ", "THỊ TRẤN", "TỈNH", "HUYỆN", "QUẬN", "PHƯỜNG", "SỞ", "BỘ",
    "CỤC", "TỔNG CỤC", "VĂN PHÒNG", "TƯ PHÁP", "KẾ HOẠCH VÀ ĐẦU TƯ", "TÀI NGUYÊN VÀ MÔI TRƯỜNG", "NỘI VỤ",
    "CÔNG AN", "TÀI CHÍNH", "GIÁO DỤC VÀ ĐÀO TẠO", "Y TẾ", "XÂY DỰNG", "XÃ",
)
# Units followed by a place name: what comes after them ("HUYỆN BỐ TRẠCH", "HUYỆN QUAN HÓA")
# is a name and is left as read.
NAMED_UNITS = ("THÀNH PHỐ", "THỊ XÃ", "THỊ TRẤN", "TỈNH", "HUYỆN", "QUẬN", "PHƯỜNG", "XÃ")
COMPANY_TYPES = (
    "CÔNG TY TNHH MỘT THÀNH VIÊN", "CÔNG TY TNHH HAI THÀNH VIÊN TRỞ LÊN", "CÔNG TY TNHH",
    "CÔNG TY TRÁCH NHIỆM HỮU HẠN MỘT THÀNH VIÊN", "CÔNG TY TRÁCH NHIỆM HỮU HẠN HAI THÀNH VIÊN TRỞ LÊN",
    "CÔNG TY TRÁCH NHIỆM HỮU HẠN", "CÔNG TY CỔ PHẦN", "CÔNG TY HỢP DANH", "DOANH NGHIỆP TƯ NHÂN",
)


def _words(text: str) -> list[re.Match[str]]:
    return list(re.finditer(r"\w+", text))


def _same_case(word: str, as_printed: str) -> str:
    if as_printed.isupper():
        return word.upper()
    if as_printed[:1].isupper():
        return word[:1].upper() + word[1:].lower()
    return word.lower()


def restore(text: str, phrases: tuple[str, ...], prefix_only: bool = False,
            any_case: bool = False) -> tuple[str, bool]:
    """`text` with upper-case words that fold to one of `phrases` spelt as the phrase; and
    whether anything changed. prefix_only: only a phrase at the very start (a company type).
    Nothing after a unit that takes a name (NAMED_UNITS) is touched. any_case: words in any case
    match (running text, not a heading); each keeps the case it was printed in."""
    canon = sorted(((fold(p).split(), p.split()) for p in phrases), key=lambda c: -len(c[0]))
    words = _words(text)
    out, changed, i, last = [], False, 0, 0
    while i < len(words):
        for folded, printed in canon:
            n = len(folded)
            group = words[i : i + n]
            if len(group) == n and all((any_case or w.group(0).isupper()) and fold(w.group(0)) == f
                                       for w, f in zip(group, folded)):
                for w, p in zip(group, printed):
                    p = _same_case(p, w.group(0))
                    out.append(text[last : w.start()] + p)
                    changed |= w.group(0) != p
                    last = w.end()
                i += n
                if " ".join(printed) in NAMED_UNITS:
                    i = len(words)
                break
        else:
            if prefix_only:
                break
            i += 1
        if prefix_only:
            break
    out.append(text[last:])
    return "".join(out), changed
