"""The HTTP API under load with an archive of stored results: requests/s and p50/p95/p99 latency of
upload acknowledgements, result fetches and searches, each from client processes on loopback.

    .venv/bin/python bench/api.py                                   # 100,000 results, SQLite, 4 clients, 10 s each
    .venv/bin/python bench/api.py --results 5000 --duration 3       # a quick check
    .venv/bin/python bench/api.py --database-url postgresql+psycopg://sohoa@127.0.0.1:54329/sohoa_test
    .venv/bin/python bench/api.py --scenarios fetch,search --clients 1,4 --json out.json

The archive is the synthetic one of bench/corpus.py (bench/search.py's), written straight into a fresh
database (SQLite in a temporary data dir; on PostgreSQL a new schema, dropped at the end) before the
server starts. Then the real `sohoa serve` (uvicorn, `--api-workers` processes) runs on 127.0.0.1 in
distributed mode against a loopback Redis (append-only, fsync always) with no worker consuming, so
an upload is only acknowledged — stored, fsynced, recorded, queued — never read, and the numbers are
the API's alone. Scenarios, one after another, each for --duration seconds after a warm-up:

    upload   POST /v1/batches, one small PDF (~1 KB, distinct bytes each time), admin key
    fetch    GET /v1/results/{code} of a random stored result, downstream key (an audit row per read)
    search   GET /v1/search, bench/search.py's mix of queries (a third filtered), archivist key

Loopback only: the server binds 127.0.0.1 and the clients share the machine's cores with it, so
requests/s is what one machine does for both sides; latency is measured at the client, end to end.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api import keys  # noqa: E402
from bench.corpus import Archive, postgres_schema, result_code, settle  # noqa: E402
from bench.ingest import wait_healthy  # noqa: E402
from bench.search import searches  # noqa: E402
from storage.db import make_sessionmaker  # noqa: E402
from tests.servers import RedisServer, free_port, wait_port  # noqa: E402

TARGETS_MS = {"fetch": 20.0, "search": 50.0}  # p95 (docs/benchmarks.md)
ADMIN_KEY = "bench-admin"


def small_pdf(i: int) -> bytes:
    rng = random.Random(i)
    buf = io.BytesIO()
    Image.new("RGB", (24, 24), tuple(rng.randrange(256) for _ in range(3))).save(buf, "PDF")
    return buf.getvalue()


@dataclass(frozen=True)
class Job:
    """What one client process does: requests of one scenario, from `start` to `stop` (wall clock,
    so that the clients begin and end together), the first `warmup` not counted."""

    scenario: str
    port: int
    start: float
    stop: float
    warmup: int
    client: int
    key: str
    codes: int = 0  # fetch: results stored
    queries: tuple[tuple[tuple[str, str], ...], ...] = ()  # search: query strings


def client(job: Job) -> tuple[list[float], float, float, int]:
    """Latencies of the counted requests, when the first of them started and the last ended, and
    how many uploads were refused with 503 too_many_uploads (not counted; retried after 0.1 s)."""
    rng = random.Random(job.client)
    latencies: list[float] = []
    first = last = 0.0
    refused = 0
    headers = {"X-API-Key": job.key, "X-Purpose": "bench"}
    with httpx.Client(base_url=f"http://127.0.0.1:{job.port}", timeout=60, headers=headers) as http:
        while time.time() < job.start:
            time.sleep(0.005)
        n = 0
        while time.time() < job.stop:
            if n == job.warmup:
                first = time.time()
            t0 = time.perf_counter()
            if job.scenario == "upload":
                data = small_pdf(job.client * 10_000_000 + n)
                r = http.post("/v1/batches", headers={"Idempotency-Key": uuid.uuid4().hex},
                              files=[("files", (f"scan-{n}.pdf", data, "application/pdf"))])
            elif job.scenario == "fetch":
                r = http.get(f"/v1/results/{result_code(rng.randrange(job.codes))}")
            else:
                r = http.get("/v1/search", params=dict(job.queries[(job.client + n * 7) % len(job.queries)]))
            elapsed = time.perf_counter() - t0
            if r.status_code == 503 and job.scenario == "upload":
                refused += n >= job.warmup
                time.sleep(0.1)
                continue
            if r.is_error:  # as a plain exception: httpx's do not cross back from a client process
                raise RuntimeError(f"{job.scenario}: {r.request.method} {r.request.url} → {r.status_code} {r.text[:300]}")
            if n >= job.warmup:
                latencies.append(elapsed)
                last = time.time()
            n += 1
    return latencies, first, last, refused


def search_params(people: list, count: int, seed: int) -> tuple[tuple[tuple[str, str], ...], ...]:
    """bench/search.py's queries as GET /v1/search parameters."""
    out = []
    for s in searches(people, count, seed):
        f = s.filters
        params = {"q": s.query, "doc_type": f.doc_type, "branch": f.branch,
                  "verification_status": f.verification_status,
                  "needs_review": None if f.needs_review is None else str(f.needs_review).lower(),
                  "created_from": f.created_from.date().isoformat() if f.created_from else None,
                  "created_to": f.created_to.date().isoformat() if f.created_to else None}
        out.append(tuple((k, v) for k, v in params.items() if v is not None))
    return tuple(out)


def pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] * 1000 if len(values) > 1 else values[0] * 1000


def run_scenario(pool: ProcessPoolExecutor, scenario: str, port: int, clients: int, duration: float,
                 key: str, codes: int, queries: tuple) -> dict[str, float]:
    start = time.time() + 1.0  # every client process connected and waiting
    jobs = [Job(scenario, port, start, start + duration, warmup=3, client=c, key=key, codes=codes, queries=queries)
            for c in range(clients)]
    parts = [p for p in pool.map(client, jobs) if p[0]]
    if not parts:
        raise RuntimeError(f"{scenario}: no request finished after the warm-up; give it a longer --duration")
    lat = [x for part, *_ in parts for x in part]
    window = max(last for _, _, last, _ in parts) - min(first for _, first, _, _ in parts)
    return {"clients": clients, "requests": len(lat), "rps": len(lat) / window, "p50": pct(lat, 50),
            "p95": pct(lat, 95), "p99": pct(lat, 99), "max": max(lat) * 1000,
            "refused": sum(refused for *_, refused in parts)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", type=int, default=100_000, help="stored results before the server starts")
    ap.add_argument("--clients", default="4", help="client processes, comma-separated to run each scenario with several")
    ap.add_argument("--duration", type=float, default=10.0, help="seconds each scenario runs")
    ap.add_argument("--scenarios", default="upload,fetch,search")
    ap.add_argument("--api-workers", type=int, default=1, help="`sohoa serve --workers`")
    ap.add_argument("--database-url", help="a PostgreSQL URL (a new schema is made in it); default SQLite")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", type=Path, help="write the numbers here")
    args = ap.parse_args()
    scenarios = [s for s in args.scenarios.split(",") if s]
    unknown = set(scenarios) - {"upload", "fetch", "search"}
    if unknown:
        ap.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    client_counts = [int(c) for c in args.clients.split(",")]

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        if args.database_url:
            schema_cm = postgres_schema(args.database_url)
            url = schema_cm.__enter__()
        else:
            schema_cm, url = None, f"sqlite:///{data_dir / 'sohoa.db'}"
            data_dir.mkdir(parents=True)
        try:
            sessions = make_sessionmaker(url)
            engine = sessions.kw["bind"]
            t0 = time.perf_counter()
            archive = Archive(sessions, args.seed)
            archive.grow(args.results)
            settle(engine)
            filled = time.perf_counter() - t0
            _, downstream = keys.create_key(sessions, "downstream", label="bench")
            _, archivist = keys.create_key(sessions, "archivist", label="bench")
            queries = search_params(archive.people, 200, args.seed)
            engine.dispose()

            redis = RedisServer(Path(tmp) / "redis").start()
            port = free_port()
            env = {**os.environ, "SOHOA_DATA_DIR": str(data_dir), "SOHOA_DATABASE_URL": url,
                   "SOHOA_BROKER_URL": redis.url, "SOHOA_API_KEY": ADMIN_KEY, "SOHOA_LOG_LEVEL": "WARNING"}
            server = subprocess.Popen([sys.executable, "-m", "sohoa.cli", "serve", "--port", str(port),
                                       "--workers", str(args.api_workers)], env=env, cwd=ROOT,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            results: list[dict] = []
            try:
                wait_port(port, 60, server)
                wait_healthy(port)
                print(f"{engine.dialect.name}: {args.results:,} stored results (written in {filled:.0f} s); "
                      f"`sohoa serve --workers {args.api_workers}` on 127.0.0.1, Redis broker, no worker; "
                      f"{os.cpu_count()} cores shared by server and clients; {args.duration:g} s per run\n")
                print("| scenario | clients | requests | requests/s | p50 ms | p95 ms | p99 ms | max ms | refused (503) | target p95 |\n"
                      "|---|---|---|---|---|---|---|---|---|---|")
                key_of = {"upload": ADMIN_KEY, "fetch": downstream, "search": archivist}
                with ProcessPoolExecutor(max(client_counts)) as pool:
                    for scenario in scenarios:
                        for clients in client_counts:
                            r = run_scenario(pool, scenario, port, clients, args.duration, key_of[scenario],
                                             args.results, queries)
                            r["scenario"] = scenario
                            results.append(r)
                            target = f"≤ {TARGETS_MS[scenario]:.0f} ms" if scenario in TARGETS_MS else ""
                            print(f"| {scenario} | {clients} | {r['requests']} | {r['rps']:.0f} | {r['p50']:.1f} | "
                                  f"{r['p95']:.1f} | {r['p99']:.1f} | {r['max']:.1f} | {r['refused']} | {target} |", flush=True)
            finally:
                server.terminate()
                server.wait(30)
                redis.stop()
        finally:
            if schema_cm is not None:
                schema_cm.__exit__(None, None, None)
    if args.json:
        args.json.write_text(json.dumps({"database": engine.dialect.name, "results": args.results,
                                         "api_workers": args.api_workers, "duration": args.duration,
                                         "cores": os.cpu_count(), "runs": results}, indent=2))


if __name__ == "__main__":
    main()
