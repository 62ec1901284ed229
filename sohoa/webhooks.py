"""Webhooks: downstream systems are told, by a signed POST, that a result is ready or was corrected.

Three steps, each safe to run in several processes at once (docs/webhooks.md):

- `subscribe` records where to POST and a secret; a subscription starts at the end of the change
  feed (storage/changes.py), so it hears what happens from now on, not the whole history.
- `plan` turns the feed into one delivery row per change and subscription, and moves the
  subscription's cursor past them, in one transaction. Two planners cannot both plan a change: the
  cursor moves only from the value the planner read (a conditional UPDATE), and the unique
  (webhook_id, change_id) is the backstop.
- `deliver_due` claims one due delivery at a time with a conditional UPDATE and a lease (the house
  style of workers/queue.py), POSTs it, and records the attempt. A receiver's failure is never an
  exception here: it is a logged attempt and a later retry, with exponential backoff and jitter,
  until `max_attempts`; then the delivery is `failed`, kept, and can be sent again by an admin.

Payloads carry no personal data: only the result code, its type and where to read it. The receiver
reads the fields with its own API key, so every read of personal data stays authorised and audited.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal, get_args
from urllib.parse import urlsplit

import httpx
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from storage import changes
from storage.db import (
    ChangeRow,
    DocumentRow,
    WebhookAttemptRow,
    WebhookDeliveryRow,
    WebhookRow,
    utcnow,
    with_utc,
)

from . import __version__
from .config import WebhookOptions
from .models import DocType

if TYPE_CHECKING:
    from .services import Services

log = logging.getLogger("sohoa.webhooks")
# httpx logs every request's full URL at INFO, and a receiver's URL may carry its own token: we log
# the webhook's id instead.
logging.getLogger("httpx").setLevel(logging.WARNING)

Event = Literal["result.ready", "result.corrected"]
EVENTS: tuple[str, ...] = get_args(Event)
EVENT_OF_KIND = {changes.CREATED: "result.ready", changes.CORRECTED: "result.corrected"}
DOC_TYPES: tuple[str, ...] = get_args(DocType)

PENDING, SENDING, DELIVERED, FAILED = "pending", "sending", "delivered", "failed"

SIGNATURE_HEADER, DELIVERY_HEADER, EVENT_HEADER = "X-Sohoa-Signature", "X-Sohoa-Delivery", "X-Sohoa-Event"
SECRET_PREFIX = "whsec_"  # recognisable in a leaked file, and not an API key (those are sohoa_…)
MAX_ERROR_CHARS = 500


def _utc(moment: datetime | None) -> datetime | None:
    """Aware and in UTC. SQLite hands timestamps back without their zone (they were written in
    UTC), and it compares them as text, so every moment we write or compare must be UTC too."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# ---------------------------------------------------------------- subscriptions
def check_url(url: str) -> str:
    """The URL if deliveries can be POSTed to it; ValueError otherwise."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise ValueError("not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError("a webhook URL must be http:// or https://")
    if not parts.hostname:
        raise ValueError("a webhook URL needs a host")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise ValueError("a webhook URL may not contain spaces or control characters")
    return url


def subscribe(sessions: sessionmaker, url: str, events: Iterable[str] | None = None,
              doc_types: Iterable[str] | None = None, label: str | None = None) -> tuple[WebhookRow, str]:
    """A new subscription and its signing secret (returned this once; stored, as the service must
    sign with it, but never shown again). `events` default: all; `doc_types` None: every type."""
    url = check_url(url)
    events = sorted(set(events or EVENTS))
    unknown = set(events) - set(EVENTS)
    if unknown:
        raise ValueError(f"unknown event(s) {', '.join(sorted(unknown))}; one of {', '.join(EVENTS)}")
    types = sorted(set(doc_types)) if doc_types else None
    if types and set(types) - set(DOC_TYPES):
        raise ValueError(f"unknown document type(s) {', '.join(sorted(set(types) - set(DOC_TYPES)))}")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    with sessions() as s, s.begin():
        row = WebhookRow(id="wh-" + secrets.token_hex(8), url=url, secret=secret, events=events, doc_types=types,
                         label=label, cursor=changes.latest(s), created_at=utcnow())
        s.add(row)
    return with_utc(row), secret


def unsubscribe(sessions: sessionmaker, webhook_id: str) -> WebhookRow | None:
    """The revoked subscription, or None if there is none. Revoking twice keeps the first time.
    Its deliveries not yet made are failed, so the log does not show them waiting forever (one
    being sent right now still goes out; its answer is logged but no longer changes its state)."""
    now = utcnow()
    with sessions() as s, s.begin():
        row = s.get(WebhookRow, webhook_id)
        if row is None:
            return None
        if row.revoked_at is None:
            row.revoked_at = now
            s.execute(update(WebhookDeliveryRow)
                      .where(WebhookDeliveryRow.webhook_id == webhook_id,
                             WebhookDeliveryRow.state.in_([PENDING, SENDING]))
                      .values(state=FAILED, last_error="subscription revoked", next_attempt_at=None,
                              lease_until=None))
    return with_utc(row)


def get(sessions: sessionmaker, webhook_id: str) -> WebhookRow | None:
    with sessions() as s:
        row = s.get(WebhookRow, webhook_id)
    return with_utc(row) if row is not None else None


def list_webhooks(sessions: sessionmaker, include_revoked: bool = True) -> list[WebhookRow]:
    stmt = select(WebhookRow).order_by(WebhookRow.created_at, WebhookRow.id)
    if not include_revoked:
        stmt = stmt.where(WebhookRow.revoked_at.is_(None))
    with sessions() as s:
        return [with_utc(r) for r in s.scalars(stmt)]


# ---------------------------------------------------------------- planning: the feed -> deliveries
def _active(sessions: sessionmaker) -> list[WebhookRow]:
    with sessions() as s:
        return list(s.scalars(select(WebhookRow).where(WebhookRow.revoked_at.is_(None)).order_by(WebhookRow.id)))


def plan(svc: Services, now: datetime | None = None, hooks: list[WebhookRow] | None = None) -> int:
    """Plan the deliveries of every active subscription; returns how many were added."""
    now = _utc(now) or utcnow()
    hooks = _active(svc.sessions) if hooks is None else hooks
    return sum(_plan_one(svc.sessions, hook, svc.settings.webhooks.batch_size, now) for hook in hooks)


def _plan_one(sessions: sessionmaker, hook: WebhookRow, limit: int, now: datetime) -> int:
    """One transaction: the changes after the cursor become deliveries, and the cursor moves."""
    wanted = set(hook.events or EVENTS)
    try:
        with sessions() as s, s.begin():
            # Read the end of the feed *before* the page: every change up to it has committed (ids are
            # handed out in commit order), so a short page may move the cursor that far even when
            # the changes in between are of types this subscription does not take.
            end = changes.latest(s)
            page = changes.after(s, hook.cursor, limit, hook.doc_types or None)
            last = page[-1].cursor if page else hook.cursor
            cursor = last if len(page) >= limit else max(end, last)
            if cursor <= hook.cursor:
                return 0
            moved = s.execute(update(WebhookRow).where(WebhookRow.id == hook.id, WebhookRow.cursor == hook.cursor,
                                                       WebhookRow.revoked_at.is_(None))
                              .values(cursor=cursor)).rowcount
            if not moved:
                return 0  # another planner moved it first (or it was revoked meanwhile): theirs to plan
            rows = [WebhookDeliveryRow(id="d-" + secrets.token_hex(10), webhook_id=hook.id, change_id=c.cursor,
                                       event=EVENT_OF_KIND.get(c.kind, c.kind), result_code=c.result_code,
                                       state=PENDING, attempts=0, next_attempt_at=now, created_at=now)
                    for c in page if EVENT_OF_KIND.get(c.kind) in wanted]
            s.add_all(rows)
        return len(rows)
    except IntegrityError:
        # Only reachable if a cursor was moved back by hand: the deliveries exist already.
        log.warning("webhook %s: changes already planned; cursor left as it was", hook.id)
        return 0


# ---------------------------------------------------------------- signing
def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The X-Sohoa-Signature header: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
    The timestamp is signed with the body, so a captured request cannot be replayed later."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(secret: str, header: str | None, body: bytes | str, tolerance_seconds: float = 300,
                     now: float | None = None) -> bool:
    """For receivers (and tests): does `header` sign exactly `body` with `secret`, made within
    `tolerance_seconds` of `now`? Several v1 values are accepted (any one may match)."""
    if not header:
        return False
    if isinstance(body, str):
        body = body.encode()
    timestamp, macs = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            macs.append(value)
    if timestamp is None or not macs:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance_seconds:
        return False
    expected = sign(secret, body, timestamp).rpartition("v1=")[2]
    return any(hmac.compare_digest(expected.encode(), mac.encode()) for mac in macs)


def payload(delivery_id: str, event: str, result_code: str, doc_type: str | None, change_id: int,
            occurred_at: datetime) -> bytes:
    """The body: identifiers only, never a field of the document (no personal data)."""
    return json.dumps({
        "id": delivery_id, "event": event, "result_code": result_code, "doc_type": doc_type, "change": change_id,
        "occurred_at": _utc(occurred_at).isoformat().replace("+00:00", "Z"), "url": f"/v1/results/{result_code}",
    }, separators=(",", ":"), sort_keys=True).encode()


# ---------------------------------------------------------------- delivering
def backoff_seconds(attempts: int, opts: WebhookOptions, rnd: Callable[[], float] = random.random) -> float:
    """The wait after the `attempts`-th failed attempt: base * 2^(attempts-1), capped, less a random
    part of up to half ("equal jitter"): never shorter than half the step, never above the cap."""
    step = min(opts.backoff_base_seconds * 2 ** min(max(attempts - 1, 0), 60), opts.backoff_max_seconds)
    return step / 2 + rnd() * step / 2


def lease_seconds(opts: WebhookOptions) -> float:
    # A POST may spend the timeout on each of connect, write and read; past that the sender is
    # presumed dead and another may send it again (at least once: receivers dedupe on the id).
    return 3 * opts.timeout_seconds + 30


@dataclass
class Delivered:
    """What one `deliver_due` did."""

    sent: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0


@dataclass
class Dispatched(Delivered):
    planned: int = 0


@dataclass(frozen=True)
class _Claimed:
    id: str
    webhook_id: str
    event: str
    result_code: str
    change_id: int
    attempts: int
    lease_until: datetime
    url: str
    secret: str
    occurred_at: datetime
    doc_type: str | None


def _takeable(now: datetime, max_attempts: int):  # noqa: ANN202 - an SQL condition
    D = WebhookDeliveryRow
    active = D.webhook_id.in_(select(WebhookRow.id).where(WebhookRow.revoked_at.is_(None)))
    due = or_(and_(D.state == PENDING, D.next_attempt_at <= now), and_(D.state == SENDING, D.lease_until < now))
    return and_(due, active, D.attempts < max_attempts)


def _give_up_abandoned(sessions: sessionmaker, now: datetime, max_attempts: int) -> int:
    """Deliveries whose sender died mid-POST on their last attempt: failed, not sent once more."""
    D = WebhookDeliveryRow
    with sessions() as s, s.begin():
        return s.execute(update(D).where(D.state == SENDING, D.lease_until < now, D.attempts >= max_attempts)
                         .values(state=FAILED, lease_until=None, next_attempt_at=None,
                                 last_error="the sender stopped during the last attempt")).rowcount


def claim_one(sessions: sessionmaker, now: datetime, opts: WebhookOptions,
              skip: frozenset[str] = frozenset()) -> _Claimed | None:
    """Take the oldest due delivery, not for a subscription in `skip`: pending and due, or held
    under a lease that ran out. One conditional UPDATE each, so two senders never hold the same
    delivery; the loser tries the next."""
    D = WebhookDeliveryRow
    takeable = _takeable(now, opts.max_attempts)
    found = select(D.id).where(takeable)
    if skip:
        found = found.where(D.webhook_id.not_in(skip))
    with sessions() as s:
        candidates = s.scalars(found.order_by(D.next_attempt_at, D.change_id).limit(10)).all()
    lease_until = now + timedelta(seconds=lease_seconds(opts))
    for delivery_id in candidates:
        with sessions() as s, s.begin():
            taken = s.execute(update(D).where(D.id == delivery_id, takeable)
                              .values(state=SENDING, attempts=D.attempts + 1, lease_until=lease_until)).rowcount
            if not taken:
                continue
            d, hook, change_at, doc_type = s.execute(
                select(D, WebhookRow, ChangeRow.at, DocumentRow.doc_type)
                .join(WebhookRow, WebhookRow.id == D.webhook_id)
                .join(ChangeRow, ChangeRow.id == D.change_id, isouter=True)
                .join(DocumentRow, DocumentRow.result_code == D.result_code, isouter=True)
                .where(D.id == delivery_id)).one()
            return _Claimed(d.id, d.webhook_id, d.event, d.result_code, d.change_id, d.attempts, lease_until,
                            hook.url, hook.secret, _utc(change_at or d.created_at), doc_type)
    return None


def _post(client: httpx.Client, claimed: _Claimed) -> tuple[int | None, str | None, float]:
    """(status code or None, error or None, seconds). Never raises: a receiver's failure is data."""
    body = payload(claimed.id, claimed.event, claimed.result_code, claimed.doc_type, claimed.change_id,
                   claimed.occurred_at)
    headers = {"Content-Type": "application/json", "User-Agent": f"sohoa-webhooks/{__version__}",
               SIGNATURE_HEADER: sign(claimed.secret, body, int(time.time())),
               DELIVERY_HEADER: claimed.id, EVENT_HEADER: claimed.event}
    started = time.monotonic()
    try:
        # Streamed and never read: the answer's status is all we use, and a receiver's body (of any
        # size) has no business in our log.
        with client.stream("POST", claimed.url, content=body, headers=headers) as response:
            status = response.status_code
        error = None if 200 <= status < 300 else f"HTTP {status}"
    except Exception as exc:  # noqa: BLE001 - refused, reset, timed out, TLS, a URL httpx rejects: all retried
        status, error = None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
    return status, error, time.monotonic() - started


def _record(sessions: sessionmaker, claimed: _Claimed, status: int | None, error: str | None, seconds: float,
            now: datetime, opts: WebhookOptions) -> str:
    """The attempt, in the log and on the delivery; returns the delivery's new state."""
    D = WebhookDeliveryRow
    if error is None:
        values: dict = {"state": DELIVERED, "delivered_at": now, "next_attempt_at": None}
    elif claimed.attempts >= opts.max_attempts:
        values = {"state": FAILED, "next_attempt_at": None}
    else:
        values = {"state": PENDING,
                  "next_attempt_at": now + timedelta(seconds=backoff_seconds(claimed.attempts, opts))}
    with sessions() as s, s.begin():
        s.add(WebhookAttemptRow(delivery_id=claimed.id, at=now, status_code=status, error=error, seconds=seconds))
        # Only while still ours: if our lease ran out and another sender took it, theirs is the word.
        s.execute(update(D).where(D.id == claimed.id, D.state == SENDING, D.lease_until == claimed.lease_until)
                  .values(lease_until=None, last_status=status, last_error=error, **values))
    return values["state"]


def deliver_due(svc: Services, now: datetime | None = None, client: httpx.Client | None = None) -> Delivered:
    """Send what is due, at most `batch_size`, by `senders` threads. Each subscription gets one
    POST at a time, so receivers are sent to side by side and each in the order claimed; one that
    fails is sent nothing more until the next dispatch, so a receiver that is down or slow costs
    one attempt a round, not a round's worth of timeouts for everyone else. `now` is when this runs
    (tests move it forward instead of sleeping); signatures carry the real clock."""
    opts = svc.settings.webhooks
    now = _utc(now) or utcnow()
    done = Delivered(failed=_give_up_abandoned(svc.sessions, now, opts.max_attempts))
    lock = threading.Lock()
    busy: set[str] = set()  # subscriptions with a POST in flight, or that failed this round
    budget = [opts.batch_size]

    def send(client: httpx.Client) -> None:
        while True:
            # Claims are made one at a time (they are quick; the POSTs are not), so a subscription
            # is never claimed twice at once here and its deliveries go out in the order claimed.
            with lock:
                if budget[0] <= 0:
                    return
                claimed = claim_one(svc.sessions, now, opts, frozenset(busy))
                if claimed is None:  # nothing else due for the others (each thread sends its own next)
                    return
                budget[0] -= 1
                busy.add(claimed.webhook_id)
            status, error, seconds = _post(client, claimed)
            state = _record(svc.sessions, claimed, status, error, seconds, now, opts)
            with lock:
                _tally(done, claimed, state, error)
                if state == DELIVERED:
                    busy.discard(claimed.webhook_id)

    own = client is None
    client = client or httpx.Client(timeout=opts.timeout_seconds, follow_redirects=False)
    try:
        with ThreadPoolExecutor(opts.senders, thread_name_prefix="sohoa-webhook-send") as pool:
            for future in [pool.submit(send, client) for _ in range(opts.senders)]:
                future.result()
    finally:
        if own:
            client.close()
    return done


def _tally(done: Delivered, claimed: _Claimed, state: str, error: str | None) -> None:
    done.sent += 1
    if state == DELIVERED:
        done.delivered += 1
    elif state == FAILED:
        done.failed += 1
        log.warning("webhook %s: delivery %s failed after %d attempts (%s)", claimed.webhook_id,
                    claimed.id, claimed.attempts, error)
    else:
        done.retrying += 1
        log.info("webhook %s: delivery %s attempt %d: %s; will retry", claimed.webhook_id, claimed.id,
                 claimed.attempts, error)


def dispatch(svc: Services, now: datetime | None = None) -> Dispatched:
    """Plan, then send what is due: what the embedded thread and the `sohoa.webhooks` task run."""
    hooks = _active(svc.sessions)
    if not hooks:
        return Dispatched()  # the usual case: no write, so the embedded thread's tick costs one query
    planned = plan(svc, now, hooks)
    sent = deliver_due(svc, now)
    return Dispatched(sent=sent.sent, delivered=sent.delivered, retrying=sent.retrying, failed=sent.failed,
                      planned=planned)


# ---------------------------------------------------------------- the delivery log
@dataclass(frozen=True)
class LogPage:
    total: int
    deliveries: list[tuple[WebhookDeliveryRow, list[WebhookAttemptRow]]]


def deliveries(sessions: sessionmaker, webhook_id: str, limit: int = 50, offset: int = 0,
               state: str | None = None) -> LogPage:
    """A subscription's deliveries, newest first, each with its attempts (oldest first)."""
    D = WebhookDeliveryRow
    where = [D.webhook_id == webhook_id, *([D.state == state] if state else [])]
    with sessions() as s:
        total = s.scalar(select(func.count()).select_from(D).where(*where)) or 0
        rows = s.scalars(select(D).where(*where).order_by(D.change_id.desc(), D.id).limit(limit).offset(offset)).all()
        attempts: dict[str, list[WebhookAttemptRow]] = {r.id: [] for r in rows}
        if rows:
            for a in s.scalars(select(WebhookAttemptRow).where(WebhookAttemptRow.delivery_id.in_(list(attempts)))
                               .order_by(WebhookAttemptRow.id)):
                attempts[a.delivery_id].append(with_utc(a))
    return LogPage(total, [(with_utc(r), attempts[r.id]) for r in rows])


class NotRetryable(ValueError):
    """The delivery exists but is not failed, or its subscription was revoked."""


def retry(sessions: sessionmaker, webhook_id: str, delivery_id: str,
          now: datetime | None = None) -> WebhookDeliveryRow | None:
    """A failed delivery back to pending, due now, with a fresh round of attempts (the log keeps
    the earlier ones). None if there is no such delivery of this subscription."""
    now = _utc(now) or utcnow()
    D = WebhookDeliveryRow
    with sessions() as s, s.begin():
        row = s.get(D, delivery_id)
        if row is None or row.webhook_id != webhook_id:
            return None
        hook = s.get(WebhookRow, webhook_id)
        if hook.revoked_at is not None:
            raise NotRetryable("the subscription is revoked")
        moved = s.execute(update(D).where(D.id == delivery_id, D.state == FAILED)
                          .values(state=PENDING, attempts=0, next_attempt_at=now, lease_until=None)).rowcount
        if not moved:
            raise NotRetryable(f"only a failed delivery can be sent again; this one is {row.state}")
    with sessions() as s:
        return with_utc(s.get(D, delivery_id))
