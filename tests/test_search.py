"""Archivists' search (storage/search.py): the same answers on SQLite (FTS5) and, in the
SOHOA_TEST_DB=postgres pass, on PostgreSQL (tsvector), for Vietnamese with or without diacritics.

Documents are written as the pipeline writes them (`pipeline._document_row`), so no OCR runs."""

from __future__ import annotations

import hashlib
import itertools
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, event, insert, inspect, select, text, update

from api.main import create_app
from sohoa import pipeline
from sohoa.models import ResultObject, Source, Verification
from storage import search as index
from storage.db import DocumentRow

H = {"X-API-Key": "test-key", "X-Purpose": "test"}


@dataclass
class Doc:
    text: str
    doc_type: str = "cccd"
    branch: str = "TDM01"
    created_at: datetime = datetime(2026, 1, 10, 3, 0, tzinfo=UTC)
    status: str = "match"
    needs_review: bool = False
    fields: dict = field(default_factory=dict)


CORPUS: dict[str, Doc] = {
    "nhung": Doc(
        "CĂN CƯỚC CÔNG DÂN\nSố / No.: 074187001234\nHọ và tên / Full name:\nNGUYỄN THỊ HỒNG NHUNG\n"
        "Ngày sinh / Date of birth: 12/03/1987\nQuê quán: Xã Diễn Châu, huyện Diễn Châu, tỉnh Nghệ An\n"
        "Nơi thường trú: Số 12 đường Yersin, Phường Phú Cường, thành phố Thủ Dầu Một, tỉnh Bình Dương",
        fields={"full_name": "Nguyễn Thị Hồng Nhung", "id_number": "074187001234", "date_of_birth": "1987-03-12"}),
    "duc": Doc(
        "GIẤY KHAI SINH\nHọ, chữ đệm, tên: TRẦN VĂN ĐỨC\nNgày, tháng, năm sinh: 27/09/2019\n"
        "Nơi sinh: Bệnh viện Phụ sản Nhi Đà Nẵng, thành phố Đà Nẵng\nHọ, chữ đệm, tên người mẹ: Nguyễn Thị Hồng",
        doc_type="birth_certificate", branch="DN01", created_at=datetime(2026, 2, 3, 2, 0, tzinfo=UTC),
        status="mismatch", needs_review=True, fields={"full_name": "Trần Văn Đức"}),
    # "nguyễn", "thị", "hồng" all present, never adjacent in that order.
    "letter": Doc(
        "ỦY BAN NHÂN DÂN THÀNH PHỐ ĐÀ NẴNG\nSố: 125/UBND-VP\nV/v cấp bản sao hồ sơ\n"
        "Kính gửi: ông Nguyễn Văn Bảy, Thị trấn Hồng Ngự, tỉnh Đồng Tháp.\n<b>Đinh & Cộng sự</b>",
        doc_type="official_letter", branch="DN01", created_at=datetime(2026, 3, 15, 20, 0, tzinfo=UTC),
        status="not_checked"),
    # Every tone (ngang, huyền, sắc, hỏi, ngã, nặng), every vowel mark (ă â ê ô ơ ư) and đ.
    "anh": Doc(
        "TỜ KHAI THAY ĐỔI THÔNG TIN CƯ TRÚ\nHọ và tên: Đặng Thị Ngọc Ánh\nChủ hộ: Huỳnh Mỹ Phương\n"
        "Nơi ở hiện tại: Phường Hòa Hải, quận Ngũ Hành Sơn, thành phố Đà Nẵng\nNghề nghiệp: Thợ lặn, bờ biển Sơn Trà",
        doc_type="residence_form", created_at=datetime(2026, 3, 20, 9, 0, tzinfo=UTC), needs_review=True,
        fields={"full_name": "Đặng Thị Ngọc Ánh"}),
    "business": Doc(
        "GIẤY CHỨNG NHẬN ĐĂNG KÝ DOANH NGHIỆP\nTên công ty: CÔNG TY TNHH THƯƠNG MẠI DỊCH VỤ HỒNG PHÁT\n"
        "Người đại diện theo pháp luật: Lê Đình Dũng\nĐịa chỉ trụ sở: Số 5 đường Bạch Đằng, Hải Châu, Đà Nẵng",
        doc_type="business_registration", branch="DN01", created_at=datetime(2026, 4, 2, 1, 0, tzinfo=UTC),
        status="not_found", fields={"company_name": "Công ty TNHH Thương mại Dịch vụ Hồng Phát"}),
}
# For ranking: the same length, Phạm Minh Khôi named in the text of both, and again as the holder
# of the first (its name field).
RANKED: dict[str, Doc] = {
    "khoi_holder": Doc("CĂN CƯỚC CÔNG DÂN\nHọ và tên: PHẠM MINH KHÔI\nQuê quán: Phường An Hội, Bến Tre",
                       fields={"full_name": "Phạm Minh Khôi"}),
    "khoi_witness": Doc("ĐƠN XIN XÁC NHẬN\nNgười làm chứng: Phạm Minh Khôi, cư trú tại Phường An Hội, Bến Tre"
                        "\nCăn cước công dân cấp năm 2021"),
}


def _row(name: str, doc: Doc) -> DocumentRow:
    result = ResultObject(
        document_id=f"d-{name}", source=Source(file=f"{name}.pdf", sha256=hashlib.sha256(name.encode()).hexdigest(), pages=[1],
                                               branch=doc.branch),
        doc_type=doc.doc_type, fields=doc.fields, text=doc.text, result_code=f"KQ-{name.upper()}",
        needs_review=doc.needs_review, verification=Verification(status=doc.status))
    row = pipeline._document_row(result)
    row.created_at = doc.created_at
    return row


def _store(svc, docs: dict[str, Doc]) -> None:
    with svc.sessions() as s, s.begin():
        s.add_all(_row(name, doc) for name, doc in docs.items())


@pytest.fixture
def corpus(svc):
    _store(svc, CORPUS | RANKED)
    return svc


def codes(svc, query: str, **kw) -> set[str]:
    return {h.result_code for h in pipeline.search(svc, query, limit=100, **kw)}


def K(*names: str) -> set[str]:
    return {f"KQ-{n.upper()}" for n in names}


# --------------------------------------------------------------------------- the query language
def test_query_is_folded_and_cut_into_words_and_phrases() -> None:
    assert index.parse('Nguyễn "Thị Hồng" 27/09/1970 a* OR NEAR( “Đà Nẵng”') == [
        ("nguyen",), ("thi", "hong"), ("27", "09", "1970"), ("a",), ("or",), ("near",), ("da", "nang")]
    assert index.parse('"unbalanced phrase') == [("unbalanced", "phrase")]
    assert index.parse("' -- ; *") == []
    assert len(sum(index.parse(" ".join(f"w{i}" for i in range(500))), ())) == index.MAX_QUERY_TOKENS


def test_engine_queries_hold_only_quoted_tokens() -> None:
    clauses = index.parse('x OR y NEAR( z) "a b" c*')
    assert index.fts5_query(clauses) == ('body : "x" AND body : "or" AND body : "y" AND body : "near" AND body : "z" '
                                         'AND body : "a b" AND body : "c"')
    assert index.fts5_query(index.parse("a"), [["t6363"], ["m202601", "d20260201"]]) == \
        'body : "a" AND facets : ("t6363") AND facets : ("m202601" OR "d20260201")'
    assert index.tsquery(clauses) == "('x') & ('or') & ('y') & ('near') & ('z') & ('a' <-> 'b') & ('c')"


# --------------------------------------------------------------------------- matching
@pytest.mark.parametrize("query", [
    "nguyen thi hong", "Nguyễn Thị Hồng", "NGUYỄN THỊ HỒNG", "Nguyên Thi Hông",  # wrong marks are no marks
    unicodedata.normalize("NFD", "Nguyễn Thị Hồng"),  # decomposed input (macOS, some keyboards)
])
def test_with_or_without_diacritics_the_same_documents(corpus, query) -> None:
    assert codes(corpus, query) == K("nhung", "duc", "letter")


def test_every_tone_and_vowel_mark_and_d_bar_fold(corpus) -> None:
    for query in ["Đặng Thị Ngọc Ánh", "dang thi ngoc anh", "DANG THI NGOC ANH", "huynh my phuong",
                  "Hòa Hải Ngũ Hành Sơn", "hoa hai ngu hanh son", "tho lan bo bien", "Thợ lặn bờ biển"]:
        assert codes(corpus, query) == K("anh"), query


def test_d_bar_is_d(corpus) -> None:
    assert codes(corpus, "Đà Nẵng") == codes(corpus, "da nang") == K("duc", "letter", "anh", "business")
    assert codes(corpus, "Đức") == codes(corpus, "duc") == K("duc")
    assert codes(corpus, "Lê Đình Dũng") == codes(corpus, "le dinh dung") == K("business")


def test_words_in_any_order_phrases_in_order(corpus) -> None:
    assert codes(corpus, "hong thi nguyen") == K("nhung", "duc", "letter")
    assert codes(corpus, '"nguyen thi hong"') == K("nhung", "duc")
    assert codes(corpus, '"hong thi nguyen"') == set()  # the phrase in the wrong order
    assert codes(corpus, '"thi hong" nhung') == K("nhung")
    assert codes(corpus, "hong nhung bay") == set()  # every word must occur


def test_a_word_with_punctuation_is_a_phrase(corpus) -> None:
    assert codes(corpus, "27/09/2019") == codes(corpus, "27-09-2019") == K("duc")
    assert codes(corpus, "2019/09/27") == set()
    assert codes(corpus, "125/UBND-VP") == K("letter")


def test_whole_words_only(corpus) -> None:
    assert codes(corpus, "nguy") == set()  # no prefix matching
    assert codes(corpus, "074187001234") == K("nhung")


# --------------------------------------------------------------------------- filters
def test_each_filter_narrows_to_the_matching_documents(corpus) -> None:
    assert codes(corpus, "so") == K("nhung", "letter", "business")  # "Số", "số", "sở" alike
    query = "thi"  # "Thị", "thị trấn"
    assert codes(corpus, query) == K("nhung", "duc", "letter", "anh")
    assert codes(corpus, query, doc_type="birth_certificate") == K("duc")
    assert codes(corpus, query, branch="DN01") == K("duc", "letter")
    assert codes(corpus, query, verification_status="match") == K("nhung", "anh")
    assert codes(corpus, query, verification_status="not_checked") == K("letter")
    assert codes(corpus, query, needs_review=True) == K("duc", "anh")
    assert codes(corpus, query, needs_review=False) == K("nhung", "letter")
    assert codes(corpus, query, branch="DN01", needs_review=False) == K("letter")
    assert codes(corpus, query, doc_type="cmnd") == set()


def test_date_filter_is_days_in_vietnam_time_both_ends_included(corpus) -> None:
    query = "da nang"
    assert codes(corpus, query, created_from=date(2026, 2, 3)) == K("duc", "letter", "anh", "business")
    assert codes(corpus, query, created_from=date(2026, 2, 4)) == K("letter", "anh", "business")
    assert codes(corpus, query, created_to=date(2026, 2, 3)) == K("duc")
    # The letter was stored 2026-03-15 20:00 UTC, which is 16 March in Vietnam.
    assert codes(corpus, query, created_from=date(2026, 3, 1), created_to=date(2026, 3, 15)) == set()
    assert codes(corpus, query, created_from=date(2026, 3, 16), created_to=date(2026, 3, 16)) == K("letter")
    assert codes(corpus, query, created_from=date(2026, 2, 1), created_to=date(2026, 3, 31)) == K("duc", "letter", "anh")


# --------------------------------------------------------------------------- ranking, pages, snippets
def test_the_holder_ranks_above_a_mere_mention(corpus) -> None:
    page = pipeline.search(corpus, "pham minh khoi")
    assert [h.result_code for h in page] == ["KQ-KHOI_HOLDER", "KQ-KHOI_WITNESS"]
    assert page.hits[0].score > page.hits[1].score > 0


def test_more_occurrences_rank_higher(svc) -> None:
    filler = "hồ sơ lưu trữ tại bộ phận một cửa "
    _store(svc, {f"r{n}": Doc(("Bùi Xuân Phái " * n) + filler * (6 - n)) for n in (1, 2, 3)}
           | {f"other{i}": Doc(filler * 5) for i in range(5)})
    page = pipeline.search(svc, "bui xuan phai")
    assert [h.result_code for h in page] == ["KQ-R3", "KQ-R2", "KQ-R1"]
    assert page.hits[0].score > page.hits[1].score > page.hits[2].score


def test_pages_cover_every_hit_once(svc) -> None:
    _store(svc, {f"bulk{i:02d}": Doc(f"Hồ sơ lưu trữ số {i}. " + "Bộ phận một cửa. " * (i % 4),
                                     created_at=datetime(2026, 5, 1 + i % 20, tzinfo=UTC)) for i in range(23)}
           | {"unrelated": Doc("Giấy xác nhận")})
    seen: list[str] = []
    offset: int | None = 0
    while offset is not None:
        page = pipeline.search(svc, "ho so luu tru", limit=5, offset=offset)
        assert page.total == 23 and len(page.hits) <= 5
        seen += [h.result_code for h in page]
        offset = page.next_offset
    assert len(seen) == len(set(seen)) == 23
    assert set(seen) == {f"KQ-BULK{i:02d}" for i in range(23)}
    beyond = pipeline.search(svc, "ho so luu tru", limit=5, offset=40)
    assert (beyond.total, beyond.hits, beyond.next_offset) == (23, [], None)
    assert pipeline.search(svc, "ho so luu tru", limit=1000).total == 23
    assert len(pipeline.search(svc, "ho so luu tru", limit=1000).hits) == 23  # under the cap of 100


@pytest.fixture
def small_bands(monkeypatch):
    """Bands of 3 and an exact count up to 4, so a handful of documents shows what bands of
    2,000 (500) and a count up to 10,000 (2,000) do at scale."""
    for backend in index.BACKENDS.values():
        monkeypatch.setattr(type(backend), "band_size", 3)
        monkeypatch.setattr(type(backend), "count_cap", 4)


# Stored oldest first; "Bùi Xuân Phái" k times in texts of the same length, so k orders the scores.
BANDED = {"b0": 3, "b1": 3, "b2": 2, "b3": 1, "b4": 2, "b5": 3, "b6": 1}


def _store_banded(svc) -> None:
    filler = "hồ sơ lưu trữ tại bộ phận một cửa "
    _store(svc, {name: Doc(("Bùi Xuân Phái " * k) + filler * (6 - k), created_at=datetime(2026, 6, 1 + i, tzinfo=UTC))
                 for i, (name, k) in enumerate(BANDED.items())})


def _walk(svc, query: str, limit: int) -> tuple[list[str], list[index.SearchPage]]:
    seen, pages, offset = [], [], 0
    while offset is not None:
        page = pipeline.search(svc, query, limit=limit, offset=offset)
        seen += [h.result_code for h in page]
        pages.append(page)
        offset = page.next_offset
    return seen, pages


def test_many_matches_are_ranked_in_bands_newest_first(svc, small_bands, monkeypatch) -> None:
    for backend in index.BACKENDS.values():
        monkeypatch.setattr(type(backend), "count_cap", 100)
    _store_banded(svc)
    seen, pages = _walk(svc, "bui xuan phai", limit=2)  # pages of 2 straddle the bands of 3
    # Newest three (b6 b5 b4) by score, then the next three (b3 b2 b1) by score, then b0 —
    # not the best scores of all first (b0, b1, b5).
    assert seen == ["KQ-B5", "KQ-B4", "KQ-B6", "KQ-B1", "KQ-B2", "KQ-B3", "KQ-B0"]
    assert all(p.total == 7 and p.total_exact for p in pages)
    first = pipeline.search(svc, "bui xuan phai", limit=3).hits
    assert first[0].score > first[1].score > first[2].score


def test_total_is_exact_up_to_the_cap_then_a_lower_bound(svc, small_bands) -> None:
    _store_banded(svc)
    _store(svc, {"few": Doc("Giấy xác nhận Lò Văn Pá"), "few2": Doc("Lò Văn Pá, giấy mời")})
    few = pipeline.search(svc, "lo van pa")
    assert (few.total, few.total_exact, few.next_offset) == (2, True, None)

    page = pipeline.search(svc, "bui xuan phai", limit=2)
    assert (page.total, page.total_exact, page.next_offset) == (4, False, 2)  # "at least 4"
    seen, pages = _walk(svc, "bui xuan phai", limit=2)
    assert len(seen) == len(set(seen))
    if svc.sessions.kw["bind"].dialect.name == "sqlite":
        # Every match can still be paged to; the last page, having seen the end, knows the total.
        assert len(seen) == 7 and (pages[-1].total, pages[-1].total_exact) == (7, True)
    else:
        # PostgreSQL pages through the count_cap + 1 matches it counted (docs/search.md).
        assert len(seen) == 5 and all(not p.total_exact for p in pages)
    assert all(p.total >= 4 for p in pages)


def test_a_filter_is_applied_before_the_band_is_cut(svc, small_bands) -> None:
    _store_banded(svc)
    with svc.sessions() as s, s.begin():
        s.execute(update(DocumentRow).where(DocumentRow.result_code.in_(["KQ-B0", "KQ-B1"]))
                  .values(branch="HN01"))
    # The two oldest matches only: the band is of filtered matches, not filtered after.
    page = pipeline.search(svc, "bui xuan phai", branch="HN01")
    assert {h.result_code for h in page} == {"KQ-B0", "KQ-B1"} and (page.total, page.total_exact) == (2, True)


def test_the_count_stops_past_the_cap(svc, monkeypatch) -> None:
    engine = svc.sessions.kw["bind"]
    backend = index.backend_for(engine.dialect.name)
    monkeypatch.setattr(type(backend), "count_cap", 4)
    _store_banded(svc)
    with engine.connect() as conn:
        assert backend.count(conn, index.parse("bui xuan phai"), index.Filters()) == 5  # count_cap + 1: "more than"
        assert backend.count(conn, index.parse("bui xuan phai"), index.Filters(branch="none")) == 0


def test_postgres_search_leaves_the_planner_settings_as_it_found_them(svc) -> None:
    engine = svc.sessions.kw["bind"]
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    _store_banded(svc)
    with engine.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = on")
        assert index.search(conn, '"bui xuan phai"').total == 7
        assert conn.exec_driver_sql("SHOW enable_seqscan").scalar_one() == "on"


def test_snippet_shows_the_original_text_with_marks(corpus) -> None:
    [hit] = pipeline.search(corpus, '"nguyen thi hong nhung"').hits
    # The printed line or the name field, whichever the database chose: as printed, either way.
    assert re.search("<mark>(NGUYỄN THỊ HỒNG NHUNG|Nguyễn Thị Hồng Nhung)</mark>", hit.snippet), hit.snippet
    [hit] = pipeline.search(corpus, "dinh cong su").hits
    assert "&lt;b&gt;<mark>Đinh</mark> &amp; <mark>Cộng sự</mark>" in hit.snippet  # the page's "<b>" escaped
    assert "<b>" not in hit.snippet


def test_snippet_of_a_long_document_is_a_window(svc) -> None:
    _store(svc, {"long": Doc("Mở đầu. " + "Văn bản dài. " * 200 + "Người nhận: Võ Thị Sáu. " + "Kết thúc. " * 200)})
    [hit] = pipeline.search(svc, "vo thi sau").hits
    assert hit.snippet.startswith("… ") and hit.snippet.endswith(" …")
    assert "<mark>Võ Thị Sáu</mark>" in hit.snippet and len(hit.snippet) < 400


def test_snippet_is_made_from_the_printed_text() -> None:
    clauses = index.parse("da nang")
    assert index.snippet_html(clauses, "Đà Nẵng", {}) == "<mark>Đà Nẵng</mark>"
    decomposed = unicodedata.normalize("NFD", "Họ tên: Nguyễn Văn A")
    assert index.snippet_html(index.parse("ten"), decomposed, {}) == "Họ <mark>tên</mark>: Nguyễn Văn A"
    stray = "Ghi chú: A\u0300\u0300 Lê Văn Tám"  # a combining mark NFC cannot attach: folds to nothing
    assert index.snippet_html(index.parse('"le van"'), stray, {}) == "Ghi chú: À\u0300 <mark>Lê Văn</mark> Tám"
    # A field value is part of what was indexed, so it can be what the snippet shows.
    assert index.snippet_html(index.parse("074187001234"), "Căn cước", {"id_number": "074187001234"}) == (
        "Căn cước <mark>074187001234</mark>")


def test_snippet_shows_the_window_with_the_most_query_words() -> None:
    text_ = ("Hà Nội " + "văn bản " * 30 + "Hà Nội, ngày 5 tháng 6, Sở Tư pháp " + "văn bản " * 30 + "Sở Tư pháp")
    snippet = index.snippet_html(index.parse('"ha noi" "so tu phap"'), text_, {})
    # Not the first "Hà Nội" nor the last "Sở Tư pháp": the stretch holding both, centred.
    assert "<mark>Hà Nội</mark>, ngày 5 tháng 6, <mark>Sở Tư pháp</mark>" in snippet, snippet
    assert snippet.startswith("… ") and snippet.endswith(" …")
    assert len(index._TOKEN.findall(re.sub("<[^>]+>", "", snippet))) == index.SNIPPET_TOKENS
    # A phrase longer than the window: its first words, marked.
    long_phrase = " ".join(f"từ{i}" for i in range(30))
    snippet = index.snippet_html(index.parse(f'"{long_phrase}"'), "Đầu. " + long_phrase + ". Cuối", {})
    assert snippet == "… <mark>" + " ".join(f"từ{i}" for i in range(index.SNIPPET_TOKENS)) + "</mark> …", snippet
    # A word of a phrase alone is not a match: only the whole phrase is marked.
    assert index.snippet_html(index.parse('"tu phap"'), "Tư vấn. Bộ Tư pháp", {}) == "Tư vấn. Bộ <mark>Tư pháp</mark>"


def test_snippet_falls_back_to_the_folded_text_when_the_printed_one_lacks_the_words() -> None:
    clauses = index.parse("nguyen")
    assert index.snippet_html(clauses, "a different text", {}, "ho ten nguyen <x>") == "ho ten <mark>nguyen</mark> &lt;x&gt;"
    # Neither holds them (the index tokenised differently): the start of the printed text, unmarked.
    assert index.snippet_html(clauses, "Hồ sơ lưu trữ", {}, "ho so luu tru") == "Hồ sơ lưu trữ"


def test_a_hand_edited_search_text_shows_its_folded_snippet(svc) -> None:
    _store(svc, {"edited": Doc("Hồ sơ của bà Hà Thị Cúc")})
    with svc.sessions() as s, s.begin():
        s.execute(update(DocumentRow).where(DocumentRow.result_code == "KQ-EDITED")
                  .values(search_text="ho so cua ba la thi mai"))
    [hit] = pipeline.search(svc, "la thi mai").hits
    assert hit.snippet == "ho so cua ba <mark>la thi mai</mark>"


def test_hit_carries_the_document_facts(corpus) -> None:
    [hit] = pipeline.search(corpus, "tran van duc").hits
    assert (hit.result_code, hit.doc_type, hit.branch, hit.verification_status, hit.needs_review) == (
        "KQ-DUC", "birth_certificate", "DN01", "mismatch", True)
    assert hit.created_at == datetime(2026, 2, 3, 2, 0, tzinfo=UTC)


# --------------------------------------------------------------------------- keeping the index in step
def test_every_write_path_is_indexed(svc) -> None:
    _store(svc, {"orm": Doc("Hồ sơ của bà Hà Thị Cúc")})
    core = _row("core", Doc("Hồ sơ của ông Tạ Văn Tài"))
    with svc.sessions() as s, s.begin():  # plain SQL, as an import or a script would write
        s.execute(insert(DocumentRow).values({c.key: getattr(core, c.key) for c in DocumentRow.__table__.c}))
    assert codes(svc, "ha thi cuc") == K("orm") and codes(svc, "ta van tai") == K("core")

    with svc.sessions() as s, s.begin():
        s.execute(update(DocumentRow).where(DocumentRow.result_code == "KQ-ORM")
                  .values(search_text="ho so cua ba la thi mai"))
    assert codes(svc, "ha thi cuc") == set() and codes(svc, "la thi mai") == K("orm")
    with svc.sessions() as s, s.begin():
        s.execute(update(DocumentRow).where(DocumentRow.result_code == "KQ-ORM").values(needs_review=True))
    assert codes(svc, "la thi mai") == K("orm")  # other columns change nothing in the index

    with svc.sessions() as s, s.begin():
        s.execute(delete(DocumentRow).where(DocumentRow.result_code == "KQ-CORE"))
    assert codes(svc, "ta van tai") == set()
    assert pipeline.search(svc, "ho so").total == 1


def test_the_migration_indexes_documents_stored_before_it(database_url, tmp_path) -> None:
    from sqlalchemy import create_engine

    from storage.migrate import upgrade

    engine = create_engine(database_url or f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0004")
    old = _row("old", Doc("Biên bản bàn giao hồ sơ cho bà Lò Thị Xuyến"))
    with engine.begin() as conn:
        conn.execute(insert(DocumentRow).values({c.key: getattr(old, c.key) for c in DocumentRow.__table__.c}))
    upgrade(engine)
    with engine.connect() as conn:
        page = index.search(conn, "lo thi xuyen")
    engine.dispose()
    assert [h.result_code for h in page] == ["KQ-OLD"] and "<mark>Lò Thị Xuyến</mark>" in page.hits[0].snippet


def test_the_search_schema_exists_on_this_database(svc) -> None:
    engine = svc.sessions.kw["bind"]
    insp = inspect(engine)
    if engine.dialect.name == "sqlite":
        assert "documents_fts" in insp.get_table_names()
        with engine.connect() as conn:
            triggers = set(conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").scalars())
        assert {"documents_fts_insert", "documents_fts_delete", "documents_fts_update"} <= triggers
    else:
        assert "search_vector" in {c["name"] for c in insp.get_columns("documents")}
        assert "ix_documents_search_vector" in {i["name"] for i in insp.get_indexes("documents")}


# --------------------------------------------------------------------------- hostile input
HOSTILE = ["' OR 1=1 --", '"unbalanced', "a* OR b", "NEAR(", "NEAR(a b, 2)", '"', '""', "*", "^nguyen",
           "body:nguyen", "doc_id:x", "-nguyen", "+nguyen", "nguyen AND", "NOT nguyen", "(", ")", "{body}",
           "'); DROP TABLE documents; --", "%", "_", "\\", "a & b | !c", "x <-> y", "x:*", "\x00", "\x02nguyen\x03",
           "🙂 nguyễn", "nguyen " * 200]


@pytest.mark.parametrize("query", HOSTILE)
def test_operator_and_injection_text_is_only_words(corpus, query) -> None:
    page = pipeline.search(corpus, query)
    assert page.total == len(page.hits) <= 20
    assert codes(corpus, "nguyen thi hong") == K("nhung", "duc", "letter")  # the table is intact


def test_operator_words_are_searched_as_words(svc) -> None:
    _store(svc, {"near": Doc("Cửa hàng NEAR the river OR not, AND more"), "plain": Doc("Cửa hàng")})
    assert codes(svc, "near") == codes(svc, "or not") == codes(svc, "NEAR(") == K("near")
    assert codes(svc, "cua* OR hang") == K("near")  # "*" is a separator, OR a word to find


# --------------------------------------------------------------------------- the HTTP API
@pytest.fixture
def client(settings, corpus):
    with TestClient(create_app(settings, services=corpus, embedded_worker=False)) as c:
        yield c


def test_api_search_answers_a_page(client) -> None:
    r = client.get("/v1/search", params={"q": "Nguyễn Thị Hồng", "limit": 2}, headers=H)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 3 and len(body["results"]) == 2 and body["next_offset"] == 2
    assert body["total_exact"] is True
    first = body["results"][0]
    assert set(first) == {"result_code", "doc_type", "branch", "created_at", "verification_status", "needs_review",
                          "score", "snippet"}
    assert "<mark>" in first["snippet"]
    rest = client.get("/v1/search", params={"q": "nguyen thi hong", "limit": 2, "offset": 2}, headers=H).json()
    assert rest["next_offset"] is None
    assert {h["result_code"] for h in body["results"] + rest["results"]} == K("nhung", "duc", "letter")


def test_api_filters(client) -> None:
    def found(**params) -> set[str]:
        r = client.get("/v1/search", params={"q": "thi", **params}, headers=H)
        assert r.status_code == 200, r.text
        return {h["result_code"] for h in r.json()["results"]}

    assert found(doc_type="residence_form") == K("anh")
    assert found(branch="DN01", needs_review="true") == K("duc")
    assert found(verification_status="mismatch") == K("duc")
    assert found(created_from="2026-03-16", created_to="2026-03-31") == K("letter", "anh")


@pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": "   "}, {"q": "x" * 501}, {"q": "a", "offset": -1},
                                    {"q": "a", "verification_status": "matched"}, {"q": "a", "created_from": "soon"},
                                    {"q": "a", "branch": "TDM\x00"}, {"q": "a", "doc_type": "cccd' --"}])
def test_api_rejects_a_bad_request(client, params) -> None:
    assert client.get("/v1/search", params=params, headers=H).status_code == 422


def test_api_dates_at_the_ends_of_the_calendar(client) -> None:
    r = client.get("/v1/search", params={"q": "thi", "created_from": "0001-01-01", "created_to": "9999-12-31"}, headers=H)
    assert r.status_code == 200 and r.json()["total"] == 4


@pytest.mark.parametrize("query", HOSTILE[:-1])
def test_api_never_fails_on_hostile_text(client, query) -> None:
    r = client.get("/v1/search", params={"q": query}, headers=H)
    assert r.status_code in (200, 422), r.text
    if r.status_code == 200:
        assert isinstance(r.json()["results"], list)


def test_api_audits_the_search(client, corpus) -> None:
    from storage.db import AuditRow

    client.get("/v1/search", params={"q": "tran van duc"}, headers=H)
    with corpus.sessions() as s:
        details = s.scalars(select(AuditRow.details).where(AuditRow.action == "search")).one()
    assert details["results"] == ["KQ-DUC"] and details["total"] == 1


# --------------------------------------------------------------------------- the CLI
def test_cli_prints_code_type_score_and_snippet(corpus, settings, monkeypatch) -> None:
    from typer.testing import CliRunner

    from sohoa import cli

    monkeypatch.setattr(cli, "_services", lambda **_: corpus)
    result = CliRunner().invoke(cli.app, ["search", "Trần Văn Đức"])
    assert result.exit_code == 0, result.output
    code, doc_type, score, snippet = result.stdout.strip().split("\t")
    assert (code, doc_type) == ("KQ-DUC", "birth_certificate") and float(score) > 0
    assert "«trần văn đức»" in snippet.lower() and "<mark>" not in snippet


def test_api_says_when_the_total_is_a_lower_bound(client, corpus, small_bands) -> None:
    _store_banded(corpus)  # 7 documents with "Bùi Xuân Phái"
    body = client.get("/v1/search", params={"q": "bui xuan phai", "limit": 2}, headers=H).json()
    assert body["total_exact"] is False and body["total"] == 4, body  # more than the (test's) count cap of 4
    exact = client.get("/v1/search", params={"q": "Nguyễn Thị Hồng"}, headers=H).json()
    assert exact["total_exact"] is True and exact["total"] == 3


# --------------------------------------------------------------------------- filters in the index (migration 0008)
# Stored at the edges of Vietnam days, months and years (UTC+7): 17:00 UTC is midnight in Vietnam.
FACETED: dict[str, Doc] = {
    "f_newyear": Doc("Hồ sơ lưu trữ một", "cccd", "DN01", datetime(2025, 12, 31, 17, 0, tzinfo=UTC), "match", False),
    "f_oldyear": Doc("Hồ sơ lưu trữ hai", "cccd", "HN01", datetime(2025, 12, 31, 16, 59, 59, tzinfo=UTC), "mismatch", True),
    "f_jan31": Doc("Hồ sơ lưu trữ ba", "birth_certificate", "DN01", datetime(2026, 1, 31, 16, 59, 59, tzinfo=UTC),
                   "not_found", True),
    "f_feb1": Doc("Hồ sơ lưu trữ bốn", "birth_certificate", None, datetime(2026, 1, 31, 17, 0, tzinfo=UTC), "match", True),
    "f_feb28": Doc("Hồ sơ lưu trữ năm", "official_letter", "HN01", datetime(2026, 2, 28, 16, 0, tzinfo=UTC), "match", False),
    "f_mar1": Doc("Hồ sơ lưu trữ sáu", "cccd", "", datetime(2026, 2, 28, 17, 30, tzinfo=UTC), "not_checked", False),
    "f_mar15": Doc("Hồ sơ lưu trữ bảy", "official_letter", "DN01", datetime(2026, 3, 15, 20, 0, tzinfo=UTC),
                   "mismatch", False),
    "f_jun": Doc("Hồ sơ lưu trữ tám", "cccd", "Chi nhánh Đà Nẵng", datetime(2026, 6, 10, 1, 0, tzinfo=UTC), "match", True),
    "f_2027": Doc("Hồ sơ lưu trữ chín", "residence_form", "DN01", datetime(2027, 1, 1, 0, 0, tzinfo=UTC), "match", False),
}
FILTER_VALUES = {
    "doc_type": [None, "cccd", "birth_certificate", "cmnd"],
    "branch": [None, "DN01", "HN01", "", "Chi nhánh Đà Nẵng"],
    "verification_status": [None, "match", "mismatch"],
    "needs_review": [None, True, False],
}
DAY_RANGES = [  # (created_from, created_to), days in Vietnam time, both included
    (date(2026, 1, 1), None), (None, date(2025, 12, 31)), (date(2025, 12, 31), date(2025, 12, 31)),
    (date(2026, 1, 31), date(2026, 2, 1)), (date(2026, 2, 1), date(2026, 2, 28)), (date(2026, 2, 1), date(2026, 3, 1)),
    (date(2026, 1, 1), date(2026, 12, 31)), (date(2025, 1, 1), date(2026, 12, 31)), (date(2026, 3, 16), date(2026, 3, 16)),
    (date(2026, 3, 15), date(2026, 3, 15)), (date(2026, 1, 15), date(2026, 6, 10)), (date(2026, 7, 1), None),
    (None, date(2020, 1, 1)), (date(2030, 1, 1), None), (date(1, 1, 1), date(9999, 12, 31)), (date(2026, 3, 1), date(2026, 2, 1)),
]


def _vn_day(moment: datetime) -> date:
    return (moment + timedelta(hours=7)).date()


def _expected(docs: dict[str, Doc], **kw) -> set[str]:
    """The plain Python filter over the stored rows, as the row-by-row SQL test was."""
    def keep(d: Doc) -> bool:
        return ((kw.get("doc_type") is None or d.doc_type == kw["doc_type"])
                and (kw.get("branch") is None or d.branch == kw["branch"])
                and (kw.get("verification_status") is None or d.status == kw["verification_status"])
                and (kw.get("needs_review") is None or d.needs_review == kw["needs_review"])
                and (kw.get("created_from") is None or _vn_day(d.created_at) >= kw["created_from"])
                and (kw.get("created_to") is None or _vn_day(d.created_at) <= kw["created_to"]))
    return {n for n, d in docs.items() if keep(d)}


def test_every_filter_and_combination_gives_what_a_row_by_row_filter_gives(svc) -> None:
    _store(svc, FACETED | {"other": Doc("Giấy xác nhận")})
    names = list(FILTER_VALUES)
    for values in itertools.product(*FILTER_VALUES.values()):
        kw = {k: v for k, v in zip(names, values, strict=True) if v is not None}
        assert codes(svc, "ho so luu tru", **kw) == K(*_expected(FACETED, **kw)), kw
    for start, end in DAY_RANGES:
        for extra in [{}, {"doc_type": "cccd"}, {"branch": "DN01", "needs_review": False}]:
            kw = {"created_from": start, "created_to": end, **extra}
            assert codes(svc, "ho so luu tru", **kw) == K(*_expected(FACETED, **kw)), kw
    assert codes(svc, '"luu tru bon"', branch="") == set()  # no branch is not the empty branch
    assert codes(svc, '"luu tru sau"', branch="") == K("f_mar1")
    assert codes(svc, "luu", created_from=date(2026, 2, 1), created_to=date(2026, 2, 28)) == K("f_feb1", "f_feb28")


def test_date_bounds_at_month_and_day_edges_in_vietnam_time(svc) -> None:
    _store(svc, FACETED)
    # 2025-12-31 17:00 UTC is 1 January 2026 in Vietnam; 16:59:59 is still 31 December.
    assert codes(svc, "ho so", created_from=date(2026, 1, 1), created_to=date(2026, 1, 1)) == K("f_newyear")
    assert codes(svc, "ho so", created_to=date(2025, 12, 31)) == K("f_oldyear")
    assert codes(svc, "ho so", created_from=date(2026, 2, 1), created_to=date(2026, 2, 28)) == K("f_feb1", "f_feb28")
    assert codes(svc, "ho so", created_from=date(2026, 3, 1), created_to=date(2026, 3, 31)) == K("f_mar1", "f_mar15")
    assert codes(svc, "ho so", created_from=date(2027, 1, 1)) == K("f_2027")
    assert codes(svc, "ho so", created_from=date(2027, 1, 2)) == set()
    engine = svc.sessions.kw["bind"]
    if engine.dialect.name == "sqlite":  # in the MATCH, as whole years, months and days: no row read
        vn = timezone(timedelta(hours=7))
        with engine.connect() as conn:
            assert index.SqliteBackend._facets(conn, index.Filters(
                created_from=datetime(2026, 1, 31, tzinfo=vn), created_to=datetime(2026, 3, 2, tzinfo=vn))) == \
                ([["d20260131", "m202602", "d20260301"]], [])
            assert index.SqliteBackend._facets(conn, index.Filters(created_from=datetime(2026, 1, 1, tzinfo=vn))) == \
                ([["y2026", "d20270101"]], [])  # to the last day stored
            groups, where = index.SqliteBackend._facets(conn, index.Filters(
                branch="DN01", created_from=datetime(2026, 1, 1, 12, tzinfo=vn)))
            assert groups == [["b" + b"DN01".hex()]] and len(where) == 1  # not a midnight: row by row


@pytest.mark.parametrize("bounds", [
    (datetime(2026, 1, 31, 16, 59, 59, tzinfo=UTC), None),  # not Vietnam midnights: tested row by row
    (None, datetime(2026, 1, 31, 17, 0, 0, 1, tzinfo=UTC)),
    (datetime(2026, 2, 1, 0, 0, tzinfo=UTC), datetime(2026, 3, 15, 20, 0, tzinfo=UTC)),
    (datetime(2026, 2, 28, 17, 0), datetime(2026, 3, 15, 20, 0, 1)),  # naive: UTC
    (datetime(2026, 1, 31, 17, 0, tzinfo=UTC), datetime(2026, 2, 28, 17, 0, tzinfo=UTC)),  # midnights: facets
])
def test_bounds_that_are_not_vietnam_midnights_are_exact(svc, bounds) -> None:
    _store(svc, FACETED)
    lo, hi = (b if b is None or b.tzinfo else b.replace(tzinfo=UTC) for b in bounds)
    expected = {n for n, d in FACETED.items() if (lo is None or d.created_at >= lo) and (hi is None or d.created_at < hi)}
    with svc.sessions() as s:
        page = index.search(s.connection(), "ho so luu tru", index.Filters(created_from=bounds[0], created_to=bounds[1]),
                            limit=100)
    assert {h.result_code for h in page} == K(*expected)


def test_a_reviewed_document_is_found_under_its_new_values_only(svc) -> None:
    _store(svc, FACETED)
    kw_old = {"verification_status": "not_found", "needs_review": True}
    assert codes(svc, "ho so", **kw_old) == K("f_jan31")
    # A review, through the ORM as the review route writes: status, flag and search_text together.
    with svc.sessions() as s, s.begin():
        row = s.scalars(select(DocumentRow).where(DocumentRow.result_code == "KQ-F_JAN31")).one()
        row.verification_status, row.needs_review = "match", False
        row.search_text = row.search_text + " da sua"
    assert codes(svc, "ho so", **kw_old) == set()
    assert codes(svc, "ho so", verification_status="not_found") == set()
    assert codes(svc, "ho so", verification_status="match", needs_review=False) == K("f_newyear", "f_feb28", "f_jan31",
                                                                                      "f_2027")
    assert codes(svc, "da sua", needs_review=False) == K("f_jan31")
    # The flag alone (plain SQL), and then the other filtered columns.
    with svc.sessions() as s, s.begin():
        s.execute(update(DocumentRow).where(DocumentRow.result_code == "KQ-F_JAN31").values(needs_review=True))
    assert codes(svc, "da sua", needs_review=False) == set() and codes(svc, "da sua", needs_review=True) == K("f_jan31")
    with svc.sessions() as s, s.begin():
        s.execute(update(DocumentRow).where(DocumentRow.result_code == "KQ-F_JAN31")
                  .values(doc_type="cmnd", branch=None, created_at=datetime(2026, 8, 1, 17, 0, tzinfo=UTC)))
    assert codes(svc, "da sua", doc_type="birth_certificate") == set() and codes(svc, "da sua", doc_type="cmnd") == K("f_jan31")
    assert codes(svc, "da sua", branch="DN01") == set() and codes(svc, "da sua", branch="") == set()
    assert codes(svc, "da sua", created_from=date(2026, 1, 31), created_to=date(2026, 1, 31)) == set()
    assert codes(svc, "da sua", created_from=date(2026, 8, 2), created_to=date(2026, 8, 2)) == K("f_jan31")
    assert codes(svc, "da sua") == K("f_jan31")  # still indexed, once
    assert pipeline.search(svc, "ho so").total == len(FACETED)


def test_filter_values_are_not_words_to_find(svc) -> None:
    _store(svc, FACETED)
    # The facet tokens (t…, b…, r1, m202601…) live in their own column: searching them finds nothing.
    for token in ["r1", "r0", "y2026", "m202602", "d20260201", "t" + b"cccd".hex(), "b" + b"DN01".hex()]:
        assert codes(svc, token) == set(), token


def test_migration_0008_down_and_up_again(database_url, tmp_path) -> None:
    from alembic import command
    from sqlalchemy import create_engine

    from storage.migrate import _config, upgrade

    engine = create_engine(database_url or f"sqlite:///{tmp_path / 'down.db'}")
    upgrade(engine)
    before = _row("before", Doc("Biên bản của bà Lò Thị Xuyến", branch="HN01", status="mismatch"))
    with engine.begin() as conn:
        conn.execute(insert(DocumentRow).values({c.key: getattr(before, c.key) for c in DocumentRow.__table__.c}))
    with engine.begin() as conn:
        command.downgrade(_config(conn), "0007")
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":  # 0005's table: one column, still filled, triggers working
            assert [c[1] for c in conn.exec_driver_sql("PRAGMA table_info(documents_fts)")] == ["body"]
            triggers = set(conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").scalars())
            assert "documents_fts_facets" not in triggers and "documents_fts_update" in triggers
        else:
            assert "search_bigrams" not in {c["name"] for c in inspect(conn).get_columns("documents")}
            assert "ix_documents_branch" not in {i["name"] for i in inspect(conn).get_indexes("documents")}
    during = _row("during", Doc("Biên bản của ông Lò Văn Pá", branch="HN01"))
    with engine.begin() as conn:
        conn.execute(insert(DocumentRow).values({c.key: getattr(during, c.key) for c in DocumentRow.__table__.c}))
        if engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("SELECT count(*) FROM documents_fts WHERE documents_fts MATCH 'lo'").scalar() == 2
    upgrade(engine)
    with engine.connect() as conn:
        assert {h.result_code for h in index.search(conn, "bien ban lo", index.Filters(branch="HN01"))} == \
            {"KQ-BEFORE", "KQ-DURING"}
        assert {h.result_code for h in index.search(conn, '"lo thi xuyen"', index.Filters(verification_status="mismatch"))} == \
            {"KQ-BEFORE"}
    engine.dispose()


def test_postgres_phrases_also_require_their_word_pairs(svc) -> None:
    engine = svc.sessions.kw["bind"]
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    _store(svc, CORPUS | RANKED)
    with engine.connect() as conn:
        pairs = conn.execute(text("SELECT search_bigrams FROM documents WHERE result_code = 'KQ-LETTER'")).scalar_one()
        lexemes = set(re.findall(r"'([^']+)'", pairs))
        assert {"125_ubnd", "ubnd_vp", "thi_tran", "dinh_cong"} <= lexemes and "nguyen_thi" not in lexemes
        assert conn.execute(text("SELECT search_bigrams('Nguyen-Van  27/09/1970 A')::text")).scalar_one() == \
            "'09_1970' '1970_a' '27_09' 'nguyen_van' 'van_27'"
    statements: list[str] = []

    def seen(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert codes(svc, '"nguyen thi hong"') == K("nhung", "duc")
        assert codes(svc, '"Thị trấn Hồng Ngự"') == K("letter")
        assert codes(svc, '"hong thi nguyen"') == set()
        assert codes(svc, "nguyen thi hong") == K("nhung", "duc", "letter")  # words: no pairs needed
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    searches = [s for s in statements if "@@" in s]
    assert len(searches) == 4 and sum("search_bigrams @@" in s for s in searches) == 3
    # Phrases in two steps (pairs and filters, then positions): the candidates are materialised first.
    assert sum("candidates AS MATERIALIZED" in s for s in searches) == 3
    assert index.bigram_tsquery(index.parse('"Nguyễn Thị Hồng" nhung "27/09/1970"')) == \
        "'09_1970' & '27_09' & 'nguyen_thi' & 'thi_hong'"
    assert index.bigram_tsquery(index.parse("nguyen thi")) is None
