"""Access control: API keys with roles, hashed at rest; scanners kept to their branch; every read of
personal data audited under the key's id and the caller's purpose (docs/api-access.md)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from api import keys
from api.main import create_app
from sohoa import pipeline
from sohoa.cli import app as cli_app
from storage.db import ApiKeyRow, AuditRow, BatchRow, Base, RegistryRow

from .docs import card_lines, text_pdf

LEGACY = "test-key"  # the settings fixture's SOHOA_API_KEY
ID_NUMBER = "074187001234"  # the one on card_lines(1234)
DOSSIER = "000.00.15.H42-261120-0001"
REGISTRY_CSV = ("id_number,full_name,date_of_birth,sex,place_of_residence\n"
                "001099000111,Trần Văn An,1999-01-02,Nam,Hà Nội\n"
                "12ab,X,1999-01-02,Nam,x\n")


@dataclass
class World:
    client: TestClient
    svc: object
    secrets: dict[str, str]  # role → secret; "legacy" is the configured single key
    ids: dict[str, str]  # role → key id
    batch_id: str  # a batch of branch CN1
    result_code: str
    document_id: str

    def h(self, who: str, purpose: str = "test") -> dict[str, str]:
        return {"X-API-Key": self.secrets[who], "X-Purpose": purpose}


@pytest.fixture
def world(svc) -> Iterator[World]:
    secrets, ids = {"legacy": LEGACY}, {"legacy": "k-legacy"}
    for role in keys.ROLES:
        row, secret = keys.create_key(svc.sessions, role, branch="CN1" if role == "scanner" else None,
                                      label=f"test {role}")
        secrets[role], ids[role] = secret, row.id
    row, secrets["scanner_cn2"] = keys.create_key(svc.sessions, "scanner", branch="CN2")
    ids["scanner_cn2"] = row.id
    batch_id = pipeline.create_batch(svc, "CN1", dossier_code=DOSSIER)
    [fid] = pipeline.receive(svc, batch_id, "card.pdf", text_pdf(card_lines(1234)))
    [res] = pipeline.process_file(svc, fid)
    assert res.result_code and res.doc_type == "cccd"
    with TestClient(create_app(svc.settings, services=svc, embedded_worker=False)) as client:
        yield World(client, svc, secrets, ids, batch_id, res.result_code, res.document_id)


# ------------------------------------------------------------------ every route, every role
Call = Callable[[World, dict[str, str]], httpx.Response]


def _fresh_key_id(w: World) -> str:
    row, _ = keys.create_key(w.svc.sessions, "downstream", label="to revoke")
    return row.id


def _fresh_webhook_id(w: World) -> str:
    from sohoa import webhooks

    return webhooks.subscribe(w.svc.sessions, "https://example.org/hook", label="made in a test")[0].id


def _failed_delivery(w: World) -> str:
    """webhooks/{id}/deliveries/{id}: a delivery that gave up, so an admin may send it again."""
    import secrets as random_ids

    from storage.db import WebhookDeliveryRow

    hook_id, delivery_id = _fresh_webhook_id(w), "d-" + random_ids.token_hex(10)
    with w.svc.sessions() as s, s.begin():
        s.add(WebhookDeliveryRow(id=delivery_id, webhook_id=hook_id, change_id=1, event="result.ready",
                                 result_code=w.result_code, state="failed", attempts=1))
    return f"{hook_id}/deliveries/{delivery_id}"


# (method, path) → (the roles that may call it, a real call). Admin may do everything; "legacy" is
# the configured single key, which acts as an admin key.
ROUTES: dict[tuple[str, str], tuple[set[str], Call]] = {
    ("POST", "/v1/batches"): ({"scanner"}, lambda w, h: w.client.post(
        "/v1/batches", files=[("files", ("notes.txt", b"plain text", "text/plain"))], headers=h)),
    ("GET", "/v1/batches/{batch_id}"): ({"scanner", "archivist", "reviewer"}, lambda w, h: w.client.get(
        f"/v1/batches/{w.batch_id}", headers=h)),
    ("GET", "/v1/results/{result_code}"): ({"downstream", "archivist", "reviewer"}, lambda w, h: w.client.get(
        f"/v1/results/{w.result_code}", headers=h)),
    ("GET", "/v1/documents/{document_id}"): ({"downstream", "archivist", "reviewer"}, lambda w, h: w.client.get(
        f"/v1/documents/{w.document_id}", headers=h)),
    ("GET", "/v1/documents/{document_id}/original"): ({"archivist", "reviewer"}, lambda w, h: w.client.get(
        f"/v1/documents/{w.document_id}/original", headers=h)),
    ("GET", "/v1/results/{result_code}/files/{name}"): ({"archivist", "reviewer"}, lambda w, h: w.client.get(
        f"/v1/results/{w.result_code}/files/result.json", headers=h)),
    ("POST", "/v1/results/{result_code}/review"): ({"reviewer"}, lambda w, h: w.client.post(
        f"/v1/results/{w.result_code}/review", json={"corrections": [{"field": "sex", "value": "Nữ"}],
                                                      "reason": "checked against the paper"}, headers=h)),
    ("GET", "/v1/changes"): ({"downstream", "archivist", "reviewer"}, lambda w, h: w.client.get(
        "/v1/changes", params={"after": 0}, headers=h)),
    ("GET", "/v1/dossiers/{dossier_code}"): ({"scanner", "archivist", "reviewer"}, lambda w, h: w.client.get(
        f"/v1/dossiers/{DOSSIER}", headers=h)),
    ("POST", "/v1/holdings"): ({"downstream", "archivist", "reviewer"}, lambda w, h: w.client.post(
        "/v1/holdings", json={"doc_type": "cccd", "id_number": ID_NUMBER}, headers=h)),
    ("GET", "/v1/search"): ({"archivist", "reviewer"}, lambda w, h: w.client.get(
        "/v1/search", params={"q": "nguyen thi hong"}, headers=h)),
    ("POST", "/v1/keys"): (set(), lambda w, h: w.client.post(
        "/v1/keys", json={"role": "downstream", "label": "made in a test"}, headers=h)),
    ("GET", "/v1/keys"): (set(), lambda w, h: w.client.get("/v1/keys", headers=h)),
    ("DELETE", "/v1/keys/{key_id}"): (set(), lambda w, h: w.client.delete(f"/v1/keys/{_fresh_key_id(w)}", headers=h)),
    ("POST", "/v1/registry"): (set(), lambda w, h: w.client.post(
        "/v1/registry", content=REGISTRY_CSV.encode(), headers={**h, "Content-Type": "text/csv"})),
    ("POST", "/v1/webhooks"): (set(), lambda w, h: w.client.post(
        "/v1/webhooks", json={"url": "https://example.org/hook"}, headers=h)),
    ("GET", "/v1/webhooks"): (set(), lambda w, h: w.client.get("/v1/webhooks", headers=h)),
    ("DELETE", "/v1/webhooks/{webhook_id}"): (set(), lambda w, h: w.client.delete(
        f"/v1/webhooks/{_fresh_webhook_id(w)}", headers=h)),
    ("GET", "/v1/webhooks/{webhook_id}/deliveries"): (set(), lambda w, h: w.client.get(
        f"/v1/webhooks/{_fresh_webhook_id(w)}/deliveries", headers=h)),
    ("POST", "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/retry"): (set(), lambda w, h: w.client.post(
        f"/v1/webhooks/{_failed_delivery(w)}/retry", headers=h)),
}
CALLERS = (*keys.ROLES, "legacy")


PUBLIC = {("GET", "/v1/track/{dossier_code}")}  # no key, nothing personal (tests/test_dossiers.py)


def test_the_table_covers_every_route(settings) -> None:
    # A new route fails here until someone decides (and writes down) who may call it.
    schema = create_app(settings, embedded_worker=False).openapi()
    routes = {(method.upper(), path) for path, ops in schema["paths"].items() if path.startswith("/v1/")
              for method in ops}
    assert routes == set(ROUTES) | PUBLIC


@pytest.mark.parametrize("route", list(ROUTES), ids=lambda r: f"{r[0]} {r[1]}")
def test_each_role_may_do_exactly_what_its_role_allows(world: World, route: tuple[str, str]) -> None:
    allowed, call = ROUTES[route]
    answers = {who: call(world, world.h(who)) for who in CALLERS}
    for who, r in answers.items():
        if who in allowed or who in ("admin", "legacy"):
            assert r.status_code < 300, (who, r.status_code, r.text)
        else:
            assert r.status_code == 403, (who, r.status_code, r.text)
            assert r.headers["content-type"] == "application/problem+json"
            assert r.json()["status"] == 403 and who in r.json()["detail"]


@pytest.mark.parametrize("route", list(ROUTES), ids=lambda r: f"{r[0]} {r[1]}")
def test_without_a_valid_key_every_route_is_401(world: World, route: tuple[str, str]) -> None:
    _, call = ROUTES[route]
    for headers in ({}, {"X-API-Key": "sohoa_not-a-key"}, {"X-API-Key": ""}):
        r = call(world, headers)
        assert r.status_code == 401, (headers, r.status_code, r.text)
        assert r.headers["content-type"] == "application/problem+json"


def test_health_readiness_and_metrics_need_no_key(world: World) -> None:
    for path in ("/healthz", "/readyz", "/metrics"):
        assert world.client.get(path).status_code == 200, path


# ------------------------------------------------------------------ keys
def test_a_revoked_key_is_401(world: World) -> None:
    h = world.h("downstream")
    assert world.client.get(f"/v1/results/{world.result_code}", headers=h).status_code == 200
    revoked = keys.revoke_key(world.svc.sessions, world.ids["downstream"])
    assert revoked is not None and revoked.revoked_at is not None
    r = world.client.get(f"/v1/results/{world.result_code}", headers=h)
    assert r.status_code == 401 and r.json()["detail"] == "unknown or revoked X-API-Key"
    # Revoking again keeps the first time.
    assert keys.revoke_key(world.svc.sessions, world.ids["downstream"]).revoked_at == revoked.revoked_at
    assert keys.revoke_key(world.svc.sessions, "k-nope") is None


def test_secrets_are_stored_nowhere_only_their_hash(world: World) -> None:
    minted = world.client.post("/v1/keys", json={"role": "reviewer", "label": "over the API"},
                               headers=world.h("admin")).json()["secret"]
    made = [s for who, s in world.secrets.items() if who != "legacy"] + [minted]
    with world.svc.sessions() as s:
        rows = {r.key_hash: r for r in s.scalars(select(ApiKeyRow))}
        dump = repr([list(row) for table in Base.metadata.sorted_tables
                     for row in s.execute(table.select()).all()])
    for secret in made:
        assert secret.startswith("sohoa_") and len(secret) > 40
        assert hashlib.sha256(secret.encode()).hexdigest() in rows
        assert secret not in dump and secret[len("sohoa_"):] not in dump
    assert len(rows) == len(made)


def test_a_scanner_key_needs_a_branch_and_only_scanners_have_one(svc) -> None:
    with pytest.raises(ValueError, match="needs a branch"):
        keys.create_key(svc.sessions, "scanner")
    with pytest.raises(ValueError, match="only scanner keys"):
        keys.create_key(svc.sessions, "archivist", branch="CN1")
    with pytest.raises(ValueError, match="unknown role"):
        keys.create_key(svc.sessions, "superuser")
    assert keys.list_keys(svc.sessions) == []


def test_admin_manages_keys_over_the_api(world: World) -> None:
    admin = world.h("admin")  # a stored admin key, not only the legacy one
    r = world.client.post("/v1/keys", json={"role": "scanner", "branch": "CN7", "label": "desk 7"}, headers=admin)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["role"] == "scanner" and made["branch"] == "CN7" and made["revoked_at"] is None
    assert made["id"].startswith("k-") and made["secret"].startswith("sohoa_")
    new = {"X-API-Key": made["secret"]}
    up = world.client.post("/v1/batches", files=[("files", ("a.txt", b"x", "text/plain"))], headers=new)
    assert up.status_code == 202

    listed = world.client.get("/v1/keys", headers=admin)
    assert listed.status_code == 200 and made["secret"] not in listed.text
    entry = next(k for k in listed.json() if k["id"] == made["id"])
    assert set(entry) == {"id", "role", "branch", "label", "created_at", "revoked_at"}  # no secret, no hash
    assert {k["id"] for k in listed.json()} == set(world.ids.values()) - {"k-legacy"} | {made["id"]}

    assert world.client.delete(f"/v1/keys/{made['id']}", headers=admin).status_code == 204
    entry = next(k for k in world.client.get("/v1/keys", headers=admin).json() if k["id"] == made["id"])
    assert entry["revoked_at"] is not None
    assert world.client.post("/v1/batches", files=[("files", ("a.txt", b"x", "text/plain"))],
                             headers=new).status_code == 401
    assert world.client.delete("/v1/keys/k-nope", headers=admin).status_code == 404
    with world.svc.sessions() as s:
        actions = {(a.action, a.target, a.actor) for a in s.scalars(select(AuditRow))}
    assert {("create_key", made["id"], world.ids["admin"]), ("revoke_key", made["id"], world.ids["admin"])} <= actions


@pytest.mark.parametrize("body", [{"role": "scanner"}, {"role": "downstream", "branch": "CN1"}, {"role": "root"}])
def test_a_key_that_cannot_be_made_is_422(world: World, body: dict) -> None:
    r = world.client.post("/v1/keys", json=body, headers=world.h("legacy"))
    assert r.status_code == 422, r.text
    assert len(keys.list_keys(world.svc.sessions)) == len(world.ids) - 1  # nothing added


def test_the_legacy_key_is_an_admin_key_audited_without_its_secret(world: World) -> None:
    r = world.client.post("/v1/keys", json={"role": "archivist"}, headers=world.h("legacy", "onboarding"))
    assert r.status_code == 201
    with world.svc.sessions() as s:
        row = s.scalar(select(AuditRow).where(AuditRow.action == "create_key"))
    assert row.actor == "k-legacy" and row.purpose == "onboarding" and LEGACY not in repr(row.details)


# ------------------------------------------------------------------ scanners and their branch
def test_a_scanner_uploads_for_its_own_branch_only(world: World) -> None:
    files = [("files", ("a.txt", b"x", "text/plain"))]
    with world.svc.sessions() as s:
        before = len(s.scalars(select(BatchRow)).all())
    r = world.client.post("/v1/batches", files=files, data={"branch": "CN2"}, headers=world.h("scanner"))
    assert r.status_code == 403 and "CN1" in r.json()["detail"]
    with world.svc.sessions() as s:
        assert len(s.scalars(select(BatchRow)).all()) == before  # nothing recorded
    for data in ({"branch": "CN1"}, {}):  # its own branch, named or implied by the key
        r = world.client.post("/v1/batches", files=files, data=data, headers=world.h("scanner"))
        assert r.status_code == 202
        with world.svc.sessions() as s:
            assert s.get(BatchRow, r.json()["batch_id"]).branch == "CN1"
    # Other roles still choose the branch.
    r = world.client.post("/v1/batches", files=files, data={"branch": "CN9"}, headers=world.h("admin"))
    with world.svc.sessions() as s:
        assert s.get(BatchRow, r.json()["batch_id"]).branch == "CN9"


def test_another_branchs_batch_looks_like_no_batch(world: World) -> None:
    own = world.client.get(f"/v1/batches/{world.batch_id}", headers=world.h("scanner"))
    assert own.status_code == 200 and own.json()["branch"] == "CN1"
    other = world.client.get(f"/v1/batches/{world.batch_id}", headers=world.h("scanner_cn2"))
    missing = world.client.get("/v1/batches/b-nope", headers=world.h("scanner_cn2"))
    assert other.status_code == missing.status_code == 404
    assert other.json()["detail"] == f"no batch {world.batch_id}"
    assert other.json().keys() == missing.json().keys()


# ------------------------------------------------------------------ the audit log
READS: list[tuple[str, str, Callable[[World, dict], httpx.Response]]] = [
    ("downstream", "read_result", ROUTES[("GET", "/v1/results/{result_code}")][1]),
    ("downstream", "read_document", ROUTES[("GET", "/v1/documents/{document_id}")][1]),
    ("downstream", "holdings", ROUTES[("POST", "/v1/holdings")][1]),
    ("archivist", "read_original", ROUTES[("GET", "/v1/documents/{document_id}/original")][1]),
    ("archivist", "search", ROUTES[("GET", "/v1/search")][1]),
    ("reviewer", "read_result", ROUTES[("GET", "/v1/results/{result_code}")][1]),
]


@pytest.mark.parametrize(("who", "action", "call"), READS, ids=[f"{w}-{a}" for w, a, _ in READS])
def test_reads_of_personal_data_are_audited_with_key_id_and_purpose(world: World, who: str, action: str,
                                                                    call: Call) -> None:
    purpose = f"dossier 2026-0042 ({action})"
    assert call(world, world.h(who, purpose)).status_code == 200
    with world.svc.sessions() as s:
        rows = s.scalars(select(AuditRow).where(AuditRow.action == action)).all()
    assert len(rows) == 1
    row = rows[0]
    assert (row.actor, row.purpose) == (world.ids[who], purpose) and row.at is not None
    assert world.secrets[who] not in repr((row.actor, row.target, row.details))
    if action in ("read_result",):
        assert row.target == world.result_code
    elif action in ("read_document", "read_original"):
        assert row.target == world.document_id
    else:  # search and holdings: which results were disclosed
        assert row.details["results"] == [world.result_code]


def test_a_refused_read_is_not_recorded_as_a_read(world: World) -> None:
    assert world.client.get(f"/v1/results/{world.result_code}", headers=world.h("scanner")).status_code == 403
    with world.svc.sessions() as s:
        assert s.scalars(select(AuditRow)).all() == []


# ------------------------------------------------------------------ registry import
def test_admin_imports_the_registry_over_the_api(world: World) -> None:
    h = {**world.h("admin"), "Content-Type": "text/csv; charset=utf-8"}
    r = world.client.post("/v1/registry", params={"source": "extract-2026-11.csv"}, content=REGISTRY_CSV.encode(),
                          headers=h)
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["inserted"], report["updated"], report["unchanged"]) == (1, 0, 0)
    assert [x["line"] for x in report["rejected"]] == [3]
    with world.svc.sessions() as s:
        assert s.get(RegistryRow, "001099000111").source == "extract-2026-11.csv"
    again = world.client.post("/v1/registry", content=REGISTRY_CSV.encode(), headers=h).json()
    assert again["unchanged"] == 1 and again["inserted"] == 0

    assert world.client.post("/v1/registry", content=REGISTRY_CSV.encode(),
                             headers={**world.h("admin"), "Content-Type": "application/json"}).status_code == 415
    bad = world.client.post("/v1/registry", content=b"id_number,full_name\n1,x\n", headers=h)
    assert bad.status_code == 422 and "date_of_birth" in bad.json()["detail"]
    assert world.client.post("/v1/registry", content="Hồng".encode("utf-16"), headers=h).status_code == 422


# ------------------------------------------------------------------ the CLI
def test_keys_round_trip_on_the_command_line(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sohoa.cli._services", lambda **_: world.svc)
    runner = CliRunner()
    made = runner.invoke(cli_app, ["keys", "create", "--role", "downstream", "--label", "HCC portal"])
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip()
    assert secret.startswith("sohoa_") and "\n" not in secret  # the secret alone, for scripts
    row = keys.lookup(world.svc.sessions, secret)
    assert row is not None and row.role == "downstream" and row.label == "HCC portal"
    assert row.id in made.stderr
    h = {"X-API-Key": secret}
    assert world.client.get(f"/v1/results/{world.result_code}", headers=h).status_code == 200

    listed = runner.invoke(cli_app, ["keys", "list"])
    assert listed.exit_code == 0 and row.id in listed.stdout and secret not in listed.output

    revoked = runner.invoke(cli_app, ["keys", "revoke", row.id])
    assert revoked.exit_code == 0 and "revoked" in revoked.stdout
    assert keys.lookup(world.svc.sessions, secret) is None
    assert world.client.get(f"/v1/results/{world.result_code}", headers=h).status_code == 401

    assert runner.invoke(cli_app, ["keys", "revoke", "k-nope"]).exit_code == 1
    refused = runner.invoke(cli_app, ["keys", "create", "--role", "scanner"])
    assert refused.exit_code == 2 and "needs a branch" in refused.stderr


def test_the_dossier_chain_names_the_key_that_handed_the_files_in(settings, svc) -> None:
    from fastapi.testclient import TestClient

    from api.keys import create_key
    from api.main import create_app
    from sohoa import chain

    row, secret = create_key(svc.sessions, "scanner", branch="CN7", label="desk 3")
    with TestClient(create_app(settings, services=svc, embedded_worker=False)) as client:
        r = client.post("/v1/batches", files=[("files", ("a.png", b"\x89PNG\r\n\x1a\n", "image/png"))],
                        headers={"X-API-Key": secret})
    assert r.status_code == 202
    [received] = chain.events(svc, r.json()["batch_id"])
    assert received.type == "received" and received.actor.endswith(f"/branch:CN7/{row.id}")


def test_the_audit_log_cannot_be_rewritten(world: World) -> None:
    import sqlalchemy.exc
    from sqlalchemy import delete, update

    world.client.get(f"/v1/results/{world.result_code}", headers=world.h("downstream"))
    for statement in (update(AuditRow).values(actor="someone else"), delete(AuditRow)):
        with pytest.raises(sqlalchemy.exc.DatabaseError, match="append-only"):
            with world.svc.sessions() as s, s.begin():
                s.execute(statement)
    with world.svc.sessions() as s:
        assert s.scalars(select(AuditRow.actor).where(AuditRow.action == "read_result")).all() == \
            [world.ids["downstream"]]
