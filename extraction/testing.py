"""Building PageText from plain text, for tests (here and in other packages)."""

from __future__ import annotations

from sohoa.models import OcrLine, OcrWord, PageText

LINE_HEIGHT = 40
PAGE_WIDTH = 2480


def page_from_text(
    text: str,
    confidence: float = 0.95,
    page: int = 1,
    line_confidences: dict[int, float] | None = None,
) -> PageText:
    """A PageText with one OcrLine a non-empty line of `text`, every word at `confidence`
    (or at line_confidences[i] for the i-th line, 0-based, to simulate a badly read line)."""
    lines: list[OcrLine] = []
    for raw in text.splitlines():
        if not raw.strip():
            continue
        i = len(lines)
        conf = (line_confidences or {}).get(i, confidence)
        y = 50 + i * LINE_HEIGHT
        words, x = [], 50
        for w in raw.split():
            width = 20 * len(w)
            words.append(OcrWord(text=w, bbox=(x, y, x + width, y + 30), confidence=conf))
            x += width + 20
        lines.append(OcrLine(text=raw, bbox=(50, y, max(60, x), y + 30), confidence=conf, words=words))
    return PageText(
        page=page,
        width=PAGE_WIDTH,
        height=max(3508, 100 + LINE_HEIGHT * len(lines)),
        source="ocr",
        engine="test",
        lines=lines,
    )


def pages_from_texts(texts: list[str], confidence: float = 0.95) -> list[PageText]:
    return [page_from_text(t, confidence, page=i + 1) for i, t in enumerate(texts)]


# Noisy OCR text of each kind of paper, as Tesseract reads it (lost diacritics, merged columns,
# O for 0, missing colons): for tests of this package and of the pipeline.
CCCD_NOISY = """\
CONG HOA XA HOI CHU NGHIA VIET NAM
Độc lập - Tự do - Hạnh phúc
CĂN CU'ỚC CÔNG DÂN
Citlzen Identity Card
|Số/No: O79O93762295
Ho va ten / Full name
) CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
PHẠM GIA TRUNG
Ngay sinh / Dare of birth: 13/O3/ 1993
Giớiính/Sex: Nam Quốc tịch / Nationality: Việt Nam
Quê quán / Place of œrigin:
Phường Tân Định, Quận 1, Thành phố Hồ Chí Minh
Noi thuong tru / Place of residence:
Khu phố Thống Nhất, Xã Phước Hòa,
Có giá trị đết 13/03/2033 huyện Phú Giáo, tỉnh Bình Dương
"""


CCCD_BACK_2021 = """\
Đặc điểm nhân dạng / Personal identification:
Nốt ruồi C:2cm trên sau đuôi mắt trái
Ngay, thang, nam / Date, month, year: 18/04/2022
CỤC TRƯỞNG CỤC CẢNH SÁT
QUẢN LÝ HÀNH CHÍNH VỀ TRẬT TỰ XÃ HỘI
IDVNM3O23386900074302338690<<<
0207212F2707211VNM<<<<<<<<<<<7
LY<<BICH<VY<<<<<<<<<<<<<<<<<<<
"""


LETTER_PAGE_1 = """\
UBND TỈNH BÌNH DƯƠNG CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
SỞ TƯ PHÁP Độc lập - Tự do - Hạnh phúc
Số: 45/STP-HCTP Bình Dương, ngày 05 tháng 7 năm 2024
V/v hướng dẫn thực hiện thủ tục
chứng thực bản sao điện tử
Kính gửi: Ủy ban nhân dân các huyện, thị xã, thành phố.
Thực hiện chỉ đạo của Ủy ban nhân dân tỉnh, Sở Tư pháp hướng dẫn việc chứng thực bản sao điện tử
từ bản chính như sau: đề nghị Giám đốc các trung tâm và Chủ tịch Ủy ban nhân dân cấp xã
"""


LETTER_PAGE_2 = """\
bố trí cán bộ tiếp nhận hồ sơ, cập nhật kết quả vào hệ thống thông tin giải quyết thủ tục hành chính
và báo cáo kết quả thực hiện trước ngày 30 tháng 12 năm 2024.
Nơi nhận: KT. GIÁM ĐỐC
- Như trên; PHÓ GIÁM ĐỐC
- Lưu: VT, HCTP.
Nguyễn Văn An
"""


BUSINESS = """\
SỞ KẾ HOẠCH VÀ ĐẦU TƯ CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
TỈNH BÌNH DƯƠNG Độc lập - Tự do - Hạnh phúc
GIẤY CHỨNG NHẬN ĐĂNG KÝ DOANH NGHIỆP
CÔNG TY CỔ PHẦN
Ma so doanh nghiep: 37O3805469
Đăng ký lần đầu: ngày 24 tháng 8 năm 2025
1. Tên công ty
Tên công ty viết bằng tiếng Việt: CÔNG TY CỔ PHẦN GỖ MỸ NGHỆ
THUẬN AN
2. Địa chỉ trụ sở chính
Số 12 đường Yersin, Phường Mỹ Phước, thành phố Bến Cát, tỉnh Bình
Dương
Điện thoại: 0274 3822 111
3. Vốn điều lệ
Vốn điều lệ: 500.000.000 đồng
Bằng chữ: Năm trăm triệu đồng
4. Người đại diện theo pháp luật của công ty
Họ và tên: TẠ MINH DŨNG Giới tính: Nam
Sinh ngày: 16/06/1977 Dân tộc: Kinh Quốc tịch: Việt Nam
Số định danh cá nhân: 034077560295
"""
