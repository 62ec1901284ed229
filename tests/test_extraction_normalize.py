"""Normal forms of the contract and the validation rules."""

from __future__ import annotations

import unicodedata

import pytest

from extraction import checks
from extraction.normalize import (
    find_id,
    fold,
    norm_address,
    norm_date,
    norm_id,
    norm_money,
    norm_name,
    norm_sex,
)


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("12/03/1987", "1987-03-12"),
        ("12-03-1987", "1987-03-12"),
        ("12.03.1987", "1987-03-12"),
        ("12/03/ 1987", "1987-03-12"),
        ("12 / 03 / 1987", "1987-03-12"),
        ("l2/O3/1987", "1987-03-12"),
        ("ngày 05 tháng 7 năm 2024", "2024-07-05"),
        ("Thủ Dầu Một, ngày 26 tháng 03 năm 2025", "2025-03-26"),
        ("ngay 5 thang 07 nam 2024", "2024-07-05"),
        ("Sinh ngày: 18/05/1994", "1994-05-18"),
        ("1987-03-12", "1987-03-12"),
        ("19/08I1966", "1966-08-19"),
        ("2710911970", "1970-09-27"),
        ("Date of birth: 1811/1957", "1957-11-18"),  # one slash lost
        ("18/111957", "1957-11-18"),
    ],
)
def test_norm_date(raw: str, iso: str) -> None:
    assert norm_date(raw) == iso


@pytest.mark.parametrize("raw", ["31/02/1990", "Không thời hạn", "", "12/13/1987", "181/UBND-KSTTHC",
                                 "1811/UBND-VP", "1813/1957"])
def test_norm_date_rejects(raw: str) -> None:
    assert norm_date(raw) is None


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("NGUYỄN THỊ HỒNG NHUNG", "Nguyễn Thị Hồng Nhung"),
        ("LÊ THÀNH ĐẠT", "Lê Thành Đạt"),
        ("  đặng   xuân tường ", "Đặng Xuân Tường"),
        (unicodedata.normalize("NFD", "HUỲNH HỒNG HƯƠNG"), "Huỳnh Hồng Hương"),
        ("| TẠ MINH DŨNG.", "Tạ Minh Dũng"),
    ],
)
def test_norm_name(raw: str, name: str) -> None:
    out = norm_name(raw)
    assert out == name
    assert unicodedata.is_normalized("NFC", out)


@pytest.mark.parametrize(
    ("raw", "sex"),
    [("Nam", "Nam"), ("Nam.", "Nam"), ("NAM", "Nam"), ("Nữ", "Nữ"), ("Nu", "Nữ"), ("Nừ", "Nữ"),
     ("nữ |", "Nữ"), ("Nan", "Nam"), ("Female", "Nữ"), ("xyz", None), ("", None)],
)
def test_norm_sex(raw: str, sex: str | None) -> None:
    assert norm_sex(raw) == sex


def test_norm_id() -> None:
    assert norm_id("074 187 001 234") == "074187001234"
    assert norm_id("O74l87OO1234") == "074187001234"
    assert norm_id("I2345") == "12345"
    assert norm_id("") is None
    assert find_id("Số / No.: 0740 9595 7483 ]", 12) == ("074095957483", False)
    assert find_id("SỐ 25157Ol69", 9) == ("251570169", True)


@pytest.mark.parametrize(
    ("raw", "amount"),
    [("1.000.000.000 đồng", 1_000_000_000), ("5,000,000,000 VND", 5_000_000_000),
     ("500 000 000 đồng (Năm trăm triệu đồng)", 500_000_000), ("2.5OO.000.000 đồng", 2_500_000_000),
     ("không có", None)],
)
def test_norm_money(raw: str, amount: int | None) -> None:
    assert norm_money(raw) == amount


def test_norm_address() -> None:
    assert norm_address(["Tổ 5, khu phố 2, Phường Tân Định,", "Quận 1, Thành phố Hồ Chí Minh"]) == (
        "Tổ 5, khu phố 2, Phường Tân Định, Quận 1, Thành phố Hồ Chí Minh"
    )
    # A line wrapped in the middle of a name joins with a space, as printed.
    assert norm_address(["Xã Vũ Thư, huyện Vũ Thư, tỉnh Thái", "Bình"]) == "Xã Vũ Thư, huyện Vũ Thư, tỉnh Thái Bình"
    # A line starting a new unit is joined with ", " even when OCR lost the comma.
    assert norm_address(["Tổ 5 khu phố 2", "Phường Tân Định ,, Quận 1 ."]) == (
        "Tổ 5 khu phố 2, Phường Tân Định, Quận 1"
    )
    assert norm_address(["  Ấp  Bình Phước B ,Phường Hiệp Thành;"]) == "Ấp Bình Phước B, Phường Hiệp Thành"
    assert norm_address([":", "|"]) is None


def test_fold() -> None:
    assert fold("Đặc điểm NHÂN DẠNG") == "dac diem nhan dang"
    assert fold("Giới tính / Sex") == "gioi tinh / sex"


def test_tax_code_check_digit() -> None:
    assert checks.tax_code("enterprise_code", "3763510149").ok
    failed = checks.tax_code("enterprise_code", "3763510148")
    assert not failed.ok and failed.rule == "tax_code_check_digit"


def test_id_structure_and_agreement() -> None:
    assert checks.id_structure("id_number", "074302338690").ok
    assert not checks.id_structure("id_number", "7430233869").ok  # 10 digits
    assert not checks.id_structure("id_number", "974302338690").ok  # no such place code
    assert checks.id_birth_year("074302338690") == 2002
    assert checks.id_sex("074302338690") == "Nữ"
    assert checks.id_birth_year("040090680553") == 1990
    assert checks.id_sex("040090680553") == "Nam"
    ok = checks.dob_agrees("074302338690", "2002-07-21")
    assert ok.ok and ok.field == "date_of_birth" and ok.rule == "agrees_with_id_number"
    assert not checks.dob_agrees("074302338690", "1993-07-21").ok
    assert not checks.sex_agrees("074302338690", "Nam").ok
    assert checks.cmnd_structure("id_number", "251570169").ok
    assert not checks.cmnd_structure("id_number", "25157016").ok
