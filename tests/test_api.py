"""HTTP API: upload → 202 → poll the batch → fetch results and originals; auth and audit."""

from __future__ import annotations

import io
import time

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from api.main import create_app
from storage.db import AuditRow

from .docs import card_png

H = {"X-API-Key": "test-key", "X-Purpose": "test"}


@pytest.fixture
def client(settings, svc):
    with TestClient(create_app(settings, services=svc)) as c:
        yield c


def wait_done(client: TestClient, batch_id: str, timeout: float = 120) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        body = client.get(f"/v1/batches/{batch_id}", headers=H).json()
        if body["state"] == "done":
            return body
        time.sleep(0.3)
    raise AssertionError(f"batch not done in {timeout}s: {body}")


def test_requires_api_key(client: TestClient) -> None:
    assert client.get("/v1/search", params={"q": "x"}).status_code == 401
    assert client.get("/v1/search", params={"q": "x"}, headers={"X-API-Key": "wrong"}).status_code == 401
    assert client.get("/openapi.json").status_code == 200


def test_batch_upload_process_and_read_back(client: TestClient, svc) -> None:
    good = card_png()
    files = [("files", ("card.png", good, "image/png")),
             ("files", ("empty.pdf", b"", "application/pdf")),
             ("files", ("notes.txt", b"just some text", "text/plain"))]
    r = client.post("/v1/batches", files=files, data={"branch": "TDM01"}, headers=H)
    assert r.status_code == 202, r.text
    batch = wait_done(client, r.json()["batch_id"])
    items = {i["name"]: i for i in batch["items"]}
    assert items["empty.pdf"]["state"] == "failed" and items["empty.pdf"]["error"]["code"] == "empty_file"
    assert items["notes.txt"]["error"]["code"] == "unsupported_type"
    card = items["card.png"]
    assert card["state"] == "done" and len(card["documents"]) == 1
    doc = card["documents"][0]
    assert doc["doc_type"] == "cccd" and doc["fields"] == {}  # batch status carries no personal data

    res = client.get(f"/v1/results/{doc['result_code']}", headers=H)
    assert res.status_code == 200
    body = res.json()
    assert body["fields"]["id_number"] == "074187001234"
    assert body["source"]["branch"] == "TDM01"
    orig = client.get(f"/v1/documents/{doc['document_id']}/original", headers=H)
    assert orig.status_code == 200 and orig.content == good
    with svc.sessions() as s:
        actions = [(a.action, a.purpose) for a in s.scalars(select(AuditRow))]
    assert ("read_result", "test") in actions and ("read_original", "test") in actions

    hits = client.get("/v1/search", params={"q": "nguyen thi hong"}, headers=H).json()
    assert [h["result_code"] for h in hits["results"]] == [doc["result_code"]] and hits["total"] == 1


def test_same_bytes_twice_give_the_same_result(client: TestClient) -> None:
    data = card_png()
    codes = []
    for _ in range(2):
        r = client.post("/v1/batches", files=[("files", ("again.png", data, "image/png"))], headers=H)
        batch = wait_done(client, r.json()["batch_id"])
        codes.append([d["result_code"] for d in batch["items"][0]["documents"]])
    assert codes[0] == codes[1] and len(codes[0]) == 1


def test_unknown_ids_are_404(client: TestClient) -> None:
    assert client.get("/v1/batches/b-nope", headers=H).status_code == 404
    assert client.get("/v1/results/KQ-NOPE", headers=H).status_code == 404
    assert client.get("/v1/documents/d-nope/original", headers=H).status_code == 404


def test_png_that_lies_about_itself_is_recorded_not_fatal(client: TestClient) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (50, 50), "white").save(buf, "PNG")
    truncated = buf.getvalue()[:40]
    r = client.post("/v1/batches", files=[("files", ("broken.png", truncated, "image/png"))], headers=H)
    batch = wait_done(client, r.json()["batch_id"])
    assert batch["items"][0]["state"] == "failed"
    assert batch["items"][0]["error"]["code"] == "corrupt_file"


def test_readiness_checks_database_and_storage(client: TestClient, svc, monkeypatch) -> None:
    r = client.get("/readyz")
    assert r.status_code == 200
    body = r.json()
    assert body["ready"] and set(body["components"]) == {"database", "storage"}  # no broker configured

    def storage_down(*_a, **_k):
        raise ConnectionError("connection refused")

    monkeypatch.setattr(svc.store, "get", storage_down)
    r = client.get("/readyz")
    assert r.status_code == 503
    comp = r.json()["components"]
    assert comp["database"]["ok"] and not comp["storage"]["ok"]
    assert "ConnectionError" in comp["storage"]["error"]


def test_readiness_reports_an_unreachable_broker(settings) -> None:
    from sohoa.health import readiness
    from sohoa.services import build_services

    svc = build_services(settings.model_copy(update={"broker_url": "redis://127.0.0.1:9/0"}))  # nothing listens on 9
    report = readiness(svc)
    assert not report.ready and not report.components["broker"].ok
    assert report.components["database"].ok and report.components["storage"].ok


def test_an_empty_idempotency_key_is_no_key(client: TestClient) -> None:
    """Found by schemathesis: two uploads with `Idempotency-Key: ` (empty) made the second a 500."""
    for _ in range(2):
        r = client.post("/v1/batches", files=[("files", ("a.png", b"\x89PNG\r\n\x1a\n", "image/png"))],
                        headers={**H, "Idempotency-Key": ""})
        assert r.status_code == 202 and "Idempotent-Replayed" not in r.headers
