"""Provenance records: what ran on a document, when, with which software, on which bytes — signed.

The signature is Ed25519 over the canonical JSON of the record without its signature, so
anyone with the public key can check that no step, hash or time was altered.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .metrics import observe_step
from .models import ProvenanceRecord, ProvenanceStep

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def now_vn() -> datetime:
    return datetime.now(VN_TZ)


def as_vn(at: datetime) -> datetime:
    """A stored moment in Vietnam time, as the desks read it. SQLite hands datetimes back naive
    (they were written in UTC); PostgreSQL keeps the zone."""
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(VN_TZ)


def canonical(obj: object) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The service's signing key. Embedded mode makes one on first use (0600); production mounts its own."""
    if path.is_file():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 private key")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return key


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]


def sign(record: ProvenanceRecord, key: Ed25519PrivateKey) -> ProvenanceRecord:
    body = record.model_dump(mode="json", exclude={"signature"})
    sig = key.sign(canonical(body))
    return record.model_copy(update={"signature": {
        "alg": "Ed25519", "key_id": key_id(key.public_key()), "value": base64.b64encode(sig).decode(),
        "public_key": base64.b64encode(key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode(),
    }})


def verify_signature(record: ProvenanceRecord, public: Ed25519PublicKey) -> bool:
    if not record.signature:
        return False
    body = record.model_dump(mode="json", exclude={"signature"})
    try:
        public.verify(base64.b64decode(record.signature["value"]), canonical(body))
    except (InvalidSignature, ValueError, KeyError):
        return False
    return True


class StepRecorder:
    """Collects the steps of one file's processing as they run."""

    def __init__(self, actor: str):
        self.actor = actor
        self.steps: list[ProvenanceStep] = []

    @contextmanager
    def step(self, name: str, software: dict[str, str] | None = None, parameters: dict | None = None,
             inputs: dict[str, str] | None = None):
        started = now_vn()
        outputs: dict[str, str] = {}
        yield outputs  # the step fills in the hashes of what it produced
        self.record(name, started, now_vn(), software, parameters, inputs, outputs)

    def record(self, name: str, started_at: str, finished_at: str, software: dict[str, str] | None = None,
               parameters: dict | None = None, inputs: dict[str, str] | None = None,
               outputs: dict[str, str] | None = None) -> None:
        """A step that ran elsewhere (an OCR worker process) and reported its own times."""
        step = ProvenanceStep(
            step=name, started_at=started_at, finished_at=finished_at, actor=self.actor,
            software=software or {}, parameters=parameters or {}, inputs=inputs or {}, outputs=outputs or {},
        )
        self.steps.append(step)
        # Here, not in `step()`, which ends in this call: each step is observed once, wherever it ran.
        observe_step(name, (step.finished_at - step.started_at).total_seconds())
