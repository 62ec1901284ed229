"""Data that crosses a boundary between pipeline stages, the API and storage.

Every stage takes and returns these models, so a stage can be replaced (another OCR
engine, a distributed worker) without the others noticing.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --------------------------------------------------------------------------- ingest
class FileKind(StrEnum):
    pdf = "pdf"
    tiff = "tiff"
    jpeg = "jpeg"
    png = "png"
    zip = "zip"


class ProcessingError(Model):
    """Why a file (or a part of it) could not be processed. `code` is stable for clients."""

    code: str  # e.g. "empty_file", "unsupported_type", "encrypted_pdf", "corrupt_file", "too_many_pages"
    message: str


class IngestedFile(Model):
    """An original as received: its bytes are already in object storage under `original_key`."""

    name: str
    sha256: str
    size: int
    kind: FileKind | None = None
    original_key: str
    error: ProcessingError | None = None


# --------------------------------------------------------------------------- OCR
BBox = tuple[int, int, int, int]  # x0, y0, x1, y1 in page pixels


class OcrWord(Model):
    text: str
    bbox: BBox
    confidence: float  # 0..1


class OcrLine(Model):
    text: str
    bbox: BBox
    confidence: float  # 0..1, mean of its words
    words: list[OcrWord] = Field(default_factory=list)


class PageText(Model):
    """The text of one page, in reading order, whichever way it was obtained."""

    page: int  # 1-based page number inside the source file
    width: int
    height: int
    source: Literal["text_layer", "ocr"]
    engine: str  # "pdfplumber 0.11.10" or "tesseract 5.5.4 vie"
    rotation: int = 0  # degrees clockwise applied to upright the page (0/90/180/270)
    skew: float = 0.0  # degrees corrected by deskew
    # Matrix from this page's pixel coordinates (the cleaned page the boxes refer to) to the
    # original page image: 3x3 homography (2x3 affine accepted); None when they are the same.
    to_original: list[list[float]] | None = None
    # The page's outline was found at a slant on a contrasting surface (a phone photo) and straightened.
    photographed: bool = False
    lines: list[OcrLine] = Field(default_factory=list)
    # Texts of the QR codes decoded on the page (chip ID cards carry one); personal data.
    codes: list[str] = Field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    @property
    def mean_confidence(self) -> float:
        if not self.lines:
            return 0.0
        return sum(line.confidence for line in self.lines) / len(self.lines)


# --------------------------------------------------------------------------- extraction
DocType = Literal[
    "cccd", "cccd_back", "cmnd", "birth_certificate", "official_letter", "business_registration",
    "marriage_certificate", "residence_form", "unknown"
]


class Check(Model):
    field: str
    rule: str
    ok: bool
    detail: str | None = None


Level = Literal["ward", "district", "province", "none"]


class ResolvedAddress(Model):
    """A printed address mapped to the official units, before and after 1 July 2025
    (extraction/addresses.py)."""

    printed: str
    street: str | None = None  # the part below the ward, as printed
    ward: str | None = None  # legacy (pre-1 July 2025) official names and codes
    ward_code: str | None = None
    district: str | None = None
    district_code: str | None = None
    province: str | None = None
    province_code: str | None = None
    province_2025: str | None = None  # the two-level units in force since 1 July 2025
    province_2025_code: str | None = None
    ward_2025: str | None = None
    ward_2025_code: str | None = None
    # The old ward was split among several new ones; ward_2025 is the package's default pick.
    ward_2025_split: bool = False
    level: Level = "none"
    confidence: float = Field(default=0.0, ge=0.0, le=1.0)


class Extraction(Model):
    """Fields of one document, normalised per the field contract."""

    doc_type: DocType
    fields: dict[str, Any] = Field(default_factory=dict)
    confidence: dict[str, float] = Field(default_factory=dict)
    checks: list[Check] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)
    needs_review: bool = False


# --------------------------------------------------------------------------- verification
class Verification(Model):
    status: Literal["match", "mismatch", "not_found", "not_checked"]
    mismatched_fields: list[str] = Field(default_factory=list)
    record_source: str | None = None
    checks: list[Check] = Field(default_factory=list)


# --------------------------------------------------------------------------- provenance
class ProvenanceStep(Model):
    step: str  # ingest, preprocess, ocr, extract, verify, store
    started_at: datetime
    finished_at: datetime
    actor: str  # service or user that ran it, with branch where relevant
    software: dict[str, str] = Field(default_factory=dict)  # name -> version
    parameters: dict[str, Any] = Field(default_factory=dict)
    inputs: dict[str, str] = Field(default_factory=dict)  # name -> sha256
    outputs: dict[str, str] = Field(default_factory=dict)  # name -> sha256


class ProvenanceRecord(Model):
    result_code: str
    document_id: str
    steps: list[ProvenanceStep]
    created_at: datetime
    signature: dict[str, str] | None = None  # {"alg": "Ed25519", "key_id": ..., "value": base64}


# --------------------------------------------------------------------------- result object (the contract)
class Source(Model):
    file: str
    sha256: str
    pages: list[int]
    branch: str | None = None


class ResultObject(Model):
    """One document as the field contract (`document-types.md`, "Result object") defines it."""

    model_config = ConfigDict(extra="forbid")

    document_id: str
    source: Source
    doc_type: DocType = "unknown"
    fields: dict[str, Any] = Field(default_factory=dict)
    confidence: dict[str, float] = Field(default_factory=dict)
    checks: list[Check] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)
    needs_review: bool = False
    verification: Verification = Field(default_factory=lambda: Verification(status="not_checked"))
    # Address fields resolved to official units, the pre-2025 ones and those since 1 July 2025,
    # beside the printed form kept in `fields` (an extension of the contract; docs/addresses.md).
    places: dict[str, ResolvedAddress] = Field(default_factory=dict)
    text: str = ""
    result_code: str | None = None
    provenance: str | None = None
    error: ProcessingError | None = None


# --------------------------------------------------------------------------- batches
class DocState(StrEnum):
    queued = "queued"
    processing = "processing"
    done = "done"
    failed = "failed"


class BatchItem(Model):
    """A file of a batch and what became of it."""

    file_id: str
    name: str
    sha256: str
    state: DocState
    pages: int | None = None  # counted at ingest (None for an archive, or a file that could not be opened)
    error: ProcessingError | None = None
    documents: list[ResultObject] = Field(default_factory=list)


class Batch(Model):
    batch_id: str
    branch: str | None
    dossier_code: str | None = None
    created_at: datetime
    state: DocState
    # How many files are in each state: a desk's progress bar without walking the items.
    progress: dict[DocState, int] = Field(default_factory=dict)
    items: list[BatchItem] = Field(default_factory=list)
