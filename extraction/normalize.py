"""Normal forms of the field contract (dates, names, sex, identifiers, money, addresses).

Every function accepts raw OCR text and returns the contract's normal form, or None when the
text does not hold a usable value: callers then leave the field out rather than guess.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from rapidfuzz import fuzz

# Characters OCR commonly prints for digits inside a numeric token.
_DIGIT_LOOKALIKES = str.maketrans(
    {"O": "0", "o": "0", "Q": "0", "D": "0", "I": "1", "l": "1", "i": "1", "|": "1", "!": "1",
     "S": "5", "s": "5", "B": "8", "Z": "2", "z": "2", "G": "6", "b": "6"}
)
_ID_LOOKALIKES = str.maketrans({"O": "0", "o": "0", "Q": "0", "D": "0", "I": "1", "l": "1", "i": "1",
                                "|": "1", "!": "1", "S": "5", "B": "8", "Z": "2"})


def nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s)


def fold_char(c: str) -> str:
    """One character without its diacritics, lower-cased ("" for a lone combining mark)."""
    if c in "đĐ":
        return "d"
    base = unicodedata.normalize("NFD", c)
    if not base or unicodedata.combining(base[0]):
        return ""
    return base[0].lower()


def fold(s: str) -> str:
    """Strip diacritics (đ included) and lower-case: the form every label is matched in."""
    return "".join(fold_char(c) for c in nfc(s))


# Quotes and accents OCR sprinkles over photographed text; no printed value holds them.
_STRAY = re.compile(r"[“”„\"`´‘’«»¡¿]")


def squash(s: str) -> str:
    """NFC, no stray quote marks, single spaces, no space before punctuation, trimmed."""
    s = re.sub(r"\s+", " ", _STRAY.sub(" ", nfc(s))).strip()
    return re.sub(r"\s+([,;.])", r"\1", s)


# --------------------------------------------------------------------------- dates
_NUM = r"[0-9OoIl|SBZ]"
_SEP = r"\s*[/.\-]\s*"
_DMY = re.compile(
    rf"(?<![0-9])({_NUM}\s?{_NUM}?){_SEP}({_NUM}\s?{_NUM}?){_SEP}({_NUM}\s?{_NUM}\s?{_NUM}\s?{_NUM})(?![0-9])"
)
_YMD = re.compile(r"(?<![0-9])(\d{4})-(\d{2})-(\d{2})(?![0-9])")
_DMY_COMPACT = re.compile(r"(?<![0-9])(\d{2})(\d{2})((?:19|20)\d{2})(?![0-9])")
# Slashes OCR'd as "1", "l", "I" or "|", or lost, one or both: "27/09/1970" read "2710911970",
# "27/09I1970" or "2709/1970".
_DMY_SLASH_AS_ONE = re.compile(r"(?<![0-9])([0-3]\d)[/.\-1lI|]?([01]\d)[/.\-1lI|]?((?:18|19|20|21)\d{2})(?![0-9])")
# "ngày .. tháng .. năm" on folded text; a blank form line has these words and no digits.
DATE_WORDS = re.compile(r"ng\w{0,2}y\W{0,3}(\S{1,3})\W{0,3}th\w{1,3}g\W{0,3}(\S{1,3})\W{0,3}n\w{1,2}m")
_WORDS = re.compile(DATE_WORDS.pattern + r"\W{0,3}(\S{4,5})")


def _digits(s: str) -> str:
    return re.sub(r"\D", "", s.translate(_DIGIT_LOOKALIKES))


def make_date(year: str | int, month: str | int, day: str | int) -> str | None:
    try:
        d = date(int(year), int(month), int(day))
    except (TypeError, ValueError):
        return None
    # Outside these years a "date" on these papers is an OCR artefact.
    return d.isoformat() if 1850 <= d.year <= 2150 else None


def find_date(s: str) -> tuple[str, int, int, bool] | None:
    """The first date in `s`: (ISO date, start, end, repaired) — the span lets callers cut it
    out; repaired says the separators had to be guessed (slashes read as "1")."""
    s = nfc(s)
    folded = fold(s)
    candidates: list[tuple[int, int, str | None]] = []
    for m in _WORDS.finditer(folded):
        candidates.append((m.start(), m.end(), make_date(_digits(m[3]), _digits(m[2]), _digits(m[1]))))
    for m in _DMY.finditer(s):
        d, mo, y = (_digits(g) for g in m.groups())
        if len(y) == 4 and len(d) in (1, 2) and len(mo) in (1, 2):
            candidates.append((m.start(), m.end(), make_date(y, mo, d)))
    for m in _YMD.finditer(s):
        candidates.append((m.start(), m.end(), make_date(m[1], m[2], m[3])))
    for m in _DMY_COMPACT.finditer(s):
        candidates.append((m.start(), m.end(), make_date(m[3], m[2], m[1])))
    good = sorted((c for c in candidates if c[2]), key=lambda c: c[0])
    if good:
        start, end, iso = good[0]
        return iso, start, end, False  # type: ignore[return-value]
    for m in _DMY_SLASH_AS_ONE.finditer(s):
        iso = make_date(m[3], m[2], m[1])
        if iso:
            return iso, m.start(), m.end(), True
    return None


def norm_date(s: str | None) -> str | None:
    """ISO 8601 date from "12/03/1987", "12-03-1987", "ngày 05 tháng 7 năm 2024", "l2/O3/ 1987"..."""
    if not s:
        return None
    found = find_date(s)
    return found[0] if found else None


# --------------------------------------------------------------------------- names
_NAME_JUNK = re.compile(r"[^\w\s'\-]|[\d_]")


def title_word(w: str) -> str:
    return w[:1].upper() + w[1:].lower() if w else w


def norm_name(s: str | None) -> str | None:
    """NFC, single spaces, each syllable capitalised: "NGUYỄN THỊ ĐẠT" -> "Nguyễn Thị Đạt"."""
    if not s:
        return None
    s = _NAME_JUNK.sub(" ", nfc(s))
    words = [w.strip("'-") for w in s.split()]
    words = [title_word(w) for w in words if w]
    return " ".join(words) or None


# --------------------------------------------------------------------------- sex
def norm_sex(s: str | None) -> str | None:
    """"Nam" or "Nữ" from noisy text ("Nu", "Nừ", "Nam.", "Male"); None when unreadable."""
    if not s:
        return None
    words = re.findall(r"[a-z]+", fold(s))
    if not words:
        return None
    w = words[0]
    exact = {"nam": "Nam", "nu": "Nữ", "male": "Nam", "female": "Nữ", "m": "Nam", "f": "Nữ"}
    if w in exact:
        return exact[w]
    if len(w) > 4:
        return None
    nam, nu = fuzz.ratio(w, "nam"), fuzz.ratio(w, "nu")
    if max(nam, nu) < 60 or nam == nu:
        return None
    return "Nam" if nam > nu else "Nữ"


# --------------------------------------------------------------------------- identifiers
def norm_id(s: str | None) -> str | None:
    """Digits only, leading zeros kept; repairs O->0 and l/I->1 that OCR makes inside numbers."""
    if not s:
        return None
    digits = re.sub(r"\D", "", nfc(s).translate(_ID_LOOKALIKES))
    return digits or None


# Digits with look-alikes, and single separators OCR puts between them (spaces, dots, specks).
_ID_RUN = re.compile(r"[0-9OoQDIl|SBZ](?:[ .'’`]?[0-9OoQDIl|SBZ])*")


def find_id(s: str, length: int) -> tuple[str, bool] | None:
    """A `length`-digit identifier inside `s`: (digits, repaired) where repaired says look-alikes
    were turned into digits. Digit groups may be separated by single spaces or dots."""
    best: tuple[str, bool] | None = None
    for m in _ID_RUN.finditer(nfc(s)):
        raw = m.group(0)
        if sum(c.isdigit() for c in raw) < max(1, len(re.sub(r"[ .'’`]", "", raw)) // 2):
            continue  # a word that only contains look-alikes, not a number
        digits = norm_id(raw) or ""
        repaired = any(not c.isdigit() for c in re.sub(r"[ .]", "", raw))
        if len(digits) == length:
            return digits, repaired
        if best is None or abs(len(digits) - length) < abs(len(best[0]) - length):
            best = (digits, repaired)
    return best if best and best[0] else None


# --------------------------------------------------------------------------- money
_MONEY = re.compile(r"\d{1,3}(?:[.,\s]\d{3})+(?!\d)|\d+")


def _o_to_zero(token: str) -> str:
    return token.replace("O", "0").replace("o", "0") if any(c.isdigit() for c in token) else token


def norm_money(s: str | None) -> int | None:
    """Whole dong from "1.000.000.000 đồng", "5,000,000,000 VND", "500 000 000"."""
    if not s:
        return None
    text = re.sub(r"[\dOo][\dOo.,]*", lambda m: _o_to_zero(m.group(0)), nfc(s))
    m = _MONEY.search(text)
    if not m:
        return None
    return int(re.sub(r"\D", "", m.group(0)))


# --------------------------------------------------------------------------- addresses
# Words that open an administrative unit: a line starting with one begins a new part of the
# address, so it is joined with ", " even when OCR lost the comma.
_UNIT_START = re.compile(
    r"^(phuong|xa|quan|huyen|thanh pho|tinh|thi xa|thi tran|tp\.?|ap|to|khu pho|thon|ban|khom|p\.|q\.)\b"
)
# Words that need a name after them: a line ending with one was wrapped mid-unit.
_UNIT_END = re.compile(r"\b(phuong|xa|quan|huyen|thanh pho|thanh|tinh|thi|duong|so|to|ap|thon|khu|pho)$")


def _needs_comma(prev: str, nxt: str) -> bool:
    if prev.endswith((",", ";")):
        return True
    fp, fn = fold(prev).rstrip(" .:"), fold(nxt)
    return bool(_UNIT_START.match(fn)) and not _UNIT_END.search(fp)


def clean_value(s: str, keep_comma: bool = False) -> str:
    """Strip OCR junk ("|", ":", "." ...) from both ends of a value and squash spaces.
    keep_comma: keep one trailing comma (it tells where an address line ends a unit)."""
    s = squash(s)
    s = re.sub(r"^[\s|:;.,_\-~`'\"!»«>*•=/\\+]+", "", s)
    comma = keep_comma and re.search(r",[\s|:;._\-~`'\"!»«<*•=/\\+]*$", s) is not None
    s = re.sub(r"[\s|:;,._\-~`'\"!»«<*•=/\\+]+$", "", s).strip()
    return s + "," if comma and s else s


def norm_address(lines: list[str] | str | None) -> str | None:
    """Lines of a printed address joined as one string: ", " between lines that start a new unit,
    a space where the printer wrapped a line mid-name; single spaces, no trailing punctuation."""
    if lines is None:
        return None
    if isinstance(lines, str):
        lines = [lines]
    # A line's own trailing comma is kept as a sign that the next line starts a new unit.
    parts = [clean_value(line) + ("," if re.search(r",[\s|.:;_\-]*$", line) else "") for line in lines]
    parts = [p for p in parts if p.strip(",")]
    if not parts:
        return None
    out = parts[0]
    for nxt in parts[1:]:
        out = f"{out.rstrip(',;')}, {nxt}" if _needs_comma(out, nxt) else f"{out} {nxt}"
    out = re.sub(r"\s*,\s*", ", ", out)
    out = re.sub(r"(,\s*)+", ", ", out)
    out = re.sub(r"\s+", " ", out)
    return clean_value(out.rstrip(" ,.;:")) or None


def join_wrapped(lines: list[str]) -> str | None:
    """Lines of one wrapped phrase (a company name, a subject line) joined with single spaces."""
    text = squash(" ".join(clean_value(x) for x in lines if clean_value(x)))
    return text or None
