"""Pages per minute of `sohoa process` on this machine: files in parallel, and one long PDF whose
pages are spread over the page pool.

    .venv/bin/python bench/throughput.py --n 3 --levels scan --select a4 --jobs 1,2 --pool 1,2
    .venv/bin/python bench/throughput.py --n 2 --levels photo --select cards --jobs 1 --pool 0

Generates a corpus (separate process) and keeps the `--select`ed files (a4: the A4 templates,
cards: ID cards, all). Then, in a fresh data dir each time, it runs the real command line:
- once per --jobs value over the files (several files: one file per worker process);
- once per --pool value over one PDF made of all the selected pages (`SOHOA_OCR_WORKERS`:
  the pages of one file read in that many processes).
Reported: wall time (engine loading included), pages, pages/minute, pages/minute per process
and the peak RSS of the largest process of that run (ru_maxrss of its process tree).
"""

from __future__ import annotations

import argparse
import json
import os
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2)
    ap.add_argument("--levels", default="scan")
    ap.add_argument("--seed", type=int, default=21)
    ap.add_argument("--select", choices=("a4", "cards", "all"), default="a4")
    ap.add_argument("--jobs", default="1,2", help="`--jobs` values for the many-files runs ('' to skip)")
    ap.add_argument("--pool", default="1,2", help="SOHOA_OCR_WORKERS values for the one-PDF runs ('' to skip)")
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
        for workers in [int(w) for w in args.pool.split(",") if w]:
            env = {**os.environ, "SOHOA_DATA_DIR": str(Path(tmp) / f"data-pool-{workers}"),
                   "SOHOA_OCR_WORKERS": str(workers)}
            wall, n_files, pages, rss = run([str(pdf)], env)
            procs = workers or os.cpu_count() or 1
            print(f"| one PDF, SOHOA_OCR_WORKERS={workers} | {procs} | {n_files} | {pages} | {wall:.1f} | "
                  f"{60 * pages / wall:.1f} | {60 * pages / wall / procs:.1f} | {rss:.0f} |")


if __name__ == "__main__":
    main()
