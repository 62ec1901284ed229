"""TD1 MRZ from noisy OCR lines: repairs chosen by the check digits."""

from __future__ import annotations

import pytest

from extraction import mrz

GOOD = ["IDVNM0697898407075069789840<<<", "6906193M2906195VNM<<<<<<<<<<<5", "TRUONG<<GIA<KHOA<<<<<<<<<<<<<<"]


def _parse(lines: list[str]) -> mrz.Mrz:
    found = mrz.parse(["Ngày, tháng, năm / Date, month, year: 24/08/2023", "CỤC TRƯỞNG CỤC CẢNH SÁT", *lines])
    assert found is not None
    return found


def test_clean_mrz_decodes() -> None:
    m = _parse(GOOD)
    assert m.lines == GOOD and m.valid and m.repairs == 0
    assert m.document_number == "069789840"
    assert m.id_number == "075069789840"
    assert (m.birth_date, m.sex, m.expiry_date) == ("1969-06-19", "Nam", "2029-06-19")
    assert (m.nationality, m.surname, m.given_names) == ("VNM", "TRUONG", "GIA KHOA")
    assert m.text == "\n".join(GOOD)


def test_tesseract_noise_is_repaired() -> None:
    # As tesseract read doc003: "I" as "T" (also in a name), a space inside line 2.
    m = _parse(["TDVNM0697898407075069789840<<<", "69061 93M2906195VNM<<<<<<<<<<<5", "TRUONG<<GTA<KHOA<<<<<<<<<<<<<<"])
    assert m.lines == GOOD and m.valid


def test_letter_digit_confusions_and_fillers() -> None:
    m = _parse(["IDVNM069789B4O7075O69789840«<", "69O6193M29O6195VNM<<<<<<<<<<5", "TRUONG<<GIA<KHOA<K<<<<<<<<<<<<<"])
    assert m.lines == GOOD and m.valid


def test_digit_misread_in_document_number_taken_from_id_copy() -> None:
    # One digit of the document number misread (8 -> 3): the id in the optional data repeats it
    # and the check digits choose the right copy.
    m = _parse(["IDVNM0697398407075069789840<<<", *GOOD[1:]])
    assert m.lines == GOOD and m.valid


def test_failed_check_digit_is_reported() -> None:
    # The same day misread in birth and expiry dates (9 -> 2, not a usual confusion): nothing
    # on the card says which reading is right.
    m = _parse([GOOD[0], "6906123M2906125VNM<<<<<<<<<<<5", GOOD[2]])
    assert not m.valid
    assert {"birth_date", "expiry_date"} <= {c.name for c in m.checks if not c.ok}


def test_no_mrz() -> None:
    assert mrz.parse(["CĂN CƯỚC CÔNG DÂN", "Họ và tên / Full name:", "NGUYỄN VĂN AN"]) is None


def test_check_digit() -> None:
    assert mrz.check_digit("069789840") == "7"
    assert mrz.check_digit("690619") == "3"
    assert mrz.check_digit("<<<") == "0"


def test_character_read_twice_is_removed() -> None:
    # As the team's OCR read doc007: a "7" read twice in line 2, a speck in line 1.
    read = ["TDVNM0725”707802074072570780<<<", "72077093M3207095VNM<<<<<<<<<<<5", "NGUYEN<<TRONG<TRUNG<<<<<<<<<<<"]
    m = mrz.parse(read)
    assert m is not None and m.valid
    assert m.lines[1] == "7207093M3207095VNM<<<<<<<<<<<5"
    assert m.id_number == "074072570780"


def test_name_repair_is_reported() -> None:
    m = _parse(["TDVNM0697898407075069789840<<<", GOOD[1], "TRUONG<<GTA<KHOA<<<<<<<<<<<<<<"])
    assert m.name_repaired and m.source_lines == [2, 3, 4]
    assert not _parse(GOOD).name_repaired


@pytest.mark.parametrize(
    ("read", "expected"),
    [
        # id opens with 6 for 0: no province has code 674, one digit from 074.
        (["IDVNM0956537931674095653793<<<", "9507111M3507119VNM<<<<<<<<<<<0"],
         ["IDVNM0956537931074095653793<<<", "9507111M3507119VNM<<<<<<<<<<<0"]),
        # The same 0 read as 6 in the document number and in its copy inside the id, and in the
        # expiry (which falls on the birthday: its month and day are the birth date's).
        (["IDVNM6970775753092697077575<<<", "9710083M3710681VNM<<<<<<<<<<<4"],
         ["IDVNM0970775753092097077575<<<", "9710083M3710081VNM<<<<<<<<<<<4"]),
        # A birth-date digit misread; the expiry carries the month and day.
        (["IDVNM0910794383079091079438<<<", "9107149M3107117VNM<<<<<<<<<<<9"],
         ["IDVNM0910794383079091079438<<<", "9107119M3107117VNM<<<<<<<<<<<9"]),
        # A check digit misread (0 -> 9), and a birth-date digit.
        (["IDVNM1744213339074174421333<<<", "7499255F3409257VNM<<<<<<<<<<<7"],
         ["IDVNM1744213330074174421333<<<", "7409255F3409257VNM<<<<<<<<<<<7"]),
    ],
)
def test_digit_misreads_repaired_from_vietnamese_card_redundancy(read: list[str], expected: list[str]) -> None:
    m = _parse([*read, "NGUYEN<<BAO<VIET<<<<<<<<<<<<<<"])
    assert m.valid
    assert m.lines[:2] == expected


def test_letter_read_twice_in_name() -> None:
    m = _parse([*GOOD[:2], "NGUYEN<<KHANH<MAII<<<<<<<<<<<<"])
    assert m.lines[2] == "NGUYEN<<KHANH<MAI<<<<<<<<<<<<<"


def test_first_filler_read_as_k_after_a_name() -> None:
    from extraction.mrz import _repair_name_line

    assert _repair_name_line("PHAM<<ANH<TOANK<<<<<<<<<<<<<<<") == "PHAM<<ANH<TOAN<<<<<<<<<<<<<<<<"
    # a K that belongs to the word stays ("KHANH" is a syllable; "BK" is too short to judge)
    assert _repair_name_line("VO<<KHANH<DIEM<<<<<<<<<<<<<<<<") == "VO<<KHANH<DIEM<<<<<<<<<<<<<<<<"


def test_garbled_mrz_line_is_still_sent_to_the_mrz_reread() -> None:
    """Symbols outside the MRZ alphabet ("@Ø" for "00") are what the restricted re-read fixes,
    so they must not stop a line from being recognised as MRZ."""
    from ocr.mrz import looks_like_mrz

    assert looks_like_mrz("@Ø674191M460607199VNM<<<<<<<<<<<3")
    assert looks_like_mrz("IDVNM2006856708074200685670<<<")
    assert not looks_like_mrz("Số 12 đường Yersin, Phường Phú Cường <<")
    assert not looks_like_mrz("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
