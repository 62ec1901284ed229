"""ID-card templates (ISO ID-1, 85.6 x 54 mm), drawn in 300-dpi pixels on a 1012 x 638 sheet.

Positions, fonts and label wording follow the sample cards in /work/shared/samples. Each template
returns the sheet and the expected `fields` of the contract for what it printed.
"""

from __future__ import annotations

import math
import random
from datetime import date

from . import mrz, qr
from .people import Address, Person, dmy
from .sheet import RED, Color, Drum, Guilloche, Linework, Rosette, Sheet, Waves, wrap
from .fonts import text_width

CARD_W, CARD_H = 1012, 638
PX = 72 / 300  # points per 300-dpi pixel
PHOTO = (200, 204, 209)
# security inks as they print at full cover on white; the pale look comes from thin lines
INKS: tuple[Color, ...] = ((105, 155, 225), (95, 185, 140), (230, 115, 160), (225, 185, 70),
                           (85, 185, 210), (165, 135, 220))


def _card(rng: random.Random, base: tuple[int, int, int], shade_drop: int = 16) -> Sheet:
    jitter = tuple(rng.randint(-3, 3) for _ in range(3))
    base = tuple(min(255, c + j) for c, j in zip(base, jitter))
    shade = tuple(c - shade_drop for c in base)
    zigzag = {"wavelength": rng.uniform(52, 66), "period": rng.uniform(90, 112),
              "amplitude": rng.uniform(32, 44), "phase": rng.uniform(0, 60)}
    offset = (rng.uniform(-4, 4), rng.uniform(-4, 4))
    pattern = Guilloche(base, shade, **zigzag, linework=security_linework(rng))
    return Sheet(CARD_W, CARD_H, PX, pattern=pattern, offset=offset)


def _ink(rng: random.Random) -> Color:
    return tuple(max(0, min(255, c + rng.randint(-12, 12))) for c in rng.choice(INKS))


def security_linework(rng: random.Random) -> tuple[Linework, ...]:
    """The chip cards' guilloche, in card pixels (1 px = 1/300 in): two families of wavy lines
    half a wave apart weaving chains of lenses across the card, sometimes a steeper third family,
    one or two spirograph rosettes and, on most cards, a faint bronze-drum face. Lines are one
    pixel thin; they read as a pale tint from afar but put high-frequency edges everywhere."""
    angle, phase = rng.uniform(-12, 12), rng.uniform(0, 2 * math.pi)
    wave = {"spacing": rng.uniform(7, 11), "wavelength": rng.uniform(90, 160),
            "amplitude": rng.uniform(10, 22), "angle": angle, "swell": rng.uniform(0.2, 0.5),
            "swell_period": rng.uniform(250, 500)}
    ink = _ink(rng)
    works: list[Linework] = [
        Waves(ink, rng.uniform(0.45, 0.65), phase=phase, **wave),
        Waves(ink if rng.random() < 0.5 else _ink(rng), rng.uniform(0.45, 0.65),
              phase=phase + math.pi, **wave),
    ]
    if rng.random() < 0.5:
        works.append(Waves(_ink(rng), rng.uniform(0.3, 0.45), spacing=rng.uniform(12, 18),
                           wavelength=rng.uniform(60, 100), amplitude=rng.uniform(6, 14),
                           phase=rng.uniform(0, 2 * math.pi), angle=angle + rng.uniform(60, 120)))
    for _ in range(rng.randint(1, 2)):
        lobes = rng.randint(30, 60)
        turns = rng.choice([t for t in range(5, 18) if math.gcd(t, lobes) == 1])
        works.append(Rosette(_ink(rng), rng.uniform(0.35, 0.55), cx=rng.uniform(300, 950),
                             cy=rng.uniform(100, 540), radius=rng.uniform(110, 240), lobes=lobes,
                             turns=turns, pens=tuple(sorted(rng.uniform(0.4, 1.3)
                                                            for _ in range(3))),
                             turn=rng.uniform(0, 2 * math.pi)))
    if rng.random() < 0.6:
        works.append(Drum(_ink(rng), rng.uniform(0.3, 0.45), cx=rng.uniform(550, 780),
                          cy=rng.uniform(300, 420), radius=rng.uniform(200, 280),
                          rays=rng.randint(12, 14), turn=rng.uniform(0, math.pi)))
    return tuple(works)


def _national_header(sh: Sheet, cx: float = 640) -> None:
    sh.text(cx, 53, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "sans-bold", 24.8, anchor="m")
    sh.text(cx, 82, "Độc lập - Tự do - Hạnh phúc", "serif-bold", 22, anchor="m")
    sh.text(cx, 109, "SOCIALIST REPUBLIC OF VIET NAM", "sans", 17.5, anchor="m")
    sh.text(cx, 130, "Independence - Freedom - Happiness", "sans", 16.5, anchor="m")


def _emblem_and_photo(sh: Sheet, photo_box=(40, 190, 271, 481)) -> None:
    sh.ellipse(60, 40, 160, 140, outline=RED, width=3)
    sh.rect(*photo_box, fill=PHOTO)


def address_lines(addr: Address, font: str, size: float, width: float) -> list[str]:
    """Card printers break a long address between the ward and the district, like the samples
    ("Tổ 5, khu phố 2, Phường Tân Định," / "Quận 1, Thành phố Hồ Chí Minh"); a half that is still
    too long falls back to word wrapping."""
    full = addr.full()
    if text_width(full, font, size) <= width:
        return [full]
    head = ", ".join(p for p in (addr.street, addr.ward) if p) + ","
    tail = addr.district_level()
    fits = text_width(head, font, size) <= width and text_width(tail, font, size) <= width
    if addr.street and fits:
        return [head, tail]
    return wrap(full, font, size, width)


# The QR code of chip cards: 1.4-1.8 cm on the real cards, in whole pixels a module.
QR_MIN_SIDE = 1.4 / 2.54 * 300
QR_MARGIN = 22  # from the card's right edge (and top edge on the 2021 front), ~2 mm
# The 2021 chip front centres its header between the emblem and the QR code in the top right.
CHIP_FRONT_HEADER_X = 500
QR_BACK_TOP = 112  # on the 2024 back


def _qr(sh: Sheet, p: Person, issued: date, top: float) -> None:
    """The card's QR code, right-aligned, its top edge at `top`."""
    modules = qr.matrix(qr.payload(p, issued))
    module = qr.module_size(len(modules), QR_MIN_SIDE)
    qr.draw(sh, CARD_W - QR_MARGIN - len(modules) * module, top, modules, module)


def cccd_front_2021(p: Person, rng: random.Random) -> tuple[Sheet, dict]:
    sh = _card(rng, (226, 242, 231))
    _emblem_and_photo(sh)
    cx = CHIP_FRONT_HEADER_X
    _national_header(sh, cx)
    sh.text(cx, 179, "CĂN CƯỚC CÔNG DÂN", "sans-bold", 35.5, fill=RED, anchor="m")
    sh.text(cx, 205, "Citizen Identity Card", "sans", 19.5, fill=RED, anchor="m")
    _qr(sh, p, p.cccd_issue_date, QR_MARGIN)
    lab, val, x = "serif", "dv-sans-bold", 321
    sh.text(x, 242, "Số / No.:", lab, 19.5)
    sh.text(431, 247, p.id_number, val, 27.5)
    sh.text(x, 288, "Họ và tên / Full name:", lab, 18.5)
    sh.text(x, 320, p.full_name_upper, val, 24)
    sh.text(x, 354, "Ngày sinh / Date of birth:", lab, 18.5)
    sh.text(582, 358, dmy(p.date_of_birth), val, 24)
    sh.text(x, 388, "Giới tính / Sex:", lab, 18.5)
    sh.text(482, 392, p.sex, val, 24)
    sh.text(621, 388, "Quốc tịch / Nationality:", lab, 18.5)
    sh.text(850, 392, p.nationality, val, 24)
    sh.text(x, 423, "Quê quán / Place of origin:", lab, 18.5)
    y = 451
    for line in address_lines(p.place_of_origin, "dv-sans", 19.6, 620):
        sh.text(x, y, line, "dv-sans", 19.6)
        y += 30
    sh.text(x, y + 1, "Nơi thường trú / Place of residence:", lab, 18.5)
    y += 25
    for line in address_lines(p.place_of_residence, "dv-sans", 19.6, 620):
        sh.text(x, y, line, "dv-sans", 19.6)
        y += 30
    expiry = p.cccd_expiry
    sh.text(40, 516, "Có giá trị đến:", lab, 16.3)
    sh.text(40, 539, dmy(expiry) if expiry else "Không thời hạn", lab, 18.9)
    fields = {
        "id_number": p.id_number,
        "full_name": p.full_name,
        "date_of_birth": p.date_of_birth.isoformat(),
        "sex": p.sex,
        "nationality": p.nationality,
        "place_of_origin": p.place_of_origin.full(),
        "place_of_residence": p.place_of_residence.full(),
    }
    if expiry:
        fields["date_of_expiry"] = expiry.isoformat()
    return sh, fields


def cancuoc_front_2024(p: Person, rng: random.Random) -> tuple[Sheet, dict]:
    sh = _card(rng, (236, 232, 240))
    _emblem_and_photo(sh)
    _national_header(sh)
    sh.text(640, 183, "CĂN CƯỚC", "sans-bold", 39, fill=RED, anchor="m")
    sh.text(640, 210, "IDENTITY CARD", "sans-bold", 21.6, fill=RED, anchor="m")
    lab, val, x = "serif", "sans-bold", 291
    sh.text(x, 252, "Số định danh cá nhân / Personal identification number:", lab, 20.5)
    sh.text(331, 294, p.id_number, val, 33.4)
    sh.text(x, 333, "Họ, chữ đệm và tên khai sinh / Surname, middle name and given name:", lab,
            18.9)
    sh.text(x, 364, p.full_name_upper, val, 27.4)
    sh.text(x, 402, "Ngày, tháng, năm sinh / Date of birth:", lab, 19.5)
    sh.text(682, 404, dmy(p.date_of_birth), val, 26)
    sh.text(x, 446, "Giới tính / Sex:", lab, 19.5)
    sh.text(462, 449, p.sex, val, 26)
    sh.text(591, 446, "Quốc tịch / Nationality:", lab, 19.5)
    sh.text(821, 449, p.nationality, val, 26)
    fields = {
        "id_number": p.id_number,
        "full_name": p.full_name,
        "date_of_birth": p.date_of_birth.isoformat(),
        "sex": p.sex,
        "nationality": p.nationality,
    }
    return sh, fields


def _mrz(sh: Sheet, lines: list[str]) -> str:
    for i, line in enumerate(lines):
        sh.text(62, 498 + 50.5 * i, line, "mono", 33.6)
    return "\n".join(lines)


def _mrz_lines(p: Person, expiry) -> list[str]:
    given = f"{p.middle} {p.given}"
    return mrz.td1(p.id_number, p.surname, given, p.date_of_birth, p.sex, expiry)


def cccd_back_2021(p: Person, rng: random.Random) -> tuple[Sheet, dict]:
    sh = _card(rng, (238, 233, 240))
    lab = "serif"
    sh.text(40, 58, "Đặc điểm nhân dạng / Personal identification:", lab, 19.8)
    y = sh.para(40, 90, p.personal_identification, lab, 21.7, 930, 30)
    issued = dmy(p.cccd_issue_date)
    sh.text(40, y + 11, f"Ngày, tháng, năm / Date, month, year: {issued}", lab, 19.8)
    sh.text(40, y + 49, "CỤC TRƯỞNG CỤC CẢNH SÁT", "sans-bold", 19.9)
    sh.text(40, y + 75, "QUẢN LÝ HÀNH CHÍNH VỀ TRẬT TỰ XÃ HỘI", "sans-bold", 19.9)
    fields = {
        "date_of_issue": p.cccd_issue_date.isoformat(),
        "personal_identification": p.personal_identification,
        "mrz": _mrz(sh, _mrz_lines(p, p.cccd_expiry)),
        "id_number": p.id_number,
    }
    return sh, fields


def cancuoc_back_2024(p: Person, rng: random.Random) -> tuple[Sheet, dict]:
    sh = _card(rng, (234, 233, 246))
    lab, val = "serif", "sans-bold"
    sh.text(40, 58, "Nơi cư trú / Place of residence:", lab, 19.7)
    y = sh.para(40, 89, p.place_of_residence.full(), val, 22.9, 935, 29)
    sh.text(40, y + 4, "Nơi đăng ký khai sinh / Place of birth:", lab, 19.7)
    y = sh.para(40, y + 35, p.birth_place.full(), val, 22.9, 935, 29)
    issued = dmy(p.cancuoc_issue_date)
    sh.text(40, y + 6, f"Ngày, tháng, năm cấp / Date of issue: {issued}", lab, 19.7)
    sh.text(40, y + 38, "BỘ CÔNG AN / MINISTRY OF PUBLIC SECURITY", "sans-bold", 19.9)
    # On the right under the first residence line, the only line that reaches that far.
    _qr(sh, p, p.cancuoc_issue_date, QR_BACK_TOP)
    fields = {
        "date_of_issue": p.cancuoc_issue_date.isoformat(),
        "place_of_residence": p.place_of_residence.full(),
        "place_of_birth": p.birth_place.full(),
        "mrz": _mrz(sh, _mrz_lines(p, p.cancuoc_expiry)),
        "id_number": p.id_number,
    }
    return sh, fields


def cmnd_front(p: Person, rng: random.Random) -> tuple[Sheet, dict]:
    sh = _card(rng, (228, 238, 240))
    sh.rect(30, 200, 231, 461, fill=PHOTO)
    f, fb = "dv-serif", "dv-serif-bold"
    sh.text(599, 47, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", fb, 23.9, anchor="m")
    sh.text(599, 78, "Độc lập - Tự do - Hạnh phúc", fb, 19.5, anchor="m")
    sh.text(599, 132, "GIẤY CHỨNG MINH NHÂN DÂN", fb, 33.7, fill=RED, anchor="m")
    sh.text(332, 172, "SỐ", fb, 21.4)
    sh.text(403, 180, p.cmnd_number, fb, 37, fill=RED)
    x, w, lead = 261, 722, 36
    y = sh.para(x, 229, f"Họ tên: {p.full_name_upper}", f, 25.8, w, lead) + 17
    y = sh.para(x, y, f"Sinh ngày: {dmy(p.date_of_birth)}", f, 25.8, w, lead) + 17
    y = sh.para(x, y, f"Nguyên quán: {p.place_of_origin.full()}", f, 25.8, w, lead) + 13
    sh.para(x, y, f"Nơi ĐKHK thường trú: {p.place_of_residence.full()}", f, 25.8, w, lead)
    fields = {
        "id_number": p.cmnd_number,
        "full_name": p.full_name,
        "date_of_birth": p.date_of_birth.isoformat(),
        "place_of_origin": p.place_of_origin.full(),
        "place_of_residence": p.place_of_residence.full(),
    }
    return sh, fields
