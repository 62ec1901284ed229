"""Reading results (fields only, with text, with files), the change feed, and reviewers'
corrections: normalised, re-verified, recorded in provenance, announced in the feed."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api import keys
from api.main import create_app
from sohoa import chain, pipeline, registry, review
from storage import changes
from storage.db import DocumentRow

from .docs import card_lines, text_pdf

ID_NUMBER = "074187001234"  # card_lines(1234): Nguyễn Thị Hồng Nhung, born 12/03/1987
# The registry's record differs in the date of birth: the read card mismatches until corrected.
REGISTRY = ("id_number,full_name,date_of_birth,sex,place_of_residence\n"
            f"{ID_NUMBER},Nguyễn Thị Hồng Nhung,1987-03-21,Nữ,\n")


@dataclass
class World:
    client: TestClient
    svc: object
    key: dict[str, str]  # role -> secret
    code: str  # the card's result code

    def h(self, role: str) -> dict[str, str]:
        return {"X-API-Key": self.key[role], "X-Purpose": "test"}


@pytest.fixture
def world(svc) -> Iterator[World]:
    registry.import_csv(REGISTRY, svc.sessions, source="test")
    secrets = {role: keys.create_key(svc.sessions, role, branch="CN1" if role == "scanner" else None)[1]
               for role in keys.ROLES}
    batch = pipeline.create_batch(svc, "CN1")
    [fid] = pipeline.receive(svc, batch, "card.pdf", text_pdf(card_lines(1234)))
    [res] = pipeline.process_file(svc, fid)
    assert res.verification.status == "mismatch" and res.verification.mismatched_fields == ["date_of_birth"]
    with TestClient(create_app(svc.settings, services=svc, embedded_worker=False)) as client:
        yield World(client, svc, secrets, res.result_code)


# ============================================================================ fetch
def test_a_result_is_fetched_with_fields_only_with_text_or_with_files(world: World) -> None:
    url = f"/v1/results/{world.code}"
    fields = world.client.get(url, params={"content": "fields"}, headers=world.h("downstream")).json()
    text = world.client.get(url, headers=world.h("downstream")).json()  # the default
    assert fields["fields"] == text["fields"] and fields["fields"]["id_number"] == ID_NUMBER
    assert fields["text"] == "" and "NGUYỄN THỊ HỒNG NHUNG" in text["text"]
    assert "files" not in fields and "files" not in text

    denied = world.client.get(url, params={"content": "files"}, headers=world.h("downstream"))
    assert denied.status_code == 403 and denied.json()["code"] == "files_not_allowed"

    files = world.client.get(url, params={"content": "files"}, headers=world.h("archivist")).json()["files"]
    names = {f["name"] for f in files}
    assert {"original", "result.json", "text.txt", "provenance.json"} <= names
    for f in files:  # each downloads, and is the bytes provenance recorded
        got = world.client.get(f["url"], headers=world.h("archivist"))
        assert got.status_code == 200, f["name"]
        assert hashlib.sha256(got.content).hexdigest() == f["sha256"], f["name"]
    assert next(f for f in files if f["name"] == "original")  # the PDF as received
    original = world.client.get(f"/v1/results/{world.code}/files/original", headers=world.h("archivist"))
    assert original.headers["content-type"] == "application/pdf" and original.content.startswith(b"%PDF")


@pytest.mark.parametrize("name", ["nope.txt", "../../keys/provenance-ed25519.pem", "events/0001.json",
                                  "%2e%2e/%2e%2e/api_key"])
def test_only_files_provenance_recorded_can_be_downloaded(world: World, name: str) -> None:
    r = world.client.get(f"/v1/results/{world.code}/files/{name}", headers=world.h("archivist"))
    assert r.status_code == 404
    assert b"BEGIN PRIVATE KEY" not in r.content


def test_an_unknown_result_is_a_404_with_a_stable_code(world: World) -> None:
    r = world.client.get("/v1/results/KQ-NOPE", headers=world.h("downstream"))
    assert r.status_code == 404 and r.json()["code"] == "result_not_found"


# ============================================================================ the change feed
def test_the_change_feed_lists_new_results_after_a_cursor(world: World) -> None:
    svc = world.svc
    batch = pipeline.create_batch(svc, "CN1")
    [fid] = pipeline.receive(svc, batch, "card2.pdf", text_pdf(card_lines(55)))
    [second] = pipeline.process_file(svc, fid)
    h = world.h("downstream")
    everything = world.client.get("/v1/changes", headers=h).json()
    assert [(c["result_code"], c["change"], c["doc_type"]) for c in everything["changes"]] == \
           [(world.code, "created", "cccd"), (second.result_code, "created", "cccd")]
    first_cursor = everything["changes"][0]["cursor"]
    after = world.client.get("/v1/changes", params={"after": first_cursor}, headers=h).json()
    assert [c["result_code"] for c in after["changes"]] == [second.result_code]
    # Caught up: nothing new, and the cursor stays where it is.
    idle = world.client.get("/v1/changes", params={"after": everything["next_after"]}, headers=h).json()
    assert idle == {"changes": [], "next_after": everything["next_after"]}
    assert world.client.get("/v1/changes", params={"doc_type": "birth_certificate"}, headers=h).json()["changes"] == []
    one = world.client.get("/v1/changes", params={"limit": 1}, headers=h).json()
    assert one["next_after"] == first_cursor


def test_a_result_processed_again_is_not_a_new_change(world: World) -> None:
    svc = world.svc
    with svc.sessions() as s:
        before = changes.latest(s)
    batch = pipeline.create_batch(svc, "CN2")
    pipeline.receive(svc, batch, "card-again.pdf", text_pdf(card_lines(1234)))  # identical bytes
    with svc.sessions() as s:
        assert changes.latest(s) == before


# ============================================================================ review
def _review(world: World, body: dict, role: str = "reviewer"):  # noqa: ANN202
    return world.client.post(f"/v1/results/{world.code}/review", json=body, headers=world.h(role))


def test_a_correction_is_normalised_reverified_recorded_and_announced(world: World) -> None:
    svc = world.svc
    r = _review(world, {"corrections": [{"field": "date_of_birth", "value": "21/03/1987"},
                                        {"field": "place_of_origin", "value": "Xã Quỳnh Đôi, huyện Quỳnh Lưu, tỉnh Nghệ An"}],
                        "reason": "the desk read the paper again"})
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["fields"]["date_of_birth"] == "1987-03-21"  # as extraction writes dates
    assert result["verification"]["status"] == "match"  # the registry check ran again
    assert result["confidence"]["date_of_birth"] == 1.0 and result["needs_review"] is False
    assert {"field": "date_of_birth", "rule": "corrected_by_reviewer", "ok": True} in \
           [{k: c[k] for k in ("field", "rule", "ok")} for c in result["checks"]]

    # Every reader sees the corrected result: the API, the stored result.json, search.
    fetched = world.client.get(f"/v1/results/{world.code}", headers=world.h("downstream")).json()
    assert fetched["fields"]["date_of_birth"] == "1987-03-21"
    stored = svc.store.get(f"results/{world.code}/result.json")
    assert b"1987-03-21" in stored
    assert [h.result_code for h in pipeline.search(svc, "quynh doi").hits] == [world.code]

    # Provenance: old value, new value, who, when, why; the chain still verifies, objects included.
    events = chain.events(svc, world.code)
    last = events[-1]
    reviewer_id = keys.lookup(svc.sessions, world.key["reviewer"]).id
    assert last.type == "review" and last.premis_type == "metadata modification" and last.actor == reviewer_id
    assert {"field": "date_of_birth", "old": "1987-03-12", "new": "1987-03-21"} in last.parameters["corrections"]
    assert last.parameters["reason"] == "the desk read the paper again"
    assert last.outputs[f"results/{world.code}/result.json"] == hashlib.sha256(stored).hexdigest()
    assert chain.verify_subject(svc, world.code) == []
    # The result as it was before is kept, named by the review event, and an archivist reads it.
    kept = f"history/result-before-{last.seq}.json"
    assert last.outputs[f"results/{world.code}/{kept}"] == last.inputs[f"results/{world.code}/result.json"]
    earlier = world.client.get(f"/v1/results/{world.code}/files/{kept}", headers=world.h("archivist"))
    assert earlier.status_code == 200 and earlier.json()["fields"]["date_of_birth"] == "1987-03-12"

    # Downstream hears of it.
    feed = world.client.get("/v1/changes", headers=world.h("downstream")).json()["changes"]
    assert [(c["result_code"], c["change"]) for c in feed] == [(world.code, "created"), (world.code, "corrected")]


@pytest.mark.parametrize(("correction", "named"), [
    ({"field": "salary_vnd", "value": "1"}, "salary_vnd: not a field"),
    ({"field": "date_of_birth", "value": "31/02/1987"}, "date_of_birth"),
    ({"field": "id_number", "value": "12345"}, "id_number"),
    ({"field": "sex", "value": "maybe"}, "sex"),
])
def test_a_correction_that_cannot_apply_is_refused_and_changes_nothing(world: World, correction: dict,
                                                                       named: str) -> None:
    before = chain.events(world.svc, world.code)
    r = _review(world, {"corrections": [correction]})
    assert r.status_code == 422 and r.json()["code"] == "invalid_correction"
    assert named in r.json()["detail"]
    assert chain.events(world.svc, world.code) == before
    assert world.client.get(f"/v1/results/{world.code}", headers=world.h("downstream")).json()["fields"][
        "date_of_birth"] == "1987-03-12"


def test_only_reviewers_correct(world: World) -> None:
    body = {"corrections": [{"field": "sex", "value": "Nam"}]}
    for role in ("scanner", "downstream", "archivist"):
        assert _review(world, body, role).status_code == 403
    assert _review(world, body).status_code == 200
    assert _review(world, body, "admin").status_code == 200


def test_removing_a_field_the_paper_does_not_have(world: World) -> None:
    r = _review(world, {"corrections": [{"field": "place_of_origin", "value": None}]})
    assert r.status_code == 200
    assert "place_of_origin" not in r.json()["fields"] and "place_of_origin" in r.json()["missing"]
    # And putting it back: a field listed as missing may be corrected too.
    back = _review(world, {"corrections": [{"field": "place_of_origin", "value": "Nghệ An"}]})
    assert back.status_code == 200 and back.json()["fields"]["place_of_origin"] == "Nghệ An"


def test_concurrent_reviews_of_one_result_are_both_recorded_in_one_valid_chain(world: World) -> None:
    svc = world.svc
    errors: list[Exception] = []

    def correct(value: str) -> None:
        try:
            review.apply(svc, world.code, review.Review(corrections=[review.Correction(field="sex", value=value)]),
                         "k-test")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=correct, args=(v,)) for v in ("Nam", "Nữ", "Nam")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    events = chain.events(svc, world.code)
    assert [e.type for e in events].count("review") == 3
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert chain.verify_subject(svc, world.code) == []
    # One after the other: each review started from the result the one before stored, and the
    # store holds what the database holds (no review put back bytes over another's).
    reviews = [e for e in events if e.type == "review"]
    key = f"results/{world.code}/result.json"
    for earlier, later in zip(reviews, reviews[1:]):
        assert later.inputs[key] == earlier.outputs[key]
    assert all(c.ok for c in chain.rehash(svc, chain.recorded_objects(events)))
    with svc.sessions() as s:
        row = s.scalar(select(DocumentRow).where(DocumentRow.result_code == world.code))
    assert json.loads(svc.store.get(key)) == row.result


def test_reviews_do_not_pile_up_the_registry_checks(world: World) -> None:
    # Without an id number the registry check says so (present_for_verification); each review
    # makes that check again and must replace, not repeat, the one before.
    assert _review(world, {"corrections": [{"field": "id_number", "value": None}]}).status_code == 200
    again = _review(world, {"corrections": [{"field": "sex", "value": "Nam"}]}).json()
    pairs = [(c["field"], c["rule"]) for c in again["checks"]]
    assert len(pairs) == len(set(pairs)), pairs
    assert ("id_number", "present_for_verification") in pairs and again["verification"]["status"] == "not_checked"
