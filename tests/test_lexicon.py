"""The spelled-word lexicon: Tesseract's Vietnamese word list plus the administrative-unit names."""

from __future__ import annotations

from extraction import lexicon
from extraction.places import text_quality
from tests.conftest import tool_missing


def _need_lexicon() -> None:
    if not lexicon.words():
        tool_missing("tesseract-ocr (combine_tessdata, dawg2wordlist) and tesseract-ocr-vie are needed")


def test_wrong_tone_marks_are_unknown_words() -> None:
    _need_lexicon()
    assert lexicon.unknown_words("Khù phố Đông Chiêu") == 1  # "Khu"
    assert lexicon.unknown_words("Sõ 106/8 đường Bạch Đằng") == 1  # "Số"
    assert lexicon.unknown_words("V/v khai thác thông tỉn căn cước") == 1  # "tin"


def test_real_words_and_place_names_are_known() -> None:
    _need_lexicon()
    assert lexicon.unknown_words("Số 12 đường Yersin, Khu phố Bình Minh, Phường Phú Cường") == 1  # Yersin only
    # southern and highland unit names are not in Tesseract's list; the unit names supply them
    assert lexicon.unknown_words("Xã Lương Quới, huyện Giồng Trôm, tỉnh Bến Tre") == 0
    assert lexicon.unknown_words("Xã Ea Kênh, huyện Krông Pắc, tỉnh Đắk Lắk") == 0
    assert lexicon.unknown_words("Q1 P12 TP HCM 12A") == 0  # abbreviations and codes are not judged


def test_unknown_words_lower_text_quality() -> None:
    _need_lexicon()
    assert text_quality("Khù phố Đông Chiêu") < text_quality("Khu phố Đông Chiêu") == 1.0


def test_words_typed_without_marks_are_misspelled() -> None:
    """iê/yê and uô/ươ before a final always carry their marks, so a name OCR read bare is caught
    even though Tesseract's word list holds such bare forms."""
    for bare in ("Huyen", "Nguyen", "thuong", "Tien", "yeu", "nguoi"):
        assert lexicon.misspelled(bare), bare
    for word in ("Huyền", "Nguyễn", "thương", "Tiến", "yêu", "người", "Quới", "Khoa", "Giang", "Kiều"):
        assert not lexicon.misspelled(word), word
