"""Fields of one document: classify its text, then run that type's parser."""

from __future__ import annotations

from collections.abc import Sequence

from extraction.classify import classify
from extraction.fields import REVIEW_THRESHOLD
from extraction.labels import lines_of
from extraction.parsers import PARSERS
from sohoa.models import DocType, Extraction, PageText

# Below this classification score the type itself is doubtful: a person confirms it.
CLASSIFY_REVIEW = 0.6


def extract(pages: Sequence[PageText], doc_type: DocType | None = None) -> Extraction:
    """Classify the pages of ONE document (unless `doc_type` is given) and read its fields.

    Fields that were not read are absent and listed in `missing`; `needs_review` is set when a
    field's confidence is below REVIEW_THRESHOLD, a check fails, a printed field is missing, or
    the type was a close call. An unknown document has no fields and nothing to review.
    """
    lines = lines_of(pages)
    score = 1.0
    if doc_type is None:
        doc_type, score = classify("\n".join(line.text for line in lines))
    parser = PARSERS.get(doc_type)
    if parser is None:
        return Extraction(doc_type="unknown")
    result = parser(lines).extraction(REVIEW_THRESHOLD)
    if score < CLASSIFY_REVIEW:
        result.needs_review = True
    return result
