"""Wiring: builds the store, database and OCR engine that the settings ask for, once per process."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import sessionmaker

from storage.db import make_sessionmaker
from storage.objects import ObjectStore

from .config import Settings

log = logging.getLogger("sohoa.services")


def make_store(settings: Settings) -> ObjectStore:
    if settings.storage_backend == "s3":
        from storage.s3 import S3ObjectStore

        return S3ObjectStore(settings.s3_endpoint, settings.s3_access_key, settings.s3_secret_key,
                             settings.s3_bucket, secure=settings.s3_secure, region=settings.s3_region)
    from storage.fs import FsObjectStore

    return FsObjectStore(settings.objects_dir)


@dataclass
class Services:
    settings: Settings
    store: ObjectStore
    sessions: sessionmaker
    worker: object | None = None  # the embedded worker, when this process runs one

    @cached_property
    def engine(self):  # noqa: ANN201 - an OcrEngine; loaded lazily because the API process never OCRs
        kind = self.settings.ocr_engine
        if kind == "paddle":
            return self._paddle
        if kind == "detect":
            return self._detect_read()
        return self._tesseract

    @cached_property
    def fallback_engine(self):  # noqa: ANN201 - OcrEngine | None
        """In `auto` mode: detector + reader for pages that look photographed or read poorly."""
        if self.settings.ocr_engine != "auto":
            return None
        from ocr.detector import DetectorUnavailable

        try:
            return self._detect_read()
        except DetectorUnavailable as exc:
            log.warning("auto OCR without the line detector: %s", exc)
            return None

    @cached_property
    def _tesseract(self):  # noqa: ANN202
        from ocr.tesseract import TesseractEngine

        return TesseractEngine(self.settings.tesseract)

    @cached_property
    def _paddle(self):  # noqa: ANN202
        from ocr.paddle import PaddleEngine

        return PaddleEngine(self.settings.paddle)

    def _detect_read(self):  # noqa: ANN202
        from ocr.detect_read import DetectReadEngine
        from ocr.detector import TextDetector

        opts = self.settings.detector
        reader = self._paddle if opts.reader == "paddle" else self._tesseract
        # Orientation, MRZ re-reads and single-line reads stay with Tesseract in every mode.
        return DetectReadEngine(reader, TextDetector(opts.model_path), helper=self._tesseract)

    @cached_property
    def signing_key(self) -> Ed25519PrivateKey:
        from .provenance import load_or_create_key

        return load_or_create_key(self.settings.key_path)


def build_services(settings: Settings) -> Services:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Services(settings=settings, store=make_store(settings), sessions=make_sessionmaker(settings.db_url))
