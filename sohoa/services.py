"""Wiring: builds the store, database and OCR engine that the settings ask for, once per process."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import sessionmaker

from storage.db import make_sessionmaker
from storage.objects import ObjectStore

from .config import Settings


def make_store(settings: Settings) -> ObjectStore:
    if settings.storage_backend == "s3":
        from storage.s3 import S3ObjectStore

        return S3ObjectStore(settings.s3_endpoint, settings.s3_access_key, settings.s3_secret_key,
                             settings.s3_bucket, secure=settings.s3_secure, region=settings.s3_region,
                             part_size=settings.s3_part_size, object_lock=settings.s3_object_lock,
                             retention_days=settings.s3_retention_days, retention_mode=settings.s3_retention_mode)
    from storage.fs import FsObjectStore

    return FsObjectStore(settings.objects_dir)


@dataclass
class Services:
    settings: Settings
    store: ObjectStore
    sessions: sessionmaker
    worker: object | None = None  # the embedded worker, when this process runs one

    @cached_property
    def ocr(self):  # noqa: ANN201 - OcrEngines; loaded lazily because the API process never OCRs
        from ocr.engines import build_engines

        return build_engines(self.settings)

    @cached_property
    def page_pool(self):  # noqa: ANN201 - PagePool | None
        """OCR worker processes for the pages of one file; None when pages are read in-process."""
        from ocr.pool import PagePool, pool_size

        n = pool_size(self.settings.ocr_workers)
        return PagePool(self.settings, n) if n > 1 else None

    @cached_property
    def calibration(self):  # noqa: ANN201 - Calibration | None
        """How field scores become probabilities, and the review threshold; None: raw scores."""
        from extraction.calibration import DEFAULT_PATH, Calibration, load

        if not self.settings.calibrate:
            cal = Calibration()  # scores as they are, the parsers' own threshold
        else:
            cal = load(self.settings.calibration_file or DEFAULT_PATH)
        if self.settings.review_threshold is not None:
            cal = cal.model_copy(update={"threshold": self.settings.review_threshold})
        return cal

    def close(self) -> None:
        if "page_pool" in self.__dict__ and self.page_pool is not None:
            self.page_pool.close()

    @cached_property
    def audit_log(self):  # noqa: ANN201 - GroupCommit
        """The audit rows of concurrent API requests, committed together (storage/group_commit.py)."""
        from storage.group_commit import GroupCommit

        return GroupCommit(self.sessions)

    @cached_property
    def signing_key(self) -> Ed25519PrivateKey:
        from .provenance import load_or_create_key

        return load_or_create_key(self.settings.key_path)


def build_services(settings: Settings) -> Services:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Services(settings=settings, store=make_store(settings), sessions=make_sessionmaker(settings.db_url))
