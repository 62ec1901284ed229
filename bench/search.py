"""Search latency: p50/p95/p99 of `storage.search.search` (what `GET /v1/search` and `sohoa search` run),
per query class, at one or more archive sizes, and a linear projection to a larger archive.

    .venv/bin/python bench/search.py                                  # 100,000 documents, SQLite (FTS5)
    .venv/bin/python bench/search.py --sizes 25000,50000,100000       # measured at each size, projected to 1M
    .venv/bin/python bench/search.py --sizes 5000                     # a quick check
    .venv/bin/python bench/search.py --database-url postgresql+psycopg://u@host/db   # PostgreSQL
    .venv/bin/python bench/search.py --json out.json                  # the numbers, for docs/benchmarks.md

Fills a fresh database (SQLite in a temporary directory; on PostgreSQL a new schema, dropped at
the end) with the synthetic archive of bench/corpus.py, grown in steps to each size (then VACUUM
ANALYZE on PostgreSQL, as autovacuum would). At each size it times the same mixed set of searches
(one word, three words, a quoted phrase; a third of each with a filter), each the full call: page
of 20, total (exact up to the backend's count_cap), snippets made from the original text.

The projection fits, per class, p50 and p95 = a + b·N over the sizes measured (least squares) and
evaluates it at --project. Linear in N because what still grows with the archive is linear in the
matches of a word, and a word's matches grow with N (bm25's document-frequency pass on SQLite, the
GIN bitmap on PostgreSQL); the bounded parts (the band ranked, the capped count) make it an upper
estimate.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy.orm import sessionmaker  # noqa: E402

from bench.corpus import BRANCHES, DAYS, KINDS, START, Archive, fresh_database, settle  # noqa: E402
from extraction.normalize import fold  # noqa: E402
from sohoa.synth.people import Person  # noqa: E402
from storage import search as index  # noqa: E402
from storage.db import make_sessionmaker  # noqa: E402


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
            # A Vietnam midnight, as the API and the CLI make (storage/search.py serves those from the index).
            day = (START + timedelta(days=rng.randint(0, DAYS - 90))).replace(tzinfo=timezone(timedelta(hours=7)))
            filters = rng.choice([
                index.Filters(doc_type=rng.choice(KINDS)[0]),
                index.Filters(branch=rng.choice(BRANCHES)),
                index.Filters(created_from=day, created_to=day + timedelta(days=90)),
                index.Filters(needs_review=True, verification_status="match"),
            ])
            kind += " + filter"
        out.append(Search(kind, query, filters))
    return out


Timings = dict[str, list[tuple[float, int, bool]]]  # class → (ms, total, total exact)


def run(sessions: sessionmaker, plan: list[Search]) -> Timings:
    timings: Timings = {}
    for s in plan[:10]:  # warm the caches, as a running service has them
        _one(sessions, s)
    for s in plan:
        t0 = time.perf_counter()
        page = _one(sessions, s)
        timings.setdefault(s.kind, []).append(((time.perf_counter() - t0) * 1000, page.total, page.total_exact))
    return timings


def _one(sessions: sessionmaker, s: Search) -> index.SearchPage:
    with sessions() as session:
        return index.search(session.connection(), s.query, s.filters, limit=20)


def pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if len(values) > 1 else values[0]


def summary(timings: Timings) -> dict[str, dict[str, float]]:
    rows = sorted(timings.items()) + [("all", [t for ts in timings.values() for t in ts])]
    return {kind: {"n": len(ts), "p50": pct([t for t, *_ in ts], 50), "p95": pct([t for t, *_ in ts], 95),
                   "p99": pct([t for t, *_ in ts], 99), "max": max(t for t, *_ in ts),
                   "median_total": statistics.median(h for _, h, _ in ts),
                   "capped": sum(not exact for *_, exact in ts) / len(ts)}
            for kind, ts in rows}


def report(stats: dict[str, dict[str, float]]) -> None:
    print("| searches | n | p50 ms | p95 ms | p99 ms | max ms | median total | totals capped |\n"
          "|---|---|---|---|---|---|---|---|")
    for kind, s in stats.items():
        print(f"| {kind} | {s['n']} | {s['p50']:.1f} | {s['p95']:.1f} | {s['p99']:.1f} | {s['max']:.1f} | "
              f"{s['median_total']:.0f} | {s['capped']:.0%} |")


def fit(sizes: list[int], values: list[float]) -> tuple[float, float]:
    """Least-squares a, b of value = a + b·size."""
    if len(sizes) < 2:
        return values[0], 0.0
    mx, my = statistics.fmean(sizes), statistics.fmean(values)
    b = sum((x - mx) * (y - my) for x, y in zip(sizes, values, strict=True)) / sum((x - mx) ** 2 for x in sizes)
    return my - b * mx, b


def projection(by_size: dict[int, dict[str, dict[str, float]]], target: int) -> dict[str, dict[str, float]]:
    sizes = sorted(by_size)
    out = {}
    for kind in by_size[sizes[-1]]:
        out[kind] = {}
        for q in ("p50", "p95"):
            a, b = fit(sizes, [by_size[n][kind][q] for n in sizes])
            out[kind][q] = a + b * target
            out[kind][q + "_ms_per_100k"] = b * 100_000
    return out


def report_projection(by_size: dict[int, dict[str, dict[str, float]]], target: int) -> None:
    sizes = sorted(by_size)
    proj = projection(by_size, target)
    cols = " | ".join(f"p50 / p95 at {n:,}" for n in sizes)
    print(f"\n| searches | {cols} | +ms per 100k (p50 / p95) | projected p50 / p95 at {target:,} |")
    print("|---|" + "---|" * (len(sizes) + 2))
    for kind, p in proj.items():
        measured = " | ".join(f"{by_size[n][kind]['p50']:.1f} / {by_size[n][kind]['p95']:.1f}" for n in sizes)
        print(f"| {kind} | {measured} | {p['p50_ms_per_100k']:.1f} / {p['p95_ms_per_100k']:.1f} | "
              f"{p['p50']:.0f} / {p['p95']:.0f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100000", help="archive sizes to measure at, comma-separated, ascending")
    ap.add_argument("--n", type=int, help="one size (the same as --sizes N)")
    ap.add_argument("--searches", type=int, default=200)
    ap.add_argument("--database-url", help="a PostgreSQL URL (a new schema is made in it); default SQLite")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--project", type=int, default=1_000_000, help="archive size to project to (2+ sizes)")
    ap.add_argument("--json", type=Path, help="write the numbers here")
    args = ap.parse_args()
    sizes = [args.n] if args.n else sorted(int(s) for s in args.sizes.split(","))
    by_size: dict[int, dict[str, dict[str, float]]] = {}
    with fresh_database(args.database_url) as url:
        sessions = make_sessionmaker(url)
        engine = sessions.kw["bind"]
        archive = Archive(sessions, args.seed)
        for n in sizes:
            t0 = time.perf_counter()
            before = archive.size
            archive.grow(n)
            settle(engine)
            took = time.perf_counter() - t0
            size = ""
            if engine.dialect.name == "sqlite":
                size = f", {os.path.getsize(engine.url.database) / 1e6:.0f} MB file"
            print(f"\n{engine.dialect.name}: {n:,} documents ({n - before:,} added in {took:.0f} s, "
                  f"{(n - before) / took:.0f}/s{size}); {args.searches} searches, page of 20 with total and "
                  f"snippets; {os.cpu_count()} cores\n")
            by_size[n] = summary(run(sessions, searches(archive.people, args.searches, args.seed)))
            report(by_size[n])
        engine.dispose()
    if len(sizes) > 1:
        report_projection(by_size, args.project)
    if args.json:
        doc = {"database": engine.dialect.name, "searches": args.searches, "seed": args.seed,
               "count_cap": index.backend_for(engine.dialect.name).count_cap, "by_size": by_size}
        if len(sizes) > 1:
            doc["projection"] = {"size": args.project, "classes": projection(by_size, args.project)}
        args.json.write_text(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
