"""Marriage certificate and residence form CT01: classification (also through OCR noise),
parsing of the text OCR really makes of them (two columns read across the page, values wrapped
inside their column and so interleaved, ids printed one digit a box), and the whole pipeline on
generated pages."""

from __future__ import annotations

import io
import random
import unicodedata

import pytest

from extraction.classify import classify, scores
from extraction.extract import extract
from extraction.parsers.residence_form import read_boxed, read_boxed_twice
from extraction.testing import BUSINESS, LETTER_PAGE_1, page_from_text
from sohoa.models import Extraction
from sohoa.verify import verify

# A table (labels in a column of their own), the wife's column first. Read across: the two
# addresses wrap inside their columns and come interleaved; the husband's id stands first in
# reading order although it is in the right column.
MARRIAGE_TABLE = """\
CONG HOA XA HOI CHU NGHIA VIET NAM
Độc lập - Tự do - Hạnh phúc
GIẤY CHỨNG NHẬN KẾT HÔN
Số: 113 Quyến số: 05/2016
Thông tin người vợ Thông tin người chồng
Họ, chữ đệm, tên VŨ BÍCH THẢO | NGUYỄN QUỐC KHOA
Ngay, thang, nam sinh | 16/04/1978 25/01/1970
Dân tộc Kinh Kinh
Quốc tịch Việt Nam Việt Nam
Nơi cư trú Số 28 ngõ 22 đường Bạch Khu phố Phú Hòa, Xã Thân
Đằng, Phường Võ Thị Sáu, Cửu Nghĩa, huyện Châu
Quận 3, Thành phố Hồ Chí Thành, tỉnh Tiền Giang
Minh
Giấy tờ tùy thân Số định danh cá nhân: CCCD số 074070615964, cấp
036178531931 ngày 02/10/2022
Nơi đăng ký: Ủy ban nhân dân Xã Thân Cửu Nghĩa, huyện Châu Thành,
tỉnh Tiền Giang
Ngày, tháng, năm đăng ký: 01/03/2016
Vợ Chồng NGƯỜI KÝ GIẤY CHỨNG NHẬN KẾT HÔN
(Ký, ghi rõ họ, chữ đệm, tên) (Ký, ghi rõ họ, chữ đệm, tên)
Vũ Bích Thảo Nguyễn Quốc Khoa CHỦ TỊCH
Đặng Văn Khánh
"""
MARRIAGE_TABLE_FIELDS = {
    "wife_name": "Vũ Bích Thảo",
    "wife_date_of_birth": "1978-04-16",
    "wife_ethnicity": "Kinh",
    "wife_nationality": "Việt Nam",
    "wife_residence": "Số 28 ngõ 22 đường Bạch Đằng, Phường Võ Thị Sáu, Quận 3, Thành phố Hồ Chí Minh",
    "wife_id_number": "036178531931",
    "husband_name": "Nguyễn Quốc Khoa",
    "husband_date_of_birth": "1970-01-25",
    "husband_ethnicity": "Kinh",
    "husband_nationality": "Việt Nam",
    "husband_residence": "Khu phố Phú Hòa, Xã Thân Cửu Nghĩa, huyện Châu Thành, tỉnh Tiền Giang",
    "husband_id_number": "074070615964",
    "registration_place": "Ủy ban nhân dân Xã Thân Cửu Nghĩa, huyện Châu Thành, tỉnh Tiền Giang",
    "registration_date": "2016-03-01",
    "registration_number": "113",
    "registration_book": "05/2016",
}

# Two blocks that repeat the labels: several labels on one line, a name put under its label,
# the two addresses under theirs, and the two ids on one line (which looks like an MRZ line).
MARRIAGE_BLOCKS = """\
CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
GIAY CHUNG NHAN KET HON
Số: 4
Quyển số: 03
Thông tin người chồng Thông tỉn người vợ
Họ, chữ đệm, tên: Họ, chữ đệm, tên: BÙI THÙY KIM NGÂN
NGUYỄN ĐỨC THANH VIỆT
Ngày, tháng, năm sinh: 09/11/1996 Ngày, tháng, năm sinh: 06/05/1998
Dân tộc: Ê Đê Quốc tịch: Việt Nam Dân tộc: Kinh Quốc tịch: Viet Nam
Nơi cư trú: Nơi cư trú:
Khu phố Thống Nhất, Phường Tân An, Số 12 đường Trần Phú, Phường Tân
Quận Ninh Kiều, Thành phố Cần Thơ Phong, Quận 7, Thành phố Hồ Chí Minh
Giấy tờ tùy thân: Giấy tờ tùy thân:
Căn cước công dân số Căn cước công dân số
048096153432 079198144539
Nơi đăng ký: Ủy ban nhân dân Phường Tân An, Quận Ninh Kiều, Thành phố Cần Thơ
Ngày, tháng, năm đăng ký: ngày 09 tháng 11 năm 2021
Chồng Vợ NGƯỜI KÝ GIẤY CHỨNG NHẬN KẾT HÔN
"""
MARRIAGE_BLOCKS_FIELDS = {
    "husband_name": "Nguyễn Đức Thanh Việt",
    "husband_date_of_birth": "1996-11-09",
    "husband_ethnicity": "Ê Đê",
    "husband_nationality": "Việt Nam",
    "husband_residence": "Khu phố Thống Nhất, Phường Tân An, Quận Ninh Kiều, Thành phố Cần Thơ",
    "husband_id_number": "048096153432",
    "wife_name": "Bùi Thùy Kim Ngân",
    "wife_date_of_birth": "1998-05-06",
    "wife_ethnicity": "Kinh",
    "wife_nationality": "Việt Nam",
    "wife_residence": "Số 12 đường Trần Phú, Phường Tân Phong, Quận 7, Thành phố Hồ Chí Minh",
    "wife_id_number": "079198144539",
    "registration_place": "Ủy ban nhân dân Phường Tân An, Quận Ninh Kiều, Thành phố Cần Thơ",
    "registration_date": "2021-11-09",
    "registration_number": "4",
    "registration_book": "03",
}

# Tesseract's reading of a clean CT01: box borders read as "|", "]" and as "1"s glued to the
# digits, the next item's number at the end of a value, a dotted leader for the blank email.
RESIDENCE_HEAD = """\
Mẫu CT01 ban hành kèm theo Thông tư số 66/2023/TT-BCA
ngày 17/11/2023 của Bộ trưởng Bộ Công an
CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Độc lập - Tự do - Hạnh phúc
TỜ KHAI THAY ĐỔI THÔNG TIN CƯ TRÚ
Kính gửiU): Công an Phường Tân Hiệp, thành phố Biên Hòa, tỉnh Đồng Nai
1. Họ, chữ đệm và tên: LÊ QUANG VIỆT
2. Ngày, tháng, năm sinh:23/05/2004 3. Giới tính: Nam
4. Số định danh cá nhân: |0|52|21014|101915|1917]8
5. Số điện thoại liên hệ: 0370 320 737 6. Email:.....................................-----««>++
7. Họ, chữ đệm và tên chủ hộ: LÊ QUANG VIỆT 8. Mối quan hệ với chủ hộ: Chủ hộ
9. Số định danh cá nhân của chủ hộ: |0|52|20141019|51917|8
10. Nội dung đề nghị”: Đăng ký thường trú tại Tổ 5, khu phố 3, Phường Tân Hiệp, thành phố
Biên Hòa, tỉnh Đồng Nai
11. Những thành viên trong hộ gia đình cùng thay đổi:
TT Họ, chữ đệm và tên Ngày, tháng, | Giới tính | Số định danh cá nhân | Mối quan hệ với
năm sinh chủ hộ
1 BÙI KHÁNH HẠNH 21/02/1952 Nữ 094152815898 Em
Biên Hòa, ngày 16 tháng 04 năm 2025
Ý KIẾN CỦA CHỦ HỘ(@3) Ý KIẾN CỦA CHỦ SỞ Ý KIẾN CỦA CHA, MẸ NGƯỜI KÊ KHAI
(Ghi rõ nội dung, ký, ghi rõ HỮU HOẶC NGƯỜI HOẶC NGƯỜI GIÁM (Ký, ghi rõ họ tên)
Lê Quang Việt
(1) Cơ quan đăng ký cư trú.
(2) Ghi rõ ràng, cụ thể nội dung đề nghị. Ví dụ: đăng ký thường trú; đăng ký tạm trú.
"""
RESIDENCE_HEAD_FIELDS = {
    "addressed_to": "Công an Phường Tân Hiệp, thành phố Biên Hòa, tỉnh Đồng Nai",
    "full_name": "Lê Quang Việt",
    "date_of_birth": "2004-05-23",
    "sex": "Nam",
    "id_number": "052204095978",
    "phone": "0370320737",
    "head_of_household_name": "Lê Quang Việt",
    "relationship_to_head": "Chủ hộ",
    "head_of_household_id_number": "052204095978",
    "request": "Đăng ký thường trú tại Tổ 5, khu phố 3, Phường Tân Hiệp, thành phố Biên Hòa, tỉnh Đồng Nai",
    "declaration_date": "2025-04-16",
}

# The declarant is a wife in her husband's household; one item a line; an "@" read as "(@";
# the blank date line left for a hand.
RESIDENCE_MEMBER = """\
CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Độc lập - Tự do - Hạnh phúc
TỜ KHAI THAY ĐỐI THÔNG TIN CƯ TRÚ
Kính gửi): Công an Xã Mai Động, huyện Kim Động
1. Họ, chữ đệm và tên: TRẦN PHƯƠNG NGÂN
2. Ngày, tháng, năm sinh: 23/09/1957
3. Giới tính: Nữ
4. Số định danh cá nhân: |040|1|51714|5|6|10|8|3
5, Số điện thoại liên hệ: 0327.344.104
6. Email: Ngantp57(@gmail.com
7. Họ, chữ đệm và tên chủ hộ: NGUYỄN GIA KHOA_
8. Mối quan hệ với chủ hộ: Vợ
9. Số định danh cá nhân của chủhộ: |0|74|0|519|119196|13|7
10. Nội dung đề nghị”: Đăng ký thường trú vào hộ gia đình ông Nguyễn Gia Khoa tại Số 41
đường Hùng Vương, Xã Mai Động, huyện Kim Động, tỉnh Hưng Yên
11. Những thành viên trong hộ gia đình cùng thay đổi:
TT Họ, chữ đệm và tên Ngày, tháng, | Giới tính | Số định danh cá nhân | _ Mối quan hệ với
năm sinh chủ hộ
1 Trương Quang Hưng 18/09/1942 Nam 082042442685 Cha
……., ngày ….. tháng ….. năm ……
Ý KIẾN CỦA CHỦ HỘ@3) Ý KIẾN CỦA CHỦ SỞ Ý KIẾN CỦA CHA, MẸ NGƯỜI KÊ KHAI
Nguyễn Gia Khoa Trần Phương Ngân
"""
RESIDENCE_MEMBER_FIELDS = {
    "addressed_to": "Công an Xã Mai Động, huyện Kim Động",
    "full_name": "Trần Phương Ngân",
    "date_of_birth": "1957-09-23",
    "sex": "Nữ",
    "id_number": "040157456083",
    "phone": "0327344104",
    "email": "ngantp57@gmail.com",
    "head_of_household_name": "Nguyễn Gia Khoa",
    "relationship_to_head": "Vợ",
    "head_of_household_id_number": "074059199637",
    "request": "Đăng ký thường trú vào hộ gia đình ông Nguyễn Gia Khoa tại Số 41 đường Hùng Vương, "
               "Xã Mai Động, huyện Kim Động, tỉnh Hưng Yên",
}


def run(text: str) -> Extraction:
    return extract([page_from_text(text)])


def failed(r: Extraction) -> set[tuple[str, str]]:
    return {(c.field, c.rule) for c in r.checks if not c.ok}


def ocr_noise(text: str, seed: int) -> str:
    """What a poor reading does to words: diacritics lost on ~30%, two letters swapped in ~8%."""
    rng = random.Random(seed)
    lines = []
    for line in text.splitlines():
        words = []
        for w in line.split(" "):
            roll = rng.random()
            if roll < 0.3:
                w = "".join(c for c in unicodedata.normalize("NFD", w.replace("đ", "d").replace("Đ", "D"))
                            if not unicodedata.combining(c))
            elif roll < 0.38 and len(w) > 3:
                i = rng.randrange(len(w) - 1)
                w = w[:i] + w[i + 1] + w[i] + w[i + 2:]
            words.append(w)
        lines.append(" ".join(words))
    return "\n".join(lines)


# --- classification ------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "doc_type"), [
    (MARRIAGE_TABLE, "marriage_certificate"),
    (MARRIAGE_BLOCKS, "marriage_certificate"),
    (RESIDENCE_HEAD, "residence_form"),
    (RESIDENCE_MEMBER, "residence_form"),
])
def test_classify_new_types_through_ocr_noise(text: str, doc_type: str) -> None:
    assert classify(text)[0] == doc_type
    for seed in range(12):
        noisy = ocr_noise(text, seed)
        got, score = classify(noisy)
        assert got == doc_type, (seed, noisy[:300])
        assert score >= 0.5


@pytest.mark.parametrize(("text", "doc_type", "title"), [
    (MARRIAGE_TABLE, "marriage_certificate", "GIẤY CHỨNG NHẬN KẾT HÔN"),
    (RESIDENCE_MEMBER, "residence_form", "TỜ KHAI THAY ĐỐI THÔNG TIN CƯ TRÚ"),
])
def test_classify_without_the_title_from_the_labels(text: str, doc_type: str, title: str) -> None:
    assert title in text
    assert classify(text.replace(title, ""))[0] == doc_type


def test_new_types_do_not_take_other_papers() -> None:
    # A residence form says "Kính gửi" like a letter; a marriage certificate "Quyển số" and
    # "Ngày, tháng, năm đăng ký" like a birth certificate: neither may win the other's paper.
    assert classify(LETTER_PAGE_1)[0] == "official_letter"
    assert classify(BUSINESS)[0] == "business_registration"
    birth = ("GIẤY KHAI SINH\nSố: 84 Quyển số: 05/1990\nHọ, chữ đệm, tên: TRƯƠNG THỊ UYÊN\n"
             "Ngày, tháng, năm sinh: 21/04/1990\nNơi đăng ký khai sinh: Ủy ban nhân dân Xã Phước Hòa\n"
             "Ngày, tháng, năm đăng ký: 28/04/1990\n")
    assert classify(birth)[0] == "birth_certificate"
    # The shared cues do count, the titles and the papers' own labels outweigh them.
    assert scores(MARRIAGE_TABLE)["birth_certificate"] > 0 and scores(RESIDENCE_HEAD)["official_letter"] > 0
    assert classify(MARRIAGE_TABLE)[0] == "marriage_certificate"
    assert classify(RESIDENCE_HEAD)[0] == "residence_form"


def test_marriage_certificate_whose_table_ocr_lost_is_no_id_card() -> None:
    # OCR garbled the ruled table's first rows: "Căn cước công dân số ..." of an id row comes
    # up among the first lines, where an ID card prints its title. A title on a line of its
    # own outweighs the same words inside a value.
    text = """\
CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Độc lập - Tự do - Hạnh phúc
GIẤY CHỨNG NHẬN KẾT HÔN
Số: 140 Quyến số: 04/2020
Ai... nnmn an
mẽ. mm
Nơi cư trú: Thôn Phú Mỹ 2, Xã Cát Thôn Phú Mỹ 2, Xã Cát
Thành, huyện Phù Cát, tỉnh | Thành, huyện Phù Cát, tỉnh
Bình Định Bình Định
Giấy tờ tùy thân: Căn cước công dân số Số định danh cá nhân:
074061306408 074169821241
Nơi đăng ký: Ủy ban nhân dân Xã Cát Thành
"""
    assert scores(text)["cccd"] >= 0.9  # the card's title words are there ...
    assert classify(text)[0] == "marriage_certificate"  # ... but not as a title
    r = run(text)
    assert r.fields["husband_id_number"] == "074061306408" and r.fields["wife_id_number"] == "074169821241"
    assert r.fields["husband_residence"] == r.fields["wife_residence"] == \
        "Thôn Phú Mỹ 2, Xã Cát Thành, huyện Phù Cát, tỉnh Bình Định"


# --- marriage certificate ------------------------------------------------------------------------
def test_marriage_table_read_across_with_interleaved_addresses() -> None:
    r = run(MARRIAGE_TABLE)
    assert r.doc_type == "marriage_certificate"
    assert r.fields == MARRIAGE_TABLE_FIELDS
    assert not failed(r)
    rules = {(c.field, c.rule) for c in r.checks}
    assert {("wife_date_of_birth", "agrees_with_id_number"), ("husband_id_number", "agrees_with_spouse_role"),
            ("husband_date_of_birth", "of_marriageable_age")} <= rules


def test_marriage_blocks_with_repeated_labels_and_ids_on_one_line() -> None:
    r = run(MARRIAGE_BLOCKS)
    assert r.doc_type == "marriage_certificate"
    assert r.fields == MARRIAGE_BLOCKS_FIELDS
    assert not failed(r)


def test_marriage_columns_follow_the_headings() -> None:
    # The same certificate with the wife's column printed first: values change sides with it.
    swapped = (MARRIAGE_BLOCKS.replace("Thông tin người chồng Thông tỉn người vợ",
                                       "Thông tỉn người vợ Thông tin người chồng")
               .replace("Chồng Vợ NGƯỜI", "Vợ Chồng NGƯỜI"))
    r = run(swapped)
    for key in ("name", "date_of_birth", "residence", "ethnicity"):
        assert r.fields[f"husband_{key}"] == MARRIAGE_BLOCKS_FIELDS[f"wife_{key}"]
        assert r.fields[f"wife_{key}"] == MARRIAGE_BLOCKS_FIELDS[f"husband_{key}"]
    # The ids go by the sex their fourth digit states, whatever the column...
    assert r.fields["husband_id_number"] == "048096153432"
    # ... so they now contradict the birth dates read from the swapped columns.
    assert ("husband_date_of_birth", "agrees_with_id_number") in failed(r)
    assert r.needs_review


def test_marriage_id_of_the_wrong_sex_and_under_age_are_flagged() -> None:
    text = MARRIAGE_BLOCKS.replace("079198144539", "079098144539").replace("ngày 09 tháng 11 năm 2021",
                                                                            "ngày 09 tháng 11 năm 2015")
    r = run(text)
    # Both ids say "male": the one whose birth year is the wife's is hers, and fails its check.
    assert r.fields["wife_id_number"] == "079098144539"
    assert ("wife_id_number", "agrees_with_spouse_role") in failed(r)
    assert ("wife_date_of_birth", "of_marriageable_age") in failed(r)
    assert ("husband_date_of_birth", "of_marriageable_age") in failed(r)
    assert r.needs_review


# --- residence form CT01 ---------------------------------------------------------------------
def test_residence_form_declarant_is_head_with_boxed_ids() -> None:
    r = run(RESIDENCE_HEAD)
    assert r.doc_type == "residence_form"
    assert r.fields == RESIDENCE_HEAD_FIELDS
    # The email was left blank (a dotted leader): absent, and not reported missing.
    assert "email" not in r.missing
    assert not failed(r)
    assert ("head_of_household_name", "agrees_with_full_name") in {(c.field, c.rule) for c in r.checks}


def test_residence_form_member_of_a_household() -> None:
    r = run(RESIDENCE_MEMBER)
    assert r.fields == RESIDENCE_MEMBER_FIELDS
    assert "declaration_date" not in r.missing  # left blank for the hand
    assert {("date_of_birth", "agrees_with_id_number"), ("sex", "agrees_with_id_number")} <= {
        (c.field, c.rule) for c in r.checks if c.ok}
    # The table of members repeats the labels: none of its values leaks into the declarant's.
    assert "Trương Quang Hưng" not in r.fields.values()


def test_residence_form_missing_label_is_missing_not_blank() -> None:
    r = run(RESIDENCE_MEMBER.replace("6. Email: Ngantp57(@gmail.com\n", ""))
    assert "email" in r.missing and r.needs_review


@pytest.mark.parametrize(("text", "year", "sex", "expected"), [
    ("|0|52|21014|101915|1917]8", 2004, "Nam", "052204095978"),  # every "1" is a border
    ("|0J790{7|3|71012|111817", 1973, "Nam", "079073702187"),  # one "1" of "111" is a digit
    ("|0|91|1|710|6|13|1|17|12|6", 1970, "Nữ", "091170631726"),  # birth year decides which "1"
    ("|0|0|1|0|8|6|9|8|6l|9lolo", 1986, "Nam", "001086986900"),  # "l" borders, "o" zeros
    ("| 0|7|2|1J513|1013|6|18|17|8", 1953, "Nữ", "072153036878"),
    ("0 8 2 1 8 5 9 1 4 5 0 7", None, None, "082185914507"),  # borders lost: digits alone
])
def test_boxed_digits(text: str, year: int | None, sex: str | None, expected: str) -> None:
    got = read_boxed(text, year, sex)
    assert got is not None and got.digits == expected


def test_boxed_digits_unreadable_or_doubtful() -> None:
    assert read_boxed("|0|7|4|2") is None  # too few digits for an id
    # Without the birth year or sex, which "1" is a digit can be a guess: say so.
    doubtful = read_boxed("|0|91|1|710|6|13|1|17|12|6")
    assert doubtful is not None and doubtful.guessed
    # Printed twice (the declarant is the head): only readings both rows allow.
    both = read_boxed_twice("|0|52|21014|101915|1917]8", "|0|52|20141019|51917|8", 2004, "Nam")
    assert both is not None and both.digits == "052204095978" and both.agrees


def test_residence_form_is_verified_against_the_registry() -> None:
    record = {"id_number": "052204095978", "full_name": "Lê Quang Việt", "date_of_birth": "2004-05-23",
              "sex": "Nam"}
    r = run(RESIDENCE_HEAD)
    v = verify(r, lambda n: record if n == record["id_number"] else None)
    assert v.status == "match"
    v = verify(r, lambda n: record | {"date_of_birth": "2004-05-24"} if n == record["id_number"] else None)
    assert v.status != "match"
    marriage = run(MARRIAGE_TABLE)
    assert verify(marriage, lambda n: record).status == "not_checked"


# --- the whole pipeline on generated pages ------------------------------------------------------
@pytest.mark.e2e
@pytest.mark.parametrize(("template", "seed", "exact"), [
    ("marriage_certificate", "newtypes-1", ("husband_name", "wife_name", "husband_date_of_birth",
                                            "wife_date_of_birth", "husband_id_number", "wife_id_number")),
    ("marriage_certificate", "newtypes-7", ("husband_name", "wife_name", "husband_id_number",
                                            "wife_id_number", "husband_residence", "wife_residence")),
    ("residence_form", "newtypes-2", ("full_name", "date_of_birth", "sex", "id_number")),
])
def test_pipeline_on_a_generated_clean_page(svc, template: str, seed: str, exact: tuple[str, ...]) -> None:
    from sohoa import pipeline
    from sohoa.synth.people import random_person
    from sohoa.synth.render import render_document

    rng = random.Random(seed)
    doc = render_document(template, random_person(rng), rng)
    buf = io.BytesIO()
    doc.image.save(buf, "PNG", dpi=(doc.dpi, doc.dpi))
    batch = pipeline.create_batch(svc, "TEST")
    (fid,) = pipeline.receive(svc, batch, f"{template}.png", buf.getvalue())
    (result,) = pipeline.process_file(svc, fid)
    assert result.doc_type == template
    for key in exact:
        assert result.fields.get(key) == doc.fields[key], key
    wrong = {k: (v, result.fields.get(k)) for k, v in doc.fields.items() if result.fields.get(k) != v}
    assert len(wrong) <= 1, wrong
    extra = set(result.fields) - set(doc.fields)
    assert not extra
