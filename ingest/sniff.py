"""File type from magic bytes. The extension a scanner or a citizen gave is never trusted."""

from __future__ import annotations

from sohoa.models import FileKind

from .errors import IngestError

_MAGIC: list[tuple[bytes, FileKind]] = [
    (b"%PDF-", FileKind.pdf),
    (b"\x89PNG\r\n\x1a\n", FileKind.png),
    (b"\xff\xd8\xff", FileKind.jpeg),
    (b"II*\x00", FileKind.tiff),
    (b"MM\x00*", FileKind.tiff),
    (b"PK\x03\x04", FileKind.zip),
    (b"PK\x05\x06", FileKind.zip),  # empty archive
]


def sniff(head: bytes) -> FileKind:
    """The kind of a file from its first bytes; raises IngestError for empty or unsupported files."""
    if not head:
        raise IngestError("empty_file", "the file is empty (0 bytes)")
    # PDF writers may put junk before the header; the spec lets readers look in the first 1 KiB.
    if b"%PDF-" in head[:1024]:
        return FileKind.pdf
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    raise IngestError(
        "unsupported_type",
        f"unsupported file type (first bytes {head[:8].hex(' ')}); accepted: PDF, TIFF, JPEG, PNG, ZIP",
    )
