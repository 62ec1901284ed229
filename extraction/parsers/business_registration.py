"""Enterprise registration certificate "GIẤY CHỨNG NHẬN ĐĂNG KÝ DOANH NGHIỆP"."""

from __future__ import annotations

from extraction import checks
from extraction.fields import Draft, verified
from extraction.labels import Doc, Line
from extraction.normalize import find_date, join_wrapped, norm_money, norm_sex
from extraction.parsers.common import (
    REPAIRED,
    drop_specks,
    has_date,
    has_sex,
    id_test,
    is_name,
    is_text,
    label,
    put_address,
    put_date,
    put_id,
    put_name,
)
from extraction.vocab import COMPANY_TYPES, restore

FIELDS = ["enterprise_code", "company_name", "head_office_address", "charter_capital_vnd",
          "legal_representative", "legal_representative_id_number", "first_registration_date"]

LABELS = [
    label("enterprise_code", "Mã số doanh nghiệp"),
    label("first_registration_date", "Đăng ký lần đầu"),
    label("company_name", "Tên công ty viết bằng tiếng Việt"),
    label("head_office_address", "Địa chỉ trụ sở chính"),
    label("charter_capital_vnd", "Vốn điều lệ"),
    label("representative", "Người đại diện theo pháp luật của công ty", "Người đại diện theo pháp luật"),
    label("name", "Họ và tên", "Họ tên"),
    label("rep_id", "Số định danh cá nhân", "Số giấy tờ pháp lý của cá nhân", "Số giấy chứng thực cá nhân"),
    label("rep_dob", "Sinh ngày", "Ngày sinh"),
    label("rep_sex", "Giới tính"),
    label("_other", "Tên công ty viết bằng tiếng nước ngoài", "Tên công ty viết tắt", "1. Tên công ty",
          "Điện thoại", "Fax", "Email", "Website", "Bằng chữ", "Mệnh giá cổ phần", "Tổng số cổ phần",
          "Dân tộc", "Quốc tịch", "Chức danh", "Loại giấy tờ pháp lý của cá nhân", "Địa chỉ thường trú",
          "Địa chỉ liên lạc", "Đăng ký thay đổi lần thứ"),
]


def _has_money(text: str) -> bool:
    return (norm_money(text) or 0) >= 1000


def parse(lines: list[Line]) -> Draft:
    doc = Doc(lines, LABELS)
    d = Draft("business_registration", list(FIELDS))
    code = doc.value("enterprise_code", accept=id_test(10))
    put_id(d, "enterprise_code", code, 10)
    put_date(d, "first_registration_date", doc.value("first_registration_date", accept=has_date))

    name = doc.value("company_name", lines=3, accept=is_text)
    if name is not None:
        # The type of company opens the name in words the law prescribes: restore its diacritics.
        # A lone lower-case letter inside the capitals is an OCR speck.
        printed = " ".join(w for w in (join_wrapped(name.parts) or "").split() if not (len(w) == 1 and w.islower()))
        text, changed = restore(drop_specks(printed), COMPANY_TYPES, prefix_only=True)
        d.put("company_name", text, name, quality=REPAIRED if changed else 1.0)
    put_address(d, "head_office_address", doc.value("head_office_address", lines=3, accept=is_text))
    capital = doc.value("charter_capital_vnd", accept=_has_money)
    if capital is not None:
        d.put("charter_capital_vnd", norm_money(capital.text), capital)

    # The representative's own labels follow the section heading; before it, "Họ và tên"
    # could belong to someone else (an owner, a member).
    heading = doc.find("representative")
    after = heading[0].line if heading else -1
    put_name(d, "legal_representative", doc.value("name", accept=is_name, after=after))
    put_id(d, "legal_representative_id_number", doc.value("rep_id", accept=id_test(12), after=after), 12)

    if code is not None and "enterprise_code" in d.fields:
        c = checks.tax_code("enterprise_code", d.fields["enterprise_code"])
        if c.ok:
            d.confidence["enterprise_code"] = max(d.confidence["enterprise_code"], verified(code.confidence))
        d.check(c)
    _representative_checks(d, doc, after)
    return d


def _representative_checks(d: Draft, doc: Doc, after: int) -> None:
    rep_id = d.fields.get("legal_representative_id_number")
    if not rep_id:
        return
    field = "legal_representative_id_number"
    d.check(checks.id_structure(field, rep_id))
    if len(rep_id) != 12:
        return
    # Birth date and sex are printed beside the id: not contract fields, but they confirm its digits.
    dob = doc.value("rep_dob", accept=has_date, after=after)
    found = find_date(dob.text) if dob else None
    if found:
        c = checks.dob_agrees(rep_id, found[0], field=field)
        d.check(c.model_copy(update={"rule": "agrees_with_date_of_birth"}))
    sex = doc.value("rep_sex", accept=has_sex, after=after)
    if sex is not None:
        c = checks.sex_agrees(rep_id, norm_sex(sex.text) or "", field=field)
        d.check(c.model_copy(update={"rule": "agrees_with_sex"}))

