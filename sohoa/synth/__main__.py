"""python -m sohoa.synth OUT_DIR [--n N] [--levels clean,scan,photo] [--seed S] [--dossiers K]
[--text-pdfs K] [--rotations] [--formats png,jpg,pdf,tiff] [--photo-dpi LO,HI] [--workers W]"""

from __future__ import annotations

import argparse
import collections
import os
from pathlib import Path

from .corpus import generate_corpus
from .degrade import LEVELS


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m sohoa.synth",
                                 description="Generate synthetic Vietnamese dossier documents.")
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--n", type=int, default=2, help="documents per template and level")
    ap.add_argument("--levels", default="clean,scan,photo")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dossiers", type=int, default=0,
                    help="multi-page dossiers: card front, card back, birth certificate")
    ap.add_argument("--text-pdfs", type=int, default=0,
                    help="born-digital PDFs with a text layer, per A4 template")
    ap.add_argument("--rotations", action="store_true", help="turn some pages by 90/180/270")
    ap.add_argument("--formats", default="png,jpg,pdf,tiff")
    ap.add_argument("--photo-dpi", default="120,150",
                    help="resolution range of the photo level (the harsh default: 120,150)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                    help="processes to render with (the output does not depend on it)")
    args = ap.parse_args(argv)
    levels = [lv.strip() for lv in args.levels.split(",") if lv.strip()]
    unknown = set(levels) - set(LEVELS)
    if unknown:
        ap.error(f"unknown level(s) {sorted(unknown)}; choose from {list(LEVELS)}")
    rows = generate_corpus(args.out_dir, args.n, levels, args.seed,
                           formats=tuple(args.formats.split(",")), dossiers=args.dossiers,
                           text_pdfs=args.text_pdfs, rotations=args.rotations,
                           workers=args.workers,
                           photo_dpi=tuple(float(x) for x in args.photo_dpi.split(",")))
    files = {r["file"] for r in rows}
    by_type = collections.Counter(r["doc_type"] for r in rows)
    print(f"{len(rows)} documents in {len(files)} files under {args.out_dir}: "
          + ", ".join(f"{k} {v}" for k, v in sorted(by_type.items())))


if __name__ == "__main__":
    main()
