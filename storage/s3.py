"""MinIO / S3 object store through the `minio` SDK (production mode).

The production-deployment issue adds versioning, object lock, multipart tuning and presigned
URLs; this module already stores and reads real objects over HTTP.
"""

from __future__ import annotations

import io

from minio import Minio
from minio.error import S3Error

from .objects import ObjectNotFound, sha256, validate_key


class S3ObjectStore:
    def __init__(self, endpoint: str, access_key: str, secret_key: str, bucket: str,
                 secure: bool = False, region: str | None = None):
        self.client = Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=secure, region=region)
        self.bucket = bucket
        self.endpoint = endpoint
        if not self.client.bucket_exists(bucket):
            self.client.make_bucket(bucket)

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        digest = sha256(data)
        # The digest travels as metadata so a fixity audit can compare without trusting ETags
        # (multipart ETags are not content hashes).
        self.client.put_object(self.bucket, validate_key(key), io.BytesIO(data), len(data),
                               content_type=content_type, metadata={"sha256": digest})
        return digest

    def get(self, key: str) -> bytes:
        try:
            resp = self.client.get_object(self.bucket, validate_key(key))
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject"):
                raise ObjectNotFound(key) from exc
            raise
        try:
            return resp.read()
        finally:
            resp.close()
            resp.release_conn()

    def exists(self, key: str) -> bool:
        try:
            self.client.stat_object(self.bucket, validate_key(key))
            return True
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject", "NotFound"):
                return False
            raise

    def delete(self, key: str) -> None:
        self.client.remove_object(self.bucket, validate_key(key))

    def list(self, prefix: str) -> list[str]:
        return sorted(o.object_name for o in self.client.list_objects(self.bucket, prefix=prefix, recursive=True))

    def describe(self) -> str:
        return f"s3://{self.bucket} at {self.endpoint}"
