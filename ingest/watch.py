"""Watched-folder ingest, for scanners that can only drop files into a shared folder.

    DIR/                 the scanner writes here: a file is one dossier; a folder of files is one dossier
    DIR/.sohoa-taking/   taken, being accepted (a crash leaves them here, to be finished at restart)
    DIR/done/<yymmdd>/   accepted: the originals are stored and queued (kept for the desk's own records)
    DIR/failed/<yymmdd>/ could not be accepted at all (unreadable), with <name>.error.txt saying why

A file is taken only when it is complete: its size and modification time have not changed for
`settle_seconds`, and its name is not a scanner's temporary name (`.part`, `.tmp`, `~$…`, dot files).
Taking is a rename into `.sohoa-taking/` (atomic on one filesystem), so nothing is read while it is
still being written, and nothing is taken twice. Accepting uses an idempotency key made of the
content's SHA-256, so a crash between accepting and moving to `done/` never makes a second batch.
A bad document (corrupt PDF, wrong type …) is not a watch failure: it is accepted, recorded against
its batch as failed with the reason, and moved to `done/` like any other — what happened to it is
in the batch status.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sohoa.provenance import now_vn

from .names import display_name

log = logging.getLogger("sohoa.watch")

TAKING, DONE, FAILED = ".sohoa-taking", "done", "failed"
TEMPORARY_SUFFIXES = (".part", ".partial", ".tmp", ".crdownload", ".download")


@dataclass
class Seen:
    size: int
    mtime: float
    since: float  # when this (size, mtime) was first seen


@dataclass
class Watcher:
    root: Path
    # (files, idempotency key, the entry's name) -> file ids. The name may be the dossier's code.
    accept: Callable[[list[tuple[str, bytes]], str, str], list[str]]
    settle_seconds: float = 2.0
    _seen: dict[Path, Seen] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        for sub in (TAKING, DONE, FAILED):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    # ---------------------------------------------------------------- one pass
    def poll(self, now: float | None = None) -> list[str]:
        """Take and accept everything complete; returns the accepted file ids."""
        now = time.time() if now is None else now
        accepted: list[str] = []
        for taken in sorted((self.root / TAKING).iterdir()):  # left by a crash: finish them first
            accepted += self._accept(taken)
        for entry in sorted(self.root.iterdir()):
            if self._ignored(entry) or not self._settled(entry, now):
                continue
            target = self.root / TAKING / entry.name
            try:
                os.rename(entry, target)
            except OSError:
                continue  # gone, or another watcher took it first
            self._seen.pop(entry, None)
            accepted += self._accept(target)
        return accepted

    def _ignored(self, entry: Path) -> bool:
        name = entry.name
        return (name in (TAKING, DONE, FAILED) or name.startswith((".", "~$"))
                or name.lower().endswith(TEMPORARY_SUFFIXES) or not (entry.is_file() or entry.is_dir()))

    def _settled(self, entry: Path, now: float) -> bool:
        """Unchanged (size and newest mtime, over a folder's files too) for `settle_seconds`."""
        try:
            files = [entry] if entry.is_file() else [p for p in entry.rglob("*") if p.is_file()]
            size = sum(p.stat().st_size for p in files)
            mtime = max([p.stat().st_mtime for p in files] + [entry.stat().st_mtime])
        except OSError:
            return False  # changing under us
        if entry.is_dir() and (not files or any(self._ignored(p) for p in files)):
            return False  # an empty folder, or a scanner still writing a temporary file into it
        seen = self._seen.get(entry)
        if seen is None or (seen.size, seen.mtime) != (size, mtime):
            self._seen[entry] = Seen(size, mtime, now)
            return False
        return now - seen.since >= self.settle_seconds

    # ---------------------------------------------------------------- accepting one taken entry
    def _accept(self, taken: Path) -> list[str]:
        try:
            files = _read(taken)
            key = "watch:" + _content_key(files)
            ids = self.accept(files, key, taken.name)
        except Exception as exc:  # noqa: BLE001 - sorted below: an outage waits, anything else is failed
            if _service_fault(exc):  # database or storage away: leave it taken, retry next pass
                log.warning("could not accept %s yet: %s", display_name(taken.name), type(exc).__name__)
            else:
                log.error("cannot accept %s: %s", display_name(taken.name), type(exc).__name__)
                self._move(taken, FAILED, reason=f"{type(exc).__name__}: {exc}")
            return []
        self._move(taken, DONE)
        log.info("accepted %s: %d file(s)", display_name(taken.name), len(ids))
        return ids

    def _move(self, taken: Path, where: str, reason: str | None = None) -> None:
        day = self.root / where / f"{now_vn():%y%m%d}"
        day.mkdir(parents=True, exist_ok=True)
        target = day / taken.name
        n = 1
        while target.exists():  # the same name dropped again another time: keep both
            target = day / f"{taken.stem}.{n}{taken.suffix}"
            n += 1
        shutil.move(str(taken), str(target))
        if reason:
            target.with_name(target.name + ".error.txt").write_text(reason + "\n", encoding="utf-8")


def _read(taken: Path) -> list[tuple[str, bytes]]:
    if taken.is_file():
        return [(taken.name, taken.read_bytes())]  # names as they are: ingest makes them safe to show
    return [(str(p.relative_to(taken)), p.read_bytes()) for p in sorted(taken.rglob("*")) if p.is_file()]


def _content_key(files: list[tuple[str, bytes]]) -> str:
    h = hashlib.sha256()
    for name, data in files:
        h.update(name.encode("utf-8", "surrogateescape") + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()


def _service_fault(exc: BaseException) -> bool:
    from workers.faults import is_transient

    return is_transient(exc)
