"""A4 forms of civil-status and residence dossiers, drawn in points like pages.py.

- `marriage_certificate`: "GIẤY CHỨNG NHẬN KẾT HÔN" (Decree 123/2015, Circular 04/2020/TT-BTP),
  issued by a commune People's Committee. The spouses' particulars sit in two columns, "Thông tin
  người chồng" / "Thông tin người vợ": either a table with the labels in a column of their own
  and one value a row per spouse, or two blocks that each repeat the labels. Long addresses wrap
  inside their column, so a reader going across the page interleaves the two.
- `residence_form`: form CT01 "TỜ KHAI THAY ĐỔI THÔNG TIN CƯ TRÚ" (Circular 66/2023/TT-BCA),
  typed in: numbered items 1-10 (some two to a line, ids in 12 boxes of one digit), the table of
  the household members changing with the declarant, the date line and the signature columns.

The person passed in is the husband or wife (by sex) on the certificate and the declarant on
CT01; the other people are drawn from `rng`. Fonts, spacing, column widths, the number of table
rows and where wrapped lines break vary between instances.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from . import data
from .fonts import text_width
from .pages import A4_W, CENTER, _a4, _motto
from .people import (
    Person,
    add_years,
    dmy,
    email_address,
    phone_number,
    random_address,
    random_date,
    random_name,
    random_relative,
)
from .sheet import INK, Sheet


def _segments(sh: Sheet, x: float, y: float, parts: list[tuple[str, str, float, float]]) -> float:
    """Draw pieces of one printed line one after another: (text, font, size, raise). A raised
    small piece is a footnote mark ("Kính gửi(1):"). The line is recorded once, whole.
    Returns the x after the last piece."""
    for text, font, size, rise in parts:
        sh.text(x, y - rise, text, font, size, record=False)
        x += text_width(text, font, size)
    sh.lines.append("".join(p[0] for p in parts))
    return x


def _flow(sh: Sheet, x0: float, first_x: float, y: float, text: str, font: str, size: float,
          right: float, leading: float) -> float:
    """Text typed after a label: the first line from first_x, the rest from the margin x0, as a
    word processor wraps a paragraph. Returns the baseline after the last line."""
    words = text.split()
    line, width = "", right - first_x
    x = first_x
    while words:
        trial = f"{line} {words[0]}" if line else words[0]
        if line and text_width(trial, font, size) > width:
            sh.text(x, y, line, font, size)
            y += leading
            line, width, x = "", right - x0, x0
            continue
        line = trial
        words.pop(0)
    if line:
        sh.text(x, y, line, font, size)
        y += leading
    return y


def _place_name(district: str) -> str:
    """The place on a date line: "Thủ Dầu Một" for "thành phố Thủ Dầu Một", "Quận 1" as is."""
    for prefix in ("thành phố ", "huyện ", "thị xã "):
        if district.startswith(prefix):
            return district[len(prefix):]
    return district


# ---------------------------------------------------------------------------- marriage certificate
_SPOUSE_ROWS = ("Họ, chữ đệm, tên", "Ngày, tháng, năm sinh", "Dân tộc", "Quốc tịch", "Nơi cư trú",
                "Giấy tờ tùy thân")


def _spouses(p: Person, rng: random.Random) -> tuple[Person, Person, date]:
    """Husband, wife (one of them is p) and a registration date when both were of age (20 for
    a man, 18 for a woman) and the 2015 decree applied."""
    if p.sex == "Nam":
        husband = p
        wife = random_relative(rng, "Nữ", add_years(p.date_of_birth, -3),
                               min(add_years(p.date_of_birth, 9), date(2007, 12, 31)))
    else:
        wife = p
        husband = random_relative(rng, "Nam", add_years(p.date_of_birth, -10),
                                  min(add_years(p.date_of_birth, 3), date(2005, 12, 31)))
    start = max(date(2016, 1, 1), add_years(husband.date_of_birth, 20),
                add_years(wife.date_of_birth, 18))
    end = max(start, min(date(2025, 12, 31), add_years(start, 22)))
    return husband, wife, random_date(rng, start, end)


def _identity_paper(q: Person, registered: date, rng: random.Random) -> str:
    """"Giấy tờ tùy thân" as the officer wrote it: a card issued before the registration (the
    12-digit cards from 2016), or the personal number alone."""
    first = max(date(2016, 1, 1), add_years(q.date_of_birth, 14))
    if first >= registered:
        return f"Số định danh cá nhân: {q.id_number}"
    issued = dmy(random_date(rng, first, registered - timedelta(days=1)))
    return rng.choice(data.IDENTITY_PAPERS).format(id=q.id_number, issued=issued)


def marriage_certificate(p: Person, rng: random.Random) -> tuple[Sheet, dict]:
    sh = _a4(rng)
    style = rng.choices(["times", "dejavu", "times-bold-values"], weights=[4, 3, 3])[0]
    if style == "dejavu":
        lab, val, head, size = "dv-sans", "dv-serif-bold", "dv-serif-bold", rng.uniform(10.5, 11.5)
    else:
        lab, head, size = "serif", "serif-bold", rng.uniform(12, 13.2)
        val = "serif-bold" if style == "times-bold-values" else "serif"
    husband, wife, registered = _spouses(p, rng)
    if rng.random() < 0.4:  # many couples already share a home when they register
        wife_home = husband.place_of_residence
    else:
        wife_home = wife.place_of_residence
    homes = {"husband": husband.place_of_residence, "wife": wife_home}
    office = rng.choice([husband.place_of_residence, wife_home])
    place = f"Ủy ban nhân dân {office.ward}"
    if rng.random() < 0.6:
        place += f", {office.district}, {office.province}"
    number = str(rng.randint(1, 260))
    book = rng.choice([f"{rng.randint(1, 6):02d}/{registered.year}", f"{rng.randint(1, 6):02d}"])

    x0 = rng.uniform(48, 64)
    right = A4_W - rng.uniform(44, 60)
    top = rng.uniform(48, 58)
    _motto(sh, CENTER, top, head, 12.2)
    y = top + rng.uniform(54, 72)
    sh.text(CENTER, y, "GIẤY CHỨNG NHẬN KẾT HÔN", head, rng.uniform(16.5, 20), anchor="m")
    y += rng.uniform(24, 32)
    if rng.random() < 0.5:  # number and book on one line under the title ...
        sh.text(x0 + rng.uniform(0, 30), y, f"Số: {number}", lab, size)
        sh.text(CENTER + rng.uniform(20, 70), y, f"Quyển số: {book}", lab, size)
        y += rng.uniform(30, 40)
    else:  # ... or stacked at the right
        nx = CENTER + rng.uniform(60, 110)
        sh.text(nx, y, f"Số: {number}", lab, size)
        sh.text(nx, y + size * 1.5, f"Quyển số: {book}", lab, size)
        y += size * 1.5 + rng.uniform(30, 40)

    people = {"husband": husband, "wife": wife}
    order = ["husband", "wife"] if rng.random() < 0.8 else ["wife", "husband"]
    heading = {"husband": "Thông tin người chồng", "wife": "Thông tin người vợ"}
    values = {
        who: [q.full_name_upper, dmy(q.date_of_birth), q.ethnicity, q.nationality,
              homes[who].full(), _identity_paper(q, registered, rng)]
        for who, q in people.items()
    }
    leading = size * rng.uniform(1.35, 1.55)
    gap = rng.uniform(8, 18)  # between rows
    grid = rng.random() < 0.4
    if rng.random() < 0.5:
        y = _spouse_table(sh, rng, x0, right, y, order, heading, values, lab, val, head, size,
                          leading, gap, grid)
    else:
        y = _spouse_blocks(sh, rng, x0, right, y, order, heading, values, lab, val, head, size,
                           leading, gap)

    y += rng.uniform(10, 22)
    label_w = sh.text(x0, y, "Nơi đăng ký:", lab, size) + rng.uniform(3, 8)
    y = _flow(sh, x0, x0 + label_w, y, place, val, size, right, leading)
    y += gap / 2
    date_label = rng.choice(["Ngày, tháng, năm đăng ký:", "Ngày đăng ký:"])
    printed = dmy(registered) if rng.random() < 0.6 else \
        f"ngày {registered:%d} tháng {registered:%m} năm {registered.year}"
    vx = x0 + sh.text(x0, y, date_label, lab, size) + rng.uniform(4, 10)
    sh.text(vx, y, printed, val, size)
    y += rng.uniform(36, 52)

    # the spouses sign on the left, the officer on the right
    sx = [x0 + rng.uniform(50, 80), x0 + rng.uniform(190, 215)]
    for k, who in enumerate(order):
        sh.text(sx[k], y, "Chồng" if who == "husband" else "Vợ", head, size - 0.5, anchor="m")
        sh.text(sx[k], y + size * 1.3, "(Ký, ghi rõ họ, chữ đệm, tên)", "serif-italic", 9.5,
                anchor="m")
        sh.text(sx[k], y + 78, people[who].full_name, lab, size - 0.5, anchor="m")
    ox = right - rng.uniform(95, 120)
    sh.para(ox, y, "NGƯỜI KÝ GIẤY CHỨNG NHẬN KẾT HÔN", head, 10.5, 232, 13, anchor="m")
    sh.text(ox, y + 28, "(Ký, ghi rõ họ, chữ đệm, tên, chức vụ, đóng dấu)", "serif-italic", 9,
            anchor="m")
    sh.text(ox, y + 78, rng.choice(["CHỦ TỊCH", "PHÓ CHỦ TỊCH"]), head, 10.5, anchor="m")
    signer = " ".join(random_name(rng, rng.choice(["Nam", "Nữ"])))
    sh.text(ox, y + 96, signer, head, 11, anchor="m")

    fields = {}
    for who, q in people.items():
        fields |= {
            f"{who}_name": q.full_name,
            f"{who}_date_of_birth": q.date_of_birth.isoformat(),
            f"{who}_ethnicity": q.ethnicity,
            f"{who}_nationality": q.nationality,
            f"{who}_residence": homes[who].full(),
            f"{who}_id_number": q.id_number,
        }
    fields |= {
        "registration_place": place,
        "registration_date": registered.isoformat(),
        "registration_number": number,
        "registration_book": book,
    }
    return sh, fields


def _spouse_table(sh: Sheet, rng: random.Random, x0: float, right: float, y: float,
                  order: list[str], heading: dict, values: dict, lab: str, val: str, head: str,
                  size: float, leading: float, gap: float, grid: bool) -> float:
    """Labels in a column of their own, then one column per spouse."""
    colon = ":" if rng.random() < 0.3 else ""
    labels = [r + colon for r in _SPOUSE_ROWS]
    lw = max(text_width(t, lab, size) for t in labels) + rng.uniform(10, 28)
    c1 = x0 + lw
    cw = (right - c1) / 2
    pad = rng.uniform(4, 8)
    cols = [c1, c1 + cw]
    top = y - size - 2
    for k, who in enumerate(order):
        sh.text(cols[k] + cw / 2, y, heading[who], head, size, anchor="m")
    y += leading + gap * 0.6
    rules = [top, y - size - 2 - gap * 0.3]
    for i, label in enumerate(labels):
        sh.text(x0, y, label, lab, size)
        bottoms = [sh.para(cols[k] + pad, y, values[who][i], val, size, cw - 2 * pad, leading)
                   for k, who in enumerate(order)]
        y = max(bottoms) + gap
        rules.append(y - size - 2 - gap * 0.4)
    if grid:
        for ry in rules:
            sh.line(x0 - 4, ry, right, ry, width=0.6)
        for rx in (x0 - 4, c1, c1 + cw, right):
            sh.line(rx, rules[0], rx, rules[-1], width=0.6)
    return y


def _spouse_blocks(sh: Sheet, rng: random.Random, x0: float, right: float, y: float,
                   order: list[str], heading: dict, values: dict, lab: str, val: str, head: str,
                   size: float, leading: float, gap: float) -> float:
    """Two blocks side by side, each with its heading and the labels repeated before the values;
    "Dân tộc" and "Quốc tịch" share a line on some prints."""
    split = rng.uniform(0.47, 0.53)
    mid_gap = rng.uniform(12, 26)
    cols = [(x0, x0 + (right - x0) * split - mid_gap / 2),
            (x0 + (right - x0) * split + mid_gap / 2, right)]
    for k, who in enumerate(order):
        a, b = cols[k]
        sh.text((a + b) / 2, y, heading[who], head, size, anchor="m")
    y += leading + gap * 0.6
    together = rng.random() < 0.5
    rows: list[list[tuple[str, int]]] = [[(_SPOUSE_ROWS[0], 0)], [(_SPOUSE_ROWS[1], 1)]]
    if together:
        rows.append([(_SPOUSE_ROWS[2], 2), (_SPOUSE_ROWS[3], 3)])
    else:
        rows += [[(_SPOUSE_ROWS[2], 2)], [(_SPOUSE_ROWS[3], 3)]]
    rows += [[(_SPOUSE_ROWS[4], 4)], [(_SPOUSE_ROWS[5], 5)]]
    for row in rows:
        bottoms = []
        for k, who in enumerate(order):
            a, b = cols[k]
            if len(row) == 2:  # "Dân tộc: Kinh   Quốc tịch: Việt Nam"
                x = a
                for label, i in row:
                    x += sh.text(x, y, f"{label}:", lab, size) + 4
                    x += sh.text(x, y, values[who][i], val, size) + rng.uniform(10, 18)
                bottoms.append(y + leading)
                continue
            label, i = row[0]
            lw = sh.text(a, y, f"{label}:", lab, size) + 4
            if lw + text_width(values[who][i], val, size) <= b - a or rng.random() < 0.6:
                bottoms.append(_flow(sh, a, a + lw, y, values[who][i], val, size, b, leading))
            else:  # the value under its label
                bottoms.append(sh.para(a + rng.uniform(0, 12), y + leading, values[who][i], val,
                                       size, b - a - 12, leading))
        y = max(bottoms) + gap * 0.5
    return y


# ---------------------------------------------------------------------------- residence form CT01
def _head_of_household(p: Person, rng: random.Random) -> tuple[str, Person]:
    """The declarant's relationship to the head of household and the head (p when "Chủ hộ")."""
    options = []
    for printed, own_sex, head_sex, lo, hi, weight in data.HOUSEHOLD_RELATIONS:
        if own_sex and own_sex != p.sex:
            continue
        if p.date_of_birth.year + lo < 1932 or p.date_of_birth.year + hi > 2007:
            continue
        options.append((printed, head_sex, lo, hi, weight))
    printed, head_sex, lo, hi, _ = rng.choices(options, [o[-1] for o in options])[0]
    if printed == "Chủ hộ":
        return printed, p
    sex = head_sex or rng.choice(["Nam", "Nữ"])
    y0, y1 = p.date_of_birth.year + lo, p.date_of_birth.year + hi
    # siblings share their father's surname, and children their father's
    shared = printed == "Em" or (printed in ("Con", "Cháu") and sex == "Nam") or printed == "Cha"
    surname = p.surname if shared else None
    head = random_relative(rng, sex, date(max(1932, y0), 1, 1), date(min(2007, y1), 12, 31),
                           surname)
    return printed, head


def _boxes(sh: Sheet, x: float, y: float, digits: str, font: str, size: float,
           rng: random.Random) -> float:
    """The 12 joined boxes of an id on CT01, one digit in each; returns the right edge."""
    w = rng.uniform(14, 18)
    h = size + rng.uniform(4, 7)
    top = y - size - (h - size) / 2 + 2
    for k, d in enumerate(digits):
        sh.rect(x + k * w, top, x + (k + 1) * w, top + h, outline=INK, width=rng.uniform(0.5, 0.9))
        sh.text(x + k * w + w / 2, y, d, font, size, anchor="m", record=False)
    sh.lines.append(digits)
    return x + len(digits) * w


def _phone_print(phone: str, rng: random.Random) -> str:
    style = rng.random()
    if style < 0.6:
        return phone
    sep = " " if style < 0.85 else "."
    return f"{phone[:4]}{sep}{phone[4:7]}{sep}{phone[7:]}"


def residence_form(p: Person, rng: random.Random) -> tuple[Sheet, dict]:
    """The person is the declarant; the household head and members are drawn from `rng`."""
    sh = _a4(rng)
    style = rng.choices(["times", "arial", "dejavu"], weights=[6, 2, 2])[0]
    f, fb, fi, size = {
        "times": ("serif", "serif-bold", "serif-italic", rng.uniform(12, 13.2)),
        "arial": ("sans", "sans-bold", "serif-italic", rng.uniform(10.8, 11.6)),
        "dejavu": ("dv-sans", "dv-sans-bold", "serif-italic", rng.uniform(10.2, 11)),
    }[style]
    val = fb if rng.random() < 0.3 else f
    leading = size * rng.uniform(1.45, 1.75)
    x0 = rng.uniform(52, 70)
    right = A4_W - rng.uniform(42, 58)
    tab = x0 + (right - x0) * rng.uniform(0.55, 0.62)  # second item of a shared line

    relation, head = _head_of_household(p, rng)
    home = p.place_of_residence if rng.random() < 0.5 else random_address(rng)
    office = f"Công an {home.ward}"
    if rng.random() < 0.5:
        office += f", {home.district}"
        if rng.random() < 0.5:
            office += f", {home.province}"
    head_words = ("ông " if head.sex == "Nam" else "bà ") + head.full_name
    request = rng.choice(data.RESIDENCE_REQUESTS)
    if "{head}" in request and head is p:
        request = "Đăng ký thường trú tại {address}"
    request = request.format(head=head_words, address=home.full())
    phone = phone_number(rng) if rng.random() < 0.92 else None
    email = email_address(rng, p) if rng.random() < 0.6 else None
    shown_email = email
    if email and rng.random() < 0.15:  # some type their address with capitals
        user, domain = email.split("@")
        shown_email = user[:1].upper() + user[1:] + "@" + domain
    declared = random_date(rng, date(2024, 1, 1), date(2025, 12, 31))
    declared = max(declared, add_years(p.date_of_birth, 14))

    y = rng.uniform(40, 50)
    if rng.random() < 0.85:
        sh.text(right, y, "Mẫu CT01 ban hành kèm theo Thông tư số 66/2023/TT-BCA", fi, 9.5,
                anchor="r")
        sh.text(right, y + 11, "ngày 17/11/2023 của Bộ trưởng Bộ Công an", fi, 9.5, anchor="r")
        y += rng.uniform(30, 38)
    else:
        y += 8
    _motto(sh, CENTER, y, fb, 12.2)
    y += rng.uniform(50, 62)
    sh.text(CENTER, y, "TỜ KHAI THAY ĐỔI THÔNG TIN CƯ TRÚ", fb, rng.uniform(13.5, 15.5),
            anchor="m")
    y += rng.uniform(30, 40)

    def mark(n: int) -> tuple[str, str, float, float]:
        return (f"\u2009({n})", f, size * 0.62, size * 0.35)

    kx = x0 + rng.uniform(30, 90)
    end = _segments(sh, kx, y, [("Kính gửi", f, size, 0), mark(1), (": ", f, size, 0)])
    y = _flow(sh, kx, end, y, office, val, size, right, leading) + leading * 0.3

    def item(x: float, y: float, label: str, value: str | None, stop: float) -> float:
        """"n. Label: value" from x; a blank is a dotted leader. Returns the baseline after."""
        lw = sh.text(x, y, label, f, size) + rng.uniform(4, 9)
        if value is None:
            sh.text(x + lw, y, "." * max(3, int((stop - x - lw) / text_width(".", f, size)) - 2),
                    f, size)
            return y + leading
        return _flow(sh, x0, x + lw, y, value, val, size, stop, leading)

    pairs = rng.random() < 0.7

    def pair(y: float, first: tuple[str, str | None], second: tuple[str, str | None]) -> float:
        """Two items on one line when both fit their halves (the printed form's layout), else
        one a line."""
        def fits(x: float, stop: float, label: str, value: str | None) -> bool:
            need = text_width(label, f, size) + 9 + text_width(value or "." * 20, val, size)
            return x + need <= stop

        if pairs and fits(x0, tab - 6, *first) and fits(tab, right, *second):
            item(x0, y, *first, tab - 6)
            return item(tab, y, *second, right)
        y = item(x0, y, *first, right)
        return item(x0, y, *second, right)

    phone_shown = _phone_print(phone, rng) if phone else None
    y = item(x0, y, "1. Họ, chữ đệm và tên:", p.full_name_upper, right)
    y = pair(y, ("2. Ngày, tháng, năm sinh:", dmy(p.date_of_birth)), ("3. Giới tính:", p.sex))
    lw = sh.text(x0, y, "4. Số định danh cá nhân:", f, size) + rng.uniform(6, 14)
    _boxes(sh, x0 + lw, y, p.id_number, val, size, rng)
    y += leading * 1.15
    y = pair(y, ("5. Số điện thoại liên hệ:", phone_shown), ("6. Email:", shown_email))
    y = pair(y, ("7. Họ, chữ đệm và tên chủ hộ:", head.full_name_upper),
             ("8. Mối quan hệ với chủ hộ:", relation))
    lw = sh.text(x0, y, "9. Số định danh cá nhân của chủ hộ:", f, size) + rng.uniform(6, 14)
    _boxes(sh, x0 + lw, y, head.id_number, val, size, rng)
    y += leading * 1.15
    end = _segments(sh, x0, y, [("10. Nội dung đề nghị", f, size, 0), mark(2), (": ", f, size, 0)])
    y = _flow(sh, x0, end, y, request, val, size, right, leading)
    sh.text(x0, y, "11. Những thành viên trong hộ gia đình cùng thay đổi:", f, size)
    y += leading * 0.6
    y = _members(sh, rng, x0, right, y, p, head, fb, f, size)

    y += rng.uniform(18, 30)
    sx = right - rng.uniform(110, 140)
    if rng.random() < 0.85:
        line = f"{_place_name(home.district)}, ngày {declared:%d} tháng {declared:%m} năm {declared.year}"
    else:  # left for the declarant to write by hand
        line, declared = "…….., ngày ….. tháng ….. năm ……", None
    sh.text(sx, y, line, fi, size - 0.5, anchor="m")
    y += leading * 1.2
    _signatures(sh, rng, x0, right, y, p, head, relation, fb, fi, size)
    if rng.random() < 0.6:
        _footnotes(sh, x0, right, fi)

    fields = {
        "addressed_to": office,
        "full_name": p.full_name,
        "date_of_birth": p.date_of_birth.isoformat(),
        "sex": p.sex,
        "id_number": p.id_number,
        "phone": phone,
        "email": email,
        "head_of_household_name": head.full_name,
        "relationship_to_head": relation,
        "head_of_household_id_number": head.id_number,
        "request": request,
        "declaration_date": declared.isoformat() if declared else None,
    }
    return sh, {k: v for k, v in fields.items() if v is not None}


_MEMBER_COLUMNS = [("TT", 0.06), ("Họ, chữ đệm và tên", 0.27), ("Ngày, tháng, năm sinh", 0.16),
                   ("Giới tính", 0.1), ("Số định danh cá nhân", 0.22),
                   ("Mối quan hệ với chủ hộ", 0.19)]


def _members(sh: Sheet, rng: random.Random, x0: float, right: float, y: float, p: Person,
             head: Person, fb: str, f: str, size: float) -> float:
    """The table of item 11: a header row and 1-3 rows, filled or left blank."""
    hs = size - rng.uniform(1.5, 2.5)
    widths = [w + rng.uniform(-0.015, 0.015) for _, w in _MEMBER_COLUMNS]
    total = sum(widths)
    xs = [x0]
    for w in widths:
        xs.append(xs[-1] + (right - x0) * w / total)
    top = y
    y += hs + 4
    bottom = y
    for (title, _), a, b in zip(_MEMBER_COLUMNS, xs, xs[1:]):
        bottom = max(bottom, sh.para((a + b) / 2, y, title, fb, hs, b - a - 6, hs * 1.2,
                                     anchor="m"))
    rules = [top, bottom - hs * 0.6]
    y = bottom + hs * 0.5
    filled = rng.choices([0, 1, 2, 3], weights=[3, 4, 3, 2])[0]
    rows = max(filled, rng.randint(1, 3))
    row_h = hs * rng.uniform(1.7, 2.1)
    upper = rng.random() < 0.5
    for r in range(rows):
        if r < filled:
            relation = rng.choice(data.MEMBER_RELATIONS)
            sex = {"Vợ": "Nữ", "Mẹ": "Nữ", "Chồng": "Nam", "Cha": "Nam"}.get(relation) \
                or rng.choice(["Nam", "Nữ"])
            born = date(max(1940, head.date_of_birth.year - 60), 1, 1), date(2024, 12, 31)
            if relation in ("Con", "Cháu"):
                born = date(min(2020, head.date_of_birth.year + 18), 1, 1), date(2024, 12, 31)
            m = random_relative(rng, sex, *born,
                                surname=head.surname if relation == "Con" and head.sex == "Nam"
                                else None)
            cells = [str(r + 1), m.full_name_upper if upper else m.full_name, dmy(m.date_of_birth),
                     m.sex, m.id_number, relation]
            for cell, a, b in zip(cells, xs, xs[1:]):
                sh.para((a + b) / 2, y + row_h * 0.55, cell, f, hs, b - a - 4, hs * 1.15,
                        anchor="m")
        y += row_h
        rules.append(y - hs * 0.2)
    for ry in rules:
        sh.line(x0, ry, right, ry, width=0.6)
    for rx in xs:
        sh.line(rx, rules[0], rx, rules[-1], width=0.6)
    return rules[-1]


def _signatures(sh: Sheet, rng: random.Random, x0: float, right: float, y: float, p: Person,
                head: Person, relation: str, fb: str, fi: str, size: float) -> None:
    titles = ["Ý KIẾN CỦA CHỦ HỘ(3)", "Ý KIẾN CỦA CHỦ SỞ HỮU HOẶC NGƯỜI ĐƯỢC ỦY QUYỀN(4)",
              "Ý KIẾN CỦA CHA, MẸ HOẶC NGƯỜI GIÁM HỘ(5)", "NGƯỜI KÊ KHAI"]
    notes = ["(Ghi rõ nội dung, ký, ghi rõ họ tên)"] * 3 + ["(Ký, ghi rõ họ tên)"]
    n = len(titles)
    w = (right - x0) / n
    ts = size - rng.uniform(2.5, 3.5)
    bottoms = []
    for k, title in enumerate(titles):
        cx = x0 + w * (k + 0.5)
        yy = sh.para(cx, y, title, fb, ts, w - 8, ts * 1.2, anchor="m")
        bottoms.append(sh.para(cx, yy, notes[k], fi, ts - 0.5, w - 8, ts * 1.15, anchor="m"))
    yy = max(bottoms) + rng.uniform(50, 70)
    if head is not p:
        sh.text(x0 + w / 2, yy, head.full_name, fb, size - 1.5, anchor="m")
    sh.text(x0 + w * (n - 0.5), yy, p.full_name, fb, size - 1.5, anchor="m")


def _footnotes(sh: Sheet, x0: float, right: float, fi: str) -> None:
    notes = [
        "(1) Cơ quan đăng ký cư trú.",
        ("(2) Ghi rõ ràng, cụ thể nội dung đề nghị. Ví dụ: đăng ký thường trú; đăng ký tạm trú; "
         "tách hộ; xác nhận thông tin về cư trú."),
        "(3), (4), (5) Áp dụng đối với các trường hợp quy định tại Luật Cư trú.",
    ]
    y = 790.0
    for note in notes:
        y = sh.para(x0, y, note, fi, 8.5, right - x0, 10.5)

