"""Filesystem object store for embedded mode: atomic, fsync'd writes under one directory."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .objects import ObjectNotFound, check_digest, digest_in_key, sha256, validate_key


class FsObjectStore:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / validate_key(key)

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write beside the target, fsync, then rename: a crash leaves the old object or the new
        # one, never half of one. The directory fsync makes the rename itself durable.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return sha256(data)

    def get(self, key: str) -> bytes:
        try:
            data = self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise ObjectNotFound(key) from exc
        # Files keep no digest beside them, but an original's key is its SHA-256, so originals
        # (the one thing that cannot be made again) are checked; derived artefacts are not.
        expected = digest_in_key(key)
        return check_digest(key, data, expected) if expected else data

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def list(self, prefix: str) -> list[str]:
        # Walk only the directory the prefix names (up to its last "/"), not the whole store: page
        # readings and event chains are listed while documents are processed.
        folder = prefix.rpartition("/")[0]
        base = self._path(folder) if folder else self.root
        if not base.is_dir():
            return []
        return sorted(
            key for p in base.rglob("*")
            if p.is_file() and not p.name.startswith(".tmp-") and (key := str(p.relative_to(self.root))).startswith(prefix)
        )

    def describe(self) -> str:
        return str(self.root)

    def presigned_get(self, key: str, expires_seconds: int, content_type: str | None = None) -> None:
        return None  # embedded mode has no second server to send a client to: the API serves the bytes
