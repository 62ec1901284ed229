"""Webhooks (sohoa/webhooks.py, docs/webhooks.md): signed POSTs to a real receiver on loopback,
retries with backoff, the delivery log, claims under concurrency, filters, revocation, roles."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from api import keys
from api.main import create_app
from api.webhooks import router as webhooks_router
from sohoa import pipeline, review, webhooks
from sohoa.cli import app as cli_app
from sohoa.config import WebhookOptions
from storage import changes
from storage.db import AuditRow, ChangeRow, DocumentRow, WebhookAttemptRow, WebhookDeliveryRow, utcnow

from .docs import card_lines, text_pdf
from .servers import free_port, wait_until


# ------------------------------------------------------------------ a receiver on loopback
@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    failures_left: int = 0  # answer 500 to this many requests, then 200
    always: int | None = None  # answer this status to every request
    delay: float = 0.0  # seconds before answering (a slow receiver)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self) -> int:
        with self.lock:
            if self.always is not None:
                return self.always
            if self.failures_left > 0:
                self.failures_left -= 1
                return 500
            return 200

    def delivery_ids(self) -> list[str]:
        return [r.headers["x-sohoa-delivery"] for r in self.requests]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    box: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            rec = box[0]
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            time.sleep(rec.delay)
            with rec.lock:
                rec.requests.append(Received({k.lower(): v for k, v in self.headers.items()}, body))
            code = rec.answer()
            self.send_response(code)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box.append(Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/hooks/sohoa"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield box[0]
    server.shutdown()
    server.server_close()


def options(svc, **values: object) -> None:
    """These webhook options for this test's services."""
    svc.settings = svc.settings.model_copy(update={"webhooks": WebhookOptions(**values)})


def add_result(svc, doc_type: str = "cccd") -> str:
    """A stored result and its `created` change, committed together as the pipeline does."""
    code = "R" + secrets.token_hex(6).upper()
    with svc.sessions() as s, s.begin():
        s.add(DocumentRow(id="doc-" + code, source_sha256="0" * 64, first_page=1, result_code=code,
                          doc_type=doc_type, id_number_hash=None, verification_status="not_checked",
                          needs_review=False, branch="CN1", result={}, search_text=""))
        changes.record(s, [code], changes.CREATED)
    return code


def correct(svc, code: str) -> None:
    with svc.sessions() as s, s.begin():
        changes.record(s, [code], changes.CORRECTED)


def delivery(svc, delivery_id: str) -> WebhookDeliveryRow:
    with svc.sessions() as s:
        return s.get(WebhookDeliveryRow, delivery_id)


def attempts_of(svc, delivery_id: str) -> list[WebhookAttemptRow]:
    with svc.sessions() as s:
        return list(s.scalars(select(WebhookAttemptRow).where(WebhookAttemptRow.delivery_id == delivery_id)
                              .order_by(WebhookAttemptRow.id)))


def all_deliveries(svc) -> list[WebhookDeliveryRow]:
    with svc.sessions() as s:
        return list(s.scalars(select(WebhookDeliveryRow).order_by(WebhookDeliveryRow.change_id)))


# ------------------------------------------------------------------ signatures
def test_a_signature_verifies_and_any_tampering_fails() -> None:
    secret, body, now = "whsec_test", b'{"event":"result.ready","result_code":"R1"}', 1_800_000_000
    header = webhooks.sign(secret, body, now)
    assert header.startswith(f"t={now},v1=") and len(header.rpartition("v1=")[2]) == 64
    assert webhooks.verify_signature(secret, header, body, now=now + 10)
    assert webhooks.verify_signature(secret, header, body.decode(), now=now)  # str bodies too
    assert not webhooks.verify_signature(secret, header, body.replace(b"R1", b"R2"), now=now)
    assert not webhooks.verify_signature("whsec_other", header, body, now=now)
    # The timestamp is signed: moving it (to replay an old request) breaks the signature.
    assert not webhooks.verify_signature(secret, header.replace(f"t={now}", f"t={now + 5}"), body, now=now)
    # A genuine but old request is refused outside the tolerance.
    assert not webhooks.verify_signature(secret, header, body, tolerance_seconds=300, now=now + 301)
    assert webhooks.verify_signature(secret, header, body, tolerance_seconds=300, now=now + 299)
    for bad in (None, "", "garbage", f"t={now}", "v1=" + "0" * 64, f"t=x,v1={'0' * 64}"):
        assert not webhooks.verify_signature(secret, bad, body, now=now), bad
    # Several v1 values (a receiver rotating secrets sees both): one matching is enough.
    assert webhooks.verify_signature(secret, f"t={now},v1={'0' * 64},{header.split(',')[1]}", body, now=now)


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    opts = WebhookOptions(backoff_base_seconds=10, backoff_max_seconds=100)
    for n, step in [(1, 10), (2, 20), (3, 40), (4, 80), (5, 100), (40, 100), (1000, 100)]:
        low = webhooks.backoff_seconds(n, opts, rnd=lambda: 0.0)
        high = webhooks.backoff_seconds(n, opts, rnd=lambda: 1.0)
        assert (low, high) == (step / 2, step), n
        assert low <= webhooks.backoff_seconds(n, opts) <= high
    assert len({webhooks.backoff_seconds(3, opts) for _ in range(20)}) > 1  # jittered, not fixed


# ------------------------------------------------------------------ subscribing
def test_only_http_urls_known_events_and_types_are_accepted(svc) -> None:
    for url in ("ftp://example.org/x", "file:///etc/passwd", "javascript:alert(1)", "http://", "example.org/hook",
                "http://exa mple.org/", "http://example.org:99999/"):
        with pytest.raises(ValueError):
            webhooks.subscribe(svc.sessions, url)
    with pytest.raises(ValueError, match="unknown event"):
        webhooks.subscribe(svc.sessions, "https://example.org/h", events=["result.deleted"])
    with pytest.raises(ValueError, match="unknown document type"):
        webhooks.subscribe(svc.sessions, "https://example.org/h", doc_types=["passport"])
    assert webhooks.list_webhooks(svc.sessions) == []
    row, secret = webhooks.subscribe(svc.sessions, "https://example.org/h", doc_types=["cccd"], label="portal")
    assert secret.startswith("whsec_") and len(secret) > 40
    assert row.id.startswith("wh-") and row.events == sorted(webhooks.EVENTS) and row.doc_types == ["cccd"]
    assert row.created_at.tzinfo is not None


def test_a_new_subscription_hears_from_now_on_with_a_signed_payload_without_personal_data(svc, receiver) -> None:
    before = add_result(svc)
    hook, secret = webhooks.subscribe(svc.sessions, receiver.url)
    assert hook.cursor > 0  # starts at the end of the feed
    after = add_result(svc, "birth_certificate")
    done = webhooks.dispatch(svc)
    assert (done.planned, done.sent, done.delivered) == (1, 1, 1)
    [req] = receiver.requests
    assert webhooks.verify_signature(secret, req.headers["x-sohoa-signature"], req.body)
    assert not webhooks.verify_signature(secret, req.headers["x-sohoa-signature"], req.body.replace(b"ready", b"READY"))
    body = req.json
    assert body["result_code"] == after and before not in req.body.decode()
    with svc.sessions() as s:
        change = s.scalar(select(func.max(ChangeRow.id)))
    assert body == {"id": req.headers["x-sohoa-delivery"], "event": "result.ready", "result_code": after,
                    "doc_type": "birth_certificate", "change": change, "occurred_at": body["occurred_at"],
                    "url": f"/v1/results/{after}"}
    assert body["occurred_at"].endswith("Z")
    assert req.headers["x-sohoa-event"] == "result.ready" and req.headers["content-type"] == "application/json"
    [d] = all_deliveries(svc)
    assert d.id == body["id"] and d.state == "delivered" and d.attempts == 1 and d.last_status == 200
    assert [a.status_code for a in attempts_of(svc, d.id)] == [200]
    # Nothing twice: the cursor moved past it and the delivery is done.
    assert webhooks.dispatch(svc).sent == 0 and len(receiver.requests) == 1


def test_a_processed_file_reaches_the_receiver_signed_and_readable_with_its_own_key(svc, receiver) -> None:
    _, secret = webhooks.subscribe(svc.sessions, receiver.url)
    batch = pipeline.create_batch(svc, "CN1")
    [fid] = pipeline.receive(svc, batch, "card.pdf", text_pdf(card_lines(4321)))
    [res] = pipeline.process_file(svc, fid)
    assert res.result_code and res.doc_type == "cccd"
    assert webhooks.dispatch(svc).delivered == 1
    [req] = receiver.requests
    assert webhooks.verify_signature(secret, req.headers["x-sohoa-signature"], req.body, tolerance_seconds=60)
    body = req.json
    assert (body["event"], body["result_code"], body["doc_type"]) == ("result.ready", res.result_code, "cccd")
    # No personal data: nothing of the card's fields is in the payload.
    for value in res.fields.values():
        if value and len(str(value)) > 3:
            assert str(value) not in req.body.decode(), value
    assert "074187004321" not in req.body.decode()
    # The receiver reads the fields where the payload points, with its own (audited) key.
    _, downstream = keys.create_key(svc.sessions, "downstream", label="the receiver")
    with TestClient(create_app(svc.settings, services=svc, embedded_worker=False)) as client:
        r = client.get(body["url"], headers={"X-API-Key": downstream, "X-Purpose": "webhook"})
    assert r.status_code == 200 and r.json()["fields"]["id_number"] == "074187004321"


def test_a_reviewers_correction_reaches_the_receiver_as_result_corrected(svc, receiver) -> None:
    batch = pipeline.create_batch(svc, "CN1")
    [fid] = pipeline.receive(svc, batch, "card.pdf", text_pdf(card_lines(4322)))
    [res] = pipeline.process_file(svc, fid)
    _, secret = webhooks.subscribe(svc.sessions, receiver.url)  # from now on: the correction only
    review.apply(svc, res.result_code, review.Review(corrections=[review.Correction(field="sex", value="Nam")]),
                 "k-reviewer")
    assert webhooks.dispatch(svc).delivered == 1
    [req] = receiver.requests
    assert webhooks.verify_signature(secret, req.headers["x-sohoa-signature"], req.body, tolerance_seconds=60)
    assert (req.json["event"], req.json["result_code"]) == ("result.corrected", res.result_code)
    assert "Nam" not in req.body.decode()  # the new value is fetched, not pushed


# ------------------------------------------------------------------ retries, backoff, giving up
def test_a_failing_receiver_is_retried_with_backoff_then_the_delivery_fails_and_an_admin_retries_it(
        svc, receiver) -> None:
    options(svc, max_attempts=3, backoff_base_seconds=10, backoff_max_seconds=15)
    receiver.always = 500
    webhooks.subscribe(svc.sessions, receiver.url)
    add_result(svc)
    t0 = utcnow()
    first = webhooks.dispatch(svc, now=t0)
    assert (first.sent, first.retrying, first.failed) == (1, 1, 0)
    [d] = all_deliveries(svc)
    d = delivery(svc, d.id)
    wait1 = (webhooks._utc(d.next_attempt_at) - t0).total_seconds()
    assert d.state == "pending" and d.attempts == 1 and d.last_status == 500 and 5 <= wait1 <= 10

    assert webhooks.deliver_due(svc, now=t0 + timedelta(seconds=wait1 - 0.5)).sent == 0  # not due yet
    t1 = t0 + timedelta(seconds=wait1)
    assert webhooks.deliver_due(svc, now=t1).retrying == 1
    d = delivery(svc, d.id)
    wait2 = (webhooks._utc(d.next_attempt_at) - t1).total_seconds()
    assert d.attempts == 2 and 7.5 <= wait2 <= 15  # the second step (20 s) capped at 15, with jitter

    t2 = t1 + timedelta(seconds=wait2)
    assert webhooks.deliver_due(svc, now=t2).failed == 1
    d = delivery(svc, d.id)
    assert d.state == "failed" and d.attempts == 3 and d.next_attempt_at is None and d.last_error == "HTTP 500"
    # Given up: however late, it is not sent again by itself.
    assert webhooks.deliver_due(svc, now=t2 + timedelta(days=30)).sent == 0
    log = attempts_of(svc, d.id)
    assert [(a.status_code, a.error) for a in log] == [(500, "HTTP 500")] * 3
    assert [webhooks._utc(a.at) for a in log] == [t0, t1, t2]
    assert len(receiver.requests) == 3 and set(receiver.delivery_ids()) == {d.id}  # one delivery, three tries

    # An admin sends it again; the receiver is back.
    receiver.always = None
    _, admin = keys.create_key(svc.sessions, "admin")
    h = {"X-API-Key": admin}
    with TestClient(create_app(svc.settings, services=svc, embedded_worker=False)) as client:
        r = client.post(f"/v1/webhooks/{d.webhook_id}/deliveries/{d.id}/retry", headers=h)
        assert r.status_code == 200, r.text
        assert (r.json()["state"], r.json()["attempts"]) == ("pending", 0)
        assert webhooks.deliver_due(svc).delivered == 1
        again = client.post(f"/v1/webhooks/{d.webhook_id}/deliveries/{d.id}/retry", headers=h)
        assert again.status_code == 409 and again.json()["code"] == "delivery_not_retryable"
        assert client.post(f"/v1/webhooks/{d.webhook_id}/deliveries/d-nope/retry", headers=h).status_code == 404
        log = client.get(f"/v1/webhooks/{d.webhook_id}/deliveries", headers=h).json()
    [entry] = log["deliveries"]
    assert entry["state"] == "delivered" and entry["delivered_at"]
    assert [a["status_code"] for a in entry["attempt_log"]] == [500, 500, 500, 200]
    with svc.sessions() as s:
        assert s.scalar(select(AuditRow).where(AuditRow.action == "retry_webhook_delivery")).target == d.id


def test_a_receiver_that_recovers_gets_the_delivery_once_it_answers_2xx(svc, receiver) -> None:
    options(svc, backoff_base_seconds=1, backoff_max_seconds=1)
    receiver.failures_left = 2
    webhooks.subscribe(svc.sessions, receiver.url)
    add_result(svc)
    now = utcnow()
    states = []
    for _ in range(4):
        webhooks.dispatch(svc, now=now)
        [d] = all_deliveries(svc)
        states.append(delivery(svc, d.id).state)
        now += timedelta(seconds=1)
    assert states == ["pending", "pending", "delivered", "delivered"]
    assert [a.status_code for a in attempts_of(svc, d.id)] == [500, 500, 200]
    assert len(receiver.requests) == 3 and len(set(receiver.delivery_ids())) == 1


def test_an_unreachable_receiver_is_an_attempt_with_an_error_not_an_exception(svc) -> None:
    options(svc, timeout_seconds=2)
    webhooks.subscribe(svc.sessions, f"http://127.0.0.1:{free_port()}/nobody-listens")
    add_result(svc)
    done = webhooks.dispatch(svc)
    assert (done.sent, done.retrying) == (1, 1)
    [d] = all_deliveries(svc)
    [a] = attempts_of(svc, d.id)
    assert a.status_code is None and a.error.startswith("ConnectError")
    assert delivery(svc, d.id).last_error == a.error


def test_a_receiver_that_hangs_costs_one_attempt_a_round_and_holds_up_no_one(svc, receiver) -> None:
    import socket

    options(svc, timeout_seconds=1)
    hangs = socket.create_server(("127.0.0.1", 0))  # takes connections, never answers: a read timeout
    try:
        stuck, _ = webhooks.subscribe(svc.sessions, f"http://127.0.0.1:{hangs.getsockname()[1]}/hooks")
        healthy, _ = webhooks.subscribe(svc.sessions, receiver.url)
        made = [add_result(svc) for _ in range(3)]
        done = webhooks.dispatch(svc)
    finally:
        hangs.close()
    assert [r.json["result_code"] for r in receiver.requests] == made  # all of them, in order
    tried = sorted(d.attempts for d in all_deliveries(svc) if d.webhook_id == stuck.id)
    assert tried == [0, 0, 1]  # one timeout this round; the others wait for the next, not counted
    assert (done.sent, done.delivered, done.retrying) == (4, 3, 1)
    [attempt] = [a for d in all_deliveries(svc) if d.webhook_id == stuck.id for a in attempts_of(svc, d.id)]
    assert attempt.error.startswith("ReadTimeout")


# ------------------------------------------------------------------ filters and revocation
def test_subscriptions_get_only_their_document_types_and_events(svc, receiver) -> None:
    cards, _ = webhooks.subscribe(svc.sessions, receiver.url + "?only=cards", doc_types=["cccd", "cmnd"])
    everything, _ = webhooks.subscribe(svc.sessions, receiver.url + "?only=all")
    fixes, _ = webhooks.subscribe(svc.sessions, receiver.url + "?only=fixes", events=["result.corrected"])
    made = {t: add_result(svc, t) for t in ("cccd", "birth_certificate", "cmnd", "marriage_certificate")}
    correct(svc, made["birth_certificate"])
    webhooks.dispatch(svc)
    by_hook: dict[str, list[tuple[str, str]]] = {}
    for d in all_deliveries(svc):
        by_hook.setdefault(d.webhook_id, []).append((d.event, d.result_code))
        assert d.state == "delivered"
    assert by_hook[cards.id] == [("result.ready", made["cccd"]), ("result.ready", made["cmnd"])]
    assert by_hook[everything.id] == [*(("result.ready", c) for c in made.values()),
                                      ("result.corrected", made["birth_certificate"])]
    assert by_hook[fixes.id] == [("result.corrected", made["birth_certificate"])]
    assert len(receiver.requests) == 2 + 5 + 1
    # Every subscription's cursor is now at the end of the feed, taken or not.
    with svc.sessions() as s:
        end = changes.latest(s)
    assert {w.cursor for w in webhooks.list_webhooks(svc.sessions)} == {end}


def test_pages_of_changes_a_subscription_does_not_take_still_move_its_cursor(svc, receiver) -> None:
    options(svc, batch_size=3)
    hook, _ = webhooks.subscribe(svc.sessions, receiver.url, events=["result.corrected"])
    codes = [add_result(svc) for _ in range(7)]
    correct(svc, codes[2])
    for _ in range(3):  # 8 changes, 3 a page
        webhooks.dispatch(svc)
    assert [(r.json["event"], r.json["result_code"]) for r in receiver.requests] == [("result.corrected", codes[2])]
    with svc.sessions() as s:
        assert webhooks.get(svc.sessions, hook.id).cursor == changes.latest(s)


def test_a_long_backlog_is_planned_in_pages_in_order(svc, receiver) -> None:
    options(svc, batch_size=2)
    webhooks.subscribe(svc.sessions, receiver.url)
    made = [add_result(svc) for _ in range(5)]
    for _ in range(3):
        webhooks.dispatch(svc)
    assert [r.json["result_code"] for r in receiver.requests] == made
    assert [r.json["change"] for r in receiver.requests] == sorted(r.json["change"] for r in receiver.requests)


def test_a_revoked_subscription_gets_nothing(svc, receiver) -> None:
    hook, _ = webhooks.subscribe(svc.sessions, receiver.url)
    add_result(svc)
    assert webhooks.plan(svc) == 1  # planned, not yet sent
    revoked = webhooks.unsubscribe(svc.sessions, hook.id)
    assert revoked.revoked_at is not None
    assert webhooks.unsubscribe(svc.sessions, hook.id).revoked_at == revoked.revoked_at  # the first time stays
    assert webhooks.unsubscribe(svc.sessions, "wh-nope") is None
    add_result(svc)
    done = webhooks.dispatch(svc, now=utcnow() + timedelta(hours=1))
    assert (done.planned, done.sent) == (0, 0) and receiver.requests == []
    [d] = all_deliveries(svc)
    assert (d.state, d.last_error) == ("failed", "subscription revoked")
    with pytest.raises(webhooks.NotRetryable, match="revoked"):
        webhooks.retry(svc.sessions, hook.id, d.id)


# ------------------------------------------------------------------ claims under concurrency
def test_two_senders_at_once_never_send_the_same_delivery(svc, receiver) -> None:
    receiver.delay = 0.2  # slow enough that both senders are busy at the same time
    webhooks.subscribe(svc.sessions, receiver.url)
    for _ in range(6):
        add_result(svc)
    webhooks.plan(svc)
    start = threading.Barrier(2)
    results: list[webhooks.Delivered] = []

    def sender() -> None:
        start.wait()
        results.append(webhooks.deliver_due(svc))

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    ids = receiver.delivery_ids()
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 6  # each once
    assert sorted(r.sent for r in results) != [0, 6]  # both took part: the claims, not luck, kept them apart
    assert sum(r.delivered for r in results) == 6
    assert {d.state for d in all_deliveries(svc)} == {"delivered"}


def test_a_claim_is_exclusive_until_its_lease_runs_out(svc) -> None:
    opts = svc.settings.webhooks
    webhooks.subscribe(svc.sessions, "https://example.org/h")
    add_result(svc)
    now = utcnow()
    webhooks.plan(svc, now=now)
    first = webhooks.claim_one(svc.sessions, now, opts)
    assert first is not None and first.attempts == 1
    assert webhooks.claim_one(svc.sessions, now, opts) is None  # held
    later = now + timedelta(seconds=webhooks.lease_seconds(opts) - 1)
    assert webhooks.claim_one(svc.sessions, later, opts) is None
    # The sender died mid-POST: once its lease runs out, another takes it (at least once).
    expired = now + timedelta(seconds=webhooks.lease_seconds(opts) + 1)
    second = webhooks.claim_one(svc.sessions, expired, opts)
    assert second is not None and second.id == first.id and second.attempts == 2
    # The dead sender's late answer no longer decides the delivery's state; the live one's does.
    webhooks._record(svc.sessions, first, 200, None, 0.1, expired, opts)
    assert delivery(svc, first.id).state == "sending"
    webhooks._record(svc.sessions, second, 200, None, 0.1, expired, opts)
    assert delivery(svc, first.id).state == "delivered"
    assert len(attempts_of(svc, first.id)) == 2  # both POSTs are in the log


def test_a_sender_dying_on_the_last_attempt_fails_the_delivery(svc) -> None:
    options(svc, max_attempts=1)
    opts = svc.settings.webhooks
    webhooks.subscribe(svc.sessions, "https://example.org/h")
    add_result(svc)
    now = utcnow()
    webhooks.plan(svc, now=now)
    claimed = webhooks.claim_one(svc.sessions, now, opts)
    done = webhooks.deliver_due(svc, now=now + timedelta(seconds=webhooks.lease_seconds(opts) + 1))
    assert (done.sent, done.failed) == (0, 1)
    assert delivery(svc, claimed.id).state == "failed"


def test_two_planners_at_once_plan_each_change_once(svc) -> None:
    hooks = [webhooks.subscribe(svc.sessions, f"https://example.org/{n}")[0] for n in range(3)]
    for round_ in range(3):
        for _ in range(4):
            add_result(svc)
        start = threading.Barrier(3)

        def planner(start: threading.Barrier) -> None:
            start.wait()
            webhooks.plan(svc)

        threads = [threading.Thread(target=planner, args=(start,)) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        rows = all_deliveries(svc)
        assert len(rows) == len(hooks) * 4 * (round_ + 1)
        assert len({(d.webhook_id, d.change_id) for d in rows}) == len(rows)


# ------------------------------------------------------------------ running it
def test_a_receiver_down_never_fails_document_processing(svc) -> None:
    """Embedded mode, through the API: the file is done, the delivery waits for its receiver."""
    options(svc, timeout_seconds=1, dispatch_interval_seconds=0.2)
    hook, _ = webhooks.subscribe(svc.sessions, f"http://127.0.0.1:{free_port()}/down")
    _, scanner = keys.create_key(svc.sessions, "scanner", branch="CN1")
    with TestClient(create_app(svc.settings, services=svc)) as client:
        r = client.post("/v1/batches", files=[("files", ("card.pdf", text_pdf(card_lines(55)), "application/pdf"))],
                        headers={"X-API-Key": scanner})
        assert r.status_code == 202, r.text
        batch = wait_until(lambda: (b := client.get(r.json()["url"], headers={"X-API-Key": scanner}).json())
                           ["state"] == "done" and b, 120, what="batch done")
        [item] = batch["items"]
        assert item["state"] == "done" and item["documents"][0]["result_code"]
        [d] = wait_until(lambda: all_deliveries(svc), 30, what="a delivery planned")
        first = wait_until(lambda: attempts_of(svc, d.id), 30, what="a delivery attempt")[0]
    assert d.webhook_id == hook.id and d.result_code == item["documents"][0]["result_code"]
    assert first.status_code is None and first.error.startswith("ConnectError")
    assert delivery(svc, d.id).state in ("pending", "sending")  # waiting for its receiver, not given up


def test_a_dispatcher_that_raises_does_not_stop_the_embedded_worker(svc, monkeypatch) -> None:
    from workers.embedded import EmbeddedWorker

    calls = []

    def broken(_svc) -> None:  # noqa: ANN001
        calls.append(1)
        raise RuntimeError("database hiccup")

    monkeypatch.setattr("workers.embedded.webhooks.dispatch", broken)
    options(svc, dispatch_interval_seconds=0.05)
    batch = pipeline.create_batch(svc, "CN1")
    [fid] = pipeline.receive(svc, batch, "card.pdf", text_pdf(card_lines(56)))
    worker = EmbeddedWorker(svc)
    worker.start()
    try:
        wait_until(lambda: pipeline.results_for_file(svc, fid), 120, what="file processed")
        wait_until(lambda: len(calls) >= 3, 10, what="dispatch keeps being called")
    finally:
        worker.stop()


def test_the_celery_task_dispatches_on_the_maintenance_queue_on_a_beat(svc, receiver, monkeypatch) -> None:
    from workers import tasks
    from workers.queues import MAINTENANCE

    app = tasks.make_celery(svc.settings.model_copy(update={"webhooks": WebhookOptions(dispatch_interval_seconds=7)}))
    assert app.conf.task_routes["sohoa.webhooks"] == {"queue": MAINTENANCE}
    beat = app.conf.beat_schedule["webhooks"]
    assert (beat["task"], beat["schedule"], beat["options"]["expires"]) == ("sohoa.webhooks", 7, 7)
    monkeypatch.setattr(tasks, "_services", lambda: svc)
    webhooks.subscribe(svc.sessions, receiver.url)
    code = add_result(svc)
    assert tasks.webhooks_task.apply().get() == 1
    assert [r.json["result_code"] for r in receiver.requests] == [code]


# ------------------------------------------------------------------ the API
@pytest.fixture
def client(svc) -> Iterator[TestClient]:
    with TestClient(create_app(svc.settings, services=svc, embedded_worker=False)) as c:
        yield c


def test_admin_manages_webhooks_and_reads_the_delivery_log_over_the_api(svc, client, receiver) -> None:
    _, admin_secret = keys.create_key(svc.sessions, "admin", label="ops")
    h = {"X-API-Key": admin_secret}
    r = client.post("/v1/webhooks", json={"url": receiver.url, "doc_types": ["cccd"], "label": "portal"}, headers=h)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["secret"].startswith("whsec_") and made["events"] == sorted(webhooks.EVENTS)
    assert made["doc_types"] == ["cccd"] and made["revoked_at"] is None
    listed = client.get("/v1/webhooks", headers=h)
    assert listed.status_code == 200 and made["secret"] not in listed.text
    assert [w["id"] for w in listed.json()] == [made["id"]]
    assert set(listed.json()[0]) == {"id", "url", "events", "doc_types", "label", "cursor", "created_at", "revoked_at"}

    for bad in ({"url": "ftp://example.org/x"}, {"url": "https://example.org", "events": []},
                {"url": "https://example.org", "events": ["result.deleted"]},
                {"url": "https://example.org", "doc_types": ["passport"]}, {"url": "x" * 2001}):
        bad_r = client.post("/v1/webhooks", json=bad, headers=h)
        assert bad_r.status_code == 422, (bad, bad_r.text)
        assert bad_r.headers["content-type"] == "application/problem+json"

    made_codes = [add_result(svc) for _ in range(5)]
    webhooks.dispatch(svc)
    page1 = client.get(f"/v1/webhooks/{made['id']}/deliveries", params={"limit": 2}, headers=h).json()
    assert page1["total"] == 5 and page1["next_offset"] == 2
    assert [d["result_code"] for d in page1["deliveries"]] == made_codes[::-1][:2]  # newest first
    page3 = client.get(f"/v1/webhooks/{made['id']}/deliveries", params={"limit": 2, "offset": 4}, headers=h).json()
    assert page3["next_offset"] is None and [d["result_code"] for d in page3["deliveries"]] == made_codes[:1]
    entry = page1["deliveries"][0]
    assert entry["state"] == "delivered" and [a["status_code"] for a in entry["attempt_log"]] == [200]
    failed = client.get(f"/v1/webhooks/{made['id']}/deliveries", params={"state": "failed"}, headers=h).json()
    assert failed == {"total": 0, "deliveries": [], "next_offset": None}
    assert client.get("/v1/webhooks/wh-nope/deliveries", headers=h).status_code == 404

    assert client.delete(f"/v1/webhooks/{made['id']}", headers=h).status_code == 204
    assert client.get("/v1/webhooks", headers=h).json()[0]["revoked_at"] is not None
    assert client.delete("/v1/webhooks/wh-nope", headers=h).status_code == 404
    with svc.sessions() as s:
        actions = {(a.action, a.target) for a in s.scalars(select(AuditRow))}
    assert {("create_webhook", made["id"]), ("revoke_webhook", made["id"])} <= actions


def _webhook_calls(svc) -> dict[tuple[str, str], object]:
    def retryable() -> tuple[str, str]:
        hook, _ = webhooks.subscribe(svc.sessions, "https://example.org/h")
        add_result(svc)
        webhooks.plan(svc)
        [d] = [x for x in all_deliveries(svc) if x.webhook_id == hook.id]
        with svc.sessions() as s, s.begin():
            s.get(WebhookDeliveryRow, d.id).state = "failed"
        return hook.id, d.id

    def fresh() -> str:
        return webhooks.subscribe(svc.sessions, "https://example.org/h")[0].id

    return {
        ("POST", "/v1/webhooks"): lambda c, h: c.post("/v1/webhooks", json={"url": "https://example.org/h"}, headers=h),
        ("GET", "/v1/webhooks"): lambda c, h: c.get("/v1/webhooks", headers=h),
        ("DELETE", "/v1/webhooks/{webhook_id}"): lambda c, h: c.delete(f"/v1/webhooks/{fresh()}", headers=h),
        ("GET", "/v1/webhooks/{webhook_id}/deliveries"): lambda c, h: c.get(
            f"/v1/webhooks/{fresh()}/deliveries", headers=h),
        ("POST", "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/retry"): lambda c, h: c.post(
            "/v1/webhooks/{}/deliveries/{}/retry".format(*retryable()), headers=h),
    }


def test_only_admin_keys_may_call_any_webhook_route(svc, client) -> None:
    calls = _webhook_calls(svc)
    # A new webhook route fails here until it is in the table above.
    assert {(m, r.path) for r in webhooks_router.routes if isinstance(r, APIRoute) for m in r.methods} == set(calls)
    who = {"legacy": "test-key"}
    for role in keys.ROLES:
        who[role] = keys.create_key(svc.sessions, role, branch="CN1" if role == "scanner" else None)[1]
    for route, call in calls.items():
        for name, secret in who.items():
            r = call(client, {"X-API-Key": secret})
            if name in ("admin", "legacy"):
                assert r.status_code < 300, (route, name, r.status_code, r.text)
            else:
                assert r.status_code == 403, (route, name, r.status_code, r.text)
                assert r.headers["content-type"] == "application/problem+json"
        assert call(client, {}).status_code == 401, route
        assert call(client, {"X-API-Key": "sohoa_not-a-key"}).status_code == 401, route


# ------------------------------------------------------------------ the command line
def test_the_cli_adds_lists_shows_deliveries_and_removes(svc, receiver) -> None:
    env = {"SOHOA_DATA_DIR": str(svc.settings.data_dir), "SOHOA_DATABASE_URL": svc.settings.database_url or ""}
    runner = CliRunner()
    added = runner.invoke(cli_app, ["webhooks", "add", receiver.url, "--doc-type", "cccd", "--label", "portal"],
                          env=env)
    assert added.exit_code == 0, added.output
    secret = added.stdout.strip()
    assert secret.startswith("whsec_") and "\n" not in secret
    [hook] = webhooks.list_webhooks(svc.sessions)
    assert hook.secret == secret and hook.doc_types == ["cccd"] and hook.label == "portal"
    bad = runner.invoke(cli_app, ["webhooks", "add", "ftp://example.org/x"], env=env)
    assert bad.exit_code == 2 and len(webhooks.list_webhooks(svc.sessions)) == 1

    listed = runner.invoke(cli_app, ["webhooks", "list"], env=env)
    assert listed.exit_code == 0 and hook.id in listed.stdout and secret not in listed.stdout

    receiver.always = 503
    options(svc, max_attempts=1)
    code = add_result(svc)
    webhooks.dispatch(svc)
    [d] = all_deliveries(svc)
    shown = runner.invoke(cli_app, ["webhooks", "deliveries", hook.id], env=env)
    assert shown.exit_code == 0, shown.output
    assert d.id in shown.stdout and code in shown.stdout and "failed" in shown.stdout and "503" in shown.stdout
    receiver.always = None
    retried = runner.invoke(cli_app, ["webhooks", "deliveries", hook.id, "--retry", d.id], env=env)
    assert retried.exit_code == 0 and delivery(svc, d.id).state == "pending"
    assert runner.invoke(cli_app, ["webhooks", "deliveries", "wh-nope"], env=env).exit_code == 1

    removed = runner.invoke(cli_app, ["webhooks", "remove", hook.id], env=env)
    assert removed.exit_code == 0 and "revoked" in removed.stdout
    assert webhooks.get(svc.sessions, hook.id).revoked_at is not None
    assert runner.invoke(cli_app, ["webhooks", "remove", "wh-nope"], env=env).exit_code == 1
