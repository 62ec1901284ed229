"""Pages per minute on this machine: `sohoa process` (files in parallel, and one long PDF whose
pages are spread over the page pool), and Celery workers (distributed mode) with 1 and 2
processes, with where the time goes per step.

    .venv/bin/python bench/throughput.py --n 3 --levels scan --select a4 --jobs 1,2 --pool 1,2
    .venv/bin/python bench/throughput.py --n 2 --levels photo --select cards --jobs 1 --pool 0
    .venv/bin/python bench/throughput.py --n 5 --levels scan --select a4 --jobs '' --pool '' --celery 1,2

Generates a corpus (separate process) and keeps the `--select`ed files (a4: the A4 templates,
cards: ID cards, all). Then, in a fresh data dir each time, it runs the real command line:
- once per --jobs value over the files (several files: one file per worker process);
- once per --pool value over one PDF made of all the selected pages (`SOHOA_OCR_WORKERS`:
  the pages of one file read in that many processes).
- once per --celery value: a loopback Redis, the files accepted as one batch, and a real
  `celery worker --concurrency=N`; timed after a warm-up file per process (engines loaded), from
  the send to the last file done. The per-step time comes from the stored provenance records
  (each step's start and end).
Reported: wall time (engine loading included, except for --celery), pages, pages/minute,
pages/minute per process and the peak RSS of the largest process of that run (ru_maxrss of its
process tree; for --celery, VmHWM of the worker's processes, each listed below the table).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

_WRAPPER = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)")
ROOT = Path(__file__).resolve().parents[1]
SOHOA = Path(sys.executable).with_name("sohoa")
A4 = {"birth_certificate", "official_letter", "business_registration"}
CARDS = {"cccd", "cccd_back", "cmnd"}


def select(corpus: Path, which: str, out: Path) -> list[Path]:
    out.mkdir()
    rows = [json.loads(x) for x in (corpus / "truth.jsonl").read_text().splitlines() if x.strip()]
    keep = {"a4": A4, "cards": CARDS}.get(which)
    files = sorted({r["file"] for r in rows if keep is None or r["doc_type"] in keep})
    for name in files:
        (out / name).symlink_to(corpus / name)
    return [out / name for name in files]


def one_pdf(files: list[Path], out: Path) -> Path:
    """All pages of the selected image files as one PDF (at their own resolution)."""
    pages = [Image.open(f).convert("RGB") for f in files if f.suffix in (".png", ".jpg")]
    dpi = pages[0].info.get("dpi", (200, 200))[0]
    pages[0].save(out, "PDF", save_all=True, append_images=pages[1:], resolution=float(dpi))
    return out


def run(args: list[str], env: dict[str, str]) -> tuple[float, int, int, float]:
    t0 = time.perf_counter()
    # Through a wrapper so that RUSAGE_CHILDREN covers `sohoa process` and its workers only.
    out = subprocess.run([sys.executable, "-c", _WRAPPER, str(SOHOA), "process", *args, "--json"],
                         env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    results = [json.loads(x) for x in out.stdout.splitlines()]
    pages = sum(len(r["source"]["pages"]) for r in results)
    files = len({r["source"]["file"] for r in results})
    return wall, files, pages, int(out.stderr.strip().splitlines()[-1]) / 1024


def run_celery(files: list[Path], procs: int, work: Path) -> tuple[float, int, int, dict[str, list[float]], dict[int, float]]:
    """The files through Redis and one `celery worker --concurrency=procs`; returns (wall s from
    the send to the last file done, files, pages, seconds per step name, peak RSS MiB per process
    of the worker)."""
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import func, select

    from sohoa import pipeline
    from sohoa.config import Settings
    from sohoa.services import build_services
    from storage.db import FileRow
    from tests.servers import CeleryWorker, RedisServer
    from workers.tasks import send

    redis = RedisServer(work / "redis").start()
    settings = Settings(data_dir=work / "data", broker_url=redis.url, ocr_workers=1)
    svc = build_services(settings)
    env = {"SOHOA_DATA_DIR": str(settings.data_dir), "SOHOA_BROKER_URL": redis.url, "OMP_THREAD_LIMIT": "1",
           "SOHOA_LOG_LEVEL": "WARNING"}
    worker = CeleryWorker(env, work / "worker.log", procs, beat=False)

    def finished(ids: list[str]) -> int:
        with svc.sessions() as s:
            return s.scalar(select(func.count()).select_from(FileRow).where(
                FileRow.id.in_(ids), FileRow.state.in_(["done", "failed"])))

    def run_batch(batch: list[Path]) -> tuple[float, list[str]]:
        accepted = pipeline.accept(svc, [(f.name, f.read_bytes()) for f in batch], "BENCH")
        t0 = time.perf_counter()
        send(svc, accepted.queued)
        while finished(accepted.file_ids) < len(accepted.file_ids):
            time.sleep(0.1)
        return time.perf_counter() - t0, accepted.file_ids

    try:
        # Warm-up: one file per process (a copy with one byte more: not deduplicated), so every
        # pool child has loaded its engines before the clock starts.
        warm = work / "warm"
        warm.mkdir()
        for i in range(procs):
            (warm / f"warm{i}.png").write_bytes(files[i % len(files)].read_bytes() + bytes([i]))
        run_batch(sorted(warm.iterdir()))
        wall, ids = run_batch(files)
        peaks = peak_rss_mib(worker.proc.pid)
    finally:
        worker.stop()
        redis.stop()
    results = [r for fid in ids for r in pipeline.results_for_file(svc, fid)]
    pages = sum(len(r.source.pages) for r in results)
    return wall, len(ids), pages, step_seconds(svc, results), peaks


def peak_rss_mib(pgid: int) -> dict[int, float]:
    """Peak resident memory (VmHWM) of each live process of a process group: `sohoa worker` (which
    supervises), the Celery worker's main process and its pool children, read before it is stopped."""
    from bench.memory import hwm_mib
    from tests.servers import processes

    peaks = {}
    for pid, _parent, group in processes():
        if group == pgid:
            try:
                peaks[pid] = hwm_mib(pid)
            except (OSError, ValueError):
                continue  # gone meanwhile
    return peaks


def step_seconds(svc, results) -> dict[str, list[float]]:  # noqa: ANN001
    """Seconds per step, over the stored provenance records (read_page_<n> counted as read_page)."""
    from datetime import datetime

    out: dict[str, list[float]] = {}
    for r in results:
        record = json.loads(svc.store.get(r.provenance.removeprefix("sohoa://")))
        for st in record["steps"]:
            name = "read_page" if st["step"].startswith("read_page_") else st["step"]
            took = datetime.fromisoformat(st["finished_at"]) - datetime.fromisoformat(st["started_at"])
            out.setdefault(name, []).append(took.total_seconds())
    return out


def print_steps(steps: dict[int, dict[str, list[float]]]) -> None:
    print("\nWhere the time goes (Celery runs; seconds per step, mean over documents or pages):\n")
    names = sorted({n for per in steps.values() for n in per}, key=lambda n: -sum(steps[min(steps)].get(n, [0])))
    print("| step | " + " | ".join(f"{p} process(es): mean s | share" for p in steps) + " |")
    print("|---|" + "---|---|" * len(steps))
    for name in names:
        cells = []
        for per in steps.values():
            total = sum(sum(v) for v in per.values())
            vals = per.get(name, [])
            cells.append(f"{statistics.mean(vals):.3f} | {100 * sum(vals) / total:.0f} %" if vals else "- | -")
        print(f"| {name} | " + " | ".join(cells) + " |")
    print()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2)
    ap.add_argument("--levels", default="scan")
    ap.add_argument("--seed", type=int, default=21)
    ap.add_argument("--select", choices=("a4", "cards", "all"), default="a4")
    ap.add_argument("--jobs", default="1,2", help="`--jobs` values for the many-files runs ('' to skip)")
    ap.add_argument("--pool", default="1,2", help="SOHOA_OCR_WORKERS values for the one-PDF runs ('' to skip)")
    ap.add_argument("--celery", default="", help="Celery worker processes to run the files with (e.g. 1,2)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        subprocess.run([sys.executable, "-m", "sohoa.synth", str(corpus), "--n", str(args.n), "--levels", args.levels,
                        "--seed", str(args.seed), "--dossiers", "0", "--formats", "png,jpg"],
                       check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
        files = select(corpus, args.select, Path(tmp) / "selected")
        print(f"corpus: {args.select} pages, levels {args.levels}, seed {args.seed}; {os.cpu_count()} cores\n")
        print("| run | processes | files | pages | wall s | pages/min | pages/min/process | peak RSS MiB |\n"
              "|---|---|---|---|---|---|---|---|")
        for jobs in [int(j) for j in args.jobs.split(",") if j]:
            env = {**os.environ, "SOHOA_DATA_DIR": str(Path(tmp) / f"data-jobs-{jobs}")}
            wall, n_files, pages, rss = run([str(Path(tmp) / "selected"), "--jobs", str(jobs)], env)
            print(f"| many files, --jobs {jobs} | {jobs} | {n_files} | {pages} | {wall:.1f} | {60 * pages / wall:.1f} | "
                  f"{60 * pages / wall / jobs:.1f} | {rss:.0f} |")
        if args.pool:
            pdf = one_pdf(files, Path(tmp) / "dossier.pdf")
        steps: dict[int, dict[str, list[float]]] = {}
        celery_memory: dict[int, dict[int, float]] = {}
        for procs in [int(c) for c in args.celery.split(",") if c]:
            wall, n_files, pages, steps[procs], peaks = run_celery(files, procs, Path(tmp) / f"celery-{procs}")
            print(f"| Celery worker, --concurrency={procs} | {procs} | {n_files} | {pages} | {wall:.1f} | "
                  f"{60 * pages / wall:.1f} | {60 * pages / wall / procs:.1f} | {max(peaks.values(), default=0):.0f} |")
            celery_memory[procs] = peaks
        for procs, peaks in celery_memory.items():
            print(f"\nCelery worker, --concurrency={procs}: peak RSS per process (MiB): "
                  + ", ".join(f"{mib:.0f}" for _, mib in sorted(peaks.items())) + f"; together {sum(peaks.values()):.0f}")
        if steps:
            print_steps(steps)
        for workers in [int(w) for w in args.pool.split(",") if w]:
            env = {**os.environ, "SOHOA_DATA_DIR": str(Path(tmp) / f"data-pool-{workers}"),
                   "SOHOA_OCR_WORKERS": str(workers)}
            wall, n_files, pages, rss = run([str(pdf)], env)
            procs = workers or os.cpu_count() or 1
            print(f"| one PDF, SOHOA_OCR_WORKERS={workers} | {procs} | {n_files} | {pages} | {wall:.1f} | "
                  f"{60 * pages / wall:.1f} | {60 * pages / wall / procs:.1f} | {rss:.0f} |")


if __name__ == "__main__":
    main()
