"""Splitting a multi-page file (a scanned dossier) into its papers."""

from __future__ import annotations

from collections.abc import Sequence

from extraction.classify import classify, starts_paper
from sohoa.models import DocType, PageText

# Papers that may run over several pages; a card or a birth certificate never does.
MULTI_PAGE: set[DocType] = {"official_letter", "business_registration"}


def split_dossier(pages: Sequence[PageText]) -> list[list[PageText]]:
    """Group pages into documents, in order.

    A recognised page starts a new document unless it is a later page of the paper before it
    (same multi-page type, without that type's first-page markers). An unknown page continues
    the document before it (page 2 of a letter has no title) — except after a card or a birth
    certificate, papers of one page, where it is a paper of its own (often the back of a card
    that OCR could not read). Unknown pages at the start form one unknown document.
    """
    docs: list[list[PageText]] = []
    current: DocType = "unknown"
    for page in pages:
        doc_type, _ = classify(page.text)
        if doc_type == "unknown":
            if docs and (current in MULTI_PAGE or current == "unknown"):
                docs[-1].append(page)
            else:
                docs.append([page])
                current = "unknown"
            continue
        if docs and doc_type == current and doc_type in MULTI_PAGE and not starts_paper(page.text, doc_type):
            docs[-1].append(page)
            continue
        docs.append([page])
        current = doc_type
    return docs
