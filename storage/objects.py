"""The object-store interface: originals and derived artefacts live behind it.

Keys are '/'-separated. Originals are content-addressed (`originals/<2 hex>/<sha256>`); derived
artefacts sit under their result code (`results/<code>/…`). See docs/storage.md.
"""

from __future__ import annotations

import hashlib
import re
from typing import Protocol


class ObjectNotFound(KeyError):
    pass


class ObjectDamaged(Exception):
    """The bytes read back are not the bytes that were stored: never hand them on as if they were."""

    def __init__(self, key: str, reason: str):
        super().__init__(f"object {key!r} is damaged: {reason}")
        self.key = key


class ObjectStore(Protocol):
    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        """Store durably (the call returns only once the bytes are safe) and return their SHA-256."""

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def list(self, prefix: str) -> list[str]: ...

    def describe(self) -> str:
        """Where the objects are, for people (a path or an endpoint/bucket)."""

    def presigned_get(self, key: str, expires_seconds: int, content_type: str | None = None) -> str | None:
        """A time-limited URL a client can download the object from directly, or None when the
        store cannot give one (the caller then serves the bytes itself)."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def original_key(digest: str) -> str:
    return f"originals/{digest[:2]}/{digest}"


def result_key(result_code: str, name: str) -> str:
    return f"results/{result_code}/{name}"


_ORIGINAL = re.compile(r"originals/([0-9a-f]{2})/(\1[0-9a-f]{62})")


def digest_in_key(key: str) -> str | None:
    """The SHA-256 an original's key names: the key alone says what its bytes must hash to."""
    m = _ORIGINAL.fullmatch(key)
    return m.group(2) if m else None


def check_digest(key: str, data: bytes, expected: str) -> bytes:
    actual = sha256(data)
    if actual != expected:
        raise ObjectDamaged(key, f"its bytes hash to sha256 {actual}, expected {expected}")
    return data


def validate_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\\" in key or "\x00" in key:
        raise ValueError(f"invalid object key: {key!r}")
    return key
