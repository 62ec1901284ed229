"""Dependencies of the HTTP API: services, the caller's identity and role, and the audit log."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from fastapi.security import APIKeyHeader

from sohoa.config import Settings
from sohoa.services import Services
from storage.db import AuditRow, utcnow

from . import keys


def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


def api_key_for(settings: Settings) -> str:
    """The configured key, or one generated on first start and kept (0600) in the data dir.
    It is the legacy single key and acts as an admin key (docs/api-access.md)."""
    if settings.api_key:
        return settings.api_key
    path = settings.data_dir / "api_key"
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(32))
    return path.read_text().strip()


# Where api/limits.py leaves the caller of an upload it identified before reading the body.
AUTHENTICATED = "sohoa_caller"

# Not a hex id like the stored keys' (k-<16 hex>), so it can never name one of them.
LEGACY_KEY_ID = "k-legacy"


@dataclass(frozen=True)
class Caller:
    name: str  # the key id: what the audit log records, never the secret
    role: str
    branch: str | None  # a scanner's own branch; None for every other role
    purpose: str | None

    def upload_branch(self, requested: str | None, default: str | None) -> str | None:
        """The branch an upload is recorded under. A scanner uploads for its own branch only, so
        one desk's key cannot file papers under another desk's name."""
        if self.role != "scanner":
            return requested or default
        if requested and requested != self.branch:
            raise HTTPException(403, f"this scanner key uploads for branch {self.branch} only")
        return self.branch

    def sees_branch(self, branch: str | None) -> bool:
        return self.role != "scanner" or branch == self.branch


_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False,
                               description="an API key; its role decides what it may do")


def identify(legacy: str, svc: Services, secret: str | None, purpose: str | None = None) -> Caller:
    """The caller a key names, or 401. `legacy`: the configured single key (an admin key)."""
    if not secret:
        raise HTTPException(401, "missing X-API-Key")
    if hmac.compare_digest(secret.encode(), legacy.encode()):
        return Caller(name=LEGACY_KEY_ID, role="admin", branch=None, purpose=purpose)
    row = keys.lookup(svc.sessions, secret)
    if row is None:
        # One answer for unknown and revoked keys: which secrets once existed is nobody's business.
        raise HTTPException(401, "unknown or revoked X-API-Key")
    return Caller(name=row.id, role=row.role, branch=row.branch, purpose=purpose)


def require(*roles: str) -> Callable[..., Caller]:
    """A dependency admitting keys of these roles, and admin keys, which may do everything.
    401 without a valid key; 403 when the key's role may never do this."""
    unknown = set(roles) - set(keys.ROLES)
    if unknown:
        raise ValueError(f"unknown role(s): {', '.join(sorted(unknown))}")  # a typo would lock everyone out
    allowed = frozenset(roles) | {"admin"}

    def caller_with_role(
        request: Request, svc: ServicesDep,
        x_api_key: Annotated[str | None, Depends(_api_key_header)] = None,
        x_purpose: Annotated[str | None, Header(description="why the caller reads personal data (audited)")] = None,
    ) -> Caller:
        known = getattr(request.state, AUTHENTICATED, None)  # an upload, identified before its body
        caller = (replace(known, purpose=x_purpose) if known else
                  identify(request.app.state.api_key, svc, x_api_key, x_purpose))
        if caller.role not in allowed:
            raise HTTPException(403, f"a {caller.role} key may not do this")
        return caller

    return caller_with_role


# What each kind of caller may do (docs/api-access.md has the same table by role).
ScannerDep = Annotated[Caller, Depends(require("scanner"))]
BatchReaderDep = Annotated[Caller, Depends(require("scanner", "archivist", "reviewer"))]
FieldReaderDep = Annotated[Caller, Depends(require("downstream", "archivist", "reviewer"))]
ArchiveReaderDep = Annotated[Caller, Depends(require("archivist", "reviewer"))]  # originals, search
ReviewerDep = Annotated[Caller, Depends(require("reviewer"))]  # correcting fields (the review endpoint)
AdminDep = Annotated[Caller, Depends(require())]
# A route not yet given its roles is admin-only: forgetting to decide fails closed.
CallerDep = AdminDep


def audit(svc: Services, caller: Caller, action: str, target: str, **details: object) -> None:
    """Committed before the caller's answer is sent; with other requests' rows when they come at
    once (group commit)."""
    svc.audit_log.add(AuditRow(at=utcnow(), actor=caller.name, action=action, target=target,
                               purpose=caller.purpose, details=details or None))
