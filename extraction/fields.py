"""Collecting a document's fields with their confidence and checks, then the Extraction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from extraction.calibration import Calibration
from extraction.labels import Value
from sohoa.models import Check, DocType, Extraction

# A field below this confidence is shown to a person before the result is used.
REVIEW_THRESHOLD = 0.80
# How much a failed check lowers the confidence of the fields it involves.
FAILED_CHECK_FACTOR = 0.6
# Share of the OCR doubt left once check digits verify a value.
VERIFIED_DOUBT = 0.2


def confidence(ocr: float, label_score: float = 1.0, quality: float = 1.0, least: float | None = None) -> float:
    """OCR confidence of the source words, discounted by a fuzzy label match and by how much the
    value had to be repaired or guessed at (quality < 1). `least` is the confidence of the
    least sure word: the geometric mean with the average lets one doubtful word in a long value
    count, which the average alone hides (bench/fields.py measures the review recall)."""
    if least is not None:
        ocr = (ocr * min(ocr, least)) ** 0.5
    value = ocr * (0.75 + 0.25 * label_score) * quality
    return round(max(0.0, min(1.0, value)), 3)


def verified(ocr: float) -> float:
    """Confidence of a value whose check digits verify: a misread that keeps every check digit
    right is rare, so most of the doubt the OCR confidence expresses is removed."""
    return round(1.0 - (1.0 - ocr) * VERIFIED_DOUBT, 3)


@dataclass
class Draft:
    doc_type: DocType
    expected: list[str]  # contract fields this paper (in its variant) prints
    fields: dict[str, Any] = field(default_factory=dict)
    confidence: dict[str, float] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    label_scores: dict[str, float] = field(default_factory=dict)  # 0 when found without its label

    def put(self, name: str, value: Any, source: Value | None, quality: float = 1.0) -> None:
        """Record a field read from `source`; None or "" values are left out, never stored."""
        if value is None or value == "":
            return
        ocr, label = (source.confidence, source.label_score) if source else (1.0, 1.0)
        self.fields[name] = value
        self.confidence[name] = confidence(ocr, label, quality, source.min_confidence if source else None)
        self.label_scores[name] = label

    def put_conf(self, name: str, value: Any, conf: float) -> None:
        if value is None or value == "":
            return
        self.fields[name] = value
        self.confidence[name] = round(max(0.0, min(1.0, conf)), 3)

    def check(self, check: Check, *involved: str) -> None:
        self.checks.append(check)
        if not check.ok:
            for name in involved or (check.field,):
                if name in self.confidence:
                    self.confidence[name] = round(self.confidence[name] * FAILED_CHECK_FACTOR, 3)

    def not_printed(self, name: str) -> None:
        """The paper legitimately has no such field (e.g. "Không thời hạn")."""
        if name in self.expected:
            self.expected.remove(name)

    def extraction(self, calibration: Calibration | None = None) -> Extraction:
        """The fields as read. With a calibration, each confidence becomes the probability that
        the field is right, and the calibration's threshold decides what a person reviews."""
        confidence = dict(self.confidence)
        threshold = REVIEW_THRESHOLD
        if calibration is not None:
            confidence = {k: calibration.probability(k, v, self.doc_type) for k, v in confidence.items()}
            threshold = calibration.threshold
        missing = [f for f in self.expected if f not in self.fields]
        needs_review = (
            bool(missing)
            or any(not c.ok for c in self.checks)
            or any(c < threshold for c in confidence.values())
        )
        return Extraction(
            doc_type=self.doc_type,
            fields=dict(self.fields),
            confidence=confidence,
            checks=list(self.checks),
            missing=missing,
            needs_review=needs_review,
        )
