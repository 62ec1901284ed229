"""Old 9-digit identity card "GIẤY CHỨNG MINH NHÂN DÂN" (front)."""

from __future__ import annotations

from extraction import checks
from extraction.fields import Draft
from extraction.labels import Doc, Label, Line
from extraction.parsers.common import (
    first_fallback,
    has_date,
    id_test,
    is_name,
    is_text,
    label,
    printed_name_fallback,
    put_address,
    put_date,
    put_id,
    put_name,
)

FIELDS = ["id_number", "full_name", "date_of_birth", "place_of_origin", "place_of_residence"]

LABELS = [
    # "SỐ" alone or before digits: an address line may also begin with "Số 12 đường ...".
    Label("id_number", ("SỐ",), pattern=r"^\W{0,3}s[o0]\b(?=\W*$|\s*[:;.]?\s*[0-9oil ]{6,})"),
    label("full_name", "Họ tên", "Họ và tên", "Họ tên khai sinh", min_score=80),
    label("date_of_birth", "Sinh ngày", "Ngày sinh", min_score=80),
    label("place_of_origin", "Nguyên quán"),
    label("place_of_residence", "Nơi ĐKHK thường trú", "Nơi thường trú", "ĐKHK thường trú"),
    label("_back", "Dân tộc", "Tôn giáo", "DẤU VẾT RIÊNG VÀ DỊ HÌNH", "Đặc điểm nhận dạng"),
    label("_title", "GIẤY CHỨNG MINH NHÂN DÂN"),
]


def parse(lines: list[Line]) -> Draft:
    doc = Doc(lines, LABELS)
    d = Draft("cmnd", list(FIELDS))
    v = doc.value("id_number", accept=id_test(9))
    if v is None:
        v = first_fallback(doc, id_test(9), unique=True)
    put_id(d, "id_number", v, 9)
    put_name(d, "full_name", doc.value("full_name", accept=is_name) or printed_name_fallback(doc))
    put_date(d, "date_of_birth", doc.value("date_of_birth", accept=has_date))
    put_address(d, "place_of_origin", doc.value("place_of_origin", lines=2, accept=is_text))
    put_address(d, "place_of_residence", doc.value("place_of_residence", lines=3, accept=is_text))
    if "id_number" in d.fields:
        d.check(checks.cmnd_structure("id_number", d.fields["id_number"]))
    return d
