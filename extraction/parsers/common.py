"""Pieces every parser uses: value tests, and recording values in their normal form."""

from __future__ import annotations

import re
from collections.abc import Callable

from rapidfuzz import fuzz

from extraction import checks
from extraction.addresses import correct_unit_names
from extraction.fields import Draft, verified
from extraction.labels import Doc, Label, Value
from extraction.names import fix_surname, is_syllable, looks_like_name, vietnamese_share
from extraction.normalize import (
    clean_value,
    find_date,
    find_id,
    fold,
    norm_address,
    norm_name,
    norm_sex,
    squash,
    title_word,
)
from extraction.lexicon import misspelled, unknown_words
from extraction.places import UNKNOWN_WORD, address_quality, ends_in_province_unit, restore_province, text_quality

# Quality factors (see fields.confidence): how far a value is from a clean, validated read.
REPAIRED = 0.9  # look-alike characters were turned into digits
UNUSUAL_NAME = 0.8  # a word of the name is not a Vietnamese syllable (likely misread)
SURNAME_FIXED = 0.9  # the tone of the surname was restored
UNIQUE_SHAPE = 0.9  # label score of a value found by a shape no other field has


def has_date(text: str) -> bool:
    return find_date(text) is not None


def has_sex(text: str) -> bool:
    return norm_sex(text) is not None


def id_test(length: int) -> Callable[[str], bool]:
    def accept(text: str) -> bool:
        found = find_id(text, length)
        return found is not None and len(found[0]) == length

    return accept


def is_name(text: str) -> bool:
    """Two or more words of letters: what a printed person's name looks like."""
    words = [w for w in re.split(r"\s+", clean_value(text)) if w]
    letters = sum(c.isalpha() for c in text)
    return len(words) >= 2 and letters >= 0.8 * len(re.sub(r"\s", "", text)) and not has_date(text)


def is_text(text: str) -> bool:
    return sum(c.isalpha() for c in text) >= 2


def put_date(d: Draft, name: str, v: Value | None) -> None:
    if v is None:
        return
    found = find_date(v.text)
    if found:
        d.put(name, found[0], v, quality=REPAIRED if found[3] else 1.0)


def _name_words(value: str) -> tuple[str, bool]:
    """A name with OCR specks dropped (a lone letter, but for "Y" and _ONE_LETTER_WORDS)
    and words OCR ran together split ("Thịhoa" -> "Thị Hoa") where only one split reads as
    two syllables; and whether anything changed."""
    words: list[str] = []
    for w in value.split():
        if len(w) == 1 and w.upper() != "Y" and w not in _ONE_LETTER_WORDS:
            continue
        if not is_syllable(w):
            splits = [(w[:i], w[i:]) for i in range(1, len(w)) if is_syllable(w[:i]) and is_syllable(w[i:])]
            if len(splits) == 1:
                words.extend(title_word(x) for x in splits[0])
                continue
        words.append(w)
    out = " ".join(words)
    return out, out != value


def put_name(d: Draft, name: str, v: Value | None) -> None:
    if v is None:
        return
    value = norm_name(v.text)
    if not value:
        return
    value, cleaned = _name_words(value)
    value, fixed = fix_surname(value)
    if not value:
        return
    # A word Vietnamese spelling rules out ("Huyen": iê written bare) is as sure a misreading
    # as a word that is no syllable at all; names on these papers are printed with every mark.
    spelled = vietnamese_share(value) == 1.0 and not any(misspelled(w) for w in value.split())
    quality = 1.0 if spelled else UNUSUAL_NAME
    quality *= SURNAME_FIXED if fixed else 1.0
    quality *= UNKNOWN_WORD ** unknown_words(value)
    d.put(name, value, v, quality=quality * (REPAIRED if cleaned else 1.0))


def put_sex(d: Draft, name: str, v: Value | None) -> None:
    if v is not None:
        d.put(name, norm_sex(v.text), v)


def put_id(d: Draft, name: str, v: Value | None, length: int) -> None:
    if v is None:
        return
    found = find_id(v.text, length)
    if found:
        digits, repaired = found
        d.put(name, digits, v, quality=REPAIRED if repaired else 1.0)


# Words that open an address or a unit of it, as printed (capitalised).
UNIT_WORDS = {"khu", "to", "so", "ap", "thon", "xom", "phuong", "xa", "quan", "huyen", "thi", "thanh", "tinh",
               "duong", "khom", "ban", "buon", "cum", "kp", "khoi", "ngo", "ngach", "hem", "kiet", "lo",
               "can", "nha", "tap", "doi", "pho", "tp"}
# Lower-case words that may come before such a word in an address ("số 12 Khu phố 3").
_ADDRESS_WORDS = UNIT_WORDS | {"nha", "day", "tang", "phong", "lau", "kho"}


def _junk(token: str) -> bool:
    f = fold(token).strip(".,;:-")
    if re.search(r"[^a-z0-9/.,\-]", f):
        return True  # "0œ": no Vietnamese address has such letters
    if not f or any(c.isdigit() for c in f) or "." in f:
        return False  # punctuation, house numbers ("45/3", "B7"), abbreviations ("P.Tân")
    if len(f) == 1:
        return token.islower()  # "Ấp Bình Phước B" has a letter of its own; "t" is debris
    if token[:1].islower() and f not in _ADDRESS_WORDS:
        return len(f) <= 2 or not is_syllable(f)
    return False


def strip_debris(part: str) -> tuple[str, bool]:
    """Drop what a neighbouring column left before an address line ("be Khu phố ...", the rest
    of a garbled "Có giá trị đến"): up to three tokens, some of them debris, before a
    capitalised word that opens an address unit."""
    tokens = part.split()
    for k in range(1, min(4, len(tokens))):
        word = tokens[k]
        if word[:1].isupper() and fold(word).strip(",.") in UNIT_WORDS:
            # "Tân Chánh A, Phường 2": a prefix ending with a comma is a unit of its own.
            if not tokens[k - 1].endswith(",") and any(_junk(t) for t in tokens[:k]):
                return " ".join(tokens[k:]), True
            break
    return part, False


# Unit words whose tone OCR gets wrong, where the plain spelling can be no other word: "Tố 16"
# (before a number), "tình Nghệ An". Phường/Xã are left alone: "Phương", "Xa" are names too.
_UNIT_SPELLING = [
    (re.compile(r"(?<!\w)t[oôơóòỏõọốồổỗộớờởỡợ](?= \d)", re.I), "tổ"),
    (re.compile(r"(?<!\w)kh[uúùủũụ] ph[oôơóòỏõọốồổỗộớờởỡợ](?= \d)", re.I), "khu phố"),
    (re.compile(r"(?<!\w)t[iíìỉĩị]nh(?= [A-ZĐ\u00C0-\u1EF9])"), "tỉnh"),
    (re.compile(r"(?<!\w)T[iíìỉĩị]nh(?= [A-ZĐ\u00C0-\u1EF9])"), "Tỉnh"),
    (re.compile(r"(?<!\w)huy[eêéèẻẽẹếềểễệ]n(?= [A-ZĐ\u00C0-\u1EF9])", re.I), "huyện"),
    (re.compile(r"(?<!\w)qu[aâăáàảãạấầẩẫậắằẳẵặ]n(?= \d)", re.I), "quận"),
    (re.compile(r"(?<!\w)th[aàáảãạ]nh ph[oôơóòỏõọốồổỗộớờởỡợeêéèẻẽẹếềểễệ](?= [A-ZĐ\u00C0-\u1EF9])", re.I), "thành phố"),
]


def _spell_units(part: str) -> str:
    for pattern, word in _UNIT_SPELLING:
        part = pattern.sub(lambda m: word.capitalize() if m.group(0)[0].isupper() else word, part)
    # A slash of a house number read as I or l: "254I16" is "254/16".
    return re.sub(r"(?<=\d)[Il|](?=\d)", "/", part)


def address_parts(parts: list[str], strip: bool = False) -> list[str]:
    """Drop pieces that are not address text (dates of a neighbouring column, OCR debris) and
    what follows the province, which ends every Vietnamese address; strip: also debris before
    the start of a line (card layouts with two columns)."""
    out: list[str] = []
    for p in parts:
        if out and ends_in_province_unit(out[-1]):
            break  # the next line is another field whose label OCR lost
        if strip:
            p = strip_debris(p)[0]
        found = find_date(p)
        while found:
            p = p[: found[1]] + " " + p[found[2]:]
            found = find_date(p)
        p = clean_value(_spell_units(drop_specks(p)), keep_comma=True)
        meaningful = sum(c.isalnum() for c in p)
        if meaningful >= 2 and meaningful >= 0.6 * len(p.replace(" ", "")):
            out.append(p)
    return out


def put_address(d: Draft, name: str, v: Value | None, card: bool = False) -> None:
    """An address in its normal form; card: the text may carry debris of the other column."""
    if v is None:
        return
    parts = address_parts(v.parts, strip=card)
    value = norm_address(parts) if parts else None
    if value:
        value = restore_province(value)
        # Unit names are a closed list: a misread one is spelt back as printed (docs/addresses.md).
        value = correct_unit_names(value)[0]
        as_read = norm_address(address_parts(v.parts)) or ""
        d.put(name, value, v, quality=address_quality(value) * (REPAIRED if value != as_read else 1.0))


# Words of one accented letter that names do use: Ý Yên, Nam Á, Ô Môn, Ea Ô.
_ONE_LETTER_WORDS = set("ÝÁÔƠƯÊÂĂýáôơưêâă")


def drop_specks(text: str) -> str:
    """Without lone accented letters that are no word ("Ẳ", "Ề", "Ñ"): OCR specks. Plain
    letters stay ("Ấp Bình Phước B"), and so do the few one-letter words names use ("Ý Yên")."""
    return " ".join(w for w in text.split()
                    if not (len(w) == 1 and w.isalpha() and not w.isascii() and w not in _ONE_LETTER_WORDS))


def put_text(d: Draft, name: str, v: Value | None, judge_words: bool = True) -> None:
    """Free text as printed; judge_words: lower the confidence for words OCR seems to have
    garbled (not for ethnic-group names such as "Khmer")."""
    if v is None:
        return
    value = clean_value(drop_specks(squash(clean_value(v.text))))
    if value:
        d.put(name, value, v, quality=text_quality(value) if judge_words else 1.0)


def nationality(text: str) -> str:
    """"Việt Nam" however OCR spelt it, even after debris of the English label; other
    nationalities as printed."""
    value = squash(clean_value(text))
    folded = re.sub(r"[^a-z]", "", fold(value))
    if fuzz.ratio(folded, "vietnam") >= 80 or folded.endswith("vietnam"):
        return "Việt Nam"
    return value


def put_nationality(d: Draft, name: str, v: Value | None) -> None:
    if v is not None:
        d.put(name, nationality(v.text) or None, v)


def person_checks(d: Draft, id_field: str = "id_number", dob: str = "date_of_birth", sex: str = "sex") -> None:
    """Structure of a 12-digit id and its agreement with the printed birth date and sex."""
    id_number = d.fields.get(id_field)
    if not id_number:
        return
    d.check(checks.id_structure(id_field, id_number))
    if len(id_number) != 12:
        return
    if dob in d.fields:
        d.check(checks.dob_agrees(id_number, d.fields[dob], field=dob), dob, id_field)
    if sex in d.fields:
        c = checks.sex_agrees(id_number, d.fields[sex], field=sex)
        if c.ok and d.label_scores.get(sex, 0.0) > 0:
            # Two possible values, read beside their label, and the id independently says which:
            # as good as a check digit. (Found without its label, agreement may be luck.)
            d.confidence[sex] = max(d.confidence[sex], verified(d.confidence[sex]))
        d.check(c, sex, id_field)


def label(key: str, *variants: str, english: tuple[str, ...] = (), **kw) -> Label:
    """A label printed as `variants` (optionally followed by "/ English"): the bilingual forms
    are added as variants so a clean line matches as a whole."""
    forms = list(variants)
    for vi in variants:
        for en in english:
            forms.append(f"{vi} / {en}")
    forms.extend(english)
    return Label(key, tuple(dict.fromkeys(forms)), english=english, **kw)


def first_fallback(doc: Doc, test: Callable[[str], bool], unique: bool = False) -> Value | None:
    """A line anywhere in the document whose text passes `test`, for when its label was not
    read; its label score is 0, which keeps the field below the review threshold. unique:
    a value whose shape only this field has (12 digits on a card); found on one line only,
    it is this field for sure and keeps a label score of UNIQUE_SHAPE."""
    found = [i for i, line in enumerate(doc.lines) if test(line.text)]
    if not found:
        return None
    return doc.line_value(found[0], UNIQUE_SHAPE if unique and len(found) == 1 else 0.0)


def printed_name_fallback(doc: Doc) -> Value | None:
    """With its label unread, a card's name is the line of capitals that reads as a person's
    name and holds no label (titles and the motto are labels of the parsers)."""
    labelled = {h.line for h in doc.hits}
    for i, line in enumerate(doc.lines):
        text = clean_value(line.text)
        if i not in labelled and text.isupper() and looks_like_name(text):
            return doc.line_value(i, 0.0)
    return None


# Registration numbers and books of civil-status papers: "84", "05/1990".
_REGISTRY_NUMBER = re.compile(r"[0-9OIl][0-9OIl./\-]*")
# Words after which a place name must follow on the next line ("..., huyện" + "Ý Yên").
_NEEDS_NAME = {"tinh", "huyen", "xa", "phuong", "quan", "thanh", "pho", "thi", "tran", "dan", "ban", "nhan"}


def registry_number(text: str) -> str | None:
    """Registration number or book as printed ("84", "05/1990"), look-alike letters repaired."""
    m = _REGISTRY_NUMBER.search(text.replace(" ", ""))
    if not m:
        return None
    value = m.group(0).translate(str.maketrans("OIl", "011")).strip("./-")
    return value if any(c.isdigit() for c in value) else None


def has_registry_number(text: str) -> bool:
    return registry_number(text) is not None


def put_registry_number(d: Draft, name: str, v: Value | None) -> None:
    if v is not None:
        d.put(name, registry_number(v.text), v)


def wraps_mid_place(line: str) -> bool:
    """A line that stops mid-place: after a comma or a unit word that needs its name."""
    words = fold(line).rstrip().split()
    return line.rstrip().endswith(",") or bool(words) and words[-1] in _NEEDS_NAME
