"""Fixity audit: re-hash stored objects against the hashes their provenance recorded.

A result's objects are the outputs its events name by object key (the store event lists every
artefact; a copy_issued event adds the copy); a dossier's are the originals its reception events
name. Each audited subject gets a `fixity_check` event on its own chain: the objects checked, and
for damaged or missing ones their keys, with outcome `failure`. The event is the flag: `sohoa
verify` and the audit report name the damage, and the chain keeps the history of every check.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select

from storage.db import EventRow

from . import __version__, chain
from .provenance import VN_TZ


@dataclass
class SubjectAudit:
    subject: str
    checked: int = 0
    damaged: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.damaged and not self.missing


@dataclass
class AuditReport:
    subjects: list[SubjectAudit] = field(default_factory=list)

    @property
    def objects(self) -> int:
        return sum(s.checked for s in self.subjects)

    @property
    def problems(self) -> list[str]:
        return [f"{key}: damaged" for s in self.subjects for key in s.damaged] + \
               [f"{key}: missing" for s in self.subjects for key in s.missing]


def subjects(svc, since: datetime | None = None, until: datetime | None = None,  # noqa: ANN001 - Services
             sample: int | None = None, seed: int | None = None) -> list[str]:
    """Results and dossiers with provenance, optionally those whose chain began in [since, until),
    optionally a random sample of them."""
    stmt = select(EventRow.subject).where(EventRow.seq == 1)
    if since:
        stmt = stmt.where(EventRow.at >= _utc(since))
    if until:
        stmt = stmt.where(EventRow.at < _utc(until))
    with svc.sessions() as s:
        found = sorted(s.scalars(stmt).all())
    if sample is not None and sample < len(found):
        found = random.Random(seed).sample(found, sample)
    return found


def _utc(moment: datetime) -> datetime:
    """Event rows are kept in UTC; a date without a zone is Vietnam's (where the service runs)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=VN_TZ)).astimezone(UTC)


def audit_subject(svc, subject: str, actor: str) -> SubjectAudit:  # noqa: ANN001
    checks = chain.rehash(svc, chain.recorded_objects(chain.events(svc, subject)))
    result = SubjectAudit(subject, checked=len(checks),
                          damaged=[c.key for c in checks if not c.ok and c.error != "missing"],
                          missing=[c.key for c in checks if c.error == "missing"])
    found = {c.key: c.found for c in checks if c.found is not None}
    chain.append(svc, subject, "fixity_check", actor, software={"sohoa": __version__},
                 parameters={"objects": result.checked, "damaged": result.damaged, "missing": result.missing},
                 outputs=found, outcome="success" if result.ok else "failure")
    return result


def audit(svc, subjects_: list[str]) -> AuditReport:  # noqa: ANN001
    actor = f"{svc.settings.service_name}@{svc.settings.site}/fixity-audit"
    return AuditReport([audit_subject(svc, subject, actor) for subject in subjects_])
