"""The provenance event chain: append-only, hash-linked, signed events per result and per dossier.

Every event says who did what, when, with which software and parameters, on which bytes (input
and output SHA-256), and carries the hash of the event before it, so that removing, reordering or
altering any event breaks the links after it. Each event's hash is signed with the service's
Ed25519 key: anyone with the public key can check the chain without trusting our database.

An event lives twice: as an object that is never overwritten (`<subject prefix>/events/<seq>.json`,
which a bucket with object lock keeps for its retention) and as a row of the `events` table (for
queries). `verify_subject` checks both and says exactly what is wrong.

Event types are ours (`ingest`, `read_page`, `extract`, …); each maps to the PREMIS event type
vocabulary (id.loc.gov/vocabulary/preservation/eventType) where one fits.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from storage.db import EventRow
from storage.objects import ObjectNotFound, sha256

from .models import Model
from .provenance import canonical, key_id, now_vn

GENESIS = "0" * 64

# Our event types and the PREMIS eventType each corresponds to.
PREMIS: dict[str, str] = {
    "ingest": "ingestion",
    "read_page": "creation",  # clean-up + OCR create the page text and images from the original
    "extract": "metadata extraction",
    "cross_check": "validation",
    "verify": "validation",
    "store": "information package creation",
    "review": "metadata modification",
    "copy_issued": "digital signature generation",
    "fixity_check": "fixity check",
    "export": "exporting",
    "import": "ingestion",
    "received": "accession",  # a dossier's batch came in at a desk
    "document_stored": "information package creation",
}


class Signature(Model):
    alg: str = "Ed25519"
    key_id: str
    value: str  # base64 of the signature over the event's hash


class Event(Model):
    subject: str  # a result code, or a dossier (batch) id
    seq: int  # 1, 2, 3 … within the subject
    type: str
    premis_type: str | None = None
    at: datetime  # ISO 8601 with +07:00
    actor: str
    software: dict[str, str] = Field(default_factory=dict)
    parameters: dict[str, Any] = Field(default_factory=dict)
    inputs: dict[str, str] = Field(default_factory=dict)  # name -> sha256
    outputs: dict[str, str] = Field(default_factory=dict)  # name -> sha256 (or object key -> sha256)
    outcome: str = "success"
    prev_hash: str
    hash: str = ""
    signature: Signature | None = None

    def body(self) -> dict:
        return self.model_dump(mode="json", exclude={"hash", "signature"})


def event_hash(event: Event) -> str:
    return hashlib.sha256(canonical(event.body())).hexdigest()


def sign_event(event: Event, key: Ed25519PrivateKey) -> Event:
    digest = event_hash(event)
    sig = key.sign(bytes.fromhex(digest))
    return event.model_copy(update={"hash": digest, "signature": Signature(
        key_id=key_id(key.public_key()), value=base64.b64encode(sig).decode())})


def events_prefix(subject: str) -> str:
    """Where a subject's events are stored: beside a result's artefacts, or under the dossier."""
    if subject.startswith("KQ-"):
        return f"results/{subject}/events/"
    return f"dossiers/{subject}/events/"


def event_key(subject: str, seq: int) -> str:
    return f"{events_prefix(subject)}{seq:06d}.json"


def new_event(subject: str, type_: str, seq: int, prev_hash: str, actor: str, **fields: Any) -> Event:
    return Event(subject=subject, seq=seq, type=type_, premis_type=PREMIS.get(type_),
                 at=fields.pop("at", None) or now_vn(), actor=actor, prev_hash=prev_hash, **fields)


def append(svc, subject: str, type_: str, actor: str, **fields: Any) -> Event:  # noqa: ANN001 - Services
    """Add one signed event at the end of the subject's chain (object first, then the row).
    Concurrent appenders to one subject are serialised by the (subject, seq) key: the loser
    reads the new head and tries again."""
    for _ in range(20):
        with svc.sessions() as s:
            head = s.scalar(select(EventRow).where(EventRow.subject == subject)
                            .order_by(EventRow.seq.desc()).limit(1))
        seq, prev = (head.seq + 1, head.hash) if head else (1, GENESIS)
        event = sign_event(new_event(subject, type_, seq, prev, actor, **fields), svc.signing_key)
        try:
            with svc.sessions() as s, s.begin():
                s.add(row(event))
        except IntegrityError:
            continue  # someone appended seq first
        put(svc, [event])
        return event
    raise RuntimeError(f"could not append to the event chain of {subject}: too much contention")


def from_steps(subject: str, steps: list, key: Ed25519PrivateKey) -> list[Event]:  # noqa: ANN001 - ProvenanceStep
    """A new result's processing steps (`StepRecorder`) as the first events of its chain, signed.
    Built in memory: the pipeline stores them with the result and commits their rows in the same
    transaction as the document, so a retried task never leaves two chains."""
    out: list[Event] = []
    prev = GENESIS
    for seq, st in enumerate(steps, start=1):
        type_ = "read_page" if st.step.startswith("read_page_") else st.step
        params = dict(st.parameters)
        if type_ == "read_page":
            params["page"] = int(st.step.rsplit("_", 1)[1])
        ev = sign_event(new_event(subject, type_, seq, prev, st.actor, at=st.finished_at, software=st.software,
                                  parameters={"started_at": str(st.started_at), **params},
                                  inputs=st.inputs, outputs=st.outputs), key)
        out.append(ev)
        prev = ev.hash
    return out


def put(svc, chain: list[Event]) -> None:  # noqa: ANN001 - Services
    for ev in chain:
        svc.store.put(event_key(ev.subject, ev.seq), ev.model_dump_json(indent=2).encode(), "application/json")


def row(event: Event) -> EventRow:
    # In UTC: SQLite compares datetimes as text, so every row must be in one zone.
    return EventRow(subject=event.subject, seq=event.seq, type=event.type, at=event.at.astimezone(UTC),
                    hash=event.hash, event=event.model_dump(mode="json"))


def events(svc, subject: str) -> list[Event]:  # noqa: ANN001
    with svc.sessions() as s:
        rows = s.scalars(select(EventRow).where(EventRow.subject == subject).order_by(EventRow.seq)).all()
    return [Event.model_validate(r.event) for r in rows]


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


# ============================================================================ verification
Keys = Ed25519PublicKey | dict[str, Ed25519PublicKey]  # one key, or key id -> key


def check_chain(chain: list[Event], keys: Keys, subject: str) -> list[str]:
    """Problems with one chain as given (hashes, links, order, signatures); empty when sound.
    With several keys (a dossier imported from another service, then continued here), each
    event's signature is checked with the key its own key id names."""
    ring = keys if isinstance(keys, dict) else {key_id(keys): keys}
    problems: list[str] = []
    prev = GENESIS
    for i, ev in enumerate(chain, start=1):
        where = f"{subject} event {i} ({ev.type})"
        if ev.subject != subject:
            problems.append(f"{where}: belongs to {ev.subject}")
        if ev.seq != i:
            problems.append(f"{where}: numbered {ev.seq}, expected {i} (an event is missing or moved)")
        if ev.prev_hash != prev:
            problems.append(f"{where}: does not link to the event before it")
        if event_hash(ev) != ev.hash:
            problems.append(f"{where}: its content does not match its hash (altered)")
        if ev.signature is None:
            problems.append(f"{where}: not signed")
        elif (public := ring.get(ev.signature.key_id)) is None:
            problems.append(f"{where}: signed with key {ev.signature.key_id}, which is not a trusted key here "
                            f"({', '.join(sorted(ring))}): the signature does not verify")
        else:
            try:
                public.verify(base64.b64decode(ev.signature.value), bytes.fromhex(ev.hash))
            except (InvalidSignature, ValueError):
                problems.append(f"{where}: signature does not verify with key {ev.signature.key_id}")
        prev = ev.hash
    return problems


def stored_chain(svc, subject: str) -> tuple[list[Event], list[str]]:  # noqa: ANN001
    """The chain as object storage holds it, and problems reading it."""
    problems: list[str] = []
    chain: list[Event] = []
    for key in svc.store.list(events_prefix(subject)):
        try:
            chain.append(Event.model_validate_json(svc.store.get(key)))
        except ObjectNotFound:
            problems.append(f"{key}: missing")
        except Exception as exc:  # noqa: BLE001 - damaged JSON, damaged object: name it
            problems.append(f"{key}: unreadable ({type(exc).__name__})")
    return chain, problems


def trusted_keys(svc) -> dict[str, Ed25519PublicKey]:  # noqa: ANN001
    """This service's key, and the keys of services whose bags it imported (verified on import)."""
    own = svc.signing_key.public_key()
    ring = {key_id(own): own}
    for k in svc.store.list("keys/imported/"):
        try:
            public = load_public_key(svc.store.get(k))
        except Exception:  # noqa: BLE001 - a damaged key file: its events then fail, and say so
            continue
        ring[key_id(public)] = public
    return ring


def verify_subject(svc, subject: str, public: Ed25519PublicKey | None = None,  # noqa: ANN001
                   check_objects: bool = True) -> list[str]:
    """Everything wrong with a subject's provenance: the stored chain (hashes, links, signatures),
    its agreement with the database's copy, and — with `check_objects` — every stored object an
    event names as output, re-hashed. Empty: sound. `public`: verify with that key alone."""
    public = public or trusted_keys(svc)
    chain, problems = stored_chain(svc, subject)
    if not chain and not problems:
        return [f"{subject}: no provenance events stored"]
    problems += check_chain(chain, public, subject)
    recorded = events(svc, subject)
    problems += [f"database copy: {p}" for p in check_chain(recorded, public, subject)]
    db = {e.seq: e.hash for e in recorded}
    stored = {e.seq: e.hash for e in chain}
    for seq in sorted(set(db) | set(stored)):
        if db.get(seq) != stored.get(seq):
            problems.append(f"{subject} event {seq}: the stored event and the database disagree "
                            f"({'missing in storage' if seq not in stored else 'missing in the database' if seq not in db else 'different'})")
    if check_objects:
        problems += check_outputs(svc, chain)
    return problems


def recorded_objects(chain: list[Event]) -> dict[str, str]:
    """Object key -> the SHA-256 the newest event recorded for it when it was stored. Fixity
    checks are left out: they record what they found, which is not what was stored."""
    latest: dict[str, str] = {}
    for ev in chain:
        if ev.type != "fixity_check":
            latest.update({k: v for k, v in ev.outputs.items() if "/" in k})  # keys, not names
    return latest


@dataclass
class ObjectCheck:
    key: str
    recorded: str  # the SHA-256 provenance recorded
    found: str | None = None  # the SHA-256 of what is stored now; None when it cannot be read
    error: str | None = None  # "missing", or the store's own error (ObjectDamaged …)

    @property
    def ok(self) -> bool:
        return self.error is None and self.found == self.recorded


def rehash(svc, recorded: dict[str, str]) -> list[ObjectCheck]:  # noqa: ANN001
    """Each object re-read and re-hashed against the SHA-256 recorded for it (verify, fixity audit)."""
    checks = []
    for key, digest in sorted(recorded.items()):
        check = ObjectCheck(key, digest)
        try:
            check.found = sha256(svc.store.get(key))
        except ObjectNotFound:
            check.error = "missing"
        except Exception as exc:  # noqa: BLE001 - ObjectDamaged and the like: the store's own check
            check.error = f"{type(exc).__name__}: {exc}"
        checks.append(check)
    return checks


def check_outputs(svc, chain: list[Event]) -> list[str]:  # noqa: ANN001
    """Re-hash every stored object the events name."""
    return [f"{c.key}: {c.error}" if c.error else
            f"{c.key}: its SHA-256 differs from the one recorded in provenance (altered)"
            for c in rehash(svc, recorded_objects(chain)) if not c.ok]
