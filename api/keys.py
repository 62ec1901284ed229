"""API keys with roles. Only a key's SHA-256 is stored: a copy of the database (a backup, a dump
handed to support) must not be enough to call the API. The secret is shown once, when created."""

from __future__ import annotations

import hashlib
import secrets
from typing import Literal, get_args

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from storage.db import ApiKeyRow, utcnow, with_utc

Role = Literal["scanner", "downstream", "archivist", "reviewer", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
SECRET_PREFIX = "sohoa_"  # recognisable in a leaked file or a secret scanner's report


def hash_secret(secret: str) -> str:
    # A plain SHA-256 suffices: the secret is 256 random bits, so there is nothing to brute-force
    # that a slow password hash would protect; and a fast hash keeps the look-up one indexed query.
    return hashlib.sha256(secret.encode()).hexdigest()


def check_role(role: str, branch: str | None) -> None:
    """ValueError when the role is unknown or the branch does not fit it."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if role == "scanner" and not branch:
        raise ValueError("a scanner key needs a branch: it may upload to, and read, that branch only")
    if role != "scanner" and branch:
        # Rejected rather than stored: a branch on another role would look like a restriction
        # that nothing enforces.
        raise ValueError(f"only scanner keys are bound to a branch, not {role} keys")


def create_key(sessions: sessionmaker, role: str, branch: str | None = None,
               label: str | None = None) -> tuple[ApiKeyRow, str]:
    """A new key and its secret; the secret is not kept anywhere and cannot be shown again."""
    check_role(role, branch)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    row = ApiKeyRow(id="k-" + secrets.token_hex(8), key_hash=hash_secret(secret), role=role,
                    branch=branch, label=label, created_at=utcnow())
    with sessions() as s, s.begin():
        s.add(row)
    return row, secret


def revoke_key(sessions: sessionmaker, key_id: str) -> ApiKeyRow | None:
    """The revoked key, or None if there is no such key. Revoking twice keeps the first time, so
    the record says when the key really stopped working."""
    with sessions() as s, s.begin():
        row = s.get(ApiKeyRow, key_id)
        if row is not None and row.revoked_at is None:
            row.revoked_at = utcnow()
    return with_utc(row) if row is not None else None


def lookup(sessions: sessionmaker, secret: str) -> ApiKeyRow | None:
    """The active (not revoked) key with this secret, or None."""
    with sessions() as s:
        row = s.scalar(select(ApiKeyRow).where(ApiKeyRow.key_hash == hash_secret(secret),
                                               ApiKeyRow.revoked_at.is_(None)))
    return with_utc(row) if row is not None else None


def list_keys(sessions: sessionmaker, include_revoked: bool = True) -> list[ApiKeyRow]:
    stmt = select(ApiKeyRow).order_by(ApiKeyRow.created_at, ApiKeyRow.id)
    if not include_revoked:
        stmt = stmt.where(ApiKeyRow.revoked_at.is_(None))
    with sessions() as s:
        return [with_utc(row) for row in s.scalars(stmt)]
