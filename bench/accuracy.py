"""Accuracy and speed of the whole pipeline on a generated corpus, per degradation level.

    .venv/bin/python bench/accuracy.py --n 4 --levels clean,scan,photo --seed 11
    .venv/bin/python bench/accuracy.py --corpus ../shared/samples     # an existing folder with truth.jsonl

Reports per level: documents, doc-type accuracy, field exact-match (per field, over every
expected field), text CER and CER without diacritics (order-independent: each printed line is
aligned to its best match in the OCR text), pages per minute on this machine, peak RSS.
"""

from __future__ import annotations

import argparse
import json
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

from extraction.normalize import fold  # noqa: E402
from sohoa import pipeline  # noqa: E402
from sohoa.config import Settings  # noqa: E402
from sohoa.services import build_services  # noqa: E402


def _clean(s: str) -> str:
    return " ".join(unicodedata.normalize("NFC", s).split())


def line_errors(truth: str, ocr: str, strip_marks: bool = False) -> tuple[int, int]:
    """(character errors, truth characters), aligning each printed line to its best place in the OCR text."""
    hay = _clean(ocr.replace("\n", " "))
    if strip_marks:
        hay = fold(hay)
    errors = total = 0
    for line in truth.splitlines():
        line = _clean(line)
        if not line:
            continue
        if strip_marks:
            line = fold(line)
        al = fuzz.partial_ratio_alignment(line, hay)
        found = hay[al.dest_start:al.dest_end] if al else ""
        errors += Levenshtein.distance(line, found)
        total += len(line)
    return errors, total


def run(corpus: Path, truth_rows: list[dict], show_failures: bool = False) -> dict[str, dict]:
    stats: dict[str, dict] = defaultdict(lambda: defaultdict(float))
    with tempfile.TemporaryDirectory() as tmp:
        svc = build_services(Settings(data_dir=Path(tmp) / "data"))
        batch = pipeline.create_batch(svc, "BENCH")
        by_file: dict[str, list[dict]] = defaultdict(list)
        for row in truth_rows:
            by_file[row["file"]].append(row)
        for name, rows in sorted(by_file.items()):
            data = (corpus / name).read_bytes()
            t0 = time.perf_counter()
            results = []
            for fid in pipeline.receive(svc, batch, name, data):
                results += pipeline.process_file_or_record(svc, fid)
            elapsed = time.perf_counter() - t0
            pages = sum(len(r.source.pages) for r in results) or 1
            level = rows[0]["level"]
            st = stats[level]
            st["seconds"] += elapsed
            st["pages"] += pages
            for row in rows:
                want_pages = row.get("pages", [1])
                got = next((r for r in results if r.source.pages == want_pages), None)
                st["documents"] += 1
                if got is None:
                    st["fields_total"] += len(row["fields"])
                    if show_failures:
                        print(f"{name} p{want_pages} {level}: no document with these pages", file=sys.stderr)
                    continue
                st["type_ok"] += got.doc_type == row["doc_type"]
                for k, v in row["fields"].items():
                    st["fields_total"] += 1
                    ok = got.fields.get(k) == v
                    st["fields_ok"] += ok
                    st[f"miss:{row['doc_type']}.{k}"] += not ok
                wrong = {k: (v, got.fields.get(k)) for k, v in row["fields"].items() if got.fields.get(k) != v}
                st["docs_all_fields_ok"] += not wrong
                # needs_review should flag exactly the documents with a wrong or missing field.
                st["review_tp"] += bool(wrong) and got.needs_review
                st["review_fp"] += (not wrong) and got.needs_review
                st["review_fn"] += bool(wrong) and not got.needs_review
                if show_failures and (wrong or got.doc_type != row["doc_type"]):
                    print(f"{name} p{want_pages} {level} {row['doc_type']}->{got.doc_type}: {wrong}", file=sys.stderr)
                e, n = line_errors(row["text"], got.text)
                st["char_err"] += e
                st["chars"] += n
                e, n = line_errors(row["text"], got.text, strip_marks=True)
                st["char_err_nd"] += e
                st["chars_nd"] += n
    return stats


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.0%}" if b else "n/a"


def report(stats: dict[str, dict]) -> str:
    out = ["| level | docs | doc type | fields exact | docs all fields | CER | CER no diacritics | s/page | pages/min "
           "| review precision | review recall |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for level, st in stats.items():
        out.append(
            f"| {level} | {st['documents']:.0f} | {st['type_ok'] / st['documents']:.1%} | "
            f"{st['fields_ok'] / max(st['fields_total'], 1):.1%} ({st['fields_ok']:.0f}/{st['fields_total']:.0f}) | "
            f"{st['docs_all_fields_ok'] / st['documents']:.1%} | {st['char_err'] / max(st['chars'], 1):.2%} | "
            f"{st['char_err_nd'] / max(st['chars_nd'], 1):.2%} | {st['seconds'] / st['pages']:.2f} | "
            f"{60 * st['pages'] / st['seconds']:.1f} | "
            f"{_ratio(st['review_tp'], st['review_tp'] + st['review_fp'])} | "
            f"{_ratio(st['review_tp'], st['review_tp'] + st['review_fn'])} |")
    out.append(f"\npeak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB (one process, sequential)")
    misses = defaultdict(float)
    for st in stats.values():
        for k, v in st.items():
            if k.startswith("miss:") and v:
                misses[k[5:]] += v
    if misses:
        out.append("\nfields most often wrong: " + ", ".join(f"{k} ×{v:.0f}" for k, v in sorted(misses.items(), key=lambda kv: -kv[1])[:12]))
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, help="folder with documents and truth.jsonl (default: generate one)")
    ap.add_argument("--n", type=int, default=3, help="documents per template and level when generating")
    ap.add_argument("--levels", default="clean,scan,photo")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--dossiers", type=int, default=1)
    ap.add_argument("--text-pdfs", type=int, default=1)
    ap.add_argument("--show-failures", action="store_true", help="print each wrong document to stderr")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = args.corpus
        if corpus is None:
            corpus = Path(tmp) / "corpus"
            # A separate process, so the peak memory reported below is the pipeline's alone.
            subprocess.run([sys.executable, "-m", "sohoa.synth", str(corpus), "--n", str(args.n), "--levels", args.levels,
                            "--seed", str(args.seed), "--dossiers", str(args.dossiers),
                            "--text-pdfs", str(args.text_pdfs), "--rotations"], check=True, stdout=subprocess.DEVNULL)
        rows = [json.loads(line) for line in (corpus / "truth.jsonl").read_text().splitlines() if line.strip()]
        print(report(run(corpus, rows, args.show_failures)))


if __name__ == "__main__":
    main()
