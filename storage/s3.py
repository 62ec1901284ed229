"""MinIO / S3 object store through the `minio` SDK (production mode).

Every body written carries a Content-MD5 the server checks; every object carries its SHA-256 as
metadata, and every read is checked against it. The bucket is versioned, and with object lock
on, new versions cannot be removed before their retention ends. See docs/storage.md.
"""

from __future__ import annotations

import base64
import hashlib
import io
from datetime import timedelta
from typing import Literal

from minio import Minio
from minio.error import S3Error
from minio.helpers import DictType, ObjectWriteResult
from minio.objectlockconfig import DAYS, ObjectLockConfig
from minio.versioningconfig import ENABLED, VersioningConfig

from .objects import (
    ObjectDamaged,
    ObjectNotFound,
    check_digest,
    digest_in_key,
    sha256,
    validate_key,
)

MIB = 1024 * 1024
MIN_PART_SIZE = 5 * MIB  # S3's floor for every part but the last
DEFAULT_PART_SIZE = 16 * MIB
RetentionMode = Literal["GOVERNANCE", "COMPLIANCE"]
_MISSING = ("NoSuchKey", "NoSuchObject", "NotFound")

if not hasattr(Minio, "_put_object"):  # pragma: no cover - guards an SDK upgrade
    raise ImportError("storage.s3 needs minio 7.2's Minio._put_object to add Content-MD5; see _Md5Minio")


class StoreConfigError(RuntimeError):
    """The bucket cannot be made what the settings ask for: stop at startup, not at the first write."""


def content_md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()


class _Md5Minio(Minio):
    """minio 7.2.20 sends Content-MD5 only over TLS (over plain HTTP it signs the body's SHA-256
    instead, which S3 does not take in its place for a bucket with default retention), and its
    put_object has no checksum argument. Every body PUT, a whole object or one part of a multipart
    upload, goes through `_put_object`, so adding the header here covers both; S3 and MinIO refuse
    the write (BadDigest) if the bytes they received hash differently."""

    def _put_object(self, bucket_name: str, object_name: str, data: bytes, headers: DictType | None = None,
                    query_params: DictType | None = None) -> ObjectWriteResult:
        return super()._put_object(bucket_name, object_name, data,
                                   {**(headers or {}), "Content-MD5": content_md5(data)}, query_params)


class S3ObjectStore:
    def __init__(self, endpoint: str, access_key: str, secret_key: str, bucket: str,
                 secure: bool = False, region: str | None = None, *,
                 part_size: int = DEFAULT_PART_SIZE, object_lock: bool = False,
                 retention_days: int = 0, retention_mode: RetentionMode = "GOVERNANCE"):
        _check_options(part_size, object_lock, retention_days, retention_mode)
        self.client = _Md5Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=secure, region=region)
        self.bucket = bucket
        self.endpoint = endpoint
        self.part_size = part_size
        self.object_lock = object_lock
        self.retention = (retention_mode, retention_days) if object_lock and retention_days else None
        self._ensure_bucket()
        self._ensure_versioning()
        if object_lock:
            self._ensure_object_lock()

    # -- startup: the bucket is made what the settings say, or the process does not start --

    def _ensure_bucket(self) -> None:
        if self.client.bucket_exists(self.bucket):
            return
        try:
            self.client.make_bucket(self.bucket, object_lock=self.object_lock)
        except S3Error as exc:
            if exc.code == "BucketAlreadyOwnedByYou":
                return  # the API and a worker starting together: the other one made it
            if self.object_lock:
                raise StoreConfigError(
                    f"the server refused to create bucket {self.bucket!r} with object lock "
                    f"(SOHOA_S3_OBJECT_LOCK=true): {exc.code}: {exc.message}") from exc
            raise

    def _ensure_versioning(self) -> None:
        try:
            if self.client.get_bucket_versioning(self.bucket).status == ENABLED:
                return
            self.client.set_bucket_versioning(self.bucket, VersioningConfig(ENABLED))
        except S3Error as exc:
            # Without versions an overwrite or a delete destroys the only copy; do not run like that.
            raise StoreConfigError(
                f"bucket {self.bucket!r}: the server refused to turn versioning on ({exc.code}: {exc.message}); "
                "sohoa needs a versioned bucket (MinIO: erasure-coded or single-drive xl, not the old fs mode)") from exc

    def _ensure_object_lock(self) -> None:
        try:
            current = self.client.get_object_lock_config(self.bucket)
        except S3Error as exc:
            raise StoreConfigError(
                f"SOHOA_S3_OBJECT_LOCK=true but bucket {self.bucket!r} has no object lock ({exc.code}). "
                "MinIO turns object lock on only when a bucket is created: point SOHOA_S3_BUCKET at a "
                "bucket that does not exist yet (sohoa creates it locked) or set SOHOA_S3_OBJECT_LOCK=false") from exc
        if self.retention is None:
            return  # no days asked for: a default rule set on the bucket by its operator stays as it is
        mode, days = self.retention
        if (current.mode, current.duration, current.duration_unit) == (mode, days, DAYS):
            return
        try:
            self.client.set_object_lock_config(self.bucket, ObjectLockConfig(mode, days, DAYS))
        except S3Error as exc:
            raise StoreConfigError(
                f"bucket {self.bucket!r}: the server refused the default retention SOHOA_S3_RETENTION_MODE={mode}, "
                f"SOHOA_S3_RETENTION_DAYS={days} ({exc.code}: {exc.message})") from exc

    # -- the ObjectStore protocol --

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        digest = sha256(data)
        # The digest travels as metadata so reads and fixity audits compare against it without
        # trusting ETags (a multipart ETag is not a content hash). Above part_size the SDK uploads
        # in parts, each with its own Content-MD5, so a large original is never one fragile request.
        self.client.put_object(self.bucket, validate_key(key), io.BytesIO(data), len(data),
                               content_type=content_type, metadata={"sha256": digest}, part_size=self.part_size)
        return digest

    def get(self, key: str) -> bytes:
        try:
            resp = self.client.get_object(self.bucket, validate_key(key))
        except S3Error as exc:
            if exc.code in _MISSING:
                raise ObjectNotFound(key) from exc
            raise
        try:
            data = resp.read()
            stored = resp.headers.get("x-amz-meta-sha256")
        finally:
            resp.close()
            resp.release_conn()
        return _verified(key, data, stored)

    def exists(self, key: str) -> bool:
        try:
            self.client.stat_object(self.bucket, validate_key(key))
            return True
        except S3Error as exc:
            if exc.code in _MISSING:
                return False
            raise

    def delete(self, key: str) -> None:
        # In a versioned bucket this only lays a delete marker over the object: its versions stay
        # readable by version id, and under object lock no one can remove them before retention ends.
        self.client.remove_object(self.bucket, validate_key(key))

    def list(self, prefix: str) -> list[str]:
        return sorted(o.object_name for o in self.client.list_objects(self.bucket, prefix=prefix, recursive=True))

    def describe(self) -> str:
        lock = f", object lock {self.retention[0]} {self.retention[1]} days" if self.retention else \
            (", object lock" if self.object_lock else "")
        return f"s3://{self.bucket} at {self.endpoint} (versioned{lock})"

    def presigned_get(self, key: str, expires_seconds: int, content_type: str | None = None) -> str | None:
        if expires_seconds <= 0:
            return None  # SOHOA_S3_PRESIGN_SECONDS=0: clients cannot reach the store, the API serves bytes
        # The server answers with the type the API would have given, not the stored octet-stream.
        headers = {"response-content-type": content_type} if content_type else None
        return self.client.presigned_get_object(self.bucket, validate_key(key),
                                                expires=timedelta(seconds=expires_seconds), response_headers=headers)


def _check_options(part_size: int, object_lock: bool, retention_days: int, retention_mode: str) -> None:
    if part_size < MIN_PART_SIZE:
        raise StoreConfigError(f"SOHOA_S3_PART_SIZE={part_size} is below S3's minimum part size of {MIN_PART_SIZE} bytes")
    if retention_days < 0:
        raise StoreConfigError(f"SOHOA_S3_RETENTION_DAYS={retention_days} must be 0 (none) or more")
    if retention_days and not object_lock:
        raise StoreConfigError("SOHOA_S3_RETENTION_DAYS needs SOHOA_S3_OBJECT_LOCK=true: retention is part of object lock")
    if retention_mode not in ("GOVERNANCE", "COMPLIANCE"):
        raise StoreConfigError(f"SOHOA_S3_RETENTION_MODE={retention_mode!r} must be GOVERNANCE or COMPLIANCE")


def _verified(key: str, data: bytes, stored: str | None) -> bytes:
    if not stored:
        raise ObjectDamaged(key, "it carries no sha256 metadata (every object sohoa writes does)")
    named = digest_in_key(key)
    if named and named != stored:
        raise ObjectDamaged(key, f"its sha256 metadata {stored} is not the digest its key names")
    return check_digest(key, data, stored)
