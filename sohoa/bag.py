"""A dossier as a BagIt bag (RFC 8493, through the Library of Congress's bagit-python): to hand
it to an archive or to another installation, and to take such a bag in again.

The bag carries the originals, every stored object of every result, the provenance event chains,
the archival metadata (sohoa/archival.py) and the public key that the chains are signed with.
BagIt's manifests say whether the bytes arrived as they were bagged; they prove nothing about
who bagged them, since anyone can rewrite a manifest. That is the chains' job: `import_bag`
accepts a bag only when its chains verify with the bag's key and every object they name hashes
to what they recorded, and — since the key travels with the bag — reports the key's id for the
receiver to compare with the one the sender published (or checks it against `trusted_keys`).

Layout (docs/archive.md):

    bagit.txt, bag-info.txt, manifest-sha256.txt, manifest-sha512.txt, tagmanifest-*.txt
    data/originals/<sha256>.<kind>              every original of the batch's files
    data/results/<result code>/…                every object stored under the result, events included
    data/dossier/events/<seq>.json              the dossier's own chain
    data/metadata/dossier.json                  Decree 30/2020 Appendix VI metadata of the dossier
    data/metadata/documents/<result code>.json  … and of each document
    data/metadata/sohoa-batch.json              the batch and file records, to rebuild the rows
    data/public_key.pem                         the exporting service's Ed25519 key (SPKI PEM)
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import bagit
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import Field
from sqlalchemy import select

from storage import changes
from storage.db import BatchRow, DocumentRow, EventRow, FileRow
from storage.objects import ObjectNotFound, original_key, sha256, validate_key

from . import __version__, archival, chain
from .models import DocState, Model, ResultObject
from .provenance import key_id, now_vn

CHECKSUMS = ["sha256", "sha512"]
MANIFEST = "manifest-sha256.txt"
MANIFEST_INPUT = "bag-manifest-sha256.txt"  # how export and import events name the manifest
PUBLIC_KEY = "public_key.pem"
BATCH_RECORD = "metadata/sohoa-batch.json"
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CONTENT_TYPES = {".json": "application/json", ".xml": "application/xml", ".pdf": "application/pdf",
                  ".png": "image/png", ".txt": "text/plain; charset=utf-8"}


class ExportRefused(Exception):
    """The dossier is not in a state worth archiving (unfinished, or its provenance is damaged)."""

    def __init__(self, batch_id: str, problems: list[str]):
        super().__init__(f"dossier {batch_id} not exported: " + "; ".join(problems))
        self.problems = problems


class FileRecord(Model):
    id: str
    name: str
    sha256: str
    size: int
    kind: str | None = None
    pages: int | None = None
    state: str
    error_code: str | None = None
    error_message: str | None = None
    created_at: datetime


class BatchRecord(Model):
    """The rows a receiving service needs to serve the dossier as the sender did."""

    batch_id: str
    branch: str | None = None
    dossier_code: str | None = None  # the national code (sohoa/dossiers.py): tracking goes on after an import
    created_at: datetime
    files: list[FileRecord] = Field(default_factory=list)


class ImportReport(Model):
    accepted: bool
    problems: list[str] = Field(default_factory=list)
    results: list[str] = Field(default_factory=list)  # result codes in the bag
    batch_id: str | None = None
    key_id: str | None = None  # of the key the bag's chains are signed with: compare with the sender's
    already_imported: bool = False  # this very bag (same manifest) was imported before: nothing added


def _actor(svc) -> str:  # noqa: ANN001 - Services
    return f"{svc.settings.service_name}@{svc.settings.site}"


# ============================================================================ export
def export_dossier(svc, batch_id: str, out: Path, actor: str | None = None,  # noqa: ANN001 - Services
                   dossier_code: str | None = None) -> Path:
    """Bag the dossier at `out` (a new or empty folder), then record an `export` event on the
    dossier's chain naming the bag's SHA-256 manifest. The bag appears whole or not at all."""
    out = Path(out).absolute()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out} exists and is not an empty folder")
    batch = _batch_record(svc, batch_id)
    dossier, documents = archival.describe_dossier(svc, batch_id, dossier_code)
    codes = [d.document_code for d in documents if d.document_code]
    if problems := _refusals(svc, batch, codes):
        raise ExportRefused(batch_id, problems)

    out.parent.mkdir(parents=True, exist_ok=True)
    # Built beside `out` (same filesystem) and renamed into place: no half-written bag at `out`.
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        _write_payload(svc, staging, batch, codes)
        _write(staging, "metadata/dossier.json", dossier.model_dump_json(indent=2).encode())
        for d in documents:
            _write(staging, f"metadata/documents/{d.document_code}.json", d.model_dump_json(indent=2).encode())
        bagit.make_bag(str(staging), _bag_info(svc, batch), processes=1, checksums=CHECKSUMS)
        if out.exists():
            out.rmdir()
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    chain.append(svc, batch_id, "export", actor or _actor(svc),
                 software={"sohoa": __version__, "bagit": bagit.VERSION},
                 outputs={MANIFEST_INPUT: sha256((out / MANIFEST).read_bytes())},
                 parameters={"path": str(out), "results": len(codes)})
    return out


def _batch_record(svc, batch_id: str) -> BatchRecord:  # noqa: ANN001
    with svc.sessions() as s:
        batch = s.get(BatchRow, batch_id)
        if batch is None:
            raise KeyError(f"no batch {batch_id}")
        files = s.scalars(select(FileRow).where(FileRow.batch_id == batch_id)
                          .order_by(FileRow.created_at, FileRow.id)).all()
    return BatchRecord(batch_id=batch.id, branch=batch.branch, dossier_code=batch.dossier_code,
                       created_at=archival.received_at(batch), files=[
        FileRecord(id=f.id, name=f.name, sha256=f.sha256, size=f.size, kind=f.kind, pages=f.pages, state=f.state,
                   error_code=f.error_code, error_message=f.error_message, created_at=_aware(f.created_at))
        for f in files])


def _aware(at: datetime) -> datetime:
    """SQLite hands timestamps back without their zone (UTC); a bag must not leave it to guess."""
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _refusals(svc, batch: BatchRecord, codes: list[str]) -> list[str]:  # noqa: ANN001
    """Why the dossier cannot be archived as it stands: work still under way would be missing from
    the bag, and evidence that no longer verifies would be handed on as if it were sound."""
    problems = [f"{f.name}: not processed yet ({f.state})" for f in batch.files
                if f.state in (DocState.queued.value, DocState.processing.value)]
    problems += [f"{f.name}: its original {original_key(f.sha256)} is missing from object storage"
                 for f in batch.files if f.sha256 and not svc.store.exists(original_key(f.sha256))]
    problems += [p for code in codes for p in chain.verify_subject(svc, code)]
    if svc.store.list(chain.events_prefix(batch.batch_id)):  # a dossier received before chains existed has none
        problems += chain.verify_subject(svc, batch.batch_id)
    return problems


def _write(root: Path, rel: str, data: bytes) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _original_name(f: FileRecord) -> str:
    return f"{f.sha256}.{f.kind or 'bin'}"


def _write_payload(svc, root: Path, batch: BatchRecord, codes: list[str]) -> None:  # noqa: ANN001
    """Everything but the archival metadata, in the folder that `make_bag` turns into `data/`."""
    written: set[str] = set()
    for f in batch.files:
        if f.sha256 and f.sha256 not in written:
            _write(root, f"originals/{_original_name(f)}", svc.store.get(original_key(f.sha256)))
            written.add(f.sha256)
    for code in codes:
        for key in svc.store.list(f"results/{code}/"):
            _write(root, key, svc.store.get(key))
    prefix = chain.events_prefix(batch.batch_id)
    for key in svc.store.list(prefix):
        _write(root, f"dossier/events/{key[len(prefix):]}", svc.store.get(key))
    _write(root, BATCH_RECORD, batch.model_dump_json(indent=2).encode())
    public = svc.signing_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                       serialization.PublicFormat.SubjectPublicKeyInfo)
    _write(root, PUBLIC_KEY, public)


def _bag_info(svc, batch: BatchRecord) -> dict[str, str]:  # noqa: ANN001
    branch = batch.branch or svc.settings.default_branch
    return {
        "Source-Organization": f"{svc.settings.service_name}@{svc.settings.site}, branch {branch}",
        "Bagging-Date": now_vn().date().isoformat(),
        "External-Identifier": batch.batch_id,
        "External-Description": f"Dossier {batch.batch_id} received at branch {branch}: originals, "
                                "digitised results, signed provenance, Decree 30/2020 metadata",
        "Bag-Software-Agent": f"sohoa {__version__} (bagit-python {bagit.VERSION})",
    }


# ============================================================================ import
@dataclass
class _Bag:
    """What a bag holds, read and parsed, with every problem met on the way."""

    root: Path
    problems: list[str] = field(default_factory=list)
    batch_id: str | None = None
    public: Ed25519PublicKey | None = None
    manifest_sha: str | None = None
    objects: dict[str, Path] = field(default_factory=dict)  # object key -> payload file
    chains: dict[str, list[chain.Event]] = field(default_factory=dict)  # subject -> events, by file name
    results: dict[str, ResultObject] = field(default_factory=dict)
    batch: BatchRecord | None = None


class _BagStore:
    """The bag's payload seen as a read-only object store, so that `chain.check_outputs` re-hashes
    the bag's bytes exactly as it re-hashes a live store's."""

    def __init__(self, objects: dict[str, Path]):
        self.objects = objects

    def get(self, key: str) -> bytes:
        if key not in self.objects:
            raise ObjectNotFound(key)
        return self.objects[key].read_bytes()


def import_bag(svc, path: Path, trusted_keys: Collection[str] | None = None,  # noqa: ANN001 - Services
               actor: str | None = None) -> ImportReport:
    """Take a dossier bag in, after checking it all; refuse, writing nothing, if anything is wrong.
    Importing the same bag again adds nothing. The signed chains are copied unaltered; the import
    itself is recorded on this service's chain of the dossier."""
    bag = _read(Path(path).absolute())
    if bag.public is not None and trusted_keys is not None and key_id(bag.public) not in trusted_keys:
        bag.problems.append(f"{PUBLIC_KEY}: key {key_id(bag.public)} is not among the trusted keys")
    _check_provenance(bag)
    _check_results(bag)
    _check_against(svc, bag)
    report = ImportReport(accepted=not bag.problems, problems=bag.problems, results=sorted(bag.results),
                          batch_id=bag.batch_id, key_id=key_id(bag.public) if bag.public else None)
    if bag.problems:
        return report
    _store(svc, bag)
    report.already_imported = not _record_import(svc, bag, actor or _actor(svc))
    return report


def _read(root: Path) -> _Bag:
    bag = _Bag(root)
    try:
        info = bagit.Bag(str(root))
    except bagit.BagError as exc:
        bag.problems.append(f"not a readable bag: {exc}")
        return bag
    try:
        info.validate(processes=1)
    except bagit.BagValidationError as exc:
        bag.problems += [f"bagit: {d}" for d in exc.details] or [f"bagit: {exc.message}"]
    except bagit.BagError as exc:
        bag.problems.append(f"bagit: {exc}")
    ident = info.info.get("External-Identifier")
    if not isinstance(ident, str) or not ident:
        bag.problems.append("bag-info.txt: one External-Identifier (the batch id) is required")
    else:
        bag.batch_id = ident
    if (root / MANIFEST).is_file():
        bag.manifest_sha = sha256((root / MANIFEST).read_bytes())
    else:
        bag.problems.append(f"{MANIFEST} is missing")
    _read_key(bag)
    _read_payload(bag)
    return bag


def _read_key(bag: _Bag) -> None:
    try:
        bag.public = chain.load_public_key((bag.root / "data" / PUBLIC_KEY).read_bytes())
    except (OSError, ValueError) as exc:
        bag.problems.append(f"data/{PUBLIC_KEY}: no usable Ed25519 public key ({exc})")


def _read_payload(bag: _Bag) -> None:
    data = bag.root / "data"
    for p in sorted(data.rglob("*")):
        rel = p.relative_to(data).as_posix()
        if p.is_symlink():  # its bytes would come from outside the bag
            bag.problems.append(f"data/{rel}: a symbolic link")
        elif p.is_file():
            _place(bag, rel, p)
    if (record := bag.root / "data" / BATCH_RECORD).is_file():
        try:
            bag.batch = BatchRecord.model_validate_json(record.read_bytes())
        except ValueError as exc:
            bag.problems.append(f"data/{BATCH_RECORD}: unreadable ({type(exc).__name__})")
    else:
        bag.problems.append(f"data/{BATCH_RECORD} is missing")


def _place(bag: _Bag, rel: str, p: Path) -> None:
    """Where a payload file goes in the object store (or that it goes nowhere)."""
    parts = rel.split("/")
    key: str | None = None
    if parts[0] == "originals" and len(parts) == 2:
        digest = parts[1].split(".", 1)[0]
        if not _SHA256.fullmatch(digest):
            bag.problems.append(f"data/{rel}: an original must be named by its SHA-256")
            return
        if sha256(p.read_bytes()) != digest:
            bag.problems.append(f"data/{rel}: its bytes do not hash to the SHA-256 it is named by")
        key = original_key(digest)
    elif parts[0] == "results" and len(parts) >= 3 and parts[1].startswith("KQ-"):
        key = rel
    elif parts[:2] == ["dossier", "events"] and len(parts) == 3 and bag.batch_id:
        key = chain.events_prefix(bag.batch_id) + parts[2]
    elif parts[0] == "metadata" or rel == PUBLIC_KEY:
        return  # derived or carried alongside: not stored as objects
    if key is None:
        bag.problems.append(f"data/{rel}: not a place this service stores anything")
        return
    try:
        bag.objects[validate_key(key)] = p
    except ValueError as exc:
        bag.problems.append(f"data/{rel}: {exc}")


def _subjects(bag: _Bag) -> dict[str, str]:
    """Each chain's subject -> the prefix of its event objects."""
    codes = {k.split("/")[1] for k in bag.objects if k.startswith("results/")}
    subjects = {code: chain.events_prefix(code) for code in codes}
    if bag.batch_id:
        subjects[bag.batch_id] = chain.events_prefix(bag.batch_id)
    return subjects


def _check_provenance(bag: _Bag) -> None:
    """Every chain verifies with the bag's key; every object an event names is in the bag with
    the recorded SHA-256; every result object is named by some event (one added afterwards, or
    a chain cut short at its end, would otherwise go unnoticed)."""
    for subject, prefix in _subjects(bag).items():
        events = _load_chain(bag, prefix)
        if not events and subject.startswith("KQ-"):
            bag.problems.append(f"{subject}: no provenance events in the bag")
        bag.chains[subject] = events
        if bag.public is not None:
            bag.problems += chain.check_chain(events, bag.public, subject)
        bag.problems += chain.check_outputs(SimpleNamespace(store=_BagStore(bag.objects)), events)
    named = {name for events in bag.chains.values() for ev in events for name in ev.outputs if "/" in name}
    for key in sorted(bag.objects):
        if key.startswith("results/") and "/events/" not in key and key not in named:
            bag.problems.append(f"{key}: no event of the bag names it, so nothing vouches for it")


def _load_chain(bag: _Bag, prefix: str) -> list[chain.Event]:
    events = []
    for key in sorted(k for k in bag.objects if k.startswith(prefix)):
        try:
            ev = chain.Event.model_validate_json(bag.objects[key].read_bytes())
        except ValueError as exc:
            bag.problems.append(f"{key}: not a readable event ({type(exc).__name__})")
            continue
        if key != chain.event_key(ev.subject, ev.seq):
            bag.problems.append(f"{key}: holds event {ev.seq} of {ev.subject}")
        events.append(ev)
    return events


def _check_results(bag: _Bag) -> None:
    for code in sorted(s for s in bag.chains if s.startswith("KQ-")):
        key = f"results/{code}/result.json"
        if key not in bag.objects:
            bag.problems.append(f"{key} is missing")
            continue
        try:
            result = ResultObject.model_validate_json(bag.objects[key].read_bytes())
        except ValueError as exc:
            bag.problems.append(f"{key}: not a readable result object ({type(exc).__name__})")
            continue
        if result.result_code != code:
            bag.problems.append(f"{key}: holds result {result.result_code}")
        if original_key(result.source.sha256) not in bag.objects:
            bag.problems.append(f"{key}: its original {result.source.sha256} is not in the bag")
        bag.results[code] = result
    if bag.batch is not None:
        if bag.batch_id and bag.batch.batch_id != bag.batch_id:
            bag.problems.append(f"data/{BATCH_RECORD}: describes batch {bag.batch.batch_id}, "
                                f"the bag says {bag.batch_id}")
        for f in bag.batch.files:
            if f.sha256 and original_key(f.sha256) not in bag.objects:
                bag.problems.append(f"data/{BATCH_RECORD}: the original of {f.name} is not in the bag")


def _check_against(svc, bag: _Bag) -> None:  # noqa: ANN001
    """What this service already holds must agree with the bag: nothing here is overwritten."""
    for key, p in sorted(bag.objects.items()):
        if not svc.store.exists(key):
            continue
        try:
            same = sha256(svc.store.get(key)) == sha256(p.read_bytes())
        except Exception as exc:  # noqa: BLE001 - ObjectDamaged and the like: name it
            bag.problems.append(f"{key}: held here but unreadable ({type(exc).__name__})")
            continue
        if not same:
            bag.problems.append(f"{key}: this service already holds a different object under that key")
    with svc.sessions() as s:
        for subject, events in bag.chains.items():
            held = dict(s.execute(select(EventRow.seq, EventRow.hash).where(EventRow.subject == subject)).all())
            for ev in events:
                if ev.seq in held and held[ev.seq] != ev.hash:
                    bag.problems.append(f"{subject} event {ev.seq}: this service's chain holds a different event")
        for code, result in bag.results.items():
            row = s.scalar(select(DocumentRow).where(DocumentRow.result_code == code))
            if row is not None and row.id != result.document_id:
                bag.problems.append(f"{code}: this service holds it for another document ({row.id})")
            other = s.get(DocumentRow, result.document_id)
            if other is not None and other.result_code != code:
                bag.problems.append(f"{code}: this service holds its document under {other.result_code}")


def _store(svc, bag: _Bag) -> None:  # noqa: ANN001
    """Objects first, then all rows in one transaction: a crash in between leaves only objects
    that a second import recognises as its own and completes."""
    from .pipeline import _document_row  # the one way a result becomes a row

    for key, p in sorted(bag.objects.items()):
        if not svc.store.exists(key):
            svc.store.put(key, p.read_bytes(), _content_type(key))
    assert bag.batch is not None and bag.batch_id and bag.public is not None
    public_pem = bag.public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    # Kept, so that the imported chains can be checked here later, long after the bag is gone.
    svc.store.put(f"keys/imported/{key_id(bag.public).replace(':', '-')}.pem", public_pem, "application/x-pem-file")
    with svc.sessions() as s, s.begin():
        if s.get(BatchRow, bag.batch_id) is None:
            s.add(BatchRow(id=bag.batch_id, branch=bag.batch.branch, dossier_code=bag.batch.dossier_code,
                           created_at=bag.batch.created_at))
            s.flush()  # the batch first: PostgreSQL checks the files' foreign key at once
        for f in bag.batch.files:
            if s.get(FileRow, f.id) is None:
                s.add(_file_row(bag.batch_id, f))
        new = [r for r in bag.results.values() if s.get(DocumentRow, r.document_id) is None]
        s.add_all(_document_row(r) for r in new)
        for subject, events in bag.chains.items():
            held = set(s.scalars(select(EventRow.seq).where(EventRow.subject == subject)).all())
            s.add_all(chain.row(ev) for ev in events if ev.seq not in held)
        # Downstream hears of imported results as of any other new result.
        changes.record(s, [r.result_code for r in new if r.result_code], changes.CREATED)


def _file_row(batch_id: str, f: FileRecord) -> FileRow:
    # Done (or failed, with its reason): an imported file is never queued for processing again.
    failed = f.state == DocState.failed.value
    return FileRow(id=f.id, batch_id=batch_id, name=f.name, sha256=f.sha256, size=f.size, kind=f.kind,
                   original_key=original_key(f.sha256) if f.sha256 else "", pages=f.pages,
                   state=DocState.failed.value if failed else DocState.done.value,
                   error_code=f.error_code if failed else None, error_message=f.error_message if failed else None,
                   created_at=f.created_at, updated_at=f.created_at)


def _content_type(key: str) -> str:
    if key.startswith("originals/"):
        return "application/octet-stream"
    return _CONTENT_TYPES.get(Path(key).suffix, "application/octet-stream")


def _record_import(svc, bag: _Bag, actor: str) -> bool:  # noqa: ANN001
    """An `import` event on this service's chain of the dossier; False when this bag's import is
    already recorded there."""
    assert bag.batch_id and bag.manifest_sha and bag.public is not None
    for ev in chain.events(svc, bag.batch_id):
        if ev.type == "import" and ev.inputs.get(MANIFEST_INPUT) == bag.manifest_sha:
            return False
    outputs = {code: sha256(bag.objects[f"results/{code}/result.json"].read_bytes()) for code in sorted(bag.results)}
    chain.append(svc, bag.batch_id, "import", actor, software={"sohoa": __version__, "bagit": bagit.VERSION},
                 inputs={MANIFEST_INPUT: bag.manifest_sha}, outputs=outputs,
                 parameters={"path": str(bag.root), "signed_by": key_id(bag.public)})
    return True


__all__ = ["ExportRefused", "ImportReport", "export_dossier", "import_bag"]
