"""The object-store interface: originals and derived artefacts live behind it.

Keys are '/'-separated. Originals are content-addressed (`originals/<sha256>`); derived
artefacts sit under their result code (`results/<code>/…`). See docs/architecture.md.
"""

from __future__ import annotations

import hashlib
from typing import Protocol


class ObjectNotFound(KeyError):
    pass


class ObjectStore(Protocol):
    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        """Store durably (the call returns only once the bytes are safe) and return their SHA-256."""

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def list(self, prefix: str) -> list[str]: ...

    def describe(self) -> str:
        """Where the objects are, for people (a path or an endpoint/bucket)."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def original_key(digest: str) -> str:
    return f"originals/{digest[:2]}/{digest}"


def result_key(result_code: str, name: str) -> str:
    return f"results/{result_code}/{name}"


def validate_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\\" in key or "\x00" in key:
        raise ValueError(f"invalid object key: {key!r}")
    return key
