"""QR codes of chip ID cards: how often they decode, and decode right, per degradation level.

    .venv/bin/python bench/qr.py --n 20 --levels clean,scan,photo --seed 7
    .venv/bin/python bench/qr.py --n 20 --levels photo --photo-dpi 200,250     # sharper phone photos
    .venv/bin/python bench/qr.py --n 20 --where original,cleaned,pipeline       # where to look
    .venv/bin/python bench/qr.py --n 20 --where pipeline,classic-original,classic-cleaned  # detectors

Generates N 2021 fronts and N 2024 backs per level with sohoa.synth, and decodes each the way
an OCR worker does (`ocr.read.prepare`, then `ocr.read.read_codes`); --where adds other ways:
only the page as received, only the cleaned page (with or without the retries on enlarged
copies), OpenCV's classic detector on either. Reports
per level and template the share of cards with a decoded code, the share whose payload equals
the one printed, wrong payloads, and milliseconds a card for the search (prepare excluded: the
page needs it anyway).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest.pages import RawPage  # noqa: E402
from ocr import preprocess as pp  # noqa: E402
from ocr.codes import detect_and_decode, find_qr_codes  # noqa: E402
from ocr.read import Prepared, prepare, read_codes  # noqa: E402
from sohoa.config import Settings  # noqa: E402
from sohoa.synth import qr  # noqa: E402
from sohoa.synth.degrade import degrade  # noqa: E402
from sohoa.synth.people import Person, random_person  # noqa: E402
from sohoa.synth.render import render_document  # noqa: E402

# The chip cards that print a QR code, and the issue date their code carries.
CARDS = {
    "cccd_front_2021": lambda p: p.cccd_issue_date,
    "cancuoc_back_2024": lambda p: p.cancuoc_issue_date,
}


def classic(grey: np.ndarray) -> list[str]:
    """OpenCV's classic QRCodeDetector, one pass: what ocr/codes.py was measured against."""
    ok, texts, _, _ = cv2.QRCodeDetector().detectAndDecodeBytesMulti(grey)
    return [bytes(t).decode("utf-8", "replace") for t in texts if t] if ok else []


def one_pass(grey: np.ndarray) -> list[str]:
    """ocr/codes.py's first pass alone, without its retries on enlarged copies."""
    return detect_and_decode(cv2.QRCodeDetectorAruco(), grey)[0]


A4 = ("official_letter", "birth_certificate", "business_registration")


WHERE = {
    "pipeline": read_codes,
    "original": lambda raw, prep: find_qr_codes(pp.to_grey(raw.image)),
    "cleaned": lambda raw, prep: find_qr_codes(prep.grey),
    "cleaned-one-pass": lambda raw, prep: one_pass(prep.grey),
    "classic-original": lambda raw, prep: classic(pp.to_grey(raw.image)),
    "classic-cleaned": lambda raw, prep: classic(prep.grey),
}


def truth(template: str, p: Person) -> str:
    return qr.payload(p, CARDS[template](p))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20, help="cards of each template per level")
    ap.add_argument("--levels", default="clean,scan,photo")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--photo-dpi", default="120,150", help="resolution range of the photo level")
    ap.add_argument("--where", default="pipeline", help=f"comma-separated: {', '.join(WHERE)}")
    ap.add_argument("--a4", type=int, default=0, help="also time the search on this many A4 pages "
                    "(no QR code) of each kind per level")
    args = ap.parse_args()
    photo_dpi = tuple(float(v) for v in args.photo_dpi.split(","))
    opts = Settings().preprocess
    stats: dict[tuple, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for level in args.levels.split(","):
        for template in CARDS:
            for i in range(args.n):
                rng = random.Random(f"{args.seed}-{level}-{template}-{i}")
                person = random_person(rng)
                doc = render_document(template, person, rng)
                img = degrade(doc.image, level, rng, photo_dpi=photo_dpi)
                raw = RawPage(1, img, float(img.info["dpi"][0]))
                prep: Prepared = prepare(raw, opts)
                want = truth(template, person)
                for where in args.where.split(","):
                    t0 = time.perf_counter()
                    codes = WHERE[where](raw, prep)
                    st = stats[(where, level, template)]
                    st["ms"] += 1000 * (time.perf_counter() - t0)
                    st["cards"] += 1
                    st["decoded"] += bool(codes)
                    st["right"] += want in codes
                    st["wrong"] += any(c != want for c in codes)
    for level in args.levels.split(",") if args.a4 else ():
        for template in A4:
            for i in range(args.a4):
                rng = random.Random(f"{args.seed}-{level}-{template}-{i}")
                img = degrade(render_document(template, random_person(rng), rng).image, level, rng,
                              photo_dpi=photo_dpi)
                raw = RawPage(1, img, float(img.info["dpi"][0]))
                prep = prepare(raw, opts)
                for where in args.where.split(","):
                    t0 = time.perf_counter()
                    codes = WHERE[where](raw, prep)
                    st = stats[(where, level, "A4 without QR")]
                    st["ms"] += 1000 * (time.perf_counter() - t0)
                    st["cards"] += 1
                    st["decoded"] += bool(codes)
                    st["wrong"] += bool(codes)
    print(f"seed {args.seed}, n={args.n} of each template per level, photo dpi {args.photo_dpi}\n")
    print("| where | level | paper | pages | decoded | payload = truth | wrong payloads | ms/page |\n"
          "|---|---|---|---|---|---|---|---|")
    totals: dict[tuple, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for (where, level, template), st in stats.items():
        if template not in CARDS:
            continue
        for key, v in st.items():
            totals[(where, level, "both")][key] += v
    rows = {**stats, **totals}
    for (where, level, template) in sorted(rows, key=lambda k: (k[0], args.levels.split(",").index(k[1]), k[2])):
        st = rows[(where, level, template)]
        print(f"| {where} | {level} | {template} | {st['cards']:.0f} | {st['decoded'] / st['cards']:.0%} | "
              f"{st['right'] / st['cards']:.0%} | {st['wrong']:.0f} | {st['ms'] / st['cards']:.0f} |")


if __name__ == "__main__":
    main()
