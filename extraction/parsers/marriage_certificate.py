"""Marriage certificate "GIẤY CHỨNG NHẬN KẾT HÔN" (Decree 123/2015, Circular 04/2020/TT-BTP).

The spouses' particulars are printed in two columns, "Thông tin người chồng" and "Thông tin người
vợ": either a table whose first column holds the labels, or two blocks that each repeat them.
OCR reads across the page, so one line may hold both spouses' values ("ĐẶNG VĂN PHÚC NGUYỄN
PHƯƠNG QUYÊN"), and values that wrap inside their column come interleaved line by line:

    Nơi cư trú Số 28 ngõ 22 đường Bạch Khu phố Phú Hòa, Xã Thân
    Đằng, Phường Võ Thị Sáu, Cửu Nghĩa, huyện Châu
    Quận 3, Thành phố Hồ Chí Thành, tỉnh Tiền Giang
    Minh

Each line of such a row is cut in two where the result reads best as two values of the row's
kind (`_deinterleave`): two names, two addresses that each resolve to real administrative units,
while the lines of one column keep the lengths a column of one width gives. Which column is whose
comes from the headings; the ids need no column at all, their fourth digit says the holder's sex.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import combinations, pairwise, product

from rapidfuzz import fuzz

from extraction import checks
from extraction.addresses import correct_unit_names, resolve_address
from extraction.fields import Draft
from extraction.labels import Doc, Hit, Label, Line, Piece, Value
from extraction.names import SURNAMES, is_syllable
from extraction.normalize import (
    clean_value,
    find_date,
    fold,
    norm_address,
    norm_id,
    squash,
)
from extraction.parsers.common import (
    REPAIRED,
    drop_specks,
    has_date,
    is_text,
    label,
    nationality,
    put_address,
    put_date,
    put_name,
    registry_number,
    wraps_mid_place,
)
from extraction.places import ends_in_province_unit, ends_with_province, text_quality
from sohoa.models import Check

SPOUSES = ("husband", "wife")
PERSONAL = ("name", "date_of_birth", "ethnicity", "nationality", "residence", "id_number")
FIELDS = [f"{who}_{what}" for who in SPOUSES for what in PERSONAL] + [
    "registration_place", "registration_date", "registration_number", "registration_book"]

LABELS = [
    label("head_husband", "Thông tin người chồng", "Thông tin về người chồng"),
    label("head_wife", "Thông tin người vợ", "Thông tin về người vợ"),
    Label("registration_number", ("Số",), pattern=r"^\W{0,3}s[o0]\s*[:;.]"),
    label("registration_book", "Quyển số"),
    label("name", "Họ, chữ đệm, tên", "Họ, chữ đệm và tên", "Họ và tên"),
    label("date_of_birth", "Ngày, tháng, năm sinh", "Ngày sinh"),
    label("ethnicity", "Dân tộc"),
    label("nationality", "Quốc tịch"),
    label("residence", "Nơi cư trú", "Nơi thường trú"),
    label("id_number", "Giấy tờ tùy thân", "Giấy tờ tùy thân số", "Giấy tờ nhân thân"),
    label("registration_place", "Nơi đăng ký", "Nơi đăng ký kết hôn"),
    label("registration_date", "Ngày, tháng, năm đăng ký", "Ngày đăng ký", min_score=90),
    label("_other", "NGƯỜI KÝ GIẤY CHỨNG NHẬN KẾT HÔN", "Ký, ghi rõ họ, chữ đệm, tên",
          "Ký, ghi rõ họ, chữ đệm, tên, chức vụ, đóng dấu", "Cán bộ tư pháp hộ tịch", "Ghi chú",
          "Chữ ký hoặc điểm chỉ", min_score=88),  # loose, "KHOA Họ, chữ đệm, tên" would pass
    label("_title", "GIẤY CHỨNG NHẬN KẾT HÔN", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
          "Độc lập - Tự do - Hạnh phúc", noise=True),
]

# The 54 ethnic groups of Viet Nam as the civil-status registers spell them.
ETHNIC_GROUPS = (
    "Kinh", "Tày", "Thái", "Mường", "Khmer", "Hoa", "Nùng", "Mông", "H'Mông", "Dao", "Gia Rai", "Ê Đê",
    "Ba Na", "Xơ Đăng", "Sán Chay", "Cơ Ho", "Chăm", "Sán Dìu", "Hrê", "Ra Glai", "Mnông", "Thổ",
    "Xtiêng", "Khơ Mú", "Bru-Vân Kiều", "Cơ Tu", "Giáy", "Tà Ôi", "Mạ", "Giẻ Triêng", "Co", "Chơ Ro",
    "Xinh Mun", "Hà Nhì", "Chu Ru", "Lào", "La Chí", "Kháng", "Phù Lá", "La Hủ", "La Ha", "Pà Thẻn",
    "Lự", "Ngái", "Chứt", "Lô Lô", "Mảng", "Cơ Lao", "Bố Y", "Cống", "Si La", "Pu Péo", "Rơ Măm",
    "Brâu", "Ơ Đu",
)
_ETHNIC = {re.sub(r"[^a-z]", "", fold(e)): e for e in ETHNIC_GROUPS}
_ID_RUN = re.compile(r"[0-9OoQDIl|SBZ](?:[ .]?[0-9OoQDIl|SBZ])*")
# Words the pieces of a street part open with ("Số 12 đường ...", "Tổ 5", "khu phố 3").
_STREET_OPENERS = {"so", "to", "khu", "ap", "thon", "xom", "ban", "buon", "khom", "kp", "lo", "can", "ngo",
                   "ngach", "hem", "kiet", "duong", "pho", "tdp", "cum", "doi", "khoi", "lang", "bon", "plei",
                   "kiot", "tang", "phong", "day"}
# Openers whose fold is also a name: only these spellings are the unit word.
_NAME_FOLDS = {"ngo": {"ngõ"}, "to": {"tổ"}, "lo": {"lô"}, "ban": {"bản"}, "can": {"căn"}, "doi": {"đội"},
               "lang": {"làng"}, "khoi": {"khối"}, "thon": {"thôn"}, "day": {"dãy"}}
# Words an address opens with: those, and a unit when no street is printed.
_OPENERS = _STREET_OPENERS | {"phuong", "xa", "quan", "huyen", "tinh", "thanh"}
_SURNAMES = frozenset(fold(n) for n in SURNAMES)
# Given names borne (nearly) only by women or only by men, folded.
_FEMALE_GIVEN = frozenset(fold(n) for n in (
    "Lan", "Hoa", "Mai", "Hương", "Hường", "Huệ", "Cúc", "Đào", "Liên", "Lệ", "Loan", "Nga", "Nguyệt", "Nhung",
    "Oanh", "Phượng", "Quyên", "Thảo", "Thúy", "Thủy", "Trang", "Tuyết", "Uyên", "Vân", "Yến", "Hằng", "Hạnh",
    "Hiền", "Huyền", "Diễm", "Dung", "Ngân", "Nhàn", "Nhi", "Trâm", "Trinh", "Thư", "Vy", "My", "Chi",
    "Duyên", "Ly", "Thoa", "Xuyến", "Thắm", "Quỳnh", "Kiều", "Ngà", "Diệu", "Thùy", "Hồng", "Nhạn", "Lụa"))
_MALE_GIVEN = frozenset(fold(n) for n in (
    "Dũng", "Cường", "Hùng", "Tuấn", "Thắng", "Sơn", "Trung", "Thịnh", "Hiếu", "Lực", "Tường", "Lộc", "Đạt",
    "Nam", "Phúc", "Long", "Quân", "Huy", "Việt", "Thành", "Hải", "Đức", "Nghĩa", "Quyết", "Toàn", "Vỹ",
    "Lượng", "Hưng", "Khoa", "Tùng", "Phong", "Kiên", "Trí", "Vinh", "Tài", "Tiến", "Mạnh", "Kiệt",
    "Thiện", "Tín", "Hiệp", "Hào", "Định", "Khải", "Luân", "Nhân", "Sang", "Thuận", "Trọng", "Chiến",
    "Công", "Cảnh", "Khang", "Khôi", "Lợi", "Phát", "Tân", "Thông", "Trường", "Hoàng", "Quang", "Thái"))
_TYPE_WORDS = re.compile(r"(?:^|(?<=[\s,]))(phuong|xa|thi tran|quan|huyen|thi xa|thanh pho|tinh)(?=\s|$)")
# A heading line of the signatures: "Chồng   Vợ" or "Vợ   Chồng".
_SIGNERS = re.compile(r"^\W*(chong|vo)\W+(chong|vo)\W*$")


# ------------------------------------------------------------------------------ rows
def _repeated_labels(doc: Doc) -> Doc:
    """`doc` with the labels a line prints twice: Doc finds a label once a line, but the two
    blocks print each of theirs side by side ("Dân tộc: Kinh Quốc tịch: Việt Nam Dân tộc: ...").
    The text between the labels found is searched again until nothing more turns up."""
    for i, line in enumerate(doc.lines):
        while True:
            on_line = sorted((h for h in doc.hits if h.line == i), key=lambda h: h.start)
            if not on_line:
                break
            bounds = [0] + [x for h in on_line for x in (h.start, h.end)] + [len(line.text)]
            added = False
            for a, b in zip(bounds[::2], bounds[1::2]):
                if sum(c.isalnum() for c in line.text[a:b]) < 4:
                    continue
                gap = Doc([Line(line.text[a:b], line.confidence)], doc.labels)
                for h in gap.hits:
                    doc.hits.append(Hit(h.label, i, h.start + a, h.end + a, h.value_start + a, h.score,
                                        h.variant))
                    added = True
            if not added:
                break
    doc.hits.sort(key=lambda h: (h.line, h.start))
    return doc


@dataclass
class Row:
    """The text of one row of the spouses' table: its labelled line as one mixed piece or as
    two pieces already cut by the repeated label, and the lines below it (mixed); or, read
    column after column, each column's own pieces."""

    first: list[Piece]
    more: list[Piece]
    columns: list[list[Piece]] | None = None


def _section(doc: Doc) -> tuple[int, int]:
    """Lines of the spouses' particulars: from the headings to the registration lines."""
    heads = [h.line for h in doc.hits if h.key in ("head_husband", "head_wife")]
    start = min(heads) if heads else -1
    ends = [h.line for h in doc.hits if h.key in ("registration_place", "registration_date") and h.line > start]
    return start, min(ends) if ends else len(doc.lines)


def _below(doc: Doc, hit: Hit, hi: int, limit: int = 6) -> list[Piece]:
    """The lines under a label up to the next labelled line, within the spouses' section."""
    return [p for p in doc.following(hit, limit=limit) if p.line < hi]


def _row(doc: Doc, key: str, lo: int, hi: int) -> Row | None:
    hits = [h for h in doc.find(key) if lo <= h.line < hi]
    if not hits:
        return None
    first = hits[0]
    on_line = [h for h in hits if h.line == first.line]
    limit = 6
    if len(on_line) >= 2:
        a, b = on_line[:2]
        return Row([doc.same_line(a), doc.same_line(b)], _below(doc, b, hi, limit))
    if len(hits) >= 2:
        # The other column's label on a later line: the page was read column after column.
        cols = []
        for h in hits[:2]:
            same = doc.same_line(h)
            cols.append(([same] if same.text else []) + _below(doc, h, hi, limit))
        return Row([], [], cols)
    same = doc.same_line(first)
    return Row([same], _below(doc, first, hi, limit))


def _cut(doc: Doc, piece: Piece, k: int) -> tuple[Piece | None, Piece | None]:
    """A piece cut before its k-th word (as pieces of the same line)."""
    words = piece.text.split()
    left, right = " ".join(words[:k]), " ".join(words[k:])
    text = doc.lines[piece.line].text
    at = piece.start
    for w in words[:k]:  # walk the words: a value may repeat one ("Kinh Kinh")
        found = text.find(w, at)
        at = found + len(w) if found >= 0 else at
    if 0 < k < len(words):
        found = text.find(words[k], at)
        at = found if found >= 0 else at
    elif k >= len(words):
        at = piece.end
    return (Piece(piece.line, left, piece.start, at) if left else None,
            Piece(piece.line, right, at, piece.end) if right else None)


# ------------------------------------------------------------------------------ cutting rows in two
Scorer = Callable[[list[str], int], float]
_FULL_PLANS = 24  # cuts of a row scored in full (resolving addresses costs ~5 ms each)
_RULES = {"|", "||", "]", "[", "¦", "!"}
_DROP_COST = 0.6  # of leaving a short line out of both columns (a name may end in "ĐẠT")


def _deinterleave(doc: Doc, row: Row, score: Scorer, wrap: bool = True,
                  cheap: Scorer | None = None) -> tuple[list[Piece], list[Piece]]:
    """The row's pieces of the left and of the right column. Each mixed line is cut where the
    two columns' texts, each joined over its lines, score best (`score(parts, column)`), with
    the lines of a column as long as greedy wrapping in one column width leaves them (`wrap`).
    With a `cheap` score, only the plans it ranks best are scored in full."""
    if row.columns is not None:
        return row.columns[0], row.columns[1]
    fixed: tuple[list[Piece], list[Piece]] = ([], [])
    mixed = [p for p in row.more if p.text]
    if len(row.first) == 2:
        for k in (0, 1):
            if row.first[k].text:
                fixed[k].append(row.first[k])
    elif row.first and row.first[0].text:
        mixed = [row.first[0], *mixed]
    if not mixed:
        return fixed
    # A label inside the column (two blocks) takes room on its line: that line is not judged.
    labelled = row.first[0].line if len(row.first) == 2 else -1
    # A table's rules read as a line of debris ("L +", "4") between rows: such short lines
    # may belong to no column.
    debris = [i for i, p in enumerate(mixed) if sum(c.isalnum() for c in p.text) <= 3][:3]
    candidates = []
    for n in range(len(debris) + 1):
        for dropped in combinations(debris, n):
            lines = [p for i, p in enumerate(mixed) if i not in dropped]
            for cuts in _cut_plans(lines) if lines else [()]:
                left, right = list(fixed[0]), list(fixed[1])
                cost = n * _DROP_COST
                for piece, k in zip(lines, cuts):
                    a, b = _cut(doc, piece, k)
                    if a is not None:
                        left.append(a)
                    if b is not None:
                        right.append(b)
                    cost += _rule_cost(piece.text.split(), k)
                candidates.append((left, right, cost))
    if cheap is not None and len(candidates) > _FULL_PLANS:
        ranked = sorted(candidates, key=lambda c: c[2] - _plan_score(c[0], c[1], cheap, wrap, labelled))
        candidates = ranked[:_FULL_PLANS]
    best = max(candidates, key=lambda c: _plan_score(c[0], c[1], score, wrap, labelled) - c[2])
    return best[0], best[1]


def _rule_cost(words: list[str], k: int) -> float:
    """A table's rule between the columns read as "|" (or "I", "]") standing alone: the cut is
    there. Cutting elsewhere on such a line costs; cutting at it earns."""
    rules = [i for i, w in enumerate(words) if 0 < i < len(words) - 1 and w in _RULES]
    if not rules:
        return 0.0
    return -1.0 if any(k in (i, i + 1) for i in rules) else 1.0


def _cut_plans(mixed: list[Piece]) -> list[tuple[int, ...]]:
    """Where each mixed line may be cut (the number of its words that go left). While both
    columns go on, their lines are about equally long; the line where one column ends may be
    cut anywhere; after it the line is all the other column's. Read column after column, the
    lines are whole: all of the left column's, then all of the right's."""
    words = [p.text.split() for p in mixed]
    n = len(mixed)
    plans: set[tuple[int, ...]] = set()

    def balanced(i: int) -> list[int]:
        w = words[i]
        out = []
        for k in range(1, len(w)):
            a, b = len(" ".join(w[:k])), len(" ".join(w[k:]))
            if abs(a - b) <= max(8, 0.3 * max(a, b)):
                out.append(k)
        return out or [len(w) // 2]

    for last_left in range(-1, n):
        for last_right in range(-1, n):
            if max(last_left, last_right) != n - 1:
                continue
            options: list[list[int]] = []
            for i in range(n):
                m = len(words[i])
                if i < min(last_left, last_right):
                    options.append(balanced(i))
                elif i == min(last_left, last_right):  # a column (or both) ends on this line
                    options.append(list(range(1, m)) or [m])
                else:  # only one column goes on
                    options.append([m] if last_left > last_right else [0])
            count = 1
            for o in options:
                count *= len(o)
            if count > 3000:
                continue
            plans.update(product(*options))
    for k in range(n + 1):  # column after column
        plans.add(tuple(len(words[i]) if i < k else 0 for i in range(n)))
    return sorted(plans)


def _plan_score(left: list[Piece], right: list[Piece], score: Scorer, wrap: bool, labelled: int) -> float:
    total = score([p.text for p in left], 0) + score([p.text for p in right], 1)
    if wrap:
        # Both columns have about one width: the longest line of either tells it.
        width = max([len(p.text) for p in left + right if p.line != labelled] or [0])
        for pieces in (left, right):
            total -= 2 * _wrap_penalty(pieces, width, labelled)
    return total


def _wrap_penalty(pieces: list[Piece], width: int, labelled: int) -> float:
    """How far the lines of one column are from greedy wrapping: a line followed by another is
    too short when the next line's first word would have fitted after it. (The labelled line
    is not judged: the label before the value takes room in some layouts.)"""
    out = 0.0
    for line, nxt in pairwise(pieces):
        if line.line == labelled or not width:
            continue
        words = nxt.text.split()
        need = len(line.text) + 1 + (len(words[0]) if words else 0)
        if need <= 0.85 * width:
            out += (0.85 * width - need) / width
    return out


# ------------------------------------------------------------------------------ scorers
def _name_score(parts: list[str], col: int, role: str | None = None) -> float:
    words = " ".join(parts).split()
    if not 2 <= len(words) <= 5:
        return -5.0
    score = {2: 0.3, 3: 1.0, 4: 0.7, 5: 0.0}[len(words)]
    score += sum(1.0 if is_syllable(w) else -1.0 for w in words) / len(words)
    if fold(words[0]) in _SURNAMES:  # folded: OCR often loses a surname's tone ("NGUYÊN")
        score += 1.5
    if role is not None:
        # Which spouse a name belongs to shows in "Thị"/"Văn" and in many given names: enough
        # to say where a wrapped last word goes when both cuts make two good names.
        folded = [fold(w) for w in words]
        female = "thi" in folded[1:-1] or folded[-1] in _FEMALE_GIVEN
        male = "van" in folded[1:-1] or folded[-1] in _MALE_GIVEN
        if female != male:
            score += 0.1 if female == (role == "wife") else -0.2
    return score


def _name_scorer(order: list[str]) -> Scorer:
    return lambda parts, col: _name_score(parts, col, order[col])


def _ethnicity_score(parts: list[str], col: int) -> float:
    text = re.sub(r"[^a-z]", "", fold(" ".join(parts)))
    return 2.0 if text in _ETHNIC else -1.0 if text else -3.0


def _nationality_score(parts: list[str], col: int) -> float:
    text = " ".join(parts)
    if not text:
        return -3.0
    return 2.0 if nationality(text) == "Việt Nam" else 0.0


def _date_score(parts: list[str], col: int) -> float:
    return 2.0 if find_date(" ".join(parts)) else -2.0


@lru_cache(maxsize=4096)
def _address_score_of(text: str) -> float:
    if not text:
        return -5.0
    score = 0.0
    r = resolve_address(text)
    level = {"ward": 3.0, "district": 2.0, "province": 1.0}.get(r.level, 0.0)
    units = " ".join(u for u in (r.ward, r.district, r.province) if u)
    tail = text[len(r.street):] if r.street and text.startswith(r.street) else text
    if units:
        # Every word printed after the street must belong to the units it resolved to: a wrong
        # cut leaves words of the other column in a unit's name ("Xã Thân Đằng"). (Not the
        # reverse: a unit renamed since the paper was printed has words the paper lacks.)
        # Each word of the units explains one printed word ("Thành phố" twice is one too many).
        known = re.findall(r"[a-z0-9]+", fold(units))
        if ends_in_province_unit(tail) and "," in tail and r.province:
            # The province as printed may be one the package has since renamed ("tỉnh Thừa
            # Thiên Huế"): that it ends the address is enough.
            tail = tail.rsplit(",", 1)[0]
            known = re.findall(r"[a-z0-9]+", fold(" ".join(u for u in (r.ward, r.district) if u)))
        printed = re.findall(r"[a-z0-9]+", fold(tail))
        extra = 0
        for w in printed:
            k = next((k for k in known if k == w), None) or next(
                (k for k in known if len(w) > 3 and _near(w, k)), None)
            if k is None:
                extra += 1
            else:
                known.remove(k)
        if printed:
            score += level * r.confidence * (1 - extra / len(printed)) ** 2
        # Words of the units left unprinted cost a little: a cut may take one ("thành phố
        # Trang"), but a unit renamed since the paper was printed lacks some too.
        score -= 0.15 * min(4, len(known))
    if ends_with_province(text):
        score += 1.0
        if ends_in_province_unit(text):  # with its rank: "tỉnh Khánh Hòa"
            score += 0.5
    last = re.findall(r"\w+", text)[-1:]
    if last and (last[0].isdigit() or len(last[0]) == 1):
        score -= 1.0  # the province ends an address: no "4" or "L" of a table's rule after it
    # The street part: each of its comma-separated pieces opens with a word of its own
    # ("Số 12 đường ...", "Tổ 5", "khu phố 3"); a lone "tỉnh", "phố" or "Cầu" there is a piece
    # of a unit the other column lost.
    street = fold(r.street or "")
    for seg, printed in zip(street.split(","), (r.street or "").split(",")):
        tokens = re.findall(r"[a-z0-9/]+", seg)
        if tokens and not (len(tokens) >= 2 and _opens(printed, _STREET_OPENERS)):
            score -= 0.7
        score -= len(_TYPE_WORDS.findall(seg.strip()))
    words = fold(text).replace(",", " ").split()
    if _opens(text, _OPENERS) or words[:2] in (["thi", "tran"], ["thi", "xa"]):
        score += 0.5
    # One house number, one street: a second is the other column's ("Số 251 ... Số 251").
    score -= max(0, len(re.findall(r"(?:^|\s)(?:so|to)\s+\d", street)) - 1)
    return score


def _near(a: str, b: str) -> bool:
    return abs(len(a) - len(b)) <= 1 and fuzz.ratio(a, b) >= 75


def _address_shape(parts: list[str], col: int) -> float:
    """A quick judgement of an address, to rank the cuts worth resolving: it ends with a
    province, its units follow commas, and it opens with a word addresses open with."""
    text = squash(" ".join(parts))
    if not text:
        return -5.0
    folded = fold(text)
    score = 1.0 if ends_with_province(text) else 0.0
    for m in _TYPE_WORDS.finditer(folded):
        if folded[: m.start()].rstrip() and not folded[: m.start()].rstrip().endswith(","):
            score -= 0.5
    if _opens(text, _OPENERS):
        score += 0.5
    return score


def _opens(text: str, openers: set[str]) -> bool:
    """Whether `text` opens with a house number or one of `openers` (folded). Folds that are
    also names ("Ngô" is no "ngõ", "Tô" no "tổ") count only spelt as the unit word."""
    words = text.replace(",", " ").split()
    if not words:
        return False
    first = words[0].lower()
    folded = fold(first)
    if folded[:1].isdigit():
        return True
    if folded in _NAME_FOLDS:
        return first in _NAME_FOLDS[folded]
    return folded in openers


def _address_score(parts: list[str], col: int) -> float:
    text = squash(" ".join(parts))
    return _address_score_of(text)


# ------------------------------------------------------------------------------ fields
def _value(doc: Doc, pieces: list[Piece], label_score: float) -> Value | None:
    pieces = [p for p in pieces if p.text]
    return doc.make_value(pieces, label_score) if pieces else None


def _label_score(doc: Doc, key: str) -> float:
    hits = doc.find(key)
    return max(h.score for h in hits) if hits else 0.0


def _pair(doc: Doc, key: str, lo: int, hi: int, score: Scorer, lines: int = 1,
          cheap: Scorer | None = None) -> list[Value | None]:
    """The row's values for the left and right column."""
    row = _row(doc, key, lo, hi)
    if row is None:
        return [None, None]
    if lines == 1 and row.columns is None:
        # A one-line value: a column left empty on the labelled line has it on the next line.
        more = [p for p in row.more if p.text][:1]
        if len(row.first) == 2:
            a, b = row.first
            if a.text and b.text:
                row = Row([a, b], [])
            elif a.text or b.text:
                cols = [[a], more] if a.text else [more, [b]]
                return [_value(doc, c, _label_score(doc, key)) for c in cols]
            else:
                row = Row([], more)
        else:
            row = Row(row.first, []) if row.first and row.first[0].text else Row([], more)
    left, right = _deinterleave(doc, row, score, wrap=lines > 1, cheap=cheap)
    ls = _label_score(doc, key)
    return [_value(doc, left, ls), _value(doc, right, ls)]


def _order(doc: Doc) -> tuple[list[str], bool]:
    """Whose column is left: from the headings, else from the signatures' headings. And
    whether that was read (rather than assumed)."""
    h, w = doc.find("head_husband"), doc.find("head_wife")
    if h and w:
        husband_first = (h[0].line, h[0].start) <= (w[0].line, w[0].start)
        return (["husband", "wife"] if husband_first else ["wife", "husband"]), True
    one = (h or w)
    if one:
        hit = one[0]
        text = doc.lines[hit.line].text
        before, after = text[: hit.start], text[hit.end:]
        if sum(c.isalpha() for c in after) >= 8 > sum(c.isalpha() for c in before):
            first = "husband" if h else "wife"
        elif sum(c.isalpha() for c in before) >= 8 > sum(c.isalpha() for c in after):
            first = "wife" if h else "husband"
        else:
            first = None
        if first:
            return [first, "wife" if first == "husband" else "husband"], True
    for line in doc.lines:
        m = _SIGNERS.match(line.folded)
        if m and m.group(1) != m.group(2):
            first = "husband" if m.group(1) == "chong" else "wife"
            return [first, "wife" if first == "husband" else "husband"], True
    return ["husband", "wife"], False


def _ids(text: str) -> list[tuple[str, str]]:
    """The 12-digit numbers of a text as (digits, as read), also where two of them are read as
    one run ("089190152987 038091419589")."""
    out = []
    for m in _ID_RUN.finditer(text):
        groups = m.group(0).split(" ")
        i = 0
        while i < len(groups):
            for j in range(i + 1, len(groups) + 1):
                raw = " ".join(groups[i:j])
                digits = norm_id(raw) or ""
                if len(digits) >= 12:
                    break
            if len(digits) == 12 and sum(c.isdigit() for c in raw) >= len(re.sub(r"[ .]", "", raw)) // 2:
                out.append((digits, raw))
                i = j
            else:
                i += 1
    return out


def _id_piece(doc: Doc, piece: Piece, raw: str) -> Piece:
    """Where an id stands in its line (its words' OCR confidence is the field's)."""
    text = doc.lines[piece.line].text
    at = text.find(raw, piece.start)
    return Piece(piece.line, raw, at, at + len(raw)) if at >= 0 else piece


def parse(lines: list[Line]) -> Draft:
    doc = _repeated_labels(Doc(lines, LABELS))
    d = Draft("marriage_certificate", list(FIELDS))
    lo, hi = _section(doc)
    order, known = _order(doc)

    names = _pair(doc, "name", lo, hi, _name_scorer(order), lines=2)
    dobs = _pair(doc, "date_of_birth", lo, hi, _date_score)
    ethnic = _pair(doc, "ethnicity", lo, hi, _ethnicity_score)
    nations = _pair(doc, "nationality", lo, hi, _nationality_score)
    homes = _pair(doc, "residence", lo, hi, _address_score, lines=4, cheap=_address_shape)

    # The ids: whoever's column they stand in, the fourth digit says the holder's sex.
    row = _row(doc, "id_number", lo, hi)
    pieces = [] if row is None else row.first + row.more if row.columns is None else [*row.columns[0],
                                                                                       *row.columns[1]]
    if not any(p.text for p in pieces):
        # The label was lost: the spouses' ids are the only 12-digit numbers on the paper.
        pieces = [Piece(k, line.text, 0, len(line.text)) for k, line in enumerate(doc.lines)]
    found: list[tuple[str, Piece]] = [(digits, _id_piece(doc, p, raw)) for p in pieces if p.text
                                      for digits, raw in _ids(p.text)]
    by_sex: dict[str, tuple[str, Piece]] = {}
    for digits, piece in found:
        who = "husband" if checks.id_sex(digits) == "Nam" else "wife"
        by_sex.setdefault(who, (digits, piece))
    if not known and len(by_sex) == 2:
        order = _order_by_ids(order, by_sex, dobs)
    taken = {v[0] for v in by_sex.values()}
    rest = [(digits, piece) for digits, piece in found if digits not in taken]
    if len(by_sex) == 1 and rest:
        # Two ids of one sex: a digit is misread. The other spouse's is the one left; its
        # check against the spouse's role fails and the paper is reviewed.
        who = "wife" if "husband" in by_sex else "husband"
        by_sex[who] = rest[0]

    for col, who in enumerate(order):
        put_name(d, f"{who}_name", names[col])
        put_date(d, f"{who}_date_of_birth", dobs[col])
        v = ethnic[col]
        if v is not None:
            printed = clean_value(squash(v.text))
            group = _ETHNIC.get(re.sub(r"[^a-z]", "", fold(printed)))
            # A group's name is one of 54: a misread tone is spelt back (an unknown name is kept).
            d.put(f"{who}_ethnicity", group or printed, v,
                  quality=1.0 if group == printed else REPAIRED if group else 0.8)
        v = nations[col]
        if v is not None:
            d.put(f"{who}_nationality", nationality(v.text) or None, v)
        home = homes[col]
        if home is not None:
            # One part: the cut already made the lines one address ("thành phố Huế," ending a
            # line is no province that ends it).
            joined = norm_address(home.parts)
            home = replace(home, parts=[joined]) if joined else None
        put_address(d, f"{who}_residence", home)
    ls = _label_score(doc, "id_number")
    for who, (digits, piece) in by_sex.items():
        v = doc.make_value([piece], ls)
        d.put(f"{who}_id_number", digits, v, quality=1.0 if re.fullmatch(r"[\d .]+", piece.text) else REPAIRED)

    number = doc.value("registration_number", accept=lambda t: registry_number(t) is not None)
    if number is not None:
        d.put("registration_number", registry_number(number.text), number)
    book = doc.value("registration_book", accept=lambda t: registry_number(t) is not None)
    if book is not None:
        d.put("registration_book", registry_number(book.text), book)
    place = doc.value("registration_place", lines=2, accept=is_text, look_ahead=1)
    if place is not None and len(place.parts) > 1 and not wraps_mid_place(place.parts[0]) \
            and (ends_with_province(place.parts[0]) or not ends_with_province(" ".join(place.parts))):
        place = replace(place, parts=place.parts[:1], lines=place.lines[:1])
    if place is not None:
        text = clean_value(drop_specks(squash(" ".join(place.parts))))
        text, fixed = correct_unit_names(text)
        d.put("registration_place", text, place, quality=text_quality(text) * (REPAIRED if fixed else 1.0))
    put_date(d, "registration_date", doc.value("registration_date", accept=has_date))
    _checks(d)
    return d


def _order_by_ids(order: list[str], by_sex: dict[str, tuple[str, Piece]], dobs: list[Value | None]) -> list[str]:
    """Columns not named by a heading: the birth years the ids state say whose column is left."""
    years = [find_date(v.text)[0][:4] if v is not None and find_date(v.text) else None for v in dobs]
    id_years = {who: str(checks.id_birth_year(digits)) for who, (digits, _) in by_sex.items()}
    as_is = sum(years[c] == id_years[who] for c, who in enumerate(order))
    swapped = sum(years[c] == id_years[who] for c, who in enumerate(reversed(order)))
    return list(reversed(order)) if swapped > as_is else order


def _checks(d: Draft) -> None:
    for who, sex in (("husband", "Nam"), ("wife", "Nữ")):
        id_field, dob = f"{who}_id_number", f"{who}_date_of_birth"
        digits = d.fields.get(id_field)
        if not digits:
            continue
        d.check(checks.id_structure(id_field, digits))
        if len(digits) != 12:
            continue
        c = checks.sex_agrees(digits, sex, field=id_field)
        d.check(c.model_copy(update={"rule": "agrees_with_spouse_role"}))
        if dob in d.fields:
            d.check(checks.dob_agrees(digits, d.fields[dob], field=dob), dob, id_field)
    registered = d.fields.get("registration_date")
    for who, age in (("husband", 20), ("wife", 18)):
        born = d.fields.get(f"{who}_date_of_birth")
        if registered and born:
            of_age = int(registered[:4]) - int(born[:4]) - int(registered[5:] < born[5:]) >= age
            d.check(Check(field=f"{who}_date_of_birth", rule="of_marriageable_age", ok=of_age,
                          detail=None if of_age else f"under {age} on the registration date"),
                    f"{who}_date_of_birth", "registration_date")
