"""File names as received are the sender's text, not ours: they are kept for display only, made
safe to store and show (never used as paths)."""

from __future__ import annotations

import unicodedata

MAX_NAME_CHARS = 255  # what filesystems allow for one name; longer is an attack or an accident


def display_name(name: str) -> str:
    """Bytes that are not UTF-8 (an old scanner's code page, kept by Python as surrogates) become
    U+FFFD; control characters (NUL, newlines: log injection) become U+FFFD; over-long names keep
    their start and their extension."""
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    text = "".join("\ufffd" if unicodedata.category(c) == "Cc" else c for c in text) or "unnamed"
    if len(text) > MAX_NAME_CHARS:
        stem, dot, ext = text.rpartition(".")
        tail = (dot + ext) if dot and len(ext) <= 10 else ""
        text = text[:MAX_NAME_CHARS - len(tail) - 1] + "…" + tail
    return text
