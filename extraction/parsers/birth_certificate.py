"""Birth certificate "GIẤY KHAI SINH"."""

from __future__ import annotations


from extraction.fields import Draft
from extraction.labels import Doc, Label, Line, Value
from extraction.parsers.common import (
    first_fallback,
    has_date,
    has_registry_number,
    has_sex,
    id_test,
    is_name,
    is_text,
    label,
    person_checks,
    put_date,
    put_id,
    put_name,
    put_registry_number,
    put_nationality,
    put_sex,
    put_text,
    wraps_mid_place,
)

FIELDS = ["full_name", "date_of_birth", "sex", "ethnicity", "nationality", "id_number", "father_name",
          "mother_name", "registration_number", "registration_book", "registration_place", "registration_date"]

LABELS = [
    # "Số: 84" only: "Số 12 đường ..." (an address) has no colon.
    Label("registration_number", ("Số",), pattern=r"^\W{0,3}s[o0]\s*[:;.]"),
    label("registration_book", "Quyển số"),
    label("full_name", "Họ, chữ đệm, tên", "Họ và tên", "Họ, chữ đệm và tên"),
    label("date_of_birth", "Ngày, tháng, năm sinh"),
    label("sex", "Giới tính"),
    label("ethnicity", "Dân tộc"),
    label("nationality", "Quốc tịch"),
    label("id_number", "Số định danh cá nhân"),
    # The short forms catch lines whose beginning OCR lost ("lệm, tên người mẹ: ...").
    label("father_name", "Họ, chữ đệm, tên người cha", "Họ và tên cha", "Họ, chữ đệm và tên người cha",
          "tên người cha"),
    label("mother_name", "Họ, chữ đệm, tên người mẹ", "Họ và tên mẹ", "Họ, chữ đệm và tên người mẹ",
          "tên người mẹ"),
    label("registration_place", "Nơi đăng ký khai sinh", "Nơi đăng ký"),
    label("registration_date", "Ngày, tháng, năm đăng ký", "Ngày đăng ký"),
    label("_other", "Nơi sinh", "Quê quán", "Nơi cư trú", "Năm sinh", "NGƯỜI KÝ GIẤY KHAI SINH",
          "Người đi khai sinh", "Quan hệ với người được khai sinh", "Ghi chú", "Bằng chữ"),
]

CUT_OFF = 0.6
def parse(lines: list[Line]) -> Draft:
    doc = Doc(lines, LABELS)
    d = Draft("birth_certificate", list(FIELDS))
    put_registry_number(d, "registration_number", doc.value("registration_number", accept=has_registry_number))
    put_registry_number(d, "registration_book", doc.value("registration_book", accept=has_registry_number))
    put_name(d, "full_name", doc.value("full_name", accept=is_name))
    put_date(d, "date_of_birth", doc.value("date_of_birth", accept=has_date))
    put_sex(d, "sex", doc.value("sex", accept=has_sex))
    put_text(d, "ethnicity", doc.value("ethnicity", accept=is_text), judge_words=False)
    put_nationality(d, "nationality", doc.value("nationality", accept=is_text))
    v = doc.value("id_number", accept=id_test(12))
    # The only 12-digit number on the paper is the child's id, even if its label was lost.
    put_id(d, "id_number", v or first_fallback(doc, id_test(12), unique=True), 12)
    put_name(d, "father_name", doc.value("father_name", accept=is_name))
    put_name(d, "mother_name", doc.value("mother_name", accept=is_name))
    place = doc.value("registration_place", lines=2, accept=is_text, look_ahead=1)
    if place is not None and len(place.parts) > 1 and not wraps_mid_place(place.parts[0]):
        # The next line is not the rest of this one (OCR put another field's wrap there).
        place = Value(place.parts[:1], place.lines[:1], place.confidence, place.label_score,
                      place.min_confidence)
    put_text(d, "registration_place", place)
    if "registration_place" in d.fields and len(d.fields["registration_place"].split()) < 3:
        # "Ủy ban nhân dân <xã>", "Sở Tư pháp ...": a word or two is a cut-off reading.
        d.confidence["registration_place"] = round(d.confidence["registration_place"] * CUT_OFF, 3)
    put_date(d, "registration_date", doc.value("registration_date", accept=has_date))
    person_checks(d)
    return d
