"""A4 templates (birth certificate, official letter, business registration), drawn in points.

Layouts follow the samples; the letter follows the Decree 30/2020 arrangement (authority block
top left, national motto top right, number and "V/v" summary under the authority, place and date
under the motto, signature block bottom right).
"""

from __future__ import annotations

import random
from datetime import date

from . import data
from .people import (Person, add_years, dmy, long_date, money, random_address, random_date,
                     tax_code)
from .sheet import Sheet
from .fonts import text_width

A4_W, A4_H = 595.28, 841.89
CENTER = A4_W / 2


def _a4(rng: random.Random) -> Sheet:
    tint = rng.randint(246, 255)
    return Sheet(A4_W, A4_H, 1.0, paper=(tint, tint, max(238, tint - rng.randint(0, 6))),
                 offset=(rng.uniform(-6, 6), rng.uniform(-6, 6)))


def _motto(sh: Sheet, cx: float, y: float, font: str, size: float) -> None:
    sh.text(cx, y, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", font, size, anchor="m")
    motto = "Độc lập - Tự do - Hạnh phúc"
    sh.text(cx, y + 15.5, motto, font, size, anchor="m")
    half = text_width(motto, font, size) / 2
    sh.line(cx - half * 0.75, y + 19.5, cx + half * 0.75, y + 19.5, width=0.7)


def birth_certificate(p: Person, rng: random.Random) -> tuple[Sheet, dict]:
    sh = _a4(rng)
    # Most offices print this form in DejaVu-like wide faces; some in Times.
    if rng.random() < 0.75:
        lab, val, head, size = "dv-sans", "dv-serif-bold", "dv-serif-bold", 12.0
    else:
        lab, val, head, size = "serif", "serif-bold", "serif-bold", 13.0
    _motto(sh, CENTER, 54.7, head, 12.2)
    sh.text(CENTER, 126, "GIẤY KHAI SINH", head, 20, anchor="m")
    sh.text(66, 148, f"Số: {p.birth_registration_number}", lab, size)
    sh.text(325, 148, f"Quyển số: {p.birth_registration_book}", lab, size)
    rows = [
        ("Họ, chữ đệm, tên:", p.full_name_upper),
        ("Ngày, tháng, năm sinh:", dmy(p.date_of_birth)),
        ("Giới tính:", p.sex),
        ("Dân tộc:", p.ethnicity),
        ("Quốc tịch:", p.nationality),
        ("Nơi sinh:", p.birth_facility),
        ("Quê quán:", p.place_of_origin.district_level()),
        ("Số định danh cá nhân:", p.id_number),
        ("Họ, chữ đệm, tên người cha:", p.father_name.upper()),
        ("Họ, chữ đệm, tên người mẹ:", p.mother_name.upper()),
        ("Nơi đăng ký khai sinh:", p.registration_place),
        ("Ngày, tháng, năm đăng ký:", dmy(p.birth_registration_date)),
    ]
    x, y, right = 76, 182, A4_W - 60
    for label, value in rows:
        vx = x + sh.text(x, y, label, lab, size) + rng.uniform(4, 14)
        y = sh.para(vx, y, value, val, size + 0.2, right - vx, 17) + 8
    y += 40
    sh.text(413.6, y, "NGƯỜI KÝ GIẤY KHAI SINH", head, 11.4, anchor="m")
    sh.text(413.6, y + 82, p.birth_certificate_signer, head, 11.4, anchor="m")
    fields = {
        "full_name": p.full_name,
        "date_of_birth": p.date_of_birth.isoformat(),
        "sex": p.sex,
        "ethnicity": p.ethnicity,
        "nationality": p.nationality,
        "id_number": p.id_number,
        "father_name": p.father_name,
        "mother_name": p.mother_name,
        "registration_number": p.birth_registration_number,
        "registration_book": p.birth_registration_book,
        "registration_place": p.registration_place,
        "registration_date": p.birth_registration_date.isoformat(),
    }
    return sh, fields


def _authority(rng: random.Random) -> tuple[list[str], str, str, tuple[str, ...]]:
    """(authority lines, place for the date line, number suffix, signature titles)."""
    ward, district, province = rng.choice(data.WARDS)
    seat = data.PROVINCES[province]["seat"]
    kind = rng.choices(["province", "district", "department"], weights=[4, 4, 2])[0]
    if kind == "province":
        lines, place = ["ỦY BAN NHÂN DÂN", province.upper()], seat
    elif kind == "district":
        short = district.split(" ", 1)[1] if district.startswith(("thành phố", "huyện", "thị xã")) \
            else district.removeprefix("Quận ").strip()
        lines = ["ỦY BAN NHÂN DÂN", district.upper()]
        place = district if district.startswith("Quận") else short
    else:
        dept, code, units = rng.choice([("SỞ TƯ PHÁP", "STP", ["VP", "HCTP", "BTTP"]),
                                        ("SỞ NỘI VỤ", "SNV", ["VP", "TCBC", "CCVC"]),
                                        ("SỞ THÔNG TIN VÀ TRUYỀN THÔNG", "STTTT", ["VP", "CNTT"])])
        suffix = f"{code}-{rng.choice(units)}"
        titles = rng.choice([("KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"), ("GIÁM ĐỐC",)])
        return [dept, province.upper()], seat, suffix, titles
    titles = rng.choice([("KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"), ("TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH")])
    return lines, place, f"UBND-{rng.choice(data.LETTER_CODES)}", titles


def official_letter(p: Person, rng: random.Random) -> tuple[Sheet, dict]:
    """The person is the signer; everything else is drawn from `rng`."""
    sh = _a4(rng)
    f, fb = "serif", "serif-bold"
    authority, place, suffix, titles = _authority(rng)
    left_cx = 150.8
    sh.text(left_cx, 52, authority[0], f, 11.4, anchor="m")
    sh.text(left_cx, 67, authority[1], fb, 11.4, anchor="m")
    number = f"{rng.randint(1, 4999)}/{suffix}"
    issued = random_date(rng, date(2023, 1, 1), date(2026, 12, 31))
    sh.text(left_cx, 95.4, f"Số: {number}", f, 11.2, anchor="m")
    _motto(sh, 410, 53, fb, 12.2)
    sh.text(413, 95.4, f"{place}, {long_date(issued)}", rng.choice([f, "serif-italic"]), 11.3,
            anchor="m")
    subject = rng.choice(data.LETTER_SUBJECTS)
    y = sh.para(54.4, 117, subject, f, 10.6, 202, 14)
    y = max(y + 31, 176)
    sh.text(CENTER, y, f"Kính gửi: {rng.choice(data.LETTER_RECIPIENTS)}", f, 12, anchor="m")
    y += 33
    for para in rng.sample(data.LETTER_PARAGRAPHS, rng.randint(2, 4)):
        y = sh.para(72.4, y, para, f, 12, 463, 19.8) + 4
    y += 40
    for t in titles:
        sh.text(432, y, t, fb, 11.4, anchor="m")
        y += 15
    sh.text(432, y + 70, p.full_name, fb, 11.5, anchor="m")
    if rng.random() < 0.5:  # "Nơi nhận" list at the bottom left, as most real letters have
        ny = y - 15 * len(titles)
        sh.text(54.4, ny, "Nơi nhận:", "serif-italic", 10.5)
        for line in ["- Như trên;", f"- Lưu: VT, {suffix.split('-')[-1]}."]:
            ny += 13
            sh.text(54.4, ny, line, f, 9.5)
    fields = {
        "issuing_authority": " ".join(authority),
        "document_number": number,
        "issue_date": issued.isoformat(),
        "subject": subject,
        "signer": p.full_name,
    }
    return sh, fields


def business_registration(p: Person, rng: random.Random) -> tuple[Sheet, dict]:
    """The person is the legal representative; the company is drawn from `rng`."""
    sh = _a4(rng)
    if rng.random() < 0.75:
        f, fb, size = "dv-serif", "dv-serif-bold", 12.2
    else:
        f, fb, size = "serif", "serif-bold", 13.0
    office = random_address(rng)
    form, prefix = rng.choice(data.COMPANY_FORMS)
    name = f"{prefix} {rng.choice(data.COMPANY_TRADES)} {rng.choice(data.COMPANY_BRANDS)}"
    code = tax_code(rng, data.PROVINCES[office.province]["tax"])
    capital = rng.choice(data.CHARTER_CAPITALS)
    adult = max(date(2010, 1, 1), add_years(p.date_of_birth, 20))
    first = random_date(rng, adult, date(2025, 10, 31))

    sh.text(152.5, 54.7, "SỞ KẾ HOẠCH VÀ ĐẦU TƯ", f, 11.4, anchor="m")
    sh.text(150.5, 70, office.province.upper(), fb, 11.4, anchor="m")
    _motto(sh, 410, 54.7, fb, 12.2)
    sh.text(CENTER, 120, "GIẤY CHỨNG NHẬN ĐĂNG KÝ DOANH NGHIỆP", fb, 15, anchor="m")
    sh.text(CENTER, 141, form, fb, 12.9, anchor="m")
    sh.text(CENTER, 162, f"Mã số doanh nghiệp: {code}", fb, 12.2, anchor="m")
    sh.text(CENTER, 180, f"Đăng ký lần đầu: {long_date(first)}", f, size, anchor="m")

    hx, cx, width, lead = 54.7, 69, 455, 18.5
    sections = [
        ("1. Tên công ty", [f"Tên công ty viết bằng tiếng Việt: {name}"]),
        ("2. Địa chỉ trụ sở chính", [office.full()]),
        ("3. Vốn điều lệ", [f"Vốn điều lệ: {money(capital)}"]),
        ("4. Người đại diện theo pháp luật của công ty", [
            f"Họ và tên: {p.full_name_upper}     Giới tính: {p.sex}",
            f"Sinh ngày: {dmy(p.date_of_birth)}     Dân tộc: {p.ethnicity}     "
            f"Quốc tịch: {p.nationality}",
            f"Số định danh cá nhân: {p.id_number}",
        ]),
    ]
    y = 218
    for header, body in sections:
        sh.text(hx, y, header, fb, 12)
        y += lead
        for line in body:
            y = sh.para(cx, y, line, f, size, width, lead) + 1.5
        y += 4
    fields = {
        "enterprise_code": code,
        "company_name": name,
        "head_office_address": office.full(),
        "charter_capital_vnd": capital,
        "legal_representative": p.full_name,
        "first_registration_date": first.isoformat(),
        "legal_representative_id_number": p.id_number,
    }
    return sh, fields
