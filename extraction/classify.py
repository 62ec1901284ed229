"""Which kind of paper an OCR'd text is, from its printed titles and labels.

Each type has cues: its title (strong; looked for near the top only, since letters may
mention other papers in their body) and labels only it prints (weaker). Cues shared by
several types (the national motto, "Số định danh cá nhân", "Giới tính") are not used.
A type wins only with enough evidence and a clear lead; otherwise the text is "unknown".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz

from extraction.labels import compact
from extraction.mrz import looks_like_mrz
from extraction.normalize import fold
from sohoa.models import DocType

HEAD_LINES = 10  # titles are printed within the first lines of a paper
MIN_SCORE = 0.5
MIN_LEAD = 0.15


@dataclass(frozen=True)
class Cue:
    text: str  # printed form; matched folded, letters and digits only
    weight: float
    head: bool = False  # only counts in the first HEAD_LINES lines
    min_score: float = 86.0


CUES: dict[DocType, tuple[Cue, ...]] = {
    "cccd": (
        Cue("CĂN CƯỚC CÔNG DÂN", 0.7, head=True),
        Cue("Citizen Identity Card", 0.5, head=True),
        Cue("CĂN CƯỚC", 0.5, head=True, min_score=92),
        Cue("IDENTITY CARD", 0.4, head=True),
        Cue("Họ và tên / Full name", 0.15),
        Cue("Quê quán / Place of origin", 0.15),
        Cue("Nơi thường trú / Place of residence", 0.15),
        Cue("Có giá trị đến", 0.15),
        Cue("Date of expiry", 0.15),
        Cue("Personal identification number", 0.15),
        Cue("Họ, chữ đệm và tên khai sinh", 0.2),
        Cue("Surname, middle name and given name", 0.2),
        Cue("Giới tính / Sex", 0.1),
        Cue("Quốc tịch / Nationality", 0.1),
    ),
    "cccd_back": (
        Cue("Đặc điểm nhân dạng", 0.5),
        Cue("Ngày, tháng, năm / Date, month, year", 0.3),
        Cue("Ngày, tháng, năm cấp / Date of issue", 0.3),
        Cue("Nơi đăng ký khai sinh / Place of birth", 0.3),
        Cue("Nơi cư trú / Place of residence", 0.2),
        Cue("CỤC TRƯỞNG CỤC CẢNH SÁT", 0.3),
        Cue("QUẢN LÝ HÀNH CHÍNH VỀ TRẬT TỰ XÃ HỘI", 0.3),
        Cue("BỘ CÔNG AN / MINISTRY OF PUBLIC SECURITY", 0.3),
        Cue("Ngón trỏ trái", 0.3),
        Cue("Ngón trỏ phải", 0.3),
    ),
    "cmnd": (
        Cue("GIẤY CHỨNG MINH NHÂN DÂN", 0.8, head=True),
        Cue("CHỨNG MINH NHÂN DÂN", 0.5, head=True),
        Cue("Nguyên quán", 0.2),
        Cue("Nơi ĐKHK thường trú", 0.3),
    ),
    "birth_certificate": (
        Cue("GIẤY KHAI SINH", 0.7, head=True),
        Cue("Họ, chữ đệm, tên người cha", 0.2),
        Cue("Họ, chữ đệm, tên người mẹ", 0.2),
        Cue("Quyển số", 0.15, min_score=90),
        Cue("Ngày, tháng, năm đăng ký", 0.2),
        Cue("NGƯỜI KÝ GIẤY KHAI SINH", 0.2),
        Cue("Nơi đăng ký khai sinh", 0.1),
    ),
    "official_letter": (
        Cue("Kính gửi", 0.3, min_score=90),
        Cue("Nơi nhận", 0.2, min_score=90),
    ),
    "business_registration": (
        Cue("GIẤY CHỨNG NHẬN ĐĂNG KÝ DOANH NGHIỆP", 0.8, head=True),
        Cue("Mã số doanh nghiệp", 0.3),
        Cue("Vốn điều lệ", 0.2, min_score=90),
        Cue("Đăng ký lần đầu", 0.2),
        Cue("Người đại diện theo pháp luật", 0.2),
        Cue("Tên công ty viết bằng tiếng Việt", 0.2),
        Cue("Địa chỉ trụ sở chính", 0.2),
    ),
    "marriage_certificate": (
        Cue("GIẤY CHỨNG NHẬN KẾT HÔN", 0.8, head=True),
        Cue("Thông tin người chồng", 0.3),
        Cue("Thông tin người vợ", 0.3),
        Cue("NGƯỜI KÝ GIẤY CHỨNG NHẬN KẾT HÔN", 0.3),
        Cue("Giấy tờ tùy thân", 0.15),
        Cue("Nơi đăng ký kết hôn", 0.15),
    ),
    "residence_form": (
        Cue("TỜ KHAI THAY ĐỔI THÔNG TIN CƯ TRÚ", 0.8, head=True),
        Cue("Mẫu CT01", 0.4, head=True, min_score=90),
        Cue("Họ, chữ đệm và tên chủ hộ", 0.25),
        Cue("Mối quan hệ với chủ hộ", 0.25),
        Cue("Số định danh cá nhân của chủ hộ", 0.25),
        Cue("Nội dung đề nghị", 0.15),
        Cue("Những thành viên trong hộ gia đình cùng thay đổi", 0.25),
        Cue("Ý KIẾN CỦA CHỦ HỘ", 0.15),
        Cue("NGƯỜI KÊ KHAI", 0.1, min_score=90),
    ),
}

# Structure of a Decree 30 letter: "Số: 123/UBND-VP", a "V/v" summary, the signing authority.
_LETTER_NUMBER = re.compile(r"^\W*s[o0]\s*[:;.]?\s*[0-9oOlI]{1,6}\s*/\s*[a-z0-9đ]+(-[a-z0-9đ]+)*", re.I)
_LETTER_SUBJECT = re.compile(r"^\W*v\s*[/|l1]\s*[vy]\b", re.I)
_LETTER_SIGNING = re.compile(r"^\W*(kt|tm|tl|ttl|q)\s*\.\s*[a-zđ]", re.I)
_LETTER_DATE = re.compile(r"ngay\s*\S{1,3}\s*thang\s*\S{1,3}\s*nam\s*\d{4}")


def _cue_score(cue: Cue, head: str, whole: str) -> float:
    target = head if cue.head else whole
    needle = compact(cue.text)[0]
    if not target or not needle:
        return 0.0
    score = fuzz.partial_ratio(needle, target) if len(needle) <= len(target) else 0.0
    return cue.weight * score / 100 if score >= cue.min_score else 0.0


def _letter_score(lines: list[str]) -> float:
    folded = [fold(line) for line in lines]
    head = folded[:HEAD_LINES + 4]
    score = 0.0
    if any(_LETTER_NUMBER.search(line) for line in head):
        score += 0.4
    if any(_LETTER_SUBJECT.search(line) for line in head):
        score += 0.4
    if any(_LETTER_DATE.search(line) for line in head):
        score += 0.1
    if any(_LETTER_SIGNING.search(line) for line in folded):
        score += 0.1
    return score


def scores(text: str) -> dict[DocType, float]:
    """Evidence for each type, 0..1."""
    lines = [line for line in text.splitlines() if line.strip()]
    head = "".join(compact(line)[0] for line in lines[:HEAD_LINES])
    whole = "".join(compact(line)[0] for line in lines)
    out: dict[DocType, float] = {}
    for doc_type, cues in CUES.items():
        out[doc_type] = sum(_cue_score(c, head, whole) for c in cues)
    mrz_lines = sum(looks_like_mrz(line) for line in lines)
    if mrz_lines >= 2:
        out["cccd_back"] += 0.7
    out["official_letter"] += _letter_score(lines)
    return {k: round(min(1.0, v), 3) for k, v in out.items()}


def classify(text: str) -> tuple[DocType, float]:
    """The doc type of a text and the strength of the evidence (0..1). "unknown" when no type
    has enough evidence or two types are too close to call; its score is then 1 - the best
    type's evidence."""
    ranked = sorted(scores(text).items(), key=lambda kv: -kv[1])
    (best, top), (runner_up, second) = ranked[0], ranked[1]
    if {best, runner_up} == {"cccd", "cccd_back"} and second >= MIN_SCORE:
        # Both sides of a card copied on one page: the front is the paper; its parser
        # still checks the printed fields against the MRZ.
        return "cccd", top
    if top >= MIN_SCORE and top - second < MIN_LEAD:
        # Too close on the cues: a title printed on a line of its own settles it (the words of
        # a card's title inside a marriage certificate's "Căn cước công dân số ..." do not).
        lines = [line for line in text.splitlines() if line.strip()]
        titled = [(t, s) for t, s in ((best, top), (runner_up, second)) if _titled(lines, t)]
        if len(titled) == 1 and titled[0][1] >= MIN_SCORE:
            return titled[0]
    if top < MIN_SCORE or top - second < MIN_LEAD:
        return "unknown", round(1.0 - top, 3)
    return best, top


def _titled(lines: list[str], doc_type: DocType) -> bool:
    """Whether one of the type's titles stands on a line of its own near the top."""
    titles = [compact(c.text)[0] for c in CUES.get(doc_type, ()) if c.head and c.weight >= 0.5]
    for line in lines[:HEAD_LINES]:
        comp = compact(line)[0]
        if comp and any(fuzz.ratio(title, comp) >= 85 for title in titles):
            return True
    return False


def starts_paper(text: str, doc_type: DocType) -> bool:
    """Whether a page carries the first-page markers of its type (a title near the top, or a
    letter's number and summary), as opposed to being a later page of the same paper."""
    lines = [line for line in text.splitlines() if line.strip()]
    if doc_type == "official_letter":
        head = [fold(line) for line in lines[:HEAD_LINES + 4]]
        return any(_LETTER_NUMBER.search(x) or _LETTER_SUBJECT.search(x) for x in head)
    head = "".join(compact(line)[0] for line in lines[:HEAD_LINES])
    return any(_cue_score(c, head, head) > 0 for c in CUES.get(doc_type, ()) if c.head)
