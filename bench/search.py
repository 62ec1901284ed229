"""Search latency: p50/p95/p99 of `storage.search.search` (what `GET /v1/search` and `sohoa search` run).

    .venv/bin/python bench/search.py                          # 100,000 documents, SQLite (FTS5)
    .venv/bin/python bench/search.py --n 5000                 # a quick check
    .venv/bin/python bench/search.py --database-url postgresql+psycopg://u@host/db   # PostgreSQL

Fills a fresh database (SQLite in a temporary directory; on PostgreSQL a new schema, dropped at
the end) with N documents written as the pipeline writes them (`pipeline._document_row`): 1–2 KB
of Vietnamese text per document — people from `sohoa.synth` (names, dates, id numbers, addresses),
the boilerplate of their document type and, to reach the length, paragraphs of official letters —
over 8 branches, 2 years of dates and the four verification statuses. Then times a mixed set of
searches (one word, three words, a quoted phrase; a third of each with a filter), each the full
call: page of 20, total count, snippets mapped back to the original text.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy.orm import sessionmaker  # noqa: E402

from extraction.normalize import fold  # noqa: E402
from sohoa.models import ResultObject, Source, Verification  # noqa: E402
from sohoa.pipeline import _document_row  # noqa: E402
from sohoa.synth import data  # noqa: E402
from sohoa.synth.people import Person, dmy, random_person  # noqa: E402
from storage import search as index  # noqa: E402
from storage.db import make_sessionmaker  # noqa: E402

BRANCHES = ["TDM01", "TDM02", "DA01", "TA01", "BC01", "DN01", "HCM01", "HN01"]
STATUSES = [("match", 70), ("mismatch", 5), ("not_found", 10), ("not_checked", 15)]
START = datetime(2025, 1, 1, tzinfo=UTC)
DAYS = 730


# --------------------------------------------------------------------------- the corpus
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
        doc_type=doc_type, fields=fields, text=body[:target], result_code=f"KQ-BENCH-{i:08d}",
        needs_review=rng.random() < 0.15, verification=Verification(status=status))
    return result, START + timedelta(seconds=rng.randint(0, DAYS * 86400)), p


def fill(sessions: sessionmaker, n: int, seed: int, batch: int = 2000) -> list[Person]:
    rng = random.Random(seed)
    people: list[Person] = []
    for start in range(0, n, batch):
        rows = []
        for i in range(start, min(n, start + batch)):
            result, created, person = make_result(i, rng)
            row = _document_row(result)
            row.created_at = created
            rows.append(row)
            if len(people) < 5000:
                people.append(person)
        with sessions() as s, s.begin():
            s.add_all(rows)
        print(f"\r{min(n, start + batch)}/{n} documents", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return people


# --------------------------------------------------------------------------- the searches
@dataclass(frozen=True)
class Search:
    kind: str
    query: str
    filters: index.Filters


def searches(people: list[Person], count: int, seed: int) -> list[Search]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        p = rng.choice(people)
        kind = ("1 word", "3 words", "phrase")[i % 3]
        if kind == "1 word":
            query = rng.choice([p.given, p.surname, p.place_of_residence.province.split()[-1], "khai", "sinh"])
        elif kind == "3 words":
            query = rng.choice([f"{p.given} {p.surname} {p.middle.split()[0]}", p.place_of_residence.ward])
        else:
            query = f'"{rng.choice([p.full_name, p.place_of_origin.district, p.place_of_residence.ward])}"'
        if rng.random() < 0.5:
            query = fold(query)  # as typed on a keyboard without a Vietnamese layout
        filters = index.Filters()
        if (i // 3) % 3 == 1:  # a third of each kind filtered
            day = START + timedelta(days=rng.randint(0, DAYS - 90))
            filters = rng.choice([
                index.Filters(doc_type=rng.choice(KINDS)[0]),
                index.Filters(branch=rng.choice(BRANCHES)),
                index.Filters(created_from=day, created_to=day + timedelta(days=90)),
                index.Filters(needs_review=True, verification_status="match"),
            ])
            kind += " + filter"
        out.append(Search(kind, query, filters))
    return out


def run(sessions: sessionmaker, plan: list[Search]) -> dict[str, list[tuple[float, int]]]:
    timings: dict[str, list[tuple[float, int]]] = {}
    for s in plan[:10]:  # warm the caches, as a running service has them
        _one(sessions, s)
    for s in plan:
        t0 = time.perf_counter()
        total = _one(sessions, s)
        timings.setdefault(s.kind, []).append(((time.perf_counter() - t0) * 1000, total))
    return timings


def _one(sessions: sessionmaker, s: Search) -> int:
    with sessions() as session:
        return index.search(session.connection(), s.query, s.filters, limit=20).total


def _pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if len(values) > 1 else values[0]


def report(timings: dict[str, list[tuple[float, int]]]) -> None:
    print("| searches | n | p50 ms | p95 ms | p99 ms | max ms | median hits |\n|---|---|---|---|---|---|---|")
    rows = sorted(timings.items()) + [("all", [t for ts in timings.values() for t in ts])]
    for kind, ts in rows:
        ms = [t for t, _ in ts]
        print(f"| {kind} | {len(ms)} | {_pct(ms, 50):.1f} | {_pct(ms, 95):.1f} | {_pct(ms, 99):.1f} | {max(ms):.1f} | "
              f"{statistics.median(h for _, h in ts):.0f} |")


# --------------------------------------------------------------------------- databases
@contextmanager
def fresh_database(url: str | None) -> Iterator[str]:
    if url is None:
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.db'}"
        return
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000, help="documents in the database")
    ap.add_argument("--searches", type=int, default=200)
    ap.add_argument("--database-url", help="a PostgreSQL URL (a new schema is made in it); default SQLite")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    with fresh_database(args.database_url) as url:
        sessions = make_sessionmaker(url)
        engine = sessions.kw["bind"]
        t0 = time.perf_counter()
        people = fill(sessions, args.n, args.seed)
        took = time.perf_counter() - t0
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE documents")
        size = ""
        if engine.dialect.name == "sqlite":
            size = f", {os.path.getsize(engine.url.database) / 1e6:.0f} MB file"
        print(f"{engine.dialect.name}: {args.n} documents in {took:.0f} s ({args.n / took:.0f}/s){size}; "
              f"{args.searches} searches, page of 20 with total and snippets; {os.cpu_count()} cores\n")
        report(run(sessions, searches(people, args.searches, args.seed)))
        engine.dispose()


if __name__ == "__main__":
    main()
