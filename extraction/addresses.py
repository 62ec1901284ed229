"""Resolve a printed Vietnamese address to administrative units, old and new.

A separate, reusable step: the parsers keep address fields as printed; this maps such a string
to the last pre-reform units (ward / district / province of the 63 provinces) and to the units of
the two-level system in force since 1 July 2025 (ward / province of the 34 provinces).

The unit names, aliases, codes and the old-to-new mapping all come from the `vietnamadminunits`
package (its data ships inside the wheel). Its own parser does the first pass; a thin layer here
fixes what it gets wrong on ID-card text:

* word-aligned checking of its province: it matches keywords inside a concatenation of the whole
  address, so "John" yields Hà Nội (via "hn") and "...Yên Thành Nghệ An" too;
* abbreviations it does not know ("Ph11", "P.07", "TX-", "Tp HCM") are expanded before it runs;
* levels it leaves empty are filled by matching word windows against the package's own unit
  keywords, diacritic-insensitively and with one or two OCR edits allowed (rapidfuzz);
* a ward written without its district ("Phúc Tân, Hà Nội") is looked up across the province and
  kept when only one ward fits;
* the 2025 units are looked up in the package's conversion tables directly: its
  `convert_address` geocodes over the network (ArcGIS) when an old ward was split, which the
  pipeline must never do, so a split ward gets the package's default new ward and a flag.

Nothing here logs: addresses are personal data.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from types import ModuleType
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from extraction.kinds import field_kind
from extraction.normalize import fold, nfc
from sohoa.models import ResolvedAddress  # with the contract models: it is part of the result

# ----------------------------------------------------------------------------- package data

@lru_cache(maxsize=1)
def _pkg() -> tuple[Callable[..., Any], ModuleType, ModuleType, ModuleType]:
    # Imported lazily: the package loads ~4 MB of JSON and geopy/shapely at import (~0.8 s).
    from vietnamadminunits import parse_address
    from vietnamadminunits.converter import converter_2025 as conv
    from vietnamadminunits.parser import parser_from_2025 as new
    from vietnamadminunits.parser import parser_legacy as old

    return parse_address, old, new, conv


# A unit's keywords (package form: folded, no spaces) -> its key.
Choices = dict[str, str]


@lru_cache(maxsize=1)
def _province_choices() -> Choices:
    old = _pkg()[1]
    return {kw: p for p, v in old.DICT_PROVINCE.items() for kw in v["provinceKeywords"]}


@lru_cache(maxsize=1)
def _unique_district_choices() -> dict[str, tuple[str, str]]:
    old = _pkg()[1]
    return {kw: (v["provinceKey"], d) for d, v in old.DICT_UNIQUE_DISTRICT_PROVINCE.items()
            for kw in v["districtKeywords"]}


@lru_cache(maxsize=128)
def _district_choices(province: str) -> Choices:
    old = _pkg()[1]
    return {kw: d for d, v in old.DICT_PROVINCE_DISTRICT[province].items() for kw in v["districtKeywords"]}


@lru_cache(maxsize=128)
def _divided_keywords(province: str) -> frozenset[str]:
    # Old district names the package maps through their wards (Quận 9 -> Thành phố Thủ Đức ...).
    old = _pkg()[1]
    groups = old.DICT_PROVINCE_DISTRICT_DIVIDED.get(province, {})
    return frozenset(kw for g in groups.values() for kw in g["dividedDistrictKeywords"])


def _ward_dicts(province: str, district: str) -> list[dict]:
    old = _pkg()[1]
    return [d.get(province, {}).get(district) or {} for d in (
        old.DICT_PROVINCE_DISTRICT_WARD_NO_ACCENTED, old.DICT_PROVINCE_DISTRICT_WARD_ACCENTED,
        old.DICT_PROVINCE_DISTRICT_WARD_SHORT_ACCENTED)]


@lru_cache(maxsize=1024)
def _ward_choices(province: str, district: str) -> Choices:
    # The accented dicts only separate names that differ by a tone (Sa Pa / Sa Pả); folded, the
    # first one listed wins, which is the best a diacritic-free match can do.
    out: Choices = {}
    for wards in _ward_dicts(province, district):
        for w, v in wards.items():
            for kw in v["wardKeywords"]:
                out.setdefault(fold(kw), w)
    return out


def _ward_entry(province: str, district: str, ward: str) -> dict:
    return next(d[ward] for d in _ward_dicts(province, district) if ward in d)


@lru_cache(maxsize=1)
def _old_to_new() -> tuple[dict[str, str], dict[str, tuple[str, str, bool]]]:
    """old province key -> new province key; "prov_district_ward" -> (new prov, new ward, split)."""
    conv = _pkg()[3]
    provinces = {o: n for n, olds in conv.DICT_PROVINCE.items() for o in olds}
    wards: dict[str, tuple[str, str, bool]] = {}
    for n, table in conv.DICT_PROVINCE_WARD_NO_DIVIDED.items():
        for new_ward, olds in table.items():
            for o in olds:
                wards[o] = (n, new_ward, False)
    for n, table in conv.DICT_PROVINCE_WARD_DIVIDED.items():
        for o, options in table.items():
            default = next((x["newWardKey"] for x in options if x["isDefaultNewWard"]), options[0]["newWardKey"])
            wards.setdefault(o, (n, default, True))
    return provinces, wards


def _new_ward_entry(province: str, ward: str) -> dict | None:
    new = _pkg()[2]
    for d in (new.DICT_PROVINCE_WARD_NO_ACCENTED, new.DICT_PROVINCE_WARD_ACCENTED,
              new.DICT_PROVINCE_WARD_SHORT_ACCENTED):
        entry = d.get(province, {}).get(ward)
        if entry:
            return entry
    return None


# ----------------------------------------------------------------------------- text

# Printed abbreviations -> the words the package's keywords are built from. Applied to the text
# handed to the package (accents kept, it needs them for a few names).
_EXPAND: list[tuple[re.Pattern[str], str]] = [(re.compile(p, re.IGNORECASE), r) for p, r in (
    (r"\b(?:tp\.?\s*)?h\.?\s*c\.?\s*m\b", "Thành phố Hồ Chí Minh"),
    (r"\btp\.?\s*(?=\w)", "Thành phố "),
    (r"\btx\.?\s*-?\s*(?=\w)", "Thị xã "),
    (r"\btt\.?\s*(?=\w)", "Thị trấn "),
    (r"\bh\.\s*(?=\w)", "Huyện "),
    (r"\bkp\.?\s*(?=\d)", "Khu phố "),
    (r"\b(?:p|ph|f)\.?\s*0*(\d+)\b", r"Phường \1"),
    (r"\bq\.?\s*0*(\d+)\b", r"Quận \1"),
    (r"\bp\.\s*(?=\w)", "Phường "),
    (r"\bq\.\s*(?=\w)", "Quận "),
    (r"\bx\.\s*(?=\w)", "Xã "),
)]

# The same abbreviations as folded tokens, for the word-window matching below.
_TOKEN_WORDS = {"tp": "thanhpho", "tx": "thixa", "tt": "thitran", "h": "huyen", "kp": "khupho",
                "p": "phuong", "ph": "phuong", "f": "phuong", "q": "quan", "x": "xa"}
_TYPED_NUMBER = re.compile(r"(p|ph|f|q|kp)0*(\d+)")
_TYPE_WORDS = ("thanhpho", "thixa", "thitran", "huyen", "quan", "phuong", "xa", "tinh")


def expand(text: str) -> str:
    for pattern, repl in _EXPAND:
        text = pattern.sub(repl, text)
    return text


@dataclass(frozen=True)
class Token:
    key: str  # folded, abbreviation expanded
    start: int  # span in the printed text
    end: int


def tokens(text: str) -> list[Token]:
    out: list[Token] = []
    for m in re.finditer(r"[^\W_]+", text):
        key = fold(m.group())
        if key == "tphcm":
            out += [Token("thanhpho", m.start(), m.end()), Token("hochiminh", m.start(), m.end())]
            continue
        typed = _TYPED_NUMBER.fullmatch(key)
        if typed:
            out += [Token(_TOKEN_WORDS[typed[1]], m.start(), m.end()), Token(typed[2], m.start(), m.end())]
            continue
        if key.isdigit():
            key = key.lstrip("0") or "0"  # "Phường 03" is keyword "phuong3"
        out.append(Token(_TOKEN_WORDS.get(key, key), m.start(), m.end()))
    return out


@dataclass(frozen=True)
class Hit:
    key: str  # the unit's key in the package data
    start: int  # token window [start, end)
    end: int
    score: float  # 1.0 exact, less for OCR edits


def _allowed_edits(n: int) -> int:
    return 0 if n < 5 else 1 if n < 9 else 2


@lru_cache(maxsize=4096)
def _fuzzy_names(names: tuple[str, ...]) -> list[str]:
    # Numbered units are never fuzzy: "quang" is one edit from "quan1", "phuong7" from "phuong1".
    return [k for k in names if not any(c.isdigit() for c in k)]


def find(toks: list[Token], lo: int, hi: int, choices: Choices, fuzzy: bool, max_words: int = 6) -> Hit | None:
    """The right-most word window in toks[lo:hi] that spells one of the keywords.

    Right-most, because units are written small to large: the one just left of its parent is the
    unit itself, not a street or hamlet that shares its name."""
    best: tuple[tuple[int, int, int], Hit] | None = None  # rank: end, fewer edits, longer
    names: list[str] | None = None
    for j in range(hi, lo, -1):
        for i in range(j - 1, max(lo, j - max_words) - 1, -1):
            joined = "".join(t.key for t in toks[i:j])
            if joined in _TYPE_WORDS:
                continue
            key, dist = choices.get(joined), 0
            if key is None:
                limit = _allowed_edits(len(joined)) if fuzzy else 0
                if not limit:
                    continue
                names = names if names is not None else _fuzzy_names(tuple(choices))
                m = process.extractOne(joined, names, scorer=Levenshtein.distance, score_cutoff=limit)
                if m is None or _allowed_edits(len(m[0])) < m[1]:
                    continue
                key, dist = choices[m[0]], int(m[1])
            rank = (j, -dist, j - i)
            if best is None or rank > best[0]:
                best = (rank, Hit(key, i, j, 1.0 - dist / max(len(joined), 1)))
        if best is not None:
            break
    return best[1] if best else None


def _has_keyword(toks: list[Token], lo: int, hi: int, keywords: set[str] | frozenset[str]) -> Hit | None:
    return find(toks, lo, hi, dict.fromkeys(keywords, ""), fuzzy=False)


# ----------------------------------------------------------------------------- resolver

def resolve_address(text: str) -> ResolvedAddress:
    return _resolve(text)


def resolve_places(fields: dict[str, Any]) -> dict[str, ResolvedAddress]:
    """Every address field of a document resolved to units; fields nothing resolved are left out."""
    out = {}
    for name, value in fields.items():
        if isinstance(value, str) and field_kind(name) == "place":
            resolved = _resolve(value)
            if resolved.level != "none":
                out[name] = resolved
    return out


def _resolve(text: str, *, use_expand: bool = True, use_layer: bool = True) -> ResolvedAddress:
    """use_expand / use_layer switch the parts of the layer off, for bench/addresses.py."""
    printed = nfc(text or "").strip()
    out = ResolvedAddress(printed=printed)
    if not re.search(r"[^\W\d_]", printed):
        return out
    if not use_layer:
        unit = _pkg()[0](expand(printed) if use_expand else printed, mode="LEGACY", keep_street=False, level=3)
        return _fill(out, unit.province_key, unit.district_key, unit.ward_key, 1.0, None)
    m = _match(printed)
    if m is None:
        return out
    street = None
    if m.ward_hit and m.ward_hit.start > 0:
        street = printed[: m.toks[m.ward_hit.start].start].rstrip(" ,.;-–") or None
    return _fill(out, m.province, m.district, m.ward, m.score, street)


@dataclass(frozen=True)
class _Match:
    """The legacy units of a printed address and the token windows they were read from (None
    when the unit was inferred, not matched where printed)."""
    toks: list[Token]
    province: str
    district: str | None
    ward: str | None
    prov_hit: Hit | None
    dist_hit: Hit | None
    ward_hit: Hit | None
    score: float


def _match(printed: str) -> _Match | None:
    parse_address, old, _, _ = _pkg()
    unit = parse_address(expand(printed), mode="LEGACY", keep_street=False, level=3)
    toks = tokens(printed)
    n = len(toks)
    province: str | None = None
    district = ward = None
    prov_hit = dist_hit = ward_hit = None
    score = 1.0

    # Province: the package's, if its name is really written; else our own right-most match;
    # else a district whose name exists in one province only.
    if unit.province_key:
        prov_hit = _has_keyword(toks, 0, n, set(old.DICT_PROVINCE[unit.province_key]["provinceKeywords"]))
        if prov_hit or (unit.district_key and _has_keyword(
                toks, 0, n, set(old.DICT_PROVINCE_DISTRICT[unit.province_key][unit.district_key]["districtKeywords"]))):
            province = unit.province_key
    if province is None:
        prov_hit = find(toks, 0, n, _province_choices(), fuzzy=True)
        if prov_hit:
            province, score = prov_hit.key, prov_hit.score
    if province is None:
        hit = find(toks, 0, n, {k: k for k in _unique_district_choices()}, fuzzy=False)
        if hit:
            province, district = _unique_district_choices()[hit.key]
            dist_hit = hit
    if province is None:
        return None
    trust_pkg = unit.province_key == province
    below = prov_hit.start if prov_hit else n

    # District.
    # The package's district or ward stands when its name is written as whole words (or, for a
    # district, an old name it maps through its wards); otherwise it may be a match across words
    # ("phú AN PHÚ tân" -> Huyện An Phú) and our own search goes first, the package's as fallback.
    pkg_district = unit.district_key if trust_pkg else None
    if district is None and pkg_district:
        kws = set(old.DICT_PROVINCE_DISTRICT[province][pkg_district]["districtKeywords"]) | _divided_keywords(province)
        dist_hit = _has_keyword(toks, 0, below, kws)
        if dist_hit:
            district = pkg_district
    if district is None:
        dist_hit = find(toks, 0, below, _district_choices(province), fuzzy=True)
        if dist_hit:
            district, score = dist_hit.key, min(score, dist_hit.score)
        elif pkg_district:
            district = pkg_district
    if district is None:
        district, ward_hit = _ward_across_province(toks, below, province)
        if ward_hit:
            ward, score = ward_hit.key, min(score, ward_hit.score)

    # Ward.
    if district is not None and ward is None:
        below_d = dist_hit.start if dist_hit else below
        choices = _ward_choices(province, district)
        pkg_ward = unit.ward_key if trust_pkg and unit.district_key == district else None
        if pkg_ward:
            ward_hit = _has_keyword(toks, 0, below_d, {k for k, w in choices.items() if w == pkg_ward})
            if ward_hit:
                ward = pkg_ward
        if ward is None:
            ward_hit = find(toks, 0, below_d, choices, fuzzy=True)
            if ward_hit:
                ward, score = ward_hit.key, min(score, ward_hit.score)
            elif pkg_ward:
                ward = pkg_ward

    return _Match(toks, province, district, ward, prov_hit, dist_hit, ward_hit, score)


def _ward_across_province(toks: list[Token], below: int, province: str) -> tuple[str | None, Hit | None]:
    """A ward written without its district: keep it only if one ward of the province fits best."""
    old = _pkg()[1]
    hits = [(d, h) for d in old.DICT_PROVINCE_DISTRICT[province]
            if (h := find(toks, 0, below, _ward_choices(province, d), fuzzy=True))]
    if not hits:
        return None, None
    top = max((h.score, h.end) for _, h in hits)
    best = [(d, h) for d, h in hits if (h.score, h.end) == top]
    if len({(d, h.key) for d, h in best}) != 1:
        return None, None
    return best[0]


def _fill(out: ResolvedAddress, province: str | None, district: str | None, ward: str | None,
          score: float, street: str | None) -> ResolvedAddress:
    if not province:
        return out
    old, new = _pkg()[1], _pkg()[2]
    p = old.DICT_PROVINCE[province]
    out.province, out.province_code, out.level = p["province"], p["provinceCode"], "province"
    out.street, out.confidence = street, round(max(0.0, min(1.0, score)), 3)
    provinces_2025, wards_2025 = _old_to_new()
    new_province = provinces_2025.get(province)
    if district:
        d = old.DICT_PROVINCE_DISTRICT[province][district]
        out.district, out.district_code, out.level = d["district"], d["districtCode"], "district"
    if district and ward:
        w = _ward_entry(province, district, ward)
        out.ward, out.ward_code, out.level = w["ward"], w["wardCode"], "ward"
    if district:
        # Islands (Côn Đảo, Lý Sơn, ...) have no ward: the district itself became a special zone.
        mapped = wards_2025.get(f"{province}_{district}_{ward or ''}")
        if mapped:
            new_province, new_ward, out.ward_2025_split = mapped
            entry = _new_ward_entry(new_province, new_ward)
            if entry:
                out.ward_2025, out.ward_2025_code = entry["ward"], entry["wardCode"]
    if new_province:
        np_ = new.DICT_PROVINCE[new_province]
        out.province_2025, out.province_2025_code = np_["province"], np_["provinceCode"]
    return out


# ----------------------------------------------------------------------------- correction

# The resolver's confidence below which an address is left as read: a correction rests on the
# whole address being read as one consistent ward / district / province.
CORRECT_MIN_CONFIDENCE = 0.85
_WORD = re.compile(r"[^\W_]+")


def correct_unit_names(text: str) -> tuple[str, bool]:
    """`text` with OCR misreadings of its unit names spelt as the units are named ("huyện Củ
    Chỉ" -> "huyện Củ Chi", "tỉnh Sức Trăng" -> "tỉnh Sóc Trăng") and ";" between units read
    back as ","; and whether anything changed.

    Only the name words change: unit-type words, abbreviations ("P1,Q10", "Tp HCM"), the street
    and punctuation stay as printed. A name is corrected only when it is close (the resolver's
    edit limits) to the official name of the unit the whole address resolves to, no other unit
    of its level is as close, the printed spelling is not itself a unit's name (then OCR may be
    right and the resolver wrong), its parent unit is printed too, and numbered units never."""
    printed = nfc(text or "").strip()
    if not re.search(r"[^\W\d_]", printed):
        return text, False
    m = _match(printed)
    if m is None or m.score < CORRECT_MIN_CONFIDENCE:
        return text, False
    old = _pkg()[1]
    toks, spans = m.toks, []
    p = old.DICT_PROVINCE[m.province]
    prov = _name_span(toks, 0, len(toks), m.province, p["provinceKeywords"])
    if prov:
        spans.append((prov, p["provinceShort"], _province_choices(), _all_province_names()))
    dist = None
    if prov and m.district:
        d = old.DICT_PROVINCE_DISTRICT[m.province][m.district]
        dist = _name_span(toks, 0, prov[0], m.district, d["districtKeywords"])
        if dist:
            spans.append((dist, d["districtShort"], _district_choices(m.province), _all_district_names()))
    if dist and m.ward:
        w = _ward_entry(m.province, m.district or "", m.ward)
        ward = _name_span(toks, 0, dist[0], m.ward, w["wardKeywords"])
        if ward:
            spans.append((ward, w["wardShort"], _ward_choices(m.province, m.district or ""),
                          _province_ward_names(m.province)))
    if printed.isascii():
        spans = []  # printed without diacritics (a typed form): giving it some is not "as printed"
    out = printed
    for (i, j, key), short, choices, known in sorted(spans, key=lambda s: -s[0][0]):  # right to left
        new = _corrected_name(printed, toks[i:j], key, short, choices, known)
        if new is not None:
            out = out[: toks[i].start] + new + out[toks[j - 1].end:]
    if m.district:  # clearly an address: no unit is separated by ";"
        out = re.sub(r"\s*;\s*(?=\S)", ", ", out)
    return (out, True) if out != printed else (text, False)


def _name_span(toks: list[Token], lo: int, hi: int, key: str, keywords: list[str]) -> tuple[int, int, str] | None:
    """Token window of the unit's name where it is printed (right-most, 1-2 OCR edits allowed),
    without the unit-type words before it."""
    hit = find(toks, lo, hi, {fold(k): key for k in keywords}, fuzzy=True)
    if hit is None:
        return None
    i = hit.start
    for k in (i + 2, i + 1):  # "thành phố", "thị xã" are two words
        if k < hit.end and "".join(t.key for t in toks[i:k]) in _TYPE_WORDS:
            i = k
            break
    return i, hit.end, key


def _corrected_name(printed: str, toks: list[Token], key: str, short: str, choices: Choices,
                    known: frozenset[str]) -> str | None:
    """The official spelling of the name printed as toks, or None to leave it as printed."""
    words = _WORD.findall(short)
    if any(c.isdigit() for c in short) or len(words) != len(toks):
        return None
    if any(a.end > b.start for a, b in pairwise(toks)):
        return None  # one printed word read as two tokens ("TPHCM", "P1"): an abbreviation
    read = [printed[t.start:t.end] for t in toks]
    if [_spelling(w) for w in read] == [_spelling(w) for w in words]:
        return None
    folded_read, folded_short = "".join(fold(w) for w in read), fold(short).replace(" ", "")
    if folded_read == folded_short:
        # Tones only: the folded name must be this unit's alone, and the tones as read no name.
        if " ".join(read).lower() in known or sum(fold(kw) == folded_read for kw, v in choices.items()
                                                   if v != key and not any(c.isdigit() for c in kw)):
            return None
    else:
        limit = _allowed_edits(len(folded_short))
        if not limit or Levenshtein.distance(folded_read, folded_short) > limit or folded_read in known \
                or folded_read in choices:
            return None
        near = process.extract(folded_read, _fuzzy_names(tuple(choices)), scorer=Levenshtein.distance,
                               score_cutoff=Levenshtein.distance(folded_read, folded_short), limit=None)
        if any(choices[kw] != key for kw, _, _ in near):
            return None  # another unit is as close
    seps = [printed[a.end:b.start] for a, b in pairwise(toks)]
    if any(not re.fullmatch(r"\s+|-", s) for s in seps):
        return None  # a comma or a dot inside: not one name
    out = ""
    for k, (r, w) in enumerate(zip(read, words)):
        if fold(r) != fold(w) and (toks[k].key in _TYPE_WORDS or toks[k].key in _PLACE_WORDS):
            return None  # "Tân Chính Quận" is no "Chính Gián": a unit word is not a misread name
        if _spelling(r) == _spelling(w):
            w = r  # the same word as printed (case, tone placement "Hoà", "Đắk"/"Đak")
        elif r.islower():
            w = w.lower()
        elif r.isupper() and len(r) > 1:
            w = w.upper()
        sep = seps[k - 1] if k else ""
        out += (" " if sep == "-" else sep) + w  # a hyphen inside a one-word gap is OCR's
    return out


# Words that open a unit below the ward ("Thôn Xuân" is no misread "Thọ Xuân").
_PLACE_WORDS = frozenset({"thon", "ap", "xom", "to", "khu", "khom", "doi", "so", "ngo", "hem", "duong", "kp",
                          "tdp", "cum", "khoi", "bon", "lang"})
_TONES = dict.fromkeys(map(ord, "\u0300\u0301\u0303\u0309\u0323"))


def _spelling(word: str) -> tuple[str, str]:
    """A word as spelt, whatever its case, where its tone mark sits ("hoà" = "hòa") and how
    "Đắk"/"Đăk"/"Đak" is written (all three are official spellings)."""
    low = unicodedata.normalize("NFD", word.lower())
    bare = low.translate(_TONES)
    if re.fullmatch("đa\u0306?k", bare):
        return "đak", ""
    return bare, "".join(sorted(c for c in low if ord(c) in _TONES))


@lru_cache(maxsize=1)
def province_names() -> tuple[str, ...]:
    """The 63 provinces and centrally-run cities in force before 1 July 2025, as officially spelt;
    the 34 units after the merger keep names from this list."""
    return tuple(v["provinceShort"] for v in _pkg()[1].DICT_PROVINCE.values())


@lru_cache(maxsize=1)
def _all_province_names() -> frozenset[str]:
    old = _pkg()[1]
    return frozenset(n for v in old.DICT_PROVINCE.values() for n in (v["provinceShort"].lower(), *v["provinceKeywords"]))


@lru_cache(maxsize=1)
def _all_district_names() -> frozenset[str]:
    old = _pkg()[1]
    return frozenset(n for ds in old.DICT_PROVINCE_DISTRICT.values() for v in ds.values()
                     for n in (v["districtShort"].lower(), *v["districtKeywords"]))


@lru_cache(maxsize=128)
def _province_ward_names(province: str) -> frozenset[str]:
    # A ward's name anywhere in the province: printed so, it may be right and its district moved.
    old = _pkg()[1]
    return frozenset(n for d in old.DICT_PROVINCE_DISTRICT[province] for wards in _ward_dicts(province, d)
                     for v in wards.values() if isinstance(v["wardShort"], str)  # islands: NaN, no ward
                     for n in (v["wardShort"].lower(), *map(fold, v["wardKeywords"])))


@lru_cache(maxsize=1)
def unit_name_words() -> frozenset[str]:
    """Every word of every province, district and ward name (pre-2025 units), lower case, with
    tone marks: the place-name part of extraction.lexicon."""
    old = _pkg()[1]
    names = [v["provinceShort"] for v in old.DICT_PROVINCE.values()]
    for province, districts in old.DICT_PROVINCE_DISTRICT.items():
        for d, v in districts.items():
            names.append(v["districtShort"])
            names += [w["wardShort"] for wards in _ward_dicts(province, d) for w in wards.values()
                      if isinstance(w["wardShort"], str)]
    return frozenset(w for n in names for w in re.findall(r"[^\W\d_]+", nfc(n).lower()))
