"""One parser a doc type: each turns the lines of a document into a Draft of its fields."""

from __future__ import annotations

from collections.abc import Callable

from extraction.fields import Draft
from extraction.labels import Line
from extraction.parsers import (
    birth_certificate,
    business_registration,
    cccd,
    cccd_back,
    cmnd,
    marriage_certificate,
    official_letter,
    residence_form,
)
from sohoa.models import DocType

Parser = Callable[[list[Line]], Draft]

PARSERS: dict[DocType, Parser] = {
    "cccd": cccd.parse,
    "cccd_back": cccd_back.parse,
    "cmnd": cmnd.parse,
    "birth_certificate": birth_certificate.parse,
    "official_letter": official_letter.parse,
    "business_registration": business_registration.parse,
    "marriage_certificate": marriage_certificate.parse,
    "residence_form": residence_form.parse,
}

