"""Peak memory of the page pool: the parent and each OCR worker, over one long scanned PDF.

    .venv/bin/python bench/memory.py --pages 40 --workers 2

Renders `--pages` A4 pages (generated, scan level, 300 dpi once rendered from the PDF), feeds them
through `ocr.pool.PagePool` as the pipeline does, and reads each process's high-water mark
(VmHWM in /proc/<pid>/status, Linux) before the pool closes. Workers are replaced after
`--max-pages` pages, so the report lists every worker process that existed at the end.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingest.pages import iter_pages  # noqa: E402
from ingest.sniff import sniff  # noqa: E402
from ocr.pool import PagePool  # noqa: E402
from sohoa.config import Settings  # noqa: E402


def hwm_mib(pid: int | str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=40)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--max-pages", type=int, default=200, help="SOHOA_OCR_WORKER_MAX_PAGES")
    ap.add_argument("--seed", type=int, default=41)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "c"
        n = -(-args.pages // 3)  # three A4 templates
        subprocess.run([sys.executable, "-m", "sohoa.synth", str(corpus), "--n", str(n), "--levels", "scan",
                        "--seed", str(args.seed), "--formats", "jpg"], check=True, stdout=subprocess.DEVNULL)
        a4 = sorted(p for p in corpus.glob("*.jpg") if Image.open(p).size[0] > 1400)[: args.pages]
        pdf = Path(tmp) / "long.pdf"
        # Built in another process, so that this one's high-water mark is the pool's alone.
        subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; "
                        "from bench.throughput import one_pdf; one_pdf([Path(p) for p in sys.argv[2:]], Path(sys.argv[1]))",
                        str(pdf), *map(str, a4)], check=True, cwd=ROOT)
        settings = Settings(data_dir=Path(tmp) / "d", ocr_workers=args.workers, ocr_worker_max_pages=args.max_pages)
        data = pdf.read_bytes()
        pool = PagePool(settings, args.workers)
        t0 = time.perf_counter()
        count = 0
        for _ in pool.read(iter_pages(data, sniff(data[:2048]), settings.limits, dpi=300)):
            count += 1
        wall = time.perf_counter() - t0
        workers = {pid: hwm_mib(pid) for pid in pool._executor._processes} if pool._executor else {}  # noqa: SLF001
        parent = hwm_mib("self")
        pool.close()
    print(f"{count} pages of 300-dpi A4 in {wall:.1f} s ({60 * count / wall:.1f} pages/min) with {args.workers} workers")
    print(f"parent peak RSS {parent:.0f} MiB (it renders the PDF and holds the pages in flight)")
    for pid, mib in workers.items():
        print(f"worker {pid}: peak RSS {mib:.0f} MiB")


if __name__ == "__main__":
    main()
