"""Dependencies of the HTTP API: services, the caller's identity, and the audit log."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from sohoa.config import Settings
from sohoa.services import Services
from storage.db import AuditRow


def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


def api_key_for(settings: Settings) -> str:
    """The configured key, or one generated on first start and kept (0600) in the data dir."""
    if settings.api_key:
        return settings.api_key
    path = settings.data_dir / "api_key"
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(32))
    return path.read_text().strip()


@dataclass
class Caller:
    name: str
    purpose: str | None


def get_caller(
    request: Request,
    x_api_key: Annotated[str | None, Header()] = None,
    x_purpose: Annotated[str | None, Header(description="why the caller reads personal data (audited)")] = None,
) -> Caller:
    expected: str = request.app.state.api_key
    if not x_api_key or not hmac.compare_digest(x_api_key.encode(), expected.encode()):
        raise HTTPException(401, "missing or wrong X-API-Key")
    return Caller(name="key:" + x_api_key[:4] + "…", purpose=x_purpose)


CallerDep = Annotated[Caller, Depends(get_caller)]


def audit(svc: Services, caller: Caller, action: str, target: str, **details: object) -> None:
    with svc.sessions() as s, s.begin():
        s.add(AuditRow(actor=caller.name, action=action, target=target, purpose=caller.purpose,
                       details=details or None))
