"""Pages per minute of `sohoa process` on this machine, sequential and with parallel workers.

    .venv/bin/python bench/throughput.py --n 2 --levels scan --jobs 1,2

Generates a corpus (separate process), then runs the real command line once per --jobs value
in a fresh data dir and reports wall time, pages, pages/minute, pages/minute per core, and the
peak RSS of the largest process of that run (ru_maxrss of its process tree).
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

_WRAPPER = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)")
ROOT = Path(__file__).resolve().parents[1]
SOHOA = Path(sys.executable).with_name("sohoa")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2)
    ap.add_argument("--levels", default="scan")
    ap.add_argument("--seed", type=int, default=21)
    ap.add_argument("--dossiers", type=int, default=1)
    ap.add_argument("--jobs", default="1,2")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        subprocess.run([sys.executable, "-m", "sohoa.synth", str(corpus), "--n", str(args.n), "--levels", args.levels,
                        "--seed", str(args.seed), "--dossiers", str(args.dossiers), "--formats", "png,jpg,pdf"],
                       check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
        print("| jobs | files | pages | wall s | pages/min | pages/min/core | peak RSS MiB |\n|---|---|---|---|---|---|---|")
        for jobs in map(int, args.jobs.split(",")):
            env = {**os.environ, "SOHOA_DATA_DIR": str(Path(tmp) / f"data-{jobs}")}
            t0 = time.perf_counter()
            # Through a wrapper so that RUSAGE_CHILDREN covers `sohoa process` and its workers only,
            # not the generator run above.
            out = subprocess.run([sys.executable, "-c", _WRAPPER, str(SOHOA), "process", str(corpus), "--json",
                                  "--jobs", str(jobs)], env=env, capture_output=True, text=True, check=True)
            wall = time.perf_counter() - t0
            rss = int(out.stderr.strip().splitlines()[-1]) / 1024
            results = [json.loads(x) for x in out.stdout.splitlines()]
            pages = sum(len(r["source"]["pages"]) for r in results)
            files = len({r["source"]["file"] for r in results})
            print(f"| {jobs} | {files} | {pages} | {wall:.1f} | {60 * pages / wall:.1f} | "
                  f"{60 * pages / wall / jobs:.1f} | {rss:.0f} |")


if __name__ == "__main__":
    main()
