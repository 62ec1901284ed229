"""ICAO 9303 TD1 machine-readable zone (three lines of 30 characters) read from noisy OCR.

OCR misreads the OCR-B font in predictable ways (O/0, I/1, B/8, S/5, "<<" as "K<" or "«"),
inserts spaces and drops fillers. Each position of TD1 is either numeric or alphabetic, which
repairs most confusions; where a position may be both (document number, optional data) the
check digits choose among the candidate repairs.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import date

from extraction import mrz_vn
from extraction.names import is_syllable

LINE = 30
_WEIGHTS = (7, 3, 1)
_TO_DIGIT = {"O": "0", "Q": "0", "D": "0", "U": "0", "I": "1", "L": "1", "T": "1", "J": "1", "Z": "2",
             "S": "5", "B": "8", "G": "6", "A": "4"}
_TO_ALPHA = {"0": "O", "1": "I", "2": "Z", "5": "S", "8": "B", "6": "G", "4": "A", "7": "T"}
# What OCR may print for a letter of a name; tried only when the name is not Vietnamese as read.
_NAME_CONFUSIONS = {"T": "I", "1": "I", "L": "I", "0": "O", "Q": "O", "5": "S", "8": "B", "6": "G", "2": "Z"}
_TRANSLATE_RAW = str.maketrans({"«": "<<", "‹": "<", "≤": "<", "§": "S", "$": "S", "£": "E", "€": "E",
                                "(": "<", "[": "<", "{": "<", "Ø": "0", "°": "0", "|": "I"})


@dataclass
class MrzCheck:
    name: str  # document_number, birth_date, expiry_date, composite
    ok: bool


@dataclass
class Mrz:
    lines: list[str]
    document_type: str
    issuing_state: str
    document_number: str
    optional_data: str
    birth_date: str | None  # ISO
    sex: str | None  # "Nam" / "Nữ"
    expiry_date: str | None  # ISO
    nationality: str
    surname: str
    given_names: str
    checks: list[MrzCheck] = field(default_factory=list)
    repairs: int = 0  # characters changed from what OCR read
    read: list[str] = field(default_factory=list)  # the three lines as OCR read them (cleaned)
    source_lines: list[int] = field(default_factory=list)  # their indexes among the input lines

    @property
    def name_is_vietnamese(self) -> bool:
        return all(is_syllable(w) for w in self.name.split())

    @property
    def name_repaired(self) -> bool:
        return self.lines[2].replace("<", "") != self.read[2].replace("<", "") if self.read else False

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def valid(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def id_number(self) -> str | None:
        """The 12-digit personal id Vietnamese cards carry as optional data in line 1."""
        data = self.optional_data.replace("<", "")
        return data[:12] if len(data) >= 12 and data[:12].isdigit() else None

    @property
    def name(self) -> str:
        return " ".join(f"{self.surname} {self.given_names}".split())


def check_digit(s: str) -> str:
    total = 0
    for i, c in enumerate(s):
        if c.isdigit():
            v = int(c)
        elif c.isalpha():
            v = ord(c.upper()) - 55
        else:
            v = 0
        total += v * _WEIGHTS[i % 3]
    return str(total % 10)


# --------------------------------------------------------------------------- finding the lines
def clean(raw: str) -> str:
    """An OCR line as MRZ characters: look-alike symbols mapped, spaces and debris removed."""
    s = raw.translate(_TRANSLATE_RAW).upper()
    s = re.sub(r"\s+", "", s)
    return re.sub(r"[^A-Z0-9<]", "", s)


def looks_like_mrz(raw: str) -> bool:
    """An OCR line made (nearly) only of MRZ characters, of about MRZ length. The OCR's restricted
    re-read (ocr/mrz.py) uses the same test, so a line garbled with a few other symbols
    ("@Ø674191M…") is both re-read and, after, parsed."""
    s = re.sub(r"\s+", "", raw.translate(_TRANSLATE_RAW))
    if not 20 <= len(s) <= 40:
        return False
    ok = sum(c.isupper() or c.isdigit() or c == "<" for c in s)
    # Every TD1 line holds fillers or letters (ID, VNM, M/F, the name): a run of digits alone is
    # a printed number, such as two spouses' ids on one line.
    return ok / len(s) >= 0.85 and ("<" in s or sum(c.isdigit() for c in s) >= 12 and any(c.isalpha() for c in s))


def _fix_length(s: str) -> str:
    """Pad or trim a line to 30 characters where fillers were lost or added: in the tail of
    lines 1 and 3, in the run of fillers inside line 2."""
    while len(s) > LINE and s.endswith("<<"):
        s = s[:-1]
    if len(s) == LINE:
        return s
    if len(s) < LINE and s.endswith("<"):
        return s + "<" * (LINE - len(s))
    runs = list(re.finditer(r"<{2,}", s))
    if runs:
        run = max(runs, key=lambda m: len(m.group(0)))
        size = max(1, len(run.group(0)) + LINE - len(s))
        return s[: run.start()] + "<" * size + s[run.end():]
    return s + "<" * (LINE - len(s)) if len(s) < LINE else s


def _fillers_from_k(s: str) -> str:
    # "<<" often comes out as "K<" or "<K": a K with a filler on both sides is never a letter
    # of a Vietnamese name, and a K inside the filler tail is never data.
    for _ in range(2):
        s = re.sub(r"(?<=<)K(?=<)", "<", s)
        s = re.sub(r"(?<=<<)K$|^K(?=<<)", "<", s)
    return s


def find_lines(lines: list[str]) -> tuple[list[str], list[int]] | None:
    """The three MRZ lines among OCR lines (as read, spaces removed) and their indexes."""
    idx = [i for i, line in enumerate(lines) if looks_like_mrz(line)]
    if len(idx) < 3:
        return None
    # The MRZ is printed last: prefer the last three consecutive candidates.
    for k in range(len(idx) - 3, -1, -1):
        trio = idx[k : k + 3]
        if trio[2] - trio[0] == 2:
            return [clean(lines[i]) for i in trio], trio
    trio = idx[-3:]
    return [clean(lines[i]) for i in trio], trio


# --------------------------------------------------------------------------- repair
def _as_digits(s: str) -> str:
    return "".join(_TO_DIGIT.get(c, c) for c in s)


def _as_alpha(s: str) -> str:
    return "".join(_TO_ALPHA.get(c, c) for c in s)


def _alnum_candidates(s: str, limit: int = 5) -> list[str]:
    """Spellings of a field that may hold letters and digits: as read, all digits, and every
    combination of turning its letters into the digits they resemble (bounded)."""
    out = [s, _as_digits(s)]
    amb = [i for i, c in enumerate(s) if c in _TO_DIGIT]
    if len(amb) <= limit:
        for flips in itertools.product((False, True), repeat=len(amb)):
            chars = list(s)
            for i, flip in zip(amb, flips):
                if flip:
                    chars[i] = _TO_DIGIT[chars[i]]
            out.append("".join(chars))
    return list(dict.fromkeys(out))


def _repair_word(word: str) -> str:
    """A name word as read, or the fewest confusion swaps that make it a Vietnamese syllable
    ("THT" -> "THI", "MTNH" -> "MINH")."""
    if is_syllable(word):
        return word
    # A letter read twice ("MAII"): Vietnamese never doubles a letter but "oo" ("SOON" is not
    # a name either way), so dropping one is safe when it leaves a syllable.
    for i in range(1, len(word)):
        if word[i] == word[i - 1] and is_syllable(word[:i] + word[i + 1:]):
            return word[:i] + word[i + 1:]
    amb = [i for i, c in enumerate(word) if c in _NAME_CONFUSIONS]
    if len(amb) > 6:
        return word
    for n in range(1, len(amb) + 1):
        for chosen in itertools.combinations(amb, n):
            chars = list(word)
            for i in chosen:
                chars[i] = _NAME_CONFUSIONS[chars[i]]
            candidate = "".join(chars)
            if is_syllable(candidate):
                return candidate
    return word


def _repair_name_line(s: str) -> str:
    s = _fillers_from_k(s)
    parts = re.split(r"(<+)", s)
    fixed = []
    for p in parts:
        if not p or p.startswith("<"):
            fixed.append(p)
            continue
        if len(p) > 2 and p.endswith("K") and not is_syllable(p) and is_syllable(p[:-1]):
            # "TOANK<<<": the first filler after a name, half hidden by the last letter, reads as K
            fixed.append(_as_alpha(p[:-1]) + "<")
            continue
        fixed.append(_as_alpha(_repair_word(p)))
    return "".join(fixed)


def _yymmdd(s: str, future_ok: bool) -> str | None:
    from extraction.normalize import make_date  # local: normalize does not need MRZ

    if not re.fullmatch(r"\d{6}", s):
        return None
    yy = int(s[:2])
    # Birth dates are in the past; expiry dates lie ahead, in this century.
    century = 2000 if (future_ok or 2000 + yy <= date.today().year) else 1900
    return make_date(century + yy, s[2:4], s[4:6])


def _diff(a: str, b: str) -> int:
    return sum(x != y for x, y in zip(a, b)) + abs(len(a) - len(b))


def _without_one(raw: str, start: int, stop: int, too_long: bool) -> list[str]:
    """The line as read and, when it is too long, each spelling with one character of
    raw[start:stop] deleted: OCR sometimes reads a character twice or adds a speck. Only on
    evidence of length, or a chance agreement of check digits could pass for a repair."""
    out = [raw]
    if too_long:
        out += [raw[:i] + raw[i + 1:] for i in range(start, min(stop, len(raw)))]
    return list(dict.fromkeys(out))


@dataclass
class _Line2:
    birth: str
    birth_cd: str
    sex: str
    expiry: str
    expiry_cd: str
    nationality: str
    optional: str
    composite_cd: str

    @property
    def text(self) -> str:
        return (self.birth + self.birth_cd + self.sex + self.expiry + self.expiry_cd + self.nationality
                + self.optional + self.composite_cd)


def _decode_line2(raw: str) -> _Line2 | None:
    line = _fix_length(raw)
    if len(line) != LINE:
        return None
    return _Line2(
        birth=_as_digits(line[0:6]), birth_cd=_as_digits(line[6]),
        sex={"H": "M", "N": "M", "P": "F", "E": "F"}.get(line[7], line[7]),
        expiry=_as_digits(line[8:14]), expiry_cd=_as_digits(line[14]),
        nationality=_as_alpha(line[15:18]), optional=_fillers_from_k(line[18:29]),
        composite_cd=_as_digits(line[29]),
    )


def _best_line2(raw: str) -> _Line2 | None:
    """The reading of line 2 whose own check digits agree best (before the composite)."""
    best: tuple[tuple[int, int], _Line2] | None = None
    # Data fills the first 18 characters; on Vietnamese cards fillers follow.
    first_filler = raw.find("<")
    too_long = first_filler > 18 or (len(raw) > LINE and not raw.endswith("<"))
    for k, cand in enumerate(_without_one(raw, 0, 18, too_long)):
        l2 = _decode_line2(cand)
        if l2 is None:
            continue
        score = (
            (check_digit(l2.birth) == l2.birth_cd) + (check_digit(l2.expiry) == l2.expiry_cd)
            + (l2.sex in "MF<")
        )
        key = (score, -k)
        if best is None or key > best[0]:
            best = (key, l2)
    return best[1] if best else None


def _best_line1(raw: str, l2: _Line2) -> tuple[str, str, str] | None:
    """(line 1, document number, its check digit): the spelling of line 1 that makes the check
    digits agree. Vietnamese cards repeat the document number as digits 4-12 of the id in the
    optional data, so a digit misread in one copy can be taken from the other."""
    best: tuple[tuple[int, int], str, str, str] | None = None
    # Vietnamese cards: "IDVNM", 9 + 1 digits of document number, 12 digits of id, fillers.
    too_long = len(raw) > LINE and len(raw.rstrip("<")) > 27
    for cand in _without_one(raw, 5, 28, too_long):
        l1 = _fix_length(_fillers_from_k(cand))
        if len(l1) != LINE:
            continue
        head = l1[0:2]
        doc_type = "ID" if head[0] in "I1TL" and head[1] in "D0O" else _as_alpha(head)
        state = _as_alpha(l1[2:5])
        numbers = _alnum_candidates(l1[5:14])
        optionals = _alnum_candidates(_fillers_from_k(l1[15:30]))
        numbers += [o[3:12] for o in optionals if re.fullmatch(r"\d{12}<*", o)]
        optionals += [o[:3] + n + o[12:] for o in list(optionals) for n in numbers
                      if re.fullmatch(r"\d{12}<*", o) and re.fullmatch(r"\d{9}", n)]
        for num in dict.fromkeys(numbers):
            for cd in dict.fromkeys([l1[14], _as_digits(l1[14])]):
                for opt in dict.fromkeys(optionals):
                    l1c = doc_type + state + num + cd + opt
                    composite = l1c[5:30] + l2.birth + l2.birth_cd + l2.expiry + l2.expiry_cd + l2.optional
                    score = (
                        2 * (check_digit(num) == cd)
                        + 2 * (check_digit(composite) == l2.composite_cd)
                        + (opt.replace("<", "")[3:12] == num)
                    )
                    key = (score, -_diff(l1c, raw))
                    if best is None or key > best[0]:
                        best = (key, l1c, num, cd)
    return best[1:] if best else None


def _all_checks(l1: str, l2: _Line2) -> bool:
    composite = l1[5:30] + l2.birth + l2.birth_cd + l2.expiry + l2.expiry_cd + l2.optional
    return (check_digit(l1[5:14]) == l1[14] and check_digit(l2.birth) == l2.birth_cd
            and check_digit(l2.expiry) == l2.expiry_cd and check_digit(composite) == l2.composite_cd)


def parse_lines(read: list[str]) -> Mrz | None:
    """Repair and decode three TD1 lines as OCR read them."""
    if len(read) != 3:
        return None
    l2 = _best_line2(read[1])
    line1 = _best_line1(read[0], l2) if l2 else None
    if l2 is None or line1 is None:
        return None
    l1_fixed, number, number_cd = line1
    if not _all_checks(l1_fixed, l2):
        fixed_vn = mrz_vn.repair(l1_fixed, l2.birth, l2.birth_cd, l2.sex, l2.expiry, l2.expiry_cd,
                                 l2.optional, l2.composite_cd)
        if fixed_vn is not None:
            l1_fixed = fixed_vn.line1
            l2.birth, l2.birth_cd, l2.expiry = fixed_vn.birth, fixed_vn.birth_cd, fixed_vn.expiry
            l2.expiry_cd, l2.composite_cd = fixed_vn.expiry_cd, fixed_vn.composite_cd
            number, number_cd = l1_fixed[5:14], l1_fixed[14]
    l2_fixed = l2.text
    l3 = _fix_length(_fillers_from_k(read[2]))
    l3_fixed = _repair_name_line(l3)[:LINE].ljust(LINE, "<")
    composite = l1_fixed[5:30] + l2_fixed[0:7] + l2_fixed[8:15] + l2_fixed[18:29]
    checks = [
        MrzCheck("document_number", check_digit(number) == number_cd),
        MrzCheck("birth_date", check_digit(l2.birth) == l2.birth_cd),
        MrzCheck("expiry_date", check_digit(l2.expiry) == l2.expiry_cd),
        MrzCheck("composite", check_digit(composite) == l2.composite_cd),
    ]
    names = l3_fixed.rstrip("<").split("<<", 1)
    surname = names[0].replace("<", " ").strip()
    given = names[1].replace("<", " ").strip() if len(names) > 1 else ""
    fixed = [l1_fixed, l2_fixed, l3_fixed]
    return Mrz(
        lines=fixed,
        document_type=l1_fixed[0:2].rstrip("<"),
        issuing_state=l1_fixed[2:5],
        document_number=number.rstrip("<"),
        optional_data=l1_fixed[15:30].rstrip("<"),
        birth_date=_yymmdd(l2.birth, future_ok=False),
        sex={"M": "Nam", "F": "Nữ"}.get(l2.sex),
        expiry_date=_yymmdd(l2.expiry, future_ok=True),
        nationality=l2.nationality,
        surname=surname,
        given_names=given,
        checks=checks,
        repairs=sum(_diff(a, b) for a, b in zip(fixed, read)),
        read=list(read),
    )


def parse(lines: list[str]) -> Mrz | None:
    """Find and decode the MRZ among OCR lines; None when there is none."""
    found = find_lines(lines)
    if not found:
        return None
    result = parse_lines(found[0])
    if result is not None:
        result.source_lines = found[1]
    return result
