"""Safe expansion of ZIP batches: bounded in entries, bytes and depth; names never reach the disk."""

from __future__ import annotations

import io
import posixpath
import zipfile
from dataclasses import dataclass

from sohoa.config import Limits

from .errors import IngestError


@dataclass
class ZipMember:
    name: str  # path inside the archive, as a display name only
    data: bytes | None
    error: IngestError | None = None


def _read_bounded(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int) -> bytes:
    # The sizes in the central directory are the sender's claim; a bomb lies about them,
    # so the inflated stream itself is cut at the budget.
    out = bytearray()
    with zf.open(info) as fh:
        while chunk := fh.read(1 << 20):
            out += chunk
            if len(out) > budget:
                raise IngestError("zip_too_large", f"'{info.filename}' inflates beyond the batch limit of {budget} bytes")
    return bytes(out)


def unpack_zip(data: bytes, limits: Limits) -> list[ZipMember]:
    """The files inside a ZIP. A bad member becomes an error entry; the others are still returned."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise IngestError("corrupt_file", f"not a readable ZIP archive: {exc}") from exc
    infos = [i for i in zf.infolist() if not i.is_dir()]
    if len(infos) > limits.max_zip_entries:
        raise IngestError("zip_too_many_entries", f"ZIP holds {len(infos)} files; the limit is {limits.max_zip_entries}")
    members: list[ZipMember] = []
    budget = limits.max_zip_total_bytes
    for info in infos:
        name = info.filename
        norm = posixpath.normpath(name.replace("\\", "/"))
        if norm.startswith("/") or norm == ".." or norm.startswith("../"):
            members.append(ZipMember(name, None, IngestError("zip_path_traversal", f"unsafe path in ZIP: '{name}'")))
            continue
        if info.flag_bits & 0x1:
            members.append(ZipMember(norm, None, IngestError("encrypted_file", f"'{name}' in the ZIP is password-protected")))
            continue
        if info.file_size > limits.max_file_bytes:
            members.append(ZipMember(norm, None, IngestError("file_too_large", f"'{name}' is {info.file_size} bytes; the limit is {limits.max_file_bytes}")))
            continue
        try:
            content = _read_bounded(zf, info, min(budget, limits.max_file_bytes))
        except IngestError as exc:
            members.append(ZipMember(norm, None, exc))
            continue
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
            members.append(ZipMember(norm, None, IngestError("corrupt_file", f"'{name}' in the ZIP cannot be read: {exc}")))
            continue
        budget -= len(content)
        members.append(ZipMember(norm, content))
    return members
