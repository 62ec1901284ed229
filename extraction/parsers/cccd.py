"""Front of a citizen identity card: 2016-2021 "CĂN CƯỚC CÔNG DÂN" and 2024 "CĂN CƯỚC"."""

from __future__ import annotations

import re

from rapidfuzz import fuzz

from extraction import checks, mrz
from extraction.fields import Draft
from extraction.labels import Doc, Label, Line, Value, compact
from extraction.normalize import find_date, fold, fold_char
from extraction.parsers.common import (
    UNIT_WORDS,
    first_fallback,
    has_date,
    has_sex,
    id_test,
    is_name,
    is_text,
    label,
    person_checks,
    printed_name_fallback,
    put_address,
    put_date,
    put_id,
    put_name,
    put_nationality,
    put_sex,
)

FIELDS_2021 = ["id_number", "full_name", "date_of_birth", "sex", "nationality", "place_of_origin",
               "place_of_residence", "date_of_expiry"]
FIELDS_2024 = ["id_number", "full_name", "date_of_birth", "sex", "nationality"]

LABELS = [
    label("id_number", "Số định danh cá nhân", english=("Personal identification number",)),
    Label("id_number", ("Số / No",), pattern=r"^\W{0,3}s{1,2}[o0ø6]?\s*[/|:;.]\s*n[o0]\b"),
    Label("id_number", ("Số",), pattern=r"^\W{0,3}s[o0]\s*[:;.]"),
    label("full_name", "Họ và tên", "Họ, chữ đệm và tên khai sinh",
          english=("Full name", "Surname, middle name and given name")),
    label("date_of_birth", "Ngày sinh", "Ngày, tháng, năm sinh", english=("Date of birth",)),
    label("sex", "Giới tính", english=("Sex",)),
    label("nationality", "Quốc tịch", english=("Nationality",)),
    label("place_of_origin", "Quê quán", english=("Place of origin",)),
    label("place_of_residence", "Nơi thường trú", english=("Place of residence",)),
    label("date_of_expiry", "Có giá trị đến", english=("Date of expiry",)),
    label("_title", "CĂN CƯỚC CÔNG DÂN", "Citizen Identity Card", "IDENTITY CARD", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
          "Độc lập - Tự do - Hạnh phúc", "SOCIALIST REPUBLIC OF VIET NAM", "Independence - Freedom - Happiness",
          noise=True),
]
_SEX_WORD = re.compile(r"\b(Nam|Nữ|NAM|NỮ)\b")
_NO_EXPIRY = re.compile(r"kh[o0]ng\s*th[o0]i\s*h[a4]n")


def _drop_no_expiry(text: str) -> str:
    """The residence runs through the expiry label; "Không thời hạn" is not part of it."""
    m = _NO_EXPIRY.search("".join(fold_char(c) or " " for c in text))
    return text[: m.start()] + " " + text[m.end():] if m else text


def _drop_expiry_label(parts: list[str]) -> list[str]:
    """Cut a garbled "Có giá trị đến" ("Cổ gi vị đến:", "Có ph đếm,") from residence lines:
    OCR merges it from the left column, where its date sits one line lower; and what is left
    of that date when it was read too badly to parse ("(09/2028")."""
    parts = [_drop_label_segments(p) for p in parts]
    out = list(parts)
    for k, part in enumerate(parts[:-1]):
        tokens = part.split()
        below = find_date(parts[k + 1])
        if not tokens or not fold(tokens[0]).startswith("co") or below is None or below[1] > 2:
            continue
        for n in range(1, min(6, len(tokens))):
            prefix = compact(" ".join(tokens[:n]))[0]
            label_like = tokens[n - 1].endswith(":") or fuzz.ratio(prefix, "cogiatriden") >= 40
            if tokens[n][:1].isupper() and fold(tokens[n]) in UNIT_WORDS and label_like:
                out[k] = " ".join(tokens[n:])
                break
    return out


def _drop_label_segments(part: str) -> str:
    """A residence line without segments that are a garbled expiry label or a date's remains."""
    segments = re.split(r"(?<=[,.;])\s+", part)
    kept = []
    for seg in segments:
        comp = compact(seg)[0]
        if not re.search(r"[^\W\d_]", seg):
            continue  # no letter: a date's remains
        if comp.startswith("c") and 7 <= len(comp) <= 14 and fuzz.ratio(comp, "cogiatriden") >= 70:
            continue
        kept.append(seg)
    return " ".join(kept)


def _no_expiry(text: str) -> bool:
    """The card says "Không thời hạn" (no expiry)."""
    comp = compact(text)[0]
    return len(comp) >= 9 and fuzz.partial_ratio("khongthoihan", comp) >= 85


def _is_2024(doc: Doc) -> bool:
    """The 2024 card prints no place of origin, residence or expiry on its front."""
    old = doc.has("place_of_origin") or doc.has("place_of_residence") or doc.has("date_of_expiry")
    text = fold(" ".join(line.text for line in doc.lines)).replace(" ", "")
    citizen = fuzz.partial_ratio("cancuoccongdan", text) >= 86 or fuzz.partial_ratio("citizenidentity", text) >= 86
    return not old and not citizen


def parse(lines: list[Line]) -> Draft:
    doc = Doc(lines, LABELS)
    d = Draft("cccd", list(FIELDS_2024 if _is_2024(doc) else FIELDS_2021))

    v = doc.value("id_number", accept=id_test(12))
    if v is None:
        # Only one 12-digit number is printed on the front: take it even without its label.
        v = first_fallback(doc, id_test(12), unique=True)
    put_id(d, "id_number", v, 12)

    put_name(d, "full_name", doc.value("full_name", accept=is_name) or printed_name_fallback(doc))
    put_date(d, "date_of_birth", doc.value("date_of_birth", accept=has_date) or _dob_fallback(doc, d))
    put_sex(d, "sex", doc.value("sex", accept=has_sex) or _sex_fallback(doc))
    put_nationality(d, "nationality", doc.value("nationality", accept=is_text) or _nationality_fallback(doc))
    put_address(d, "place_of_origin", doc.value("place_of_origin", lines=2, accept=is_text), card=True)
    # The expiry is printed in the left column beside the residence's second line, so OCR
    # interleaves the two: the residence runs through the expiry label and drops its date.
    residence = doc.value("place_of_residence", lines=3, accept=is_text, through=("date_of_expiry",))
    if residence is not None:
        residence.parts = _drop_expiry_label([_drop_no_expiry(p) for p in residence.parts])
    put_address(d, "place_of_residence", residence, card=True)

    expiry = doc.value("date_of_expiry", accept=lambda t: has_date(t) or _no_expiry(t), look_ahead=3)
    if expiry is not None and _no_expiry(expiry.text) and not find_date(expiry.text):
        d.not_printed("date_of_expiry")
    elif expiry is not None:
        put_date(d, "date_of_expiry", expiry)
    elif residence is not None and has_date(residence.text):
        # The expiry label was lost but its date sits among the residence lines.
        put_date(d, "date_of_expiry", Value(residence.parts, residence.lines, residence.confidence, 0.0,
                                                 residence.min_confidence))
    elif "date_of_expiry" in d.expected:
        put_date(d, "date_of_expiry", _expiry_fallback(doc, d))

    person_checks(d)
    _mrz_checks(d, lines)
    return d


def _dob_fallback(doc: Doc, d: Draft) -> Value | None:
    """With its label unread, the birth date is the date whose year the id number states."""
    year = checks.id_birth_year(d.fields.get("id_number", ""))
    if year is None:
        return None
    return first_fallback(doc, lambda t: (f := find_date(t)) is not None and f[0][:4] == str(year))


def _expiry_fallback(doc: Doc, d: Draft) -> Value | None:
    """With its label unread, the expiry is the date printed years after the birth date (the
    card prints no other dates)."""
    born = d.fields.get("date_of_birth")
    if born is None:
        return None
    return first_fallback(doc, lambda t: (f := find_date(t)) is not None and int(f[0][:4]) >= int(born[:4]) + 14)


def _nationality_fallback(doc: Doc) -> Value | None:
    """With its label unread, "Việt Nam" printed as a value (the motto prints "VIỆT NAM")."""
    noise = {h.line for h in doc.hits if h.label.noise}
    for i, line in enumerate(doc.lines):
        m = re.search(r"\bVi[eệ]t Nam\b", line.text)
        if m and i not in noise and "," not in line.text:
            return doc.line_value(i, 0.0, m.start(), m.end(), text="Việt Nam")
    return None


def _sex_fallback(doc: Doc) -> Value | None:
    """With its label unread, "Nam" or "Nữ" as a word of its own: not the "Nam" of "Việt Nam",
    nor a word of an address or of the motto."""
    noise = {h.line for h in doc.hits if h.label.noise}
    for i, line in enumerate(doc.lines):
        if i in noise or "," in line.text:
            continue
        for m in _SEX_WORD.finditer(line.text):
            before = fold(line.text[: m.start()]).split()
            if not before or before[-1] not in ("viet", "vie", "iet"):
                return doc.line_value(i, 0.0, m.start(1), m.end(1), text=m.group(1))
    return None


def _mrz_checks(d: Draft, lines: list[Line]) -> None:
    """A front scanned together with its back carries the MRZ too: compare the two."""
    found = mrz.parse([line.text for line in lines])
    if found is None:
        return
    d.check(checks.mrz_digits(found), "id_number")
    for c in checks.mrz_agrees(found, d.fields):
        d.check(c)
