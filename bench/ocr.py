"""OCR alone, per degradation level: sohoa's reading against the plain `tesseract` CLI on the same pages.

    .venv/bin/python bench/ocr.py --n 2 --levels clean,scan,photo --seed 31

For every generated page: CER, WER and CER without diacritics (order-independent: each printed
line aligned to its best match in the OCR text, as in bench/accuracy.py), seconds per page; the
baseline is `tesseract IMAGE - -l vie` (OMP_THREAD_LIMIT=1) on the page as received. Multi-page
dossiers and text-layer PDFs are left out: this measures reading, not splitting.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import defaultdict
from pathlib import Path

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.accuracy import line_errors  # noqa: E402
from ingest.pages import iter_pages  # noqa: E402
from ingest.sniff import sniff  # noqa: E402
from ocr.read import read_page  # noqa: E402
from sohoa.config import Settings  # noqa: E402
from sohoa.services import build_services  # noqa: E402


def word_errors(truth: str, ocr: str) -> tuple[int, int]:
    hay = " ".join(unicodedata.normalize("NFC", ocr).split())
    errors = total = 0
    for line in truth.splitlines():
        line = " ".join(unicodedata.normalize("NFC", line).split())
        if not line:
            continue
        al = fuzz.partial_ratio_alignment(line, hay)
        found = hay[al.dest_start:al.dest_end] if al else ""
        errors += Levenshtein.distance(line.split(), found.split())
        total += len(line.split())
    return errors, total


def tesseract_cli(path: Path) -> str:
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    return subprocess.run(["tesseract", str(path), "-", "-l", "vie"], capture_output=True, text=True, env=env).stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2)
    ap.add_argument("--levels", default="clean,scan,photo")
    ap.add_argument("--seed", type=int, default=31)
    args = ap.parse_args()
    stats: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        subprocess.run([sys.executable, "-m", "sohoa.synth", str(corpus), "--n", str(args.n), "--levels", args.levels,
                        "--seed", str(args.seed), "--formats", "png,jpg", "--rotations"],
                       check=True, stdout=subprocess.DEVNULL)
        svc = build_services(Settings(data_dir=Path(tmp) / "data"))
        rows = [json.loads(x) for x in (corpus / "truth.jsonl").read_text().splitlines() if x.strip()]
        for row in rows:
            path = corpus / row["file"]
            data = path.read_bytes()
            raw = next(iter_pages(data, sniff(data[:2048]), svc.settings.limits))
            runs = {}
            t0 = time.perf_counter()
            runs["sohoa"] = read_page(raw, svc.engine, svc.settings.preprocess, fallback=svc.fallback_engine).text.text
            t1 = time.perf_counter()
            runs["tesseract-cli"] = tesseract_cli(path)
            t2 = time.perf_counter()
            for name, text, secs in (("sohoa", runs["sohoa"], t1 - t0), ("tesseract-cli", runs["tesseract-cli"], t2 - t1)):
                st = stats[(row["level"], name)]
                st["pages"] += 1
                st["seconds"] += secs
                for key, (e, n) in (("c", line_errors(row["text"], text)), ("nd", line_errors(row["text"], text, True)),
                                    ("w", word_errors(row["text"], text))):
                    st[key + "_err"] += e
                    st[key + "_n"] += n
    print(f"engine setting: {svc.settings.ocr_engine}\n")
    print("| level | reader | pages | CER | CER no diacritics | WER | s/page |\n|---|---|---|---|---|---|---|")
    for (level, name), st in sorted(stats.items()):
        print(f"| {level} | {name} | {st['pages']:.0f} | {st['c_err'] / st['c_n']:.2%} | {st['nd_err'] / st['nd_n']:.2%} | "
              f"{st['w_err'] / st['w_n']:.2%} | {st['seconds'] / st['pages']:.2f} |")
    for level in dict.fromkeys(lv for lv, _ in stats):
        ours, base = stats[(level, "sohoa")], stats[(level, "tesseract-cli")]
        ratio = (base["c_err"] / base["c_n"]) / max(ours["c_err"] / ours["c_n"], 1e-9)
        print(f"{level}: the plain CLI makes {ratio:.1f}x the character errors of sohoa's reading")


if __name__ == "__main__":
    main()
