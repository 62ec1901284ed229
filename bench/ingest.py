"""Ingest acknowledgements per second: how many small files `sohoa serve` accepts durably (original
stored and fsynced, batch and file rows committed, message sent to the broker) per second.

    .venv/bin/python bench/ingest.py --files 2000 --per-request 1,20 --clients 4
    .venv/bin/python bench/ingest.py --database-url postgresql+psycopg://sohoa@127.0.0.1:54329/sohoa_test

Starts a loopback Redis (Debian's redis-server, append-only file fsynced on every write) and the
real `sohoa serve` (uvicorn, one process) in distributed mode, with no worker consuming, so the
numbers are the API's alone. Clients are processes posting multipart batches over HTTP. Each file is
a distinct ~1 KB PNG (small scans of a desk are bigger; this measures the per-file overhead).
Reported: files/s and requests/s, and p50/p95/p99 of the request latency.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.servers import RedisServer, free_port, wait_port  # noqa: E402


def small_png(i: int) -> bytes:
    rng = np.random.default_rng(i)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def _client(port: int, chunks: list[list[bytes]]) -> list[float]:
    latencies = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
        for chunk in chunks:
            t = time.perf_counter()
            r = http.post("/v1/batches", headers={"X-API-Key": "bench", "Idempotency-Key": uuid.uuid4().hex},
                          files=[("files", (f"f{i}.png", data, "image/png")) for i, data in enumerate(chunk)])
            r.raise_for_status()
            latencies.append(time.perf_counter() - t)
    return latencies


def post_all(port: int, files: list[bytes], per_request: int, clients: int) -> tuple[float, list[float]]:
    """Clients are processes, not threads: one Python process's GIL would cap the load it can make."""
    chunks = [files[i:i + per_request] for i in range(0, len(files), per_request)]
    with ProcessPoolExecutor(clients) as pool:
        list(pool.map(_client, [port] * clients, [[] for _ in range(clients)]))  # processes started
        t0 = time.perf_counter()
        parts = list(pool.map(_client, [port] * clients, [chunks[k::clients] for k in range(clients)]))
        wall = time.perf_counter() - t0
    return wall, [x for part in parts for x in part]


def wait_healthy(port: int) -> None:
    """The port answers as soon as uvicorn's supervisor binds it; its processes may not, yet."""
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if all(httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200 for _ in range(8)):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError("the API did not come up")


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100)[int(p) - 1] * 1000 if len(values) >= 2 else values[0] * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--per-request", default="1,20")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--database-url", default=None, help="default: SQLite in a fresh data dir")
    ap.add_argument("--api-workers", default="1", help="`sohoa serve --workers` values")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        redis = RedisServer(Path(tmp) / "redis").start()
        print(f"{os.cpu_count()} cores; database: {'PostgreSQL' if args.database_url else 'SQLite'}; "
              f"object store: files (fsync); broker: Redis (appendfsync always); {args.clients} client processes\n")
        print("| API processes | files per request | files | wall s | files/s | requests/s | p50 ms | p95 ms | p99 ms |\n"
              "|---|---|---|---|---|---|---|---|---|")
        runs = [(int(w), int(x)) for w in args.api_workers.split(",") for x in args.per_request.split(",")]
        try:
            for api_workers, per_request in runs:
                port = free_port()
                env = {**os.environ, "SOHOA_DATA_DIR": str(Path(tmp) / f"data-{api_workers}-{per_request}"),
                       "SOHOA_BROKER_URL": redis.url, "SOHOA_API_KEY": "bench", "SOHOA_LOG_LEVEL": "WARNING"}
                if args.database_url:
                    env["SOHOA_DATABASE_URL"] = args.database_url
                server = subprocess.Popen([sys.executable, "-m", "sohoa.cli", "serve", "--port", str(port),
                                           "--workers", str(api_workers)], env=env,
                                          cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                try:
                    wait_port(port, 60, server)
                    wait_healthy(port)
                    files = [small_png(api_workers * 10_000_000 + per_request * 1_000_000 + i)
                             for i in range(args.files)]
                    wall, lat = post_all(port, files, per_request, args.clients)
                finally:
                    server.terminate()
                    server.wait(30)
                print(f"| {api_workers} | {per_request} | {len(files)} | {wall:.1f} | {len(files) / wall:.0f} | {len(lat) / wall:.0f} | "
                      f"{pct(lat, 50):.0f} | {pct(lat, 95):.0f} | {pct(lat, 99):.0f} |")
        finally:
            redis.stop()


if __name__ == "__main__":
    main()
