"""OCR alone, per degradation level: sohoa's reading against the plain `tesseract` CLI on the same pages.

    .venv/bin/python bench/ocr.py --n 2 --levels clean,scan,photo --seed 31
    .venv/bin/python bench/ocr.py --engines tesseract,detect,auto --no-baseline      # engines side by side
    .venv/bin/python bench/ocr.py --engines auto --set preprocess.correct_perspective=false   # one step off

For every generated page (sideways and upside-down ones included): CER, WER and CER without
diacritics (order-independent: each printed line aligned to its best match in the OCR text, as
in bench/fields.py), whether the page was turned upright correctly, seconds per page and
pages per minute (one process, one core). The baseline is `tesseract IMAGE - -l vie`
(OMP_THREAD_LIMIT=1) on the page as received. Multi-page dossiers and text-layer PDFs are left
out: this measures reading, not splitting. Run it on an idle machine: timings share the CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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

from bench.fields import line_errors  # noqa: E402
from ingest.pages import iter_pages  # noqa: E402
from ingest.sniff import sniff  # noqa: E402
from ocr.read import read_page  # noqa: E402
from sohoa.config import Settings  # noqa: E402
from sohoa.services import build_services  # noqa: E402

CARDS = {"cccd", "cccd_back", "cmnd"}


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


def overrides(pairs: list[str]) -> dict:
    """`a.b=value` pairs as nested settings (values parsed as JSON when they can be)."""
    out: dict = {}
    for pair in pairs:
        key, _, raw = pair.partition("=")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        node = out
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2)
    ap.add_argument("--levels", default="clean,scan,photo")
    ap.add_argument("--seed", type=int, default=31)
    ap.add_argument("--engines", default=Settings().ocr_engine, help="comma-separated SOHOA_OCR_ENGINE values")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="settings override, e.g. preprocess.deskew=false (repeatable)")
    ap.add_argument("--no-baseline", action="store_true", help="skip the plain tesseract CLI")
    ap.add_argument("--photo-dpi", default="120,150", help="resolution range of the generated photo level")
    ap.add_argument("--corpus", type=Path, help="an existing generated corpus folder instead of a new one")
    args = ap.parse_args()
    stats: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    with tempfile.TemporaryDirectory() as tmp:
        corpus = args.corpus or Path(tmp) / "corpus"
        if not args.corpus:
            subprocess.run([sys.executable, "-m", "sohoa.synth", str(corpus), "--n", str(args.n), "--levels", args.levels,
                            "--seed", str(args.seed), "--formats", "png,jpg", "--rotations",
                            "--photo-dpi", args.photo_dpi],
                           check=True, stdout=subprocess.DEVNULL)
        extra = overrides(args.set)
        services = {e: build_services(Settings(data_dir=Path(tmp) / "data", **{**extra, "ocr_engine": e}))
                    for e in args.engines.split(",")}
        rows = [json.loads(x) for x in (corpus / "truth.jsonl").read_text().splitlines() if x.strip()]
        rows = [r for r in rows if r["level"] in args.levels.split(",") and r["file"].endswith((".png", ".jpg"))]
        for row in rows:
            path = corpus / row["file"]
            data = path.read_bytes()
            runs: list[tuple[str, str, float, int | None]] = []
            for name, svc in services.items():
                raw = next(iter_pages(data, sniff(data[:2048]), svc.settings.limits))
                t0 = time.perf_counter()
                text = read_page(raw, svc.ocr.primary, svc.settings.preprocess, fallback=svc.ocr.fallback).text
                runs.append((name, text.text, time.perf_counter() - t0, text.rotation))
            if not args.no_baseline:
                t0 = time.perf_counter()
                runs.append(("tesseract-cli", tesseract_cli(path), time.perf_counter() - t0, None))
            kind = "ID card" if row["doc_type"] in CARDS else "A4 page"
            for name, text, secs, rotation in runs:
                st = stats[(row["level"], kind, name)]
                st["pages"] += 1
                st["seconds"] += secs
                if rotation is not None:
                    st["oriented"] += rotation == row.get("rotation", 0)
                    st["turned"] += bool(row.get("rotation", 0))
                    st["turned_ok"] += bool(row.get("rotation", 0)) and rotation == row["rotation"]
                for key, (e, n) in (("c", line_errors(row["text"], text)), ("nd", line_errors(row["text"], text, True)),
                                    ("w", word_errors(row["text"], text))):
                    st[key + "_err"] += e
                    st[key + "_n"] += n
    where = args.corpus or f"generated, seed {args.seed}, n={args.n}, photo dpi {args.photo_dpi}"
    print(f"engines: {args.engines}; overrides: {args.set or 'none'}; corpus: {where}\n")
    print("| level | paper | reader | pages | CER | CER no diacritics | WER | upright (turned) | s/page | pages/min |\n"
          "|---|---|---|---|---|---|---|---|---|---|")
    for (level, kind, name), st in sorted(stats.items()):
        upright = f"{st['oriented']:.0f}/{st['pages']:.0f} ({st['turned_ok']:.0f}/{st['turned']:.0f})" if name in services else "-"
        print(f"| {level} | {kind} | {name} | {st['pages']:.0f} | {st['c_err'] / st['c_n']:.2%} | {st['nd_err'] / st['nd_n']:.2%} | "
              f"{st['w_err'] / st['w_n']:.2%} | {upright} | {st['seconds'] / st['pages']:.2f} | "
              f"{60 * st['pages'] / st['seconds']:.1f} |")
    totals: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for (level, _, name), st in stats.items():
        for k, v in st.items():
            totals[(level, name)][k] += v
    print("\nall papers:")
    for (level, name), st in sorted(totals.items()):
        print(f"  {level} {name}: CER {st['c_err'] / st['c_n']:.2%}, no diacritics {st['nd_err'] / st['nd_n']:.2%}, "
              f"WER {st['w_err'] / st['w_n']:.2%}, {60 * st['pages'] / st['seconds']:.1f} pages/min")
    if not args.no_baseline:
        for level in dict.fromkeys(lv for lv, _ in totals):
            base = totals[(level, "tesseract-cli")]
            for name in services:
                ours = totals[(level, name)]
                ratio = (base["c_err"] / base["c_n"]) / max(ours["c_err"] / ours["c_n"], 1e-9)
                print(f"{level}: the plain CLI makes {ratio:.1f}x the character errors of sohoa ({name})")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
