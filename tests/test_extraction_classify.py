"""Classification of each type (and of unrelated text), and splitting a dossier into papers."""

from __future__ import annotations

import pytest

from extraction.classify import classify
from extraction.split import split_dossier
from extraction.testing import (
    BUSINESS,
    CCCD_BACK_2021,
    CCCD_NOISY,
    LETTER_PAGE_1,
    LETTER_PAGE_2,
    page_from_text,
)

MOTTO = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc\n"

CCCD_2024 = MOTTO + """\
CĂN CƯỚC
IDENTITY CARD
Số định danh cá nhân / Personal identification number:
074084933317
Họ, chữ đệm và tên khai sinh / Surname, middle name and given name:
HỒ MINH THỊNH
"""
CCCD_BACK_2024 = """\
Nơi cư trú / Place of residence:
Ấp Bình Phước B, Phường Hiệp Thành, thành phố Thủ Dầu Một, tỉnh Bình Dương
Nơi đăng ký khai sinh / Place of birth:
Phường Phú Cường, thành phố Thủ Dầu Một, tỉnh Bình Dương
Ngày, tháng, năm cấp / Date of issue: 18/01/2023
BỘ CÔNG AN / MINISTRY OF PUBLIC SECURITY
"""
CMND = MOTTO + "GIẤY CHỨNG MINH NHÂN DÂN\nSỐ 251570169\nHọ tên: LÊ THÀNH ĐẠT\nSinh ngày: 18/05/1994\n"
BIRTH = MOTTO + """\
GIAY KHAI SINH
Số: 144 Quyển số: 01/2002
Họ, chữ đệm, tên: LÝ BÍCH VY
Ngày, tháng, năm sinh: 21/07/2002
Số định danh cá nhân: 074302338690
Họ, chữ đệm, tên người cha: LÝ HỮU LỰC
Họ, chữ đệm, tên người mẹ: LÝ THU LOAN
Nơi đăng ký khai sinh: Ủy ban nhân dân Phường Phú Cường
"""


@pytest.mark.parametrize(
    ("text", "doc_type"),
    [
        (CCCD_NOISY, "cccd"),
        (CCCD_2024, "cccd"),
        (CCCD_BACK_2021, "cccd_back"),
        (CCCD_BACK_2024, "cccd_back"),
        (CMND, "cmnd"),
        (BIRTH, "birth_certificate"),
        (LETTER_PAGE_1, "official_letter"),
        (BUSINESS, "business_registration"),
    ],
)
def test_classify_each_type(text: str, doc_type: str) -> None:
    got, score = classify(text)
    assert got == doc_type
    assert 0.5 <= score <= 1.0


@pytest.mark.parametrize(
    "text",
    [
        "",
        MOTTO,  # every card and certificate prints it: it says nothing about the type
        "HÓA ĐƠN GIÁ TRỊ GIA TĂNG\nĐơn vị bán hàng: Công ty ABC\nMã số thuế: 0100233488\nTổng cộng: 1.200.000 đồng",
        "Recipe: boil water, add rice, wait twenty minutes.",
        MOTTO + "Số định danh cá nhân: 074302338690\nGiới tính: Nữ\nQuốc tịch: Việt Nam",
        LETTER_PAGE_2,  # a letter's second page alone has no title, number or summary
    ],
)
def test_classify_unrelated_or_ambiguous_text_is_unknown(text: str) -> None:
    got, score = classify(text)
    assert got == "unknown"
    assert 0.0 <= score <= 1.0


def test_birth_certificate_and_business_registration_despite_shared_labels() -> None:
    # Both print "Số định danh cá nhân" like the 2024 card; the title decides.
    assert classify(BIRTH)[0] == "birth_certificate"
    assert classify(BUSINESS)[0] == "business_registration"


def test_both_sides_of_a_card_on_one_page_is_the_front() -> None:
    got, _ = classify(CCCD_NOISY + CCCD_BACK_2021)
    assert got == "cccd"


def test_split_dossier() -> None:
    texts = [CCCD_NOISY, CCCD_BACK_2021, BIRTH, LETTER_PAGE_1, LETTER_PAGE_2]
    pages = [page_from_text(t, page=i + 1) for i, t in enumerate(texts)]
    docs = split_dossier(pages)
    assert [[p.page for p in doc] for doc in docs] == [[1], [2], [3], [4, 5]]


def test_split_dossier_leading_unknown_pages_and_two_letters() -> None:
    cover = "Hồ sơ đề nghị cấp giấy phép\nDanh mục tài liệu kèm theo"
    texts = [cover, cover, LETTER_PAGE_1, LETTER_PAGE_2, LETTER_PAGE_1.replace("45/STP", "46/STP")]
    pages = [page_from_text(t, page=i + 1) for i, t in enumerate(texts)]
    docs = split_dossier(pages)
    assert [[p.page for p in doc] for doc in docs] == [[1, 2], [3, 4], [5]]


def test_split_two_cards_in_a_row_are_two_documents() -> None:
    pages = [page_from_text(CCCD_NOISY, page=1), page_from_text(CCCD_2024, page=2)]
    assert [[p.page for p in doc] for doc in split_dossier(pages)] == [[1], [2]]


def test_split_unreadable_page_after_a_card_is_a_paper_of_its_own() -> None:
    # A card has one page: what follows it unrecognised (an unreadable back) is not its continuation.
    garbage = "na. vn . = = K .. .. mm... Sài Si Jm. _.\n1... ... `... S `... TT... SH AE ma"
    texts = [CCCD_NOISY, garbage, BIRTH, garbage]
    pages = [page_from_text(t, page=i + 1) for i, t in enumerate(texts)]
    assert [[p.page for p in doc] for doc in split_dossier(pages)] == [[1], [2], [3], [4]]


def test_split_empty() -> None:
    assert split_dossier([]) == []
