"""Static vocabularies for the generator: names, administrative units, phrases.

Administrative units are the pre-1 July 2025 three-level ones (ward, district, province), because
that is what every card and certificate issued so far prints. The spelling follows what is printed:
"Phường"/"Xã"/"Thị trấn" capitalised, "thành phố"/"huyện"/"thị xã"/"tỉnh" lower case, but "Quận N"
and the centrally-run cities ("Thành phố Hồ Chí Minh") capitalised.
"""

from __future__ import annotations

# Province -> 3-digit birth-registration code used in the 12-digit personal id (Circular 07/2016),
# and the 2-digit tax-office prefix of enterprise codes registered there.
PROVINCES: dict[str, dict[str, str]] = {
    "Thành phố Hà Nội": {"code": "001", "tax": "01", "seat": "Hà Nội"},
    "Thành phố Hải Phòng": {"code": "031", "tax": "02", "seat": "Hải Phòng"},
    "tỉnh Hưng Yên": {"code": "033", "tax": "09", "seat": "Hưng Yên"},
    "tỉnh Thái Bình": {"code": "034", "tax": "10", "seat": "Thái Bình"},
    "tỉnh Hà Nam": {"code": "035", "tax": "07", "seat": "Phủ Lý"},
    "tỉnh Nam Định": {"code": "036", "tax": "06", "seat": "Nam Định"},
    "tỉnh Thanh Hóa": {"code": "038", "tax": "28", "seat": "Thanh Hóa"},
    "tỉnh Nghệ An": {"code": "040", "tax": "29", "seat": "Vinh"},
    "tỉnh Thừa Thiên Huế": {"code": "046", "tax": "33", "seat": "Huế"},
    "Thành phố Đà Nẵng": {"code": "048", "tax": "04", "seat": "Đà Nẵng"},
    "tỉnh Quảng Ngãi": {"code": "051", "tax": "43", "seat": "Quảng Ngãi"},
    "tỉnh Bình Định": {"code": "052", "tax": "41", "seat": "Quy Nhơn"},
    "tỉnh Khánh Hòa": {"code": "056", "tax": "42", "seat": "Nha Trang"},
    "tỉnh Tây Ninh": {"code": "072", "tax": "39", "seat": "Tây Ninh"},
    "tỉnh Bình Dương": {"code": "074", "tax": "37", "seat": "Thủ Dầu Một"},
    "tỉnh Đồng Nai": {"code": "075", "tax": "36", "seat": "Biên Hòa"},
    "Thành phố Hồ Chí Minh": {"code": "079", "tax": "03", "seat": "Thành phố Hồ Chí Minh"},
    "tỉnh Long An": {"code": "080", "tax": "11", "seat": "Tân An"},
    "tỉnh Tiền Giang": {"code": "082", "tax": "12", "seat": "Mỹ Tho"},
    "tỉnh An Giang": {"code": "089", "tax": "16", "seat": "Long Xuyên"},
    "tỉnh Kiên Giang": {"code": "091", "tax": "17", "seat": "Rạch Giá"},
    "Thành phố Cần Thơ": {"code": "092", "tax": "18", "seat": "Cần Thơ"},
    "tỉnh Sóc Trăng": {"code": "094", "tax": "22", "seat": "Sóc Trăng"},
}

# (ward, district, province): real pre-2025 units. Bình Dương and Hồ Chí Minh City are weighted up
# by having more entries, like the service desks this project starts with.
WARDS: list[tuple[str, str, str]] = [
    ("Phường Phú Cường", "thành phố Thủ Dầu Một", "tỉnh Bình Dương"),
    ("Phường Hiệp Thành", "thành phố Thủ Dầu Một", "tỉnh Bình Dương"),
    ("Phường Lái Thiêu", "thành phố Thuận An", "tỉnh Bình Dương"),
    ("Phường Đông Hòa", "thành phố Dĩ An", "tỉnh Bình Dương"),
    ("Phường Mỹ Phước", "thành phố Bến Cát", "tỉnh Bình Dương"),
    ("Phường Uyên Hưng", "thành phố Tân Uyên", "tỉnh Bình Dương"),
    ("Xã Phước Hòa", "huyện Phú Giáo", "tỉnh Bình Dương"),
    ("Xã Thường Tân", "huyện Bắc Tân Uyên", "tỉnh Bình Dương"),
    ("Phường Bến Nghé", "Quận 1", "Thành phố Hồ Chí Minh"),
    ("Phường Tân Định", "Quận 1", "Thành phố Hồ Chí Minh"),
    ("Phường Võ Thị Sáu", "Quận 3", "Thành phố Hồ Chí Minh"),
    ("Phường Tân Phong", "Quận 7", "Thành phố Hồ Chí Minh"),
    ("Phường Linh Trung", "thành phố Thủ Đức", "Thành phố Hồ Chí Minh"),
    ("Xã Tân Thạnh Đông", "huyện Củ Chi", "Thành phố Hồ Chí Minh"),
    ("Phường Hàng Bạc", "Quận Hoàn Kiếm", "Thành phố Hà Nội"),
    ("Phường Dịch Vọng", "Quận Cầu Giấy", "Thành phố Hà Nội"),
    ("Xã Thanh Liệt", "huyện Thanh Trì", "Thành phố Hà Nội"),
    ("Xã Dũng Tiến", "huyện Thường Tín", "Thành phố Hà Nội"),
    ("Phường Máy Chai", "Quận Ngô Quyền", "Thành phố Hải Phòng"),
    ("Xã Mai Động", "huyện Kim Động", "tỉnh Hưng Yên"),
    ("Xã Song Lãng", "huyện Vũ Thư", "tỉnh Thái Bình"),
    ("Xã Thanh Nghị", "huyện Thanh Liêm", "tỉnh Hà Nam"),
    ("Xã Yên Trung", "huyện Ý Yên", "tỉnh Nam Định"),
    ("Xã Thọ Tiến", "huyện Triệu Sơn", "tỉnh Thanh Hóa"),
    ("Xã Quỳnh Mỹ", "huyện Quỳnh Lưu", "tỉnh Nghệ An"),
    ("Phường Hưng Bình", "thành phố Vinh", "tỉnh Nghệ An"),
    ("Phường Phú Hội", "thành phố Huế", "tỉnh Thừa Thiên Huế"),
    ("Phường Thạch Thang", "Quận Hải Châu", "Thành phố Đà Nẵng"),
    ("Xã Hòa Phước", "huyện Hòa Vang", "Thành phố Đà Nẵng"),
    ("Xã Nghĩa Thuận", "huyện Tư Nghĩa", "tỉnh Quảng Ngãi"),
    ("Xã Cát Thành", "huyện Phù Cát", "tỉnh Bình Định"),
    ("Phường Lộc Thọ", "thành phố Nha Trang", "tỉnh Khánh Hòa"),
    ("Xã Tân Hội", "huyện Tân Châu", "tỉnh Tây Ninh"),
    ("Phường Tân Hiệp", "thành phố Biên Hòa", "tỉnh Đồng Nai"),
    ("Xã Phước Thiền", "huyện Nhơn Trạch", "tỉnh Đồng Nai"),
    ("Thị trấn Bến Lức", "huyện Bến Lức", "tỉnh Long An"),
    ("Xã Thân Cửu Nghĩa", "huyện Châu Thành", "tỉnh Tiền Giang"),
    ("Phường Mỹ Hòa", "thành phố Long Xuyên", "tỉnh An Giang"),
    ("Xã Tân Hội", "huyện Tân Hiệp", "tỉnh Kiên Giang"),
    ("Phường Tân An", "Quận Ninh Kiều", "Thành phố Cần Thơ"),
    ("Phường Khánh Hòa", "thị xã Vĩnh Châu", "tỉnh Sóc Trăng"),
]

STREET_NAMES = [
    "Yersin", "Nguyễn Văn Tiết", "Cách Mạng Tháng Tám", "Lê Lợi", "Trần Hưng Đạo", "Nguyễn Huệ",
    "Hai Bà Trưng", "Lý Thường Kiệt", "Nguyễn Trãi", "Quang Trung", "Lê Duẩn", "Phan Chu Trinh",
    "Điện Biên Phủ", "Hùng Vương", "Trần Phú", "Bạch Đằng", "Ngô Quyền", "Võ Thị Sáu",
    "Nguyễn Thị Minh Khai", "Phạm Ngũ Lão", "Lê Hồng Phong", "Nguyễn Du", "Huỳnh Văn Lũy",
]
HAMLETS = ["Bình Phước B", "Tân Lập", "Phú Thạnh", "Mỹ Hiệp", "Bình Đường 2", "Đông Tác", "Tân Thắng"]
QUARTERS = ["Thống Nhất", "Bình Minh", "Đông Chiêu", "Tân Phước", "Hòa Lân 1", "Phú Hòa"]
VILLAGES = ["Đông", "Trung Hòa", "Phú Mỹ 2", "Yên Lạc", "Thượng", "An Bình"]

SURNAMES = [  # weighted roughly by frequency
    ("Nguyễn", 30), ("Trần", 10), ("Lê", 9), ("Phạm", 7), ("Hoàng", 5), ("Huỳnh", 5), ("Phan", 4),
    ("Vũ", 4), ("Võ", 4), ("Đặng", 3), ("Bùi", 3), ("Đỗ", 3), ("Hồ", 2), ("Ngô", 2), ("Dương", 2),
    ("Lý", 1), ("Trương", 2), ("Tạ", 1), ("Lâm", 1), ("Đinh", 1), ("Mai", 1), ("Trịnh", 1),
    ("Cao", 1), ("Lương", 1), ("Châu", 1), ("Quách", 1),
]
MIDDLE_MALE = ["Văn", "Minh", "Hữu", "Đức", "Công", "Quang", "Thanh", "Gia", "Trọng", "Xuân",
               "Hoàng", "Ngọc", "Tuấn", "Thành", "Quốc", "Bảo", "Anh", "Đình"]
MIDDLE_FEMALE = ["Thị", "Ngọc", "Thu", "Thanh", "Bích", "Mỹ", "Hồng", "Diệu", "Phương", "Kim",
                 "Thùy", "Khánh", "Minh", "Bảo", "Hoài", "Tuyết"]
GIVEN_MALE = ["Khoa", "Sơn", "Trung", "Thịnh", "Thắng", "Dũng", "Cường", "Hiếu", "Lực", "Tường",
              "Lộc", "Đạt", "Hùng", "Tuấn", "Nam", "Phúc", "Long", "Quân", "Huy", "Bảo", "Khánh",
              "Việt", "Thành", "Hải", "Đức", "Nghĩa", "Quyết", "Toàn", "Vỹ", "Lượng", "Hưng"]
GIVEN_FEMALE = ["Uyên", "Quyên", "Nhung", "Hương", "Vy", "Loan", "Yến", "Ngân", "Thủy", "Huyền",
                "Lan", "Hoa", "Mai", "Trang", "Thảo", "Linh", "Hằng", "Ngọc", "Phương", "Hạnh",
                "Nguyệt", "Thư", "Giang", "Diễm", "Oanh", "Tuyết", "Trâm", "Nhàn"]
# second syllables that make four-syllable names ("Nguyễn Thị Hồng Nhung"), which wrap sooner
EXTRA_MIDDLE = ["Hồng", "Thanh", "Ngọc", "Minh", "Bảo", "Kim", "Hoài", "Xuân", "Thiên"]

ETHNICITIES = [("Kinh", 85), ("Khmer", 4), ("Hoa", 4), ("Tày", 2), ("Thái", 1), ("Mường", 1),
               ("Nùng", 1), ("Chăm", 1), ("Ê Đê", 1)]

# "Đặc điểm nhân dạng": kind, size, position relative to a facial feature
MARK_KINDS = ["Sẹo chấm", "Nốt ruồi", "Sẹo"]
MARK_SIZES = ["0,5cm", "1cm", "1,5cm", "2cm", "2,5cm", "3cm"]
MARK_PLACES = ["dưới trước mép phải", "trên sau đuôi mắt trái", "dưới sau cánh mũi phải",
               "trên trước đầu lông mày trái", "dưới trước đuôi mắt phải", "trên sau mép trái",
               "dưới sau dái tai trái", "trên trước cánh mũi trái", "cách 1cm dưới cằm"]

BIRTH_FACILITIES = ["Bệnh viện Đa khoa {province}", "Bệnh viện Hùng Vương", "Trạm Y tế xã",
                    "Trung tâm Y tế {district}", "Bệnh viện Phụ sản {province}", "Nhà hộ sinh khu vực"]

# Official letters (công văn) — contents are generic service-desk topics
LETTER_SUBJECTS = [
    "V/v bố trí nhân sự bộ phận một cửa tại các chi nhánh",
    "V/v triển khai tiếp nhận hồ sơ thủ tục hành chính không phụ thuộc địa giới hành chính",
    "V/v số hóa hồ sơ, kết quả giải quyết thủ tục hành chính",
    "V/v tăng cường sử dụng dịch vụ công trực tuyến toàn trình",
    "V/v rà soát, cập nhật dữ liệu dân cư phục vụ giải quyết thủ tục hành chính",
    "V/v khai thác thông tin căn cước trong tiếp nhận hồ sơ",
    "V/v báo cáo tình hình giải quyết hồ sơ quý III",
    "V/v chấn chỉnh việc yêu cầu nộp bản sao giấy tờ khi đã có dữ liệu điện tử",
]
LETTER_PARAGRAPHS = [
    "Thực hiện Đề án thí điểm thành lập Trung tâm Phục vụ hành chính công một cấp trực thuộc Ủy "
    "ban nhân dân tỉnh, các sở, ngành, địa phương rà soát danh mục thủ tục hành chính tiếp nhận "
    "không phụ thuộc vào địa giới hành chính.",
    "Trong quá trình thực hiện nếu có vướng mắc, đề nghị phản ánh về Văn phòng Ủy ban nhân dân "
    "tỉnh để được hướng dẫn, xử lý theo quy định; bảo đảm không xáo trộn lớn về mặt thủ tục và "
    "cách vận hành.",
    "Bộ phận một cửa các xã, phường, thị trấn tiếp tục tiếp nhận và trả kết quả theo hiện trạng cho "
    "đến khi có hướng dẫn mới; kịp thời báo cáo những khó khăn, vướng mắc về cơ sở dữ liệu và hệ "
    "thống thông tin.",
    "Các cơ quan, đơn vị thực hiện số hóa hồ sơ, kết quả giải quyết thủ tục hành chính ngay khi tiếp "
    "nhận; không yêu cầu tổ chức, cá nhân nộp lại giấy tờ đã được số hóa và lưu trữ trong kho dữ liệu.",
    "Giao Sở Thông tin và Truyền thông chủ trì, phối hợp với Công an tỉnh bảo đảm kết nối, chia sẻ dữ "
    "liệu giữa Cơ sở dữ liệu quốc gia về dân cư và Hệ thống thông tin giải quyết thủ tục hành chính.",
    "Thủ trưởng các cơ quan, đơn vị chịu trách nhiệm trước Chủ tịch Ủy ban nhân dân về kết quả thực "
    "hiện; định kỳ hằng tháng báo cáo tiến độ trước ngày 20 để tổng hợp.",
]
LETTER_RECIPIENTS = [
    "Các sở, ban, ngành tỉnh; Ủy ban nhân dân các huyện, thành phố.",
    "Ủy ban nhân dân các xã, phường, thị trấn.",
    "Các phòng, ban chuyên môn thuộc Ủy ban nhân dân.",
    "Bộ phận tiếp nhận và trả kết quả các cấp.",
]
LETTER_CODES = ["KSTTHC", "VP", "KT", "NC", "VX", "TH", "HCC"]

COMPANY_FORMS = [  # (printed type line, name prefix)
    ("CÔNG TY TNHH MỘT THÀNH VIÊN", "CÔNG TY TNHH MỘT THÀNH VIÊN"),
    ("CÔNG TY CỔ PHẦN", "CÔNG TY CỔ PHẦN"),
    ("CÔNG TY TNHH HAI THÀNH VIÊN TRỞ LÊN", "CÔNG TY TNHH"),
]
COMPANY_TRADES = ["PHẦN MỀM", "GỖ MỸ NGHỆ", "XÂY DỰNG", "THƯƠNG MẠI DỊCH VỤ", "VẬN TẢI",
                  "THỰC PHẨM", "CƠ KHÍ", "DU LỊCH", "NÔNG SẢN", "DỆT MAY", "ĐẦU TƯ BẤT ĐỘNG SẢN",
                  "CÔNG NGHỆ THÔNG TIN", "XUẤT NHẬP KHẨU", "IN ẤN BAO BÌ"]
COMPANY_BRANDS = ["SÔNG BÉ", "THUẬN AN", "PHÚ CƯỜNG", "HOÀNG LONG", "MINH PHÁT", "AN KHANG",
                  "TÂN THỊNH", "ĐẠI VIỆT", "NAM Á", "HƯNG THỊNH", "PHƯƠNG ĐÔNG", "SAO MAI",
                  "BÌNH MINH", "TRƯỜNG THÀNH", "VIỆT ĐỨC"]
CHARTER_CAPITALS = [100_000_000, 500_000_000, 1_000_000_000, 2_000_000_000, 3_500_000_000,
                    5_000_000_000, 10_000_000_000, 15_000_000_000, 50_000_000_000, 120_000_000_000]

# Residence declarations (form CT01) and marriage certificates
MOBILE_PREFIXES = ["032", "033", "034", "035", "036", "037", "038", "039", "070", "076", "077",
                   "078", "079", "081", "082", "083", "084", "085", "086", "088", "089", "090",
                   "091", "093", "094", "096", "097", "098"]
EMAIL_DOMAINS = ["gmail.com", "gmail.com", "gmail.com", "yahoo.com", "yahoo.com.vn",
                 "outlook.com"]
# "Nội dung đề nghị": what the declarant asks for ({address}: the place; {head}: "ông/bà" + name)
RESIDENCE_REQUESTS = [
    "Đăng ký thường trú vào hộ gia đình {head} tại {address}",
    "Đăng ký thường trú tại {address}",
    "Đăng ký tạm trú tại {address}",
    "Gia hạn tạm trú tại {address}",
    "Tách hộ tại địa chỉ {address}",
    "Điều chỉnh thông tin về cư trú trong Cơ sở dữ liệu về cư trú",
    "Xác nhận thông tin về cư trú",
    "Khai báo thông tin về cư trú",
]
# Relationship of the declarant to the head of household, as people write it on CT01:
# (printed, declarant's sex or None, head's sex or None, head's birth year minus the
# declarant's: min, max, weight)
HOUSEHOLD_RELATIONS = [
    ("Chủ hộ", None, None, 0, 0, 25),
    ("Con", None, None, -40, -20, 25),
    ("Vợ", "Nữ", "Nam", -8, 2, 12),
    ("Chồng", "Nam", "Nữ", -2, 8, 8),
    ("Cháu", None, None, -60, -40, 6),
    ("Em", None, None, -12, -1, 5),
    ("Mẹ", "Nữ", None, 20, 35, 4),  # a parent living in the household of a grown child
    ("Cha", "Nam", None, 20, 35, 3),
    ("Con dâu", "Nữ", None, -35, -22, 3),
    ("Người ở nhờ", None, None, -30, 30, 2),
]
# What a member changing with the declarant is to the household head
MEMBER_RELATIONS = ["Con", "Con", "Con", "Vợ", "Chồng", "Cháu", "Em", "Mẹ", "Cha"]
# "Giấy tờ tùy thân" on a marriage certificate ({id}: the 12-digit number, {issued}: d/m/y)
IDENTITY_PAPERS = [
    "Căn cước công dân số {id}",
    "CCCD số {id}, cấp ngày {issued}",
    "Căn cước công dân số {id}, cấp ngày {issued}, tại Cục Cảnh sát quản lý hành chính về trật tự xã hội",
    "Căn cước số {id}, cấp ngày {issued}",
    "Số định danh cá nhân: {id}",
]
