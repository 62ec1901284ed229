"""Synthetic stored results for the benchmarks that need an archive (bench/search.py, bench/api.py).

Documents are written as the pipeline writes them (`pipeline._document_row`, so `search_text`, the
full-text index and the result JSON are the real ones): 1–2 KB of Vietnamese text per document —
people from `sohoa.synth` (names, dates, id numbers, addresses), the boilerplate of their document
type and, to reach the length, paragraphs of official letters — over 8 branches, 2 years of dates
and the four verification statuses. Deterministic for a seed: document i is the same whatever the
batch sizes, so an archive can be grown in steps (25,000, then 50,000, …) and measured at each.
"""

from __future__ import annotations

import random
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from sohoa.models import ResultObject, Source, Verification  # noqa: E402
from sohoa.pipeline import _document_row  # noqa: E402
from sohoa.synth import data  # noqa: E402
from sohoa.synth.people import Person, dmy, random_person  # noqa: E402
from storage.db import DocumentRow  # noqa: E402

BRANCHES = ["TDM01", "TDM02", "DA01", "TA01", "BC01", "DN01", "HCM01", "HN01"]
STATUSES = [("match", 70), ("mismatch", 5), ("not_found", 10), ("not_checked", 15)]
START = datetime(2025, 1, 1, tzinfo=UTC)
DAYS = 730


def _card(p: Person, rng: random.Random) -> tuple[str, dict]:
    lines = ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "CĂN CƯỚC CÔNG DÂN",
             f"Số / No.: {p.id_number}", "Họ và tên / Full name:", p.full_name_upper,
             f"Ngày sinh / Date of birth: {dmy(p.date_of_birth)}", f"Giới tính / Sex: {p.sex}",
             f"Quốc tịch / Nationality: {p.nationality}", f"Quê quán / Place of origin: {p.place_of_origin.full()}",
             f"Nơi thường trú / Place of residence: {p.place_of_residence.full()}",
             f"Đặc điểm nhân dạng: {p.personal_identification}"]
    return "\n".join(lines), {"full_name": p.full_name, "id_number": p.id_number,
                              "date_of_birth": p.date_of_birth.isoformat(), "sex": p.sex}


def _birth(p: Person, rng: random.Random) -> tuple[str, dict]:
    lines = ["GIẤY KHAI SINH", f"Họ, chữ đệm, tên: {p.full_name_upper}", f"Ngày, tháng, năm sinh: {dmy(p.date_of_birth)}",
             f"Giới tính: {p.sex}  Dân tộc: {p.ethnicity}  Quốc tịch: {p.nationality}",
             f"Nơi sinh: {p.birth_facility}", f"Quê quán: {p.place_of_origin.full()}",
             f"Họ, chữ đệm, tên người cha: {p.father_name}", f"Họ, chữ đệm, tên người mẹ: {p.mother_name}",
             f"Số: {p.birth_registration_number}, Quyển số: {p.birth_registration_book}",
             f"Nơi đăng ký: {p.registration_place}", f"Người ký giấy khai sinh: {p.birth_certificate_signer}"]
    return "\n".join(lines), {"full_name": p.full_name, "father_name": p.father_name, "mother_name": p.mother_name}


def _letter(p: Person, rng: random.Random) -> tuple[str, dict]:
    lines = [f"ỦY BAN NHÂN DÂN {p.place_of_residence.province.upper()}",
             f"Số: {rng.randint(1, 3000)}/UBND-{rng.choice(data.LETTER_CODES)}", rng.choice(data.LETTER_SUBJECTS),
             f"Kính gửi: {rng.choice(data.LETTER_RECIPIENTS)}", *rng.sample(data.LETTER_PARAGRAPHS, 2),
             f"Nơi nhận: như trên; lưu VT. KT. CHỦ TỊCH, PHÓ CHỦ TỊCH {p.full_name_upper}"]
    return "\n".join(lines), {"signer": p.full_name}


def _business(p: Person, rng: random.Random) -> tuple[str, dict]:
    form, prefix = rng.choice(data.COMPANY_FORMS)
    name = f"{prefix} {rng.choice(data.COMPANY_TRADES)} {rng.choice(data.COMPANY_BRANDS)}"
    lines = ["GIẤY CHỨNG NHẬN ĐĂNG KÝ DOANH NGHIỆP", form, f"Mã số doanh nghiệp: {rng.randint(10**9, 10**10 - 1)}",
             f"Tên công ty viết bằng tiếng Việt: {name}", f"Địa chỉ trụ sở chính: {p.place_of_residence.full()}",
             f"Vốn điều lệ: {rng.choice(data.CHARTER_CAPITALS):,} đồng".replace(",", "."),
             f"Người đại diện theo pháp luật: {p.full_name_upper}", f"Sinh ngày: {dmy(p.date_of_birth)}",
             f"Số định danh cá nhân: {p.id_number}"]
    return "\n".join(lines), {"company_name": name, "legal_representative": p.full_name}


def _residence(p: Person, rng: random.Random) -> tuple[str, dict]:
    request = rng.choice(data.RESIDENCE_REQUESTS).format(head=p.father_name, address=p.place_of_residence.full())
    lines = ["Mẫu CT01 ban hành kèm theo Thông tư số 66/2023/TT-BCA", "TỜ KHAI THAY ĐỔI THÔNG TIN CƯ TRÚ",
             f"Kính gửi: Công an {p.place_of_residence.ward}", f"1. Họ, chữ đệm và tên: {p.full_name_upper}",
             f"2. Ngày, tháng, năm sinh: {dmy(p.date_of_birth)}", f"3. Giới tính: {p.sex}",
             f"4. Số định danh cá nhân: {p.id_number}", f"7. Họ, chữ đệm và tên chủ hộ: {p.father_name}",
             f"10. Nội dung đề nghị: {request}"]
    return "\n".join(lines), {"full_name": p.full_name, "id_number": p.id_number, "request": request}


KINDS: list[tuple[str, Callable[[Person, random.Random], tuple[str, dict]], int]] = [
    ("cccd", _card, 35), ("birth_certificate", _birth, 20), ("official_letter", _letter, 10),
    ("business_registration", _business, 10), ("residence_form", _residence, 25),
]


def result_code(i: int) -> str:
    return f"KQ-BENCH-{i:08d}"


def make_result(i: int, rng: random.Random) -> tuple[ResultObject, datetime, Person]:
    p = random_person(rng)
    doc_type, build, _ = rng.choices(KINDS, weights=[w for *_, w in KINDS])[0]
    body, fields = build(p, rng)
    target = rng.randint(1000, 2000)
    while len(body) < target:  # the rest of a page: letters' paragraphs, as scanned annexes are
        body += "\n" + rng.choice(data.LETTER_PARAGRAPHS)
    status = rng.choices([s for s, _ in STATUSES], weights=[w for _, w in STATUSES])[0]
    result = ResultObject(
        document_id=f"d-bench-{i:08d}", source=Source(file=f"f{i}.pdf", sha256=f"{i:064x}", pages=[1],
                                                      branch=rng.choice(BRANCHES)),
        doc_type=doc_type, fields=fields, text=body[:target], result_code=result_code(i),
        needs_review=rng.random() < 0.15, verification=Verification(status=status))
    return result, START + timedelta(seconds=rng.randint(0, DAYS * 86400)), p


class Archive:
    """Fills a database with documents 0, 1, 2, … of one seed, in as many steps as wanted."""

    def __init__(self, sessions: sessionmaker, seed: int = 1, keep_people: int = 5000) -> None:
        self.sessions, self.rng, self.keep_people = sessions, random.Random(seed), keep_people
        self.size = 0
        self.people: list[Person] = []  # the first documents' people, to make queries from

    def grow(self, to: int, batch: int = 2000, progress: bool = True) -> None:
        """Add documents until there are `to` (one Core INSERT of `batch` rows at a time: the ORM
        would cost as much as making the documents)."""
        columns = [c.key for c in DocumentRow.__table__.c]
        while self.size < to:
            rows = []
            for i in range(self.size, min(to, self.size + batch)):
                result, created, person = make_result(i, self.rng)
                row = _document_row(result)
                row.created_at = created
                rows.append({c: getattr(row, c) for c in columns})
                if len(self.people) < self.keep_people:
                    self.people.append(person)
            with self.sessions() as s, s.begin():
                s.execute(insert(DocumentRow), rows)
            self.size += len(rows)
            if progress:
                print(f"\r{self.size}/{to} documents", end="", file=sys.stderr, flush=True)
        if progress:
            print(file=sys.stderr)


@contextmanager
def fresh_database(url: str | None) -> Iterator[str]:
    """A database of its own: SQLite in a temporary directory, or a new schema in the PostgreSQL
    database at `url` (dropped at the end)."""
    if url is None:
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.db'}"
        return
    with postgres_schema(url) as schema_url:
        yield schema_url


@contextmanager
def postgres_schema(url: str) -> Iterator[str]:
    import psycopg

    schema = "bench_" + uuid.uuid4().hex[:10]
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def settle(engine) -> None:  # noqa: ANN001
    """After a bulk load, what a running PostgreSQL would have done by itself (autovacuum): the
    planner's statistics and the visibility map. Nothing to do on SQLite."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE documents")
