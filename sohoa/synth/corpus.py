"""Write a synthetic corpus: document files plus `truth.jsonl` in the samples' schema.

Every document draws from its own `random.Random` seeded by (seed, what, index), so a document does
not change when other options (more templates, dossiers, formats) change, and a run is
reproducible byte for byte.

Besides the documents the corpus holds `registry.csv` (the electronic records of the people on ID
fronts and birth certificates, some deliberately wrong or missing) and
`expected_verification.json`, like the samples.
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import random
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from functools import partial
from pathlib import Path

from PIL import Image

from . import data
from .degrade import PHOTO_DPI, degrade
from .people import Person, random_person
from .render import TEMPLATES, RenderedDoc, render_document, write_text_pdf

TEXT_PDF_TEMPLATES = ("official_letter", "business_registration", "birth_certificate",
                      "marriage_certificate", "residence_form")
_LOSSLESS = ("png", "pdf", "tiff")  # formats a clean page is stored in
_LOSSY = ("jpg", "pdf", "tiff")  # formats a scanned or photographed page is stored in
_WEIGHT = {"png": 6, "jpg": 6, "pdf": 3, "tiff": 1}  # plain images are what desks mostly upload
_EXT = {"png": "png", "jpg": "jpg", "jpeg": "jpg", "pdf": "pdf", "tiff": "tif", "tif": "tif"}


def _rng(seed: int, *key) -> random.Random:
    # str seeds are hashed with SHA-512 by random.seed, so this is stable across runs and machines
    return random.Random(":".join(map(str, (seed, *key))))


def _rotation(rng: random.Random, enabled: bool) -> int:
    return rng.choice([0, 0, 0, 90, 180, 270]) if enabled else 0


def save_pages(pages: list[Image.Image], path: Path, fmt: str, lossy: bool) -> None:
    """Write one or more page images. PDFs and TIFFs embed the pages at their dpi (image only)."""
    # copies: Pillow leaves per-format encoder options on appended frames, which would leak from
    # the PDF save of a dossier into its TIFF save
    first, rest = pages[0], [p.copy() for p in pages[1:]]
    dpi = float(first.info.get("dpi", (300, 300))[0])
    if fmt == "png":
        first.save(path, "PNG", dpi=(dpi, dpi))
    elif fmt in ("jpg", "jpeg"):
        # damage is already baked in by degrade(); a high quality here adds no second generation
        first.save(path, "JPEG", quality=92, dpi=(round(dpi), round(dpi)))
    elif fmt == "pdf":
        # no creation/modification dates: a seed must give the same bytes
        first.save(path, "PDF", save_all=True, append_images=rest, resolution=dpi,
                   quality=88 if lossy else 94, creationDate=None, modDate=None)
    elif fmt in ("tiff", "tif"):
        # JPEG-in-TIFF even for clean pages: deflate makes a 300-dpi A4 dossier ~10 MB a page
        first.save(path, "TIFF", save_all=True, append_images=rest, dpi=(dpi, dpi),
                   compression="jpeg", quality=88 if lossy else 94)
    else:
        raise ValueError(f"unknown format {fmt!r}")


def _row(file: str, doc: RenderedDoc, level: str, rotation: int,
         pages: list[int] | None = None, **extra) -> dict:
    row = {"file": file}
    if pages:
        row["pages"] = pages
    row |= {"template": doc.template, "person": None, "doc_type": doc.doc_type,
            "variant": doc.variant, "level": level, "rotation": rotation, "fields": doc.fields,
            "text": doc.text}
    return row | extra


def photocopy_on_a4(card: Image.Image, rng: random.Random, dpi: int = 300) -> Image.Image:
    """A card copied onto an A4 sheet, as desks file them in dossiers (sometimes in grey)."""
    w, h = round(8.27 * dpi), round(11.69 * dpi)
    tone = rng.randint(246, 255)
    page = Image.new("RGB", (w, h), (tone, tone, tone - rng.randint(0, 4)))
    if rng.random() < 0.3:
        card = card.convert("L").point(lambda v: min(255, int((v - 40) * 1.25))).convert("RGB")
    x = rng.randint(dpi // 2, w - card.width - dpi // 2)
    y = rng.randint(dpi // 2, h // 2 - card.height)
    page.paste(card, (x, y))
    page.info["dpi"] = (dpi, dpi)
    return page


def _single(out_dir: Path, seed: int, formats: list[str], rotations: bool, photo_dpi: tuple[float, float],
            k: int, template: str, level: str, i: int) -> tuple[list[dict], Person]:
    rng = _rng(seed, template, level, i)
    person = random_person(rng)
    doc = render_document(template, person, rng)
    rotation = _rotation(rng, rotations)
    img = degrade(doc.image, level, rng, rotation, photo_dpi)
    allowed = [f for f in formats if f in (_LOSSLESS if level == "clean" else _LOSSY)] or formats
    fmt = rng.choices(allowed, [_WEIGHT.get(f, 1) for f in allowed])[0]
    name = f"doc{k:05d}.{_EXT[fmt]}"
    save_pages([img], out_dir / name, fmt, lossy=level != "clean")
    return [_row(name, doc, level, rotation)], person


def _dossier(out_dir: Path, seed: int, formats: list[str], rotations: bool, levels: list[str],
             d: int) -> tuple[list[dict], Person]:
    """One person's card front and back (each photocopied on A4) and birth certificate."""
    rng = _rng(seed, "dossier", d)
    person = random_person(rng)
    level = rng.choice(levels)
    front, back = rng.choice([("cccd_front_2021", "cccd_back_2021"),
                              ("cancuoc_front_2024", "cancuoc_back_2024")])
    pages, docs, turns = [], [], []
    for template in (front, back, "birth_certificate"):
        doc = render_document(template, person, rng, dpi=300)
        page = photocopy_on_a4(doc.image, rng) if template != "birth_certificate" else doc.image
        turns.append(_rotation(rng, rotations))
        pages.append(degrade(page, level, rng, turns[-1]))
        docs.append(doc)
    rows = []
    for fmt in ["pdf"] + (["tiff"] if "tiff" in formats or "tif" in formats else []):
        name = f"dossier{d + 1:03d}.{_EXT[fmt]}"
        save_pages(pages, out_dir / name, fmt, lossy=level != "clean")
        for i, (doc, turn) in enumerate(zip(docs, turns), start=1):
            rows.append(_row(name, doc, level, turn, pages=[i]))
    return rows, person


def _text_pdf(out_dir: Path, seed: int, k: int, template: str, i: int) -> tuple[list[dict], Person]:
    rng = _rng(seed, "text-pdf", template, i)
    person = random_person(rng)
    doc = render_document(template, person, rng)
    name = f"doc{k:05d}.pdf"
    write_text_pdf([doc], out_dir / name)
    return [_row(name, doc, "clean", 0, text_layer=True)], person


def generate_corpus(out_dir: Path, n_per_template: int, levels: list[str], seed: int,
                    formats=("png", "jpg", "pdf"), dossiers: int = 0, text_pdfs: int = 0,
                    rotations: bool = False, workers: int = 1,
                    photo_dpi: tuple[float, float] = PHOTO_DPI) -> list[dict]:
    """`formats` picks the file types of single documents (png for clean pages, jpg for damaged
    ones, pdf/tiff for either); dossiers are always PDF, plus TIFF when "tiff" is listed.
    `workers` > 1 renders in that many processes; the output is the same."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    formats = [f.lower() for f in formats]
    jobs = []
    k = 0
    for template in TEMPLATES:
        for level in levels:
            for i in range(n_per_template):
                k += 1
                jobs.append(partial(_single, out_dir, seed, formats, rotations, photo_dpi, k,
                                    template, level, i))
    jobs += [partial(_dossier, out_dir, seed, formats, rotations, levels, d)
             for d in range(dossiers)]
    for i in range(text_pdfs):
        for template in TEXT_PDF_TEMPLATES:
            k += 1
            jobs.append(partial(_text_pdf, out_dir, seed, k, template, i))

    if workers > 1:
        # spawn, not fork: forking a process whose OpenCV/BLAS threads hold locks can deadlock
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_one_thread) as pool:
            results = list(pool.map(_call, jobs, chunksize=1))
    else:
        results = [job() for job in jobs]
    rows: list[dict] = []
    people: list[Person] = []
    for doc_rows, person in results:  # "person" indexes the people in generation order
        people.append(person)
        rows += [r | {"person": len(people) - 1} for r in doc_rows]

    with open(out_dir / "truth.jsonl", "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    _write_registry(out_dir, rows, people, seed)
    return rows


def _write_registry(out_dir: Path, rows: list[dict], people: list[Person], seed: int) -> None:
    """Registry of the people on ID fronts, birth certificates and residence forms (CT01, the
    declarant): ~75% agree, ~15% differ on one field, ~10% are missing;
    `expected_verification.json` says which status each document gets."""
    checked = [r for r in rows if r["doc_type"] in ("cccd", "birth_certificate", "residence_form")]
    status: dict[int, str] = {}
    records = []
    for idx in sorted({r["person"] for r in checked}):
        p, rng = people[idx], _rng(seed, "registry", idx)
        roll = rng.random()
        if roll < 0.10:
            status[idx] = "not_found"
            continue
        rec = {"id_number": p.id_number, "full_name": p.full_name,
               "date_of_birth": p.date_of_birth.isoformat(), "sex": p.sex,
               "place_of_residence": p.place_of_residence.full()}
        if roll < 0.25:
            field = rng.choice(["full_name", "date_of_birth", "sex"])
            rec[field] = _altered(p, field, rng)
            status[idx] = f"mismatch:{field}"
        else:
            status[idx] = "match"
        records.append(rec)
    with open(out_dir / "registry.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, ["id_number", "full_name", "date_of_birth", "sex",
                               "place_of_residence"])
        w.writeheader()
        w.writerows(records)
    expected = {}
    for r in checked:
        key = r["file"] + (f"#{r['pages'][0]}" if r.get("pages") else "")
        expected[key] = status[r["person"]]
    with open(out_dir / "expected_verification.json", "w", encoding="utf-8") as f:
        json.dump(expected, f, ensure_ascii=False, indent=0)


def _call(job):
    return job()


def _one_thread() -> None:
    # OpenCV's own thread pool in every worker process would oversubscribe the cores
    import cv2

    cv2.setNumThreads(1)


def _altered(p: Person, field: str, rng: random.Random) -> str:
    if field == "sex":
        return "Nữ" if p.sex == "Nam" else "Nam"
    if field == "date_of_birth":
        day = rng.choice([d for d in range(1, 29) if d != p.date_of_birth.day])
        return p.date_of_birth.replace(day=day).isoformat()
    pool = data.GIVEN_MALE if p.sex == "Nam" else data.GIVEN_FEMALE
    return replace(p, given=rng.choice([g for g in pool if g != p.given])).full_name
