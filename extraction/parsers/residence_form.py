"""Residence declaration, form CT01 "TỜ KHAI THAY ĐỔI THÔNG TIN CƯ TRÚ" (Circular 66/2023/TT-BCA).

The form numbers its items (some printed two to a line: "2. Ngày, tháng, năm sinh: ...
3. Giới tính: ..."), so a value may end with the number of the next item, which is cut off.
The two personal ids are printed one digit a box; OCR reads the box borders as "|", "[" or a
"1" glued to a digit, so the digits are chosen among the readings with twelve of them by what
the form itself says of the number (`read_boxed`). Only the part above the table of household
members ("11. Những thành viên ...") holds the declarant's items: the table repeats their labels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from itertools import combinations, product
from math import comb

from rapidfuzz import fuzz

from extraction import checks
from extraction.addresses import correct_unit_names
from extraction.fields import Draft
from extraction.labels import Doc, Line, Value
from extraction.normalize import DATE_WORDS, clean_value, find_date, fold, squash
from extraction.parsers.common import (
    REPAIRED,
    address_parts,
    drop_specks,
    has_date,
    has_sex,
    is_name,
    is_text,
    label,
    person_checks,
    put_date,
    put_name,
    put_sex,
)
from extraction.places import PROVINCE_CODES, text_quality
from extraction.vocab import restore
from sohoa.models import Check

FIELDS = ["addressed_to", "full_name", "date_of_birth", "sex", "id_number", "phone", "email",
          "head_of_household_name", "relationship_to_head", "head_of_household_id_number", "request",
          "declaration_date"]

LABELS = [
    label("addressed_to", "Kính gửi"),
    label("full_name", "Họ, chữ đệm và tên", "Họ, chữ đệm, tên", "Họ và tên"),
    label("date_of_birth", "Ngày, tháng, năm sinh", "Ngày sinh"),
    label("sex", "Giới tính"),
    label("id_number", "Số định danh cá nhân", "Số CCCD", "Số căn cước"),
    label("phone", "Số điện thoại liên hệ", "Số điện thoại", "Điện thoại"),
    label("email", "Email", "E-mail", "Thư điện tử"),
    # Longer forms win where they overlap the declarant's own labels.
    # min_score: a long label must not pass for its own beginning ("Họ, chữ đệm và tên: ...").
    label("head_of_household_name", "Họ, chữ đệm và tên chủ hộ", "Họ và tên chủ hộ", "Họ tên chủ hộ",
          min_score=90),
    label("relationship_to_head", "Mối quan hệ với chủ hộ", "Quan hệ với chủ hộ"),
    label("head_of_household_id_number", "Số định danh cá nhân của chủ hộ", min_score=90),
    label("request", "Nội dung đề nghị"),
    label("members", "Những thành viên trong hộ gia đình cùng thay đổi"),
    label("_other", "Ý KIẾN CỦA CHỦ HỘ", "NGƯỜI KÊ KHAI", "Ghi rõ nội dung, ký, ghi rõ họ tên",
          "Ký, ghi rõ họ tên", "Ý KIẾN CỦA CHỦ SỞ HỮU", "Ý KIẾN CỦA CHA, MẸ HOẶC NGƯỜI GIÁM HỘ"),
    label("_title", "TỜ KHAI THAY ĐỔI THÔNG TIN CƯ TRÚ", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
          "Độc lập - Tự do - Hạnh phúc", "Mẫu CT01 ban hành kèm theo Thông tư số 66/2023/TT-BCA",
          "ngày 17/11/2023 của Bộ trưởng Bộ Công an", noise=True),
]

# What the declarant is to the head of household, as the form is filled in.
RELATIONS = ("Chủ hộ", "Vợ", "Chồng", "Con", "Con đẻ", "Con nuôi", "Con dâu", "Con rể", "Cha", "Mẹ",
             "Cha đẻ", "Mẹ đẻ", "Bố", "Ông", "Bà", "Ông nội", "Bà nội", "Ông ngoại", "Bà ngoại", "Cháu",
             "Cháu nội", "Cháu ngoại", "Anh", "Chị", "Em", "Anh ruột", "Chị ruột", "Em ruột", "Cô", "Dì",
             "Chú", "Bác", "Cậu", "Thím", "Mợ", "Anh rể", "Em rể", "Chị dâu", "Em dâu", "Người ở nhờ",
             "Người ở thuê", "Người ở mượn", "Người giám hộ", "Người được giám hộ")
# The number of the next item, left at the end of a value ("14/01/2002 3.", "NGUYỄN VĂN A_ 8.").
_NEXT_ITEM = re.compile(r"[\s_|]+\d{1,2}\s*[.,:]?\s*$")
_PHONE = re.compile(r"(?<![\w.])(?:\+84|0)[\dOo](?:[ .\-]?[\dOo]){7,10}(?![\w])")
_EMAIL = re.compile(r"^[a-z0-9][a-z0-9._%+-]*@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}$")
_LEADER = set(".…,-:;_·•'`\"()")
# Names of procedures in the Residence Law (Luật Cư trú 2020) and its circulars, as printed.
_PHRASES = (
    "đăng ký thường trú", "đăng ký tạm trú", "gia hạn tạm trú", "xóa đăng ký thường trú",
    "xóa đăng ký tạm trú", "tách hộ", "điều chỉnh thông tin về cư trú", "khai báo thông tin về cư trú",
    "xác nhận thông tin về cư trú", "cơ sở dữ liệu về cư trú", "hộ gia đình", "khai báo tạm vắng",
    "thông báo lưu trú")
# What is left of a footnote mark after the label's colon ("Kính gửi(1): ?! Công an ...").
_LEADING_MARK = re.compile(r"^[^\w]+")
_AUTHORITY = re.compile(r"^\W*c[oô]ng\s+an\s+", re.IGNORECASE)
_PLACE_INTRO = re.compile(r"(?<!\w)(?:tại|địa chỉ|ở)\s+", re.IGNORECASE)


def _tail_cut(v: Value | None) -> Value | None:
    """The value without the next item's number at its end."""
    if v is None:
        return None
    parts = list(v.parts)
    parts[-1] = _NEXT_ITEM.sub("", parts[-1])
    return replace(v, parts=parts)


def _blank(text: str) -> bool:
    """A dotted leader (left blank on the form), however OCR read the dots."""
    chars = [c for c in text if not c.isspace()]
    leader = sum(c in _LEADER for c in chars)
    return not chars or leader >= 8 or leader >= 0.4 * len(chars) and not re.search(r"\w{3}", text)


# ------------------------------------------------------------------------------ boxed digits
_BORDER = "|[]{}()!¡JIlLi'`’‘\"¦/\\"
# Letters OCR makes of a digit in a box, and the digits each stands for, likeliest first ("s"
# is any of 6, 5, 8, 9 in scanned boxes: only what the form says of the number can tell).
_LOOKALIKE = {"o": "0", "O": "0", "ø": "0", "Ø": "0", "Q": "0", "D": "0", "°": "0", "B": "8", "a": "8",
              "+": "1", "s": "6589", "S": "6589", "$": "6589", "z": "27", "Z": "27"}
# Cost of keeping a doubtful character as a digit (the alternative: it is a border). Inside a
# run of glued characters, borders and digits alternate: counted from the nearest sure digit,
# odd places are borders ("71012" is 7|0|2), even places digits ("1118" is |1|8).
_KEEP_BORDER_PLACE = 0.8
_KEEP_DIGIT_PLACE = 0.2
_KEEP_UNANCHORED = 0.4  # a run with no sure digit ("11")
_KEEP_EMPTY_BOX = 1.0  # "||": mostly one border read twice, seldom a "1" read as a border
_MAX_PLANS = 5000
_MAX_CHOICES = 256  # spellings of the first six digits tried against the facts


@dataclass(frozen=True)
class _Item:
    digits: str  # what it may be: a digit, or the digits a look-alike letter stands for
    optional: bool  # may be a border rather than a digit
    keep_cost: float = 0.0


@dataclass(frozen=True)
class Reading:
    digits: str
    ambiguous: bool  # another reading scores as well
    guessed: bool  # a doubtful character was taken or left out
    agrees: bool  # what the form says of the number holds (place code, century, year, sex)
    vague: bool = False  # a letter standing for several digits was spelt without evidence


def _items(text: str) -> list[_Item]:
    squeezed = re.sub(r"\s+", "", text)
    cells = re.split("[" + re.escape(_BORDER) + "]", squeezed)
    out: list[_Item] = []
    for k, cell in enumerate(cells):
        chars = [c for c in cell if c.isdigit() or c in _LOOKALIKE]
        if not chars:
            if not cell and out and 0 < k < len(cells) - 1:
                out.append(_Item("1", True, _KEEP_EMPTY_BOX))
            continue
        if len(chars) == 1:
            out.append(_Item(_LOOKALIKE.get(chars[0], chars[0]), False))
            continue
        sure = [i for i, c in enumerate(chars) if c.isdigit() and c != "1"]
        for i, c in enumerate(chars):
            if i in sure:
                out.append(_Item(c, False))
                continue
            if sure:
                place = min(abs(i - j) for j in sure)
                cost = _KEEP_BORDER_PLACE if place % 2 else _KEEP_DIGIT_PLACE
            else:
                cost = _KEEP_UNANCHORED
            out.append(_Item(_LOOKALIKE.get(c, c), True, cost))
    return out


def _plans(text: str) -> list[tuple[float, list[str]]]:
    """Each way to take 12 digits from a boxed reading: (cost, what each place may be)."""
    its = _items(text)
    optional = [i for i, it in enumerate(its) if it.optional]
    keep = 12 - (len(its) - len(optional))
    if keep < 0 or keep > len(optional) or comb(len(optional), keep) > _MAX_PLANS:
        return []
    out = []
    for kept in combinations(optional, keep):
        chosen = set(kept)
        places = [it.digits for i, it in enumerate(its) if not it.optional or i in chosen]
        out.append((sum(its[i].keep_cost for i in chosen), places))
    return out


def _facts(digits: str, birth_year: int | None, sex: str | None) -> tuple[float, bool]:
    score, ok = 0.0, True
    if digits[:3] in PROVINCE_CODES:
        score += 2
    elif checks.id_structure("id", digits).ok:
        score += 1
    else:
        ok = False
    if digits[3] in "0123":  # born 1900-2099
        score += 1
    else:
        ok = False
    if sex is not None:
        ok &= checks.id_sex(digits) == sex
        score += 2 * (checks.id_sex(digits) == sex)
    if birth_year is not None:
        ok &= checks.id_birth_year(digits) == birth_year
        score += 3 * (checks.id_birth_year(digits) == birth_year)
    return score, ok


def _spell(places: list[str], birth_year: int | None, sex: str | None) -> tuple[str, float, bool, bool]:
    """The digits of one plan: the first six (place code, century and sex, year) spelt as the
    facts best allow, the rest as the likeliest digit. (digits, score, facts hold, vague)."""
    tail = "".join(p[0] for p in places[6:])
    vague = any(len(p) > 1 for p in places[6:])
    heads = places[:6]
    count = 1
    for p in heads:
        count *= len(p)
    if count > _MAX_CHOICES:
        heads = [p[0] for p in heads]
    scored = []
    for head in product(*heads):
        digits = "".join(head) + tail
        scored.append((*_facts(digits, birth_year, sex), digits))
    scored.sort(key=lambda t: -t[0])
    score, ok, digits = scored[0]
    tied = {d[:6] for sc, _, d in scored if sc == score}
    return digits, score, ok, vague or len(tied) > 1 or count > _MAX_CHOICES


def _best(candidates: list[tuple[float, str, bool, bool, bool]]) -> Reading | None:
    """(score, digits, facts hold, guessed, vague) -> the best reading."""
    if not candidates:
        return None
    ranked = sorted(candidates, key=lambda c: -c[0])
    score, digits, ok, guessed, vague = ranked[0]
    ambiguous = any(c[1] != digits and c[0] >= score - 0.05 for c in ranked[1:])
    return Reading(digits, ambiguous, guessed, ok, vague)


def _guessed(text: str, plans: list[tuple[float, list[str]]]) -> bool:
    return any(c in _LOOKALIKE for c in re.sub(r"\s+", "", text)) or len(plans) > 1 or any(
        cost for cost, _ in plans)


def read_boxed(text: str, birth_year: int | None = None, sex: str | None = None) -> Reading | None:
    """The most likely 12-digit id in a boxed reading, or None when no reading has 12 digits.
    A reading is scored on the facts the form gives (birth year, sex) and loses a little for
    each doubtful character it keeps as a digit."""
    plans = _plans(text)
    guessed = _guessed(text, plans)
    out = []
    for cost, places in plans:
        digits, score, ok, vague = _spell(places, birth_year, sex)
        out.append((score - cost, digits, ok, guessed, vague))
    return _best(out)


def read_boxed_twice(a: str, b: str, birth_year: int | None = None, sex: str | None = None) -> Reading | None:
    """One id printed in two rows of boxes (the declarant is the head of household): the best
    reading both rows allow, each place what both rows' readings of it allow."""
    pa, pb = _plans(a), _plans(b)
    if len(pa) * len(pb) > _MAX_PLANS:
        return None
    guessed = _guessed(a, pa) and _guessed(b, pb)
    out = []
    for (ca, xa), (cb, xb) in product(pa, pb):
        places = ["".join(d for d in x if d in y) for x, y in zip(xa, xb)]
        if not all(places):
            continue
        digits, score, ok, vague = _spell(places, birth_year, sex)
        out.append((2 * score - ca - cb, digits, ok, guessed, vague))
    return _best(out)


# ------------------------------------------------------------------------------ fields
def _put_boxed(d: Draft, name: str, v: Value | None, reading: Reading | None) -> None:
    """A boxed id. A reading that had to guess and still contradicts what the form says of the
    number is a guess, and left out; one that had to guess is trusted less, the more so where
    OCR put letters that stand for several digits ("s" for 5, 6, 8 or 9)."""
    if v is None or reading is None or reading.guessed and not reading.agrees:
        return
    quality = 1.0
    if reading.guessed:
        quality *= REPAIRED
    if reading.ambiguous:
        quality *= 0.7
    if reading.vague:
        quality *= 0.7
    d.put(name, reading.digits, v, quality=quality)


def _phone(text: str) -> str | None:
    m = _PHONE.search(text)
    if not m:
        return None
    raw = m.group(0)
    digits = re.sub(r"\D", "", raw.replace("O", "0").replace("o", "0"))
    if digits.startswith("84"):
        digits = "0" + digits[2:]
    if len(digits) == 11 and not digits.startswith("02") and re.search(r"\s\S$", raw):
        # Mobile numbers have 10 digits, landlines (02x...) 11: a lone digit after a space is
        # the next item's number whose label OCR lost ("0793.671.922 6: Em...").
        digits = digits[:10]
    return digits if len(digits) == 10 or len(digits) == 11 and digits.startswith("02") else None


def _email(text: str) -> str | None:
    s = re.sub(r"\s+", "", squash(text)).lower()
    s = re.sub(r"\(?[@©®]\)?|\(a\)", "@", s).strip(".,;:")
    if "@" not in s and len(re.findall(r"[(&]", s)) == 1:
        s = re.sub(r"(?<=\w)[(&](?=\w)", "@", s)  # the "@" read as "(" ("name(gmail.com")
    return s if _EMAIL.match(s) else None


def _correct_place(text: str, intro: re.Pattern[str]) -> tuple[str, bool]:
    """Unit names OCR misspelt, corrected in the address after `intro` only ("Công an" is no
    misread "Long An"); unit words of the street too ("Tố 23" is "Tổ 23")."""
    m = None
    for m in intro.finditer(text):
        pass
    if m is None:
        return text, False
    spelt = address_parts([text[m.end():]])
    place = spelt[0] if len(spelt) == 1 else text[m.end():]
    place, fixed = correct_unit_names(place)
    return text[: m.end()] + place, fixed or place != text[m.end():]


def _relation(text: str) -> tuple[str, bool] | None:
    """The relationship spelt as people write it, and whether OCR's spelling was repaired."""
    value = clean_value(drop_specks(squash(text)))
    if not value:
        return None
    folded = fold(value)
    near = [(fuzz.ratio(folded, fold(r)), r) for r in RELATIONS]
    score, best = max(near)
    same_fold = [r for r in RELATIONS if fold(r) == folded]
    if len(same_fold) == 1:
        return same_fold[0], same_fold[0] != value
    if score >= 85 and sum(s >= score for s, _ in near) == 1:
        return best, True
    return value[:1].upper() + value[1:].lower(), False


def _declaration_date(doc: Doc, start: int) -> tuple[Value | None, bool]:
    """The "<place>, ngày .. tháng .. năm ...." line under the table: (its value, left blank)."""
    for i in range(len(doc.lines) - 1, start - 1, -1):
        folded = doc.lines[i].folded
        words = DATE_WORDS.search(folded)
        if not words:
            continue
        found = find_date(doc.lines[i].text)
        if found is None:
            return None, not re.search(r"\d", folded[words.start():])
        return doc.line_value(i, 1.0, found[1], found[2]), False
    return None, False


def _table_start(doc: Doc) -> int:
    hits = doc.find("members")
    if hits:
        return hits[0].line
    # The table's header repeats the declarant's labels: the second "Họ, chữ đệm và tên".
    names = doc.find("full_name")
    return names[1].line if len(names) > 1 else len(doc.lines)


def parse(lines: list[Line]) -> Draft:
    whole = Doc(lines, LABELS)
    cut = _table_start(whole)
    doc = Doc(lines[:cut], LABELS)
    d = Draft("residence_form", list(FIELDS))

    office = doc.value("addressed_to", lines=2, accept=is_text)
    if office is not None:
        text = _LEADING_MARK.sub("", squash(" ".join(p for p in office.parts)))
        text, fixed = _correct_place(clean_value(drop_specks(text)), _AUTHORITY)
        d.put("addressed_to", text, office, quality=text_quality(text) * (REPAIRED if fixed else 1.0))

    put_name(d, "full_name", _tail_cut(doc.value("full_name", accept=is_name)))
    put_date(d, "date_of_birth", doc.value("date_of_birth", accept=has_date))
    put_sex(d, "sex", doc.value("sex", accept=has_sex))

    born = int(d.fields["date_of_birth"][:4]) if "date_of_birth" in d.fields else None
    own = doc.value("id_number", accept=lambda t: bool(re.search(r"\d", t)))
    head_id = doc.value("head_of_household_id_number", accept=lambda t: bool(re.search(r"\d", t)))

    # Phone and email are optional: a labelled blank (a dotted leader) is no missing field.
    phone = doc.value("phone")
    value = _phone(_NEXT_ITEM.sub("", phone.text)) if phone else None
    if value:
        printed = _NEXT_ITEM.sub("", phone.text).strip()
        d.put("phone", value, phone, quality=1.0 if re.fullmatch(r"[\d .\-]+", printed) else REPAIRED)
    elif doc.has("phone") and (phone is None or _blank(_NEXT_ITEM.sub("", phone.text))):
        d.not_printed("phone")
    email = doc.value("email")
    value = _email(_NEXT_ITEM.sub("", email.text)) if email else None
    if value:
        d.put("email", value, email)
    elif doc.has("email") and (email is None or _blank(email.text)):
        d.not_printed("email")

    put_name(d, "head_of_household_name", _tail_cut(doc.value("head_of_household_name", accept=is_name)))
    rel = _tail_cut(doc.value("relationship_to_head", accept=is_text))
    if rel is not None:
        found = _relation(rel.text)
        if found:
            d.put("relationship_to_head", found[0], rel, quality=REPAIRED if found[1] else 1.0)

    sex = d.fields.get("sex")
    is_head = d.fields.get("relationship_to_head") == "Chủ hộ"
    mine = read_boxed(own.text, born, sex) if own else None
    theirs = read_boxed(head_id.text) if head_id else None
    if is_head and own and head_id:
        # The declarant is the head: item 9 prints their own number again. The reading both rows
        # allow; else the row whose reading agrees with the printed birth date and sex, for both.
        both = read_boxed_twice(own.text, head_id.text, born, sex)
        if both is not None:
            mine = theirs = both
        else:
            as_head = read_boxed(head_id.text, born, sex)
            readings_ = [r for r in (mine, as_head) if r is not None and r.agrees]
            if len(readings_) == 1:
                mine = theirs = replace(readings_[0], ambiguous=True)
    _put_boxed(d, "id_number", own, mine)
    _put_boxed(d, "head_of_household_id_number", head_id, theirs)

    request = doc.value("request", lines=4, accept=is_text)
    if request is not None:
        text = squash(" ".join(clean_value(drop_specks(p), keep_comma=True) for p in request.parts))
        text = _LEADING_MARK.sub("", text)
        text, fixed = _correct_place(clean_value(text), _PLACE_INTRO)
        text, restored = restore(text, _PHRASES, any_case=True)
        fixed |= restored
        d.put("request", text, request, quality=text_quality(text) * (REPAIRED if fixed else 1.0))

    # Under the table, above the signatures (the footnotes repeat "nội dung đề nghị").
    start = cut if cut < len(lines) else min([h.line for h in whole.hits if h.key == "request"] or [0])
    dated, blank = _declaration_date(whole, start)
    if dated is not None:
        put_date(d, "declaration_date", dated)
    elif blank:
        d.not_printed("declaration_date")

    person_checks(d)
    head = d.fields.get("head_of_household_id_number")
    if head:
        d.check(checks.id_structure("head_of_household_id_number", head))
    if is_head and "full_name" in d.fields and "head_of_household_name" in d.fields:
        same = fold(d.fields["full_name"]) == fold(d.fields["head_of_household_name"])
        d.check(Check(field="head_of_household_name", rule="agrees_with_full_name", ok=same,
                             detail=None if same else "the declarant is the head, the names differ"),
                "head_of_household_name", "full_name")
    return d
