"""Render one synthetic document of a given template for a given person.

`render_document` returns the clean page image with the expected contract `fields` and the printed
`text`; degradation (scan/photo damage) is a separate step, see `degrade.py`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable

from PIL import Image

from . import cards, forms, pages
from .people import Person
from .sheet import Sheet, rasterize, write_pdf


@dataclass(frozen=True)
class Template:
    doc_type: str
    variant: str | None
    build: Callable[[Person, random.Random], tuple[Sheet, dict]]
    dpi: int  # default raster resolution: cards at 300, A4 pages at 200


TEMPLATES: dict[str, Template] = {
    "cccd_front_2021": Template("cccd", "2021", cards.cccd_front_2021, 300),
    "cancuoc_front_2024": Template("cccd", "2024", cards.cancuoc_front_2024, 300),
    "cccd_back_2021": Template("cccd_back", "2021", cards.cccd_back_2021, 300),
    "cancuoc_back_2024": Template("cccd_back", "2024", cards.cancuoc_back_2024, 300),
    "cmnd_front": Template("cmnd", None, cards.cmnd_front, 300),
    "birth_certificate": Template("birth_certificate", None, pages.birth_certificate, 200),
    "official_letter": Template("official_letter", None, pages.official_letter, 200),
    "business_registration": Template("business_registration", None, pages.business_registration,
                                      200),
    "marriage_certificate": Template("marriage_certificate", None, forms.marriage_certificate, 200),
    "residence_form": Template("residence_form", None, forms.residence_form, 200),
}
CARD_TEMPLATES = [t for t, spec in TEMPLATES.items() if spec.build.__module__.endswith("cards")]


@dataclass
class RenderedDoc:
    image: Image.Image  # RGB, info["dpi"] set
    doc_type: str
    variant: str | None
    fields: dict
    text: str  # printed lines, in drawing order, joined by "\n"
    template: str = ""
    sheet: Sheet | None = None  # the layout, for writing a born-digital PDF of the same document
    dpi: int = 300


def render_document(template: str, person: Person, rng: random.Random,
                    dpi: int | None = None) -> RenderedDoc:
    spec = TEMPLATES[template]
    sheet, fields = spec.build(person, rng)
    dpi = dpi or spec.dpi
    return RenderedDoc(
        image=rasterize(sheet, dpi), doc_type=spec.doc_type, variant=spec.variant, fields=fields,
        text=sheet.text_content, template=template, sheet=sheet, dpi=dpi,
    )


def write_text_pdf(docs: list[RenderedDoc], path) -> None:
    """Born-digital PDF (real text layer) of already rendered documents, one sheet a page."""
    write_pdf([d.sheet for d in docs if d.sheet is not None], path,
              title=docs[0].doc_type if docs else "")
