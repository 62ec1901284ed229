"""Readiness: can this process do its work now? Database, object storage and (in distributed
mode) the broker, each checked with a short timeout. Used by `/readyz`, which load balancers and
orchestrators poll; `/healthz` only says the process is alive.

A failed check names the component and the kind of error, never credentials or personal data.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from pydantic import BaseModel
from sqlalchemy import text

from .services import Services

PROBE_KEY = "health/probe"  # a fixed, tiny object: writing it proves the store accepts writes


class ComponentStatus(BaseModel):
    ok: bool
    seconds: float
    error: str | None = None  # exception class and message, for operators


class Readiness(BaseModel):
    ready: bool
    components: dict[str, ComponentStatus]


def _timed(check: Callable[[], None]) -> ComponentStatus:
    start = time.perf_counter()
    try:
        check()
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", reported, never raised
        return ComponentStatus(ok=False, seconds=round(time.perf_counter() - start, 3),
                               error=f"{type(exc).__name__}: {str(exc)[:200]}")
    return ComponentStatus(ok=True, seconds=round(time.perf_counter() - start, 3))


def check_database(svc: Services) -> None:
    with svc.sessions() as s:
        s.execute(text("SELECT 1")).scalar_one()


def check_storage(svc: Services) -> None:
    # Written once, then only read: every /readyz writing it would leave a version behind in a
    # versioned (and locked) bucket. Reading it back still proves the store answers and is intact.
    if not svc.store.exists(PROBE_KEY):
        svc.store.put(PROBE_KEY, b"ok", "text/plain")
    if svc.store.get(PROBE_KEY) != b"ok":
        raise RuntimeError("the probe object read back different bytes")


def check_broker(url: str, timeout: float = 3.0) -> None:
    from kombu import Connection

    with Connection(url, connect_timeout=timeout) as conn:
        conn.ensure_connection(max_retries=1, timeout=timeout)


def readiness(svc: Services) -> Readiness:
    components = {"database": _timed(lambda: check_database(svc)), "storage": _timed(lambda: check_storage(svc))}
    if svc.settings.broker_url:
        components["broker"] = _timed(lambda: check_broker(svc.settings.broker_url))
    return Readiness(ready=all(c.ok for c in components.values()), components=components)
