"""The provenance event chain: what processing records, and that `verify` finds any single-byte
change of any stored object or event, a removed event, a foreign signature; the fixity audit."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from sohoa import chain, fixity, pipeline
from sohoa.cli import app
from storage.db import EventRow

from .docs import card_lines, text_pdf


@pytest.fixture
def stored(svc):
    """One processed document: (services, result code, batch id)."""
    batch = pipeline.create_batch(svc, "CN1")
    [fid] = pipeline.receive(svc, batch, "card.pdf", text_pdf(card_lines(7)))
    [res] = pipeline.process_file(svc, fid)
    return svc, res.result_code, batch


def test_processing_records_a_signed_chain_that_verifies(stored) -> None:
    svc, code, batch = stored
    types = [e.type for e in chain.events(svc, code)]
    assert types == ["ingest", "read_page", "extract", "verify", "store"]
    assert [e.premis_type for e in chain.events(svc, code)][:1] == ["ingestion"]
    assert all(e.at.utcoffset().total_seconds() == 7 * 3600 for e in chain.events(svc, code))
    assert chain.verify_subject(svc, code) == []
    # The dossier's chain: the reception, then the stored document pointing at the result's chain head.
    dossier = chain.events(svc, batch)
    assert [e.type for e in dossier] == ["received", "document_stored"]
    assert dossier[1].outputs == {code: chain.events(svc, code)[-1].hash}
    assert chain.verify_subject(svc, batch) == []
    store_event = chain.events(svc, code)[-1]
    assert f"results/{code}/result.json" in store_event.outputs


def _flip(path, at: int) -> bytes:
    data = path.read_bytes()
    changed = bytearray(data)
    changed[at] ^= 0x01
    path.write_bytes(bytes(changed))
    return data


def _names_event(key: str, problem: str) -> bool:
    if "/events/" not in key:
        return False
    seq = int(key.rsplit("/", 1)[1].split(".")[0])
    return f"event {seq} " in problem or f"event {seq}:" in problem


def test_verify_detects_every_single_byte_change_of_every_object_and_event(stored) -> None:
    svc, code, _ = stored
    root = svc.settings.objects_dir
    keys = sorted(set(chain.recorded_objects(chain.events(svc, code))) | set(svc.store.list(chain.events_prefix(code))))
    assert any(k.startswith("originals/") for k in keys) and any("/events/" in k for k in keys)
    trials = missed = 0
    for key in keys:
        path = root / key
        size = path.stat().st_size
        for at in sorted({0, size // 3, size // 2, size - 1}):
            original = _flip(path, at)
            trials += 1
            problems = chain.verify_subject(svc, code)
            if not any(key in p or _names_event(key, p) for p in problems):
                missed += 1
            path.write_bytes(original)
    assert trials >= 3 * len(keys) and missed == 0, f"{missed} of {trials} single-byte changes went unnoticed"
    assert chain.verify_subject(svc, code) == []  # everything put back: sound again


def test_a_removed_event_an_altered_database_row_and_a_foreign_key_are_named(stored, tmp_path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    svc, code, _ = stored
    other = Ed25519PrivateKey.generate().public_key()
    assert any("signature does not verify" in p for p in chain.verify_subject(svc, code, other))

    with svc.sessions() as s, s.begin():  # someone edits the database's copy of an event
        row = s.query(EventRow).filter_by(subject=code, seq=3).one()
        altered = dict(row.event, actor="someone else")
        s.execute(update(EventRow).where(EventRow.id == row.id).values(event=altered))
    assert any(p.startswith("database copy:") and "altered" in p for p in chain.verify_subject(svc, code))
    with svc.sessions() as s, s.begin():
        s.execute(update(EventRow).where(EventRow.id == row.id).values(event=row.event))

    (svc.settings.objects_dir / chain.event_key(code, 2)).unlink()
    problems = chain.verify_subject(svc, code)
    assert any("missing in storage" in p for p in problems)
    assert any("does not link" in p or "expected 2" in p for p in problems)


def test_verify_command_says_what_is_wrong(stored, monkeypatch) -> None:
    svc, code, _ = stored
    monkeypatch.setenv("SOHOA_DATA_DIR", str(svc.settings.data_dir))
    monkeypatch.setattr("sohoa.cli._services", lambda **_: svc)
    ok = CliRunner().invoke(app, ["verify", code])
    assert ok.exit_code == 0 and "5 events" in ok.output
    _flip(svc.settings.objects_dir / f"results/{code}/text.txt", 0)
    bad = CliRunner().invoke(app, ["verify", code])
    assert bad.exit_code == 1 and f"results/{code}/text.txt" in bad.output


def test_fixity_audit_finds_damage_and_loss_and_records_it(stored) -> None:
    svc, code, batch = stored
    report = fixity.audit(svc, fixity.subjects(svc))
    assert report.problems == [] and report.objects >= 7
    assert chain.events(svc, code)[-1].type == "fixity_check" and chain.events(svc, code)[-1].outcome == "success"

    _flip(svc.settings.objects_dir / f"results/{code}/alto/1.xml", 10)
    (svc.settings.objects_dir / f"results/{code}/text.txt").unlink()
    report = fixity.audit(svc, [code])
    assert sorted(report.problems) == [f"results/{code}/alto/1.xml: damaged", f"results/{code}/text.txt: missing"]
    last = chain.events(svc, code)[-1]
    assert last.outcome == "failure" and last.parameters["missing"] == [f"results/{code}/text.txt"]
    # The audit's own events keep the chain sound; verify still names the damage (not hidden by
    # the audit having recorded the damaged bytes' hash).
    problems = chain.verify_subject(svc, code)
    assert not any("signature" in p or "link" in p for p in problems)
    assert any("alto/1.xml" in p for p in problems) and any("text.txt: missing" in p for p in problems)


def test_audit_selects_by_date_and_sample(stored) -> None:
    from datetime import datetime, timedelta

    svc, code, batch = stored
    now = datetime.now().astimezone()
    assert set(fixity.subjects(svc)) == {code, batch}
    assert fixity.subjects(svc, since=now + timedelta(hours=1)) == []
    assert len(fixity.subjects(svc, sample=1, seed=1)) == 1


def test_the_periodic_audit_task_records_damage(stored, monkeypatch) -> None:
    from workers import tasks

    svc, code, _ = stored
    monkeypatch.setattr(tasks, "_services", lambda: svc)
    assert "audit" in tasks.celery_app.conf.beat_schedule
    _flip(svc.settings.objects_dir / f"results/{code}/result.json", 5)
    assert tasks.audit_task.apply().get() == 1
    assert chain.events(svc, code)[-1].outcome == "failure"


def test_the_state_already_holds_a_verified_card_and_says_so(svc) -> None:
    from fastapi.testclient import TestClient

    from api.main import create_app
    from sohoa import registry

    from .test_cli import REGISTRY

    registry.import_csv(REGISTRY, svc.sessions, "r.csv")
    batch = pipeline.create_batch(svc, "CN1")
    [fid] = pipeline.receive(svc, batch, "card.pdf", text_pdf(card_lines(1234)))  # 074187001234
    [res] = pipeline.process_file(svc, fid)
    assert res.doc_type == "cccd" and res.verification.status == "match"
    with TestClient(create_app(svc.settings, services=svc, embedded_worker=False)) as client:
        h = {"X-API-Key": "test-key", "X-Purpose": "card-renewal"}
        yes = client.post("/v1/holdings", json={"doc_type": "cccd", "id_number": "074187001234"}, headers=h).json()
        assert yes["held"] and [x["result_code"] for x in yes["holdings"]] == [res.result_code]
        assert yes["holdings"][0]["provenance_ok"] and yes["holdings"][0]["expired"] is False
        no = client.post("/v1/holdings", json={"doc_type": "cccd", "id_number": "074187009999"}, headers=h).json()
        assert no == {"held": False, "holdings": []}
        assert client.post("/v1/holdings", json={"doc_type": "cccd", "id_number": "12ab"}, headers=h).status_code == 422
        # A result whose provenance no longer verifies is not offered as held.
        event = svc.settings.objects_dir / chain.event_key(res.result_code, 2)
        _flip(event, event.stat().st_size // 2)
        tampered = client.post("/v1/holdings", json={"doc_type": "cccd", "id_number": "074187001234"}, headers=h).json()
        assert not tampered["held"] and tampered["holdings"][0]["provenance_ok"] is False


def test_a_chain_continued_by_another_service_verifies_with_both_keys(svc) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    # Two events signed by another province's service (as in an imported bag), then one of ours.
    theirs = Ed25519PrivateKey.generate()
    first = chain.sign_event(chain.new_event("b-imported", "received", 1, chain.GENESIS, "them"), theirs)
    second = chain.sign_event(chain.new_event("b-imported", "export", 2, first.hash, "them"), theirs)
    chain.put(svc, [first, second])
    with svc.sessions() as s, s.begin():
        s.add_all([chain.row(first), chain.row(second)])
    chain.append(svc, "b-imported", "import", "us")
    assert any("not a trusted key here" in p for p in chain.verify_subject(svc, "b-imported"))
    pem = theirs.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    svc.store.put("keys/imported/theirs.pem", pem)
    assert chain.verify_subject(svc, "b-imported") == []
