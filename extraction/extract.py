"""Fields of one document: classify its text, then run that type's parser."""

from __future__ import annotations

from collections.abc import Sequence

from extraction.classify import classify
from extraction.calibration import Calibration
from extraction.labels import lines_of
from extraction.parsers import PARSERS
from extraction.qr import cross_check as qr_cross_check
from sohoa.models import DocType, Extraction, PageText

# Below this classification score the type itself is doubtful: a person confirms it.
CLASSIFY_REVIEW = 0.6


def extract(pages: Sequence[PageText], doc_type: DocType | None = None,
            calibration: Calibration | None = None) -> Extraction:
    """Classify the pages of ONE document (unless `doc_type` is given) and read its fields.

    Fields that were not read are absent and listed in `missing`; `needs_review` is set when a
    field's confidence is below the review threshold, a check fails, a printed field is missing, or
    the type was a close call. An unknown document has no fields and nothing to review.
    With a `calibration`, confidences are probabilities of being right (extraction/calibration.py).
    """
    lines = lines_of(pages)
    score = 1.0
    if doc_type is None:
        doc_type, score = classify("\n".join(line.text for line in lines))
    parser = PARSERS.get(doc_type)
    if parser is None:
        return Extraction(doc_type="unknown")
    draft = parser(lines)
    # A card's QR code (decoded with its page) is checked against the print, before
    # confidences are calibrated: agreement raises them, disagreement sends the card to review.
    qr_cross_check(draft, [code for page in pages for code in page.codes])
    result = draft.extraction(calibration)
    if score < CLASSIFY_REVIEW:
        result.needs_review = True
    return result
