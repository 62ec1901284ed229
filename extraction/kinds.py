"""What kind of value a contract field holds, from its name: the calibration fits one confidence
map per kind, and address kinds are resolved to administrative units."""

from __future__ import annotations

import re

# Field names follow the contract's style, so a few patterns sort every type's fields; a new
# type's fields fall into the same kinds ("husband_name", "head_office_address").
_KINDS = [
    ("mrz", re.compile(r"^mrz$")),
    ("date", re.compile(r"date")),
    ("number", re.compile(r"(id_number|_code|_number|_book)$")),
    ("money", re.compile(r"_vnd$")),
    ("name", re.compile(r"((?<!company_)name|signer|legal_representative)$")),  # people
    ("place", re.compile(r"(place|address$|residence|origin|birth)")),
    ("choice", re.compile(r"(^|_)(sex|nationality|ethnicity)$|^relationship_to_head$")),
]


def field_kind(name: str) -> str:
    for kind, pattern in _KINDS:
        if pattern.search(name):
            return kind
    return "text"
