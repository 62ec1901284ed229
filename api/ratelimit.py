"""A rate limit for what anyone may call without a key: the public dossier lookup.

Dossier codes are sequential within a unit and a day (sohoa/dossiers.py), so a day's dossiers can
be walked through by counting. The answer holds nothing personal, but a province does not want its
whole day's traffic scraped either: each client address gets a bucket of lookups that refills
over a minute, and past it a 429 `rate_limited` with Retry-After.

Per API process, in memory: with N processes behind a balancer a client may get up to N times
the rate. The reverse proxy in front (nginx `limit_req`) is where a province enforces one number
across processes; this limit keeps one process from serving a scraper at full speed without it.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from fastapi import Request

from .problems import Problem

# Addresses remembered at once. Past this, the least recently seen is forgotten: its next lookup
# starts with a full bucket, so memory stays bounded whatever the number of addresses.
MAX_CLIENTS = 10_000


class TokenBuckets:
    """`per_minute` calls per key, in bursts of up to `per_minute`, refilled evenly."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic):
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens a second
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)
        self._lock = threading.Lock()  # sync routes run in a thread pool

    def take(self, key: str) -> float:
        """0 when the call may go ahead (a token is taken); else the seconds until one is back."""
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.pop(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - at) * self.rate)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / self.rate
            self._buckets[key] = (tokens - 1 if not wait else tokens, now)
            if len(self._buckets) > MAX_CLIENTS:
                self._buckets.popitem(last=False)
        return wait


def public_lookups(request: Request) -> None:
    """Dependency of the public routes: one token from the caller's address, or 429."""
    buckets: TokenBuckets = request.app.state.public_lookups
    # Behind a proxy this is the citizen's address, not the proxy's: uvicorn takes X-Forwarded-For
    # from the addresses in FORWARDED_ALLOW_IPS (default 127.0.0.1, a proxy on the same machine).
    wait = buckets.take(request.client.host if request.client else "-")
    if wait:
        raise Problem(429, "rate_limited", "too many dossier lookups from this address; try again later",
                      headers={"Retry-After": str(math.ceil(wait))})
