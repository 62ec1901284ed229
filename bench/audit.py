"""Fixity audit speed: objects re-hashed per second by `sohoa.fixity.audit` (what `sohoa audit` runs).

    .venv/bin/python bench/audit.py --objects 10000

Builds a store of results shaped like real ones (per result: an original of ~400 KB, a page PNG
of ~550 KB, a searchable PDF of ~670 KB, ALTO 15 KB, text 1 KB, result JSON 7 KB, provenance
5 KB — the sizes measured on the sample dossiers; random bytes, so nothing compresses), each with
a signed store event naming its objects. Then audits all of them twice: first with the page cache
dropped (as a nightly audit of old objects meets them: from disk; needs root, else said), then
warm. Each audited result gets its fixity_check event, as in production.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sohoa import chain, fixity  # noqa: E402
from sohoa.config import Settings  # noqa: E402
from sohoa.services import build_services  # noqa: E402
from storage.objects import original_key, sha256  # noqa: E402

SHAPE = [("original", 400_000), ("pages/1.png", 550_000), ("searchable.pdf", 670_000), ("alto/1.xml", 15_000),
         ("text.txt", 1_000), ("result.json", 7_000), ("provenance.json", 5_000)]


def build(svc, results: int) -> int:  # noqa: ANN001
    objects = 0
    for i in range(results):
        code = f"KQ-BENCH-261126-{i:010d}"
        outputs = {}
        for name, size in SHAPE:
            data = os.urandom(size)
            key = original_key(sha256(data)) if name == "original" else f"results/{code}/{name}"
            outputs[key] = svc.store.put(key, data)
            objects += 1
        chain.append(svc, code, "store", "bench", outputs=outputs)
    return objects


def drop_caches() -> bool:
    try:
        subprocess.run(["sync"], check=True)
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--objects", type=int, default=10_000)
    args = ap.parse_args()
    results = -(-args.objects // len(SHAPE))
    with tempfile.TemporaryDirectory() as tmp:
        svc = build_services(Settings(data_dir=Path(tmp) / "data"))
        t0 = time.perf_counter()
        objects = build(svc, results)
        print(f"built {results} results, {objects} objects "
              f"({results * sum(s for _, s in SHAPE) / 1e9:.2f} GB) in {time.perf_counter() - t0:.0f} s; "
              f"{os.cpu_count()} cores\n")
        print("| cache | objects | GB | seconds | objects/s | MB/s | problems |\n|---|---|---|---|---|---|---|")
        for label, cold in (("cold (dropped)", True), ("warm", False)):
            if cold and not drop_caches():
                print("| cold | - | - | - | - | - | cannot drop the page cache (not root) |")
                continue
            t0 = time.perf_counter()
            report = fixity.audit(svc, fixity.subjects(svc))
            took = time.perf_counter() - t0
            gb = results * sum(s for _, s in SHAPE) / 1e9
            print(f"| {label} | {report.objects} | {gb:.2f} | {took:.1f} | {report.objects / took:.0f} | "
                  f"{gb * 1000 / took:.0f} | {len(report.problems)} |")


if __name__ == "__main__":
    main()
