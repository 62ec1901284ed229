"""Random, internally consistent Vietnamese people for the synthetic documents.

Everything a person's papers must agree on lives here (id number vs birth date and sex, card issue
and expiry dates, birth registration), so that a card front, its back and the birth certificate of
one `Person` tell the same story. Strings are NFC; names are kept in title case and upper-cased at
print time.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, replace
from datetime import date, timedelta

from stdnum.vn import mst

from . import data


def nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s)


def title_case(s: str) -> str:
    """Vietnamese title case: every syllable capitalised (str.title() would also break on 'đ')."""
    return " ".join(w[:1].upper() + w[1:].lower() for w in nfc(s).split())


def dmy(d: date) -> str:
    return d.strftime("%d/%m/%Y")


def long_date(d: date) -> str:
    return f"ngày {d:%d} tháng {d:%m} năm {d.year}"


def money(n: int) -> str:
    return f"{n:,}".replace(",", ".") + " đồng"


def add_years(d: date, n: int) -> date:
    try:
        return d.replace(year=d.year + n)
    except ValueError:  # 29 February in a non-leap year
        return d.replace(year=d.year + n, day=28)


def random_date(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randint(0, max(0, (end - start).days)))


def card_expiry(dob: date, issued: date, milestones: tuple[int, ...]) -> date | None:
    """Expiry of a CCCD / căn cước: the card is renewed at the ages in `milestones`, but a card
    issued less than two years before a milestone stays valid until the next one; a card issued
    after the last such window never expires ("Không thời hạn")."""
    for age in milestones:
        due = add_years(dob, age)
        if issued < add_years(due, -2):
            return due
    return None


@dataclass
class Address:
    ward: str
    district: str
    province: str
    street: str | None = None

    def parts(self) -> list[str]:
        return [p for p in (self.street, self.ward, self.district, self.province) if p]

    def full(self) -> str:
        return ", ".join(self.parts())

    def district_level(self) -> str:
        return f"{self.district}, {self.province}"


def random_street(rng: random.Random, rural: bool = False, south: bool = True) -> str:
    """House number and street in town; in the countryside a hamlet ("Ấp" in the south, "Thôn"
    in the north and centre) or a quarter."""
    s = rng.choice(data.STREET_NAMES)
    n = rng.randint(1, 350)
    if rural:
        hamlet = f"Ấp {rng.choice(data.HAMLETS)}" if south else f"Thôn {rng.choice(data.VILLAGES)}"
        return rng.choice([hamlet, hamlet, f"Khu phố {rng.choice(data.QUARTERS)}",
                           f"Số {n} đường {s}",
                           f"Tổ {rng.randint(1, 30)}, khu phố {rng.randint(1, 12)}"])
    return rng.choices(
        [
            f"Số {n} đường {s}",
            f"Số {n}/{rng.randint(1, 40)} đường {s}",
            f"Số {n} ngõ {rng.randint(2, 120)} đường {s}",
            f"Tổ {rng.randint(1, 30)}, khu phố {rng.randint(1, 12)}",
            f"Khu phố {rng.choice(data.QUARTERS)}",
        ],
        weights=[45, 18, 9, 18, 10],
    )[0]


def random_address(rng: random.Random, street: bool = True, province: str | None = None) -> Address:
    wards = [w for w in data.WARDS if province is None or w[2] == province] or data.WARDS
    ward, district, prov = rng.choice(wards)
    # province codes from 070 (Bình Phước) on are the south
    south = data.PROVINCES[prov]["code"] >= "070"
    return Address(ward, district, prov,
                   random_street(rng, not ward.startswith("Phường"), south) if street else None)


def random_name(rng: random.Random, sex: str, surname: str | None = None) -> tuple[str, str, str]:
    if surname is None:
        names, weights = zip(*data.SURNAMES)
        surname = rng.choices(names, weights)[0]
    male = sex == "Nam"
    middle = rng.choice(data.MIDDLE_MALE if male else data.MIDDLE_FEMALE)
    if rng.random() < 0.18:  # four-syllable names exist and make long card lines
        middle = f"{middle} {rng.choice([m for m in data.EXTRA_MIDDLE if m != middle])}"
    given = rng.choice(data.GIVEN_MALE if male else data.GIVEN_FEMALE)
    return surname, middle, given


def id_number(province_code: str, sex: str, dob: date, rng: random.Random) -> str:
    """12-digit personal id: birth-registration province, century+sex, 2-digit year, 6 digits."""
    century = (dob.year // 100) - 19  # 0 for the 1900s, 1 for the 2000s, ...
    gender = century * 2 + (1 if sex == "Nữ" else 0)
    return f"{province_code}{gender}{dob.year % 100:02d}{rng.randint(0, 999_999):06d}"


def tax_code(rng: random.Random, prefix: str) -> str:
    """10-digit enterprise code (= tax code) with a valid MST check digit."""
    while True:
        body = prefix + f"{rng.randint(1, 9_999_999):07d}"
        check = mst.calc_check_digit(body)
        if len(check) == 1:  # a remainder of 0 gives "10": no valid code with that body
            return body + check


@dataclass
class Person:
    surname: str
    middle: str
    given: str
    sex: str  # "Nam" or "Nữ"
    date_of_birth: date
    id_number: str
    birth_place: Address  # where the birth was registered (ward level); its province codes the id
    place_of_origin: Address  # "Quê quán", ward level, no street
    place_of_residence: Address  # "Nơi thường trú", with street
    ethnicity: str
    birth_facility: str  # "Nơi sinh" on the birth certificate
    father_name: str
    mother_name: str
    birth_registration_number: str
    birth_registration_book: str
    birth_registration_date: date
    birth_certificate_signer: str
    cccd_issue_date: date  # chip CCCD of 2021
    cancuoc_issue_date: date  # căn cước of 2024
    personal_identification: str
    cmnd_number: str  # the old 9-digit card
    nationality: str = "Việt Nam"

    @property
    def full_name(self) -> str:
        return title_case(f"{self.surname} {self.middle} {self.given}")

    @property
    def full_name_upper(self) -> str:
        return self.full_name.upper()

    @property
    def cccd_expiry(self) -> date | None:
        return card_expiry(self.date_of_birth, self.cccd_issue_date, (25, 40, 60))

    @property
    def cancuoc_expiry(self) -> date | None:
        return card_expiry(self.date_of_birth, self.cancuoc_issue_date, (14, 25, 40, 60))

    @property
    def registration_place(self) -> str:
        return f"Ủy ban nhân dân {self.birth_place.ward}"


def random_person(rng: random.Random) -> Person:
    sex = rng.choice(["Nam", "Nữ"])
    surname, middle, given = random_name(rng, sex)
    dob = random_date(rng, date(1952, 1, 1), date(2006, 12, 31))
    birth_place = random_address(rng, street=False)
    code = data.PROVINCES[birth_place.province]["code"]
    # Quê quán usually, but not always, lies in the province of birth.
    origin = random_address(rng, street=False,
                            province=birth_place.province if rng.random() < 0.5 else None)
    residence = random_address(rng)
    facility = rng.choice(data.BIRTH_FACILITIES).format(
        province=birth_place.province, district=birth_place.district)
    registered = dob + timedelta(days=rng.randint(3, 40))
    father = title_case(" ".join(random_name(rng, "Nam", surname)))
    mother = title_case(" ".join(random_name(rng, "Nữ")))
    signer = title_case(" ".join(random_name(rng, rng.choice(["Nam", "Nữ"]))))
    cccd_from = max(date(2021, 1, 1), add_years(dob, 14))
    mark = (f"{rng.choice(data.MARK_KINDS)} C:{rng.choice(data.MARK_SIZES)} "
            f"{rng.choice(data.MARK_PLACES)}")
    eth, weights = zip(*data.ETHNICITIES)
    return Person(
        surname=surname, middle=middle, given=given, sex=sex, date_of_birth=dob,
        id_number=id_number(code, sex, dob, rng),
        birth_place=birth_place, place_of_origin=origin, place_of_residence=residence,
        ethnicity=rng.choices(eth, weights)[0],
        birth_facility=f"{facility}, {birth_place.province}",
        father_name=father, mother_name=mother,
        birth_registration_number=str(rng.randint(1, 600)),
        birth_registration_book=f"{rng.randint(1, 12):02d}/{registered.year}",
        birth_registration_date=registered,
        birth_certificate_signer=signer,
        cccd_issue_date=random_date(rng, cccd_from, date(2024, 6, 30)),
        cancuoc_issue_date=random_date(rng, date(2024, 7, 1), date(2025, 6, 30)),
        personal_identification=mark,
        cmnd_number=f"{rng.choice([1, 2, 3, 12, 15, 17, 18, 20, 23, 25, 26, 27, 28, 29, 36]):02d}"
                    f"{rng.randint(0, 9_999_999):07d}",
    )


# --- the other people of a dossier paper (a spouse, a household head or member) -----------------
def random_relative(rng: random.Random, sex: str, born_from: date, born_to: date,
                    surname: str | None = None) -> Person:
    """Another consistent person of the given sex, born between the two dates (and with the
    given surname, as a father's children have); the id agrees with birth date and sex."""
    other = random_person(rng)
    surname, middle, given = random_name(rng, sex, surname)
    dob = random_date(rng, born_from, max(born_from, born_to))
    code = data.PROVINCES[other.birth_place.province]["code"]
    return replace(other, surname=surname, middle=middle, given=given, sex=sex, date_of_birth=dob,
                   id_number=id_number(code, sex, dob, rng))


def phone_number(rng: random.Random) -> str:
    """A Vietnamese mobile number: 10 digits, leading 0, a carrier prefix."""
    return rng.choice(data.MOBILE_PREFIXES) + f"{rng.randint(0, 9_999_999):07d}"


def email_address(rng: random.Random, p: Person) -> str:
    """An address people write on forms, built from their name (lower case, no diacritics)."""
    folded = [_ascii(w) for w in p.full_name.split()]
    year = f"{p.date_of_birth.year % 100:02d}" if rng.random() < 0.5 else str(p.date_of_birth.year)
    user = rng.choice([
        "".join(folded) + year,
        folded[-1] + "." + folded[0] + year,
        folded[-1] + "".join(w[0] for w in folded[:-1]) + year,
        "".join(folded[-2:]) + str(rng.randint(1, 999)),
    ])
    return f"{user}@{rng.choice(data.EMAIL_DOMAINS)}"


def _ascii(word: str) -> str:
    s = unicodedata.normalize("NFD", word.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in s if not unicodedata.combining(c)).lower()
