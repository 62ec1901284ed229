"""BagIt export and import of a dossier (sohoa/bag.py): the bag validates, another installation
serves the same results from it byte for byte, and a bag altered in any way that BagIt alone
cannot see is refused without writing anything."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import bagit
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from typer.testing import CliRunner

from sohoa import chain, dossiers, pipeline
from sohoa.bag import ExportRefused, export_dossier, import_bag
from sohoa.cli import app
from sohoa.config import Settings
from sohoa.services import Services, build_services
from storage import changes
from storage.db import BatchRow, DocumentRow, EventRow, FileRow
from storage.objects import original_key, sha256

from .conftest import fresh_database
from .docs import card_lines, text_pdf

ROWS = (BatchRow, FileRow, DocumentRow, EventRow)


@pytest.fixture
def other_database_url() -> Iterator[str | None]:
    """The second installation's own database (sharing the first's would make every import a no-op)."""
    with fresh_database() as url:
        yield url


@pytest.fixture
def other(tmp_path: Path, other_database_url: str | None) -> Iterator[Services]:
    services = build_services(Settings(data_dir=tmp_path / "other", database_url=other_database_url))
    yield services
    services.sessions.kw["bind"].dispose()


DOSSIER = "000.00.15.H42-261120-0031"


def processed_dossier(svc: Services, cards: int = 2) -> tuple[str, list[str], list[str]]:
    """(batch id, file ids, result codes) of a dossier of born-digital card PDFs, processed."""
    batch = pipeline.create_batch(svc, "B1", dossier_code=DOSSIER)
    files = [fid for n in range(1, cards + 1) for fid in pipeline.receive(svc, batch, f"card-{n}.pdf",
                                                                          text_pdf(card_lines(n)))]
    codes = [r.result_code for fid in files for r in pipeline.process_file(svc, fid)]
    assert len(codes) == cards and all(codes)
    for code in codes:
        assert chain.events(svc, code), "processing recorded no provenance events"
    return batch, files, codes


@pytest.fixture
def exported(svc: Services, tmp_path: Path) -> tuple[str, list[str], list[str], Path]:
    batch, files, codes = processed_dossier(svc)
    return batch, files, codes, export_dossier(svc, batch, tmp_path / "bag")


def counts(svc: Services) -> dict[str, int]:
    with svc.sessions() as s:
        return {t.__tablename__: s.scalar(select(func.count()).select_from(t)) for t in ROWS}


def assert_untouched(svc: Services) -> None:
    assert svc.store.list("") == []
    assert set(counts(svc).values()) == {0}


# ---------------------------------------------------------------- export
def test_export_makes_a_valid_bag_of_everything_and_records_it(svc, exported) -> None:
    batch, files, codes, path = exported
    bag = bagit.Bag(str(path))
    bag.validate()
    assert set(bag.algorithms) == {"sha256", "sha512"}
    assert bag.info["External-Identifier"] == batch
    assert bag.info["Bag-Software-Agent"].startswith("sohoa ")
    assert "Source-Organization" in bag.info and "Bagging-Date" in bag.info and "Payload-Oxum" in bag.info
    data = path / "data"
    with svc.sessions() as s:
        digests = [s.get(FileRow, fid).sha256 for fid in files]
    for digest in digests:
        assert (data / "originals" / f"{digest}.pdf").read_bytes() == svc.store.get(original_key(digest))
    for code in codes:
        keys = svc.store.list(f"results/{code}/")
        assert any("/events/" in k for k in keys) and f"results/{code}/result.json" in keys
        for key in keys:
            assert (data / key).read_bytes() == svc.store.get(key), key
        meta = json.loads((data / "metadata" / "documents" / f"{code}.json").read_text())
        assert meta["type_name"] == "Căn cước công dân" and meta["file_code"] == DOSSIER  # the national code
    dossier = json.loads((data / "metadata" / "dossier.json").read_text())
    assert dossier["doc_total"] == 2 and dossier["page_total"] == 2 and dossier["documents"] == codes
    *bagged, export_event = svc.store.list(f"dossiers/{batch}/events/")  # the export comes after the bag
    assert sorted(p.name for p in (data / "dossier" / "events").iterdir()) == [k.rsplit("/", 1)[1] for k in bagged]
    for key in bagged:
        assert (data / "dossier" / "events" / key.rsplit("/", 1)[1]).read_bytes() == svc.store.get(key)
    public = serialization.load_pem_public_key((data / "public_key.pem").read_bytes())
    assert public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw) == \
        svc.signing_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    last = chain.events(svc, batch)[-1]
    assert chain.event_key(batch, last.seq) == export_event and last.type == "export" and last.parameters["path"] == str(path)
    assert last.outputs == {"bag-manifest-sha256.txt": sha256((path / "manifest-sha256.txt").read_bytes())}
    assert chain.verify_subject(svc, batch) == []


def test_export_refuses_an_unfinished_dossier(svc, tmp_path) -> None:
    batch = pipeline.create_batch(svc, "B1")
    pipeline.receive(svc, batch, "card.pdf", text_pdf(card_lines(3)))
    with pytest.raises(ExportRefused, match=r"card.pdf: not processed yet \(queued\)"):
        export_dossier(svc, batch, tmp_path / "bag")
    assert not (tmp_path / "bag").exists()


def test_export_refuses_a_dossier_whose_provenance_no_longer_verifies(svc, tmp_path) -> None:
    batch, _, codes = processed_dossier(svc, cards=1)
    svc.store.put(f"results/{codes[0]}/text.txt", b"rewritten behind provenance's back")
    with pytest.raises(ExportRefused, match=f"results/{codes[0]}/text.txt"):
        export_dossier(svc, batch, tmp_path / "bag")
    assert not (tmp_path / "bag").exists()
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".bag")] == []  # no staging left behind


def test_export_refuses_a_dossier_whose_original_is_gone(svc, tmp_path) -> None:
    batch, files, _ = processed_dossier(svc, cards=1)
    with svc.sessions() as s:
        key = s.get(FileRow, files[0]).original_key
    svc.store.delete(key)
    with pytest.raises(ExportRefused, match=f"card-1.pdf: its original {key} is missing"):
        export_dossier(svc, batch, tmp_path / "bag")


# ---------------------------------------------------------------- import
def test_import_serves_the_same_results_with_byte_identical_objects(svc, other, exported) -> None:
    batch, files, codes, path = exported
    report = import_bag(other, path)
    assert report.accepted and report.problems == []
    assert report.results == sorted(codes) and report.batch_id == batch

    for code in codes:
        mine, theirs = pipeline.get_result(svc, code), pipeline.get_result(other, code)
        assert theirs is not None and theirs.fields == mine.fields and theirs == mine
        keys = svc.store.list(f"results/{code}/")
        assert other.store.list(f"results/{code}/") == keys
        for key in keys:
            assert other.store.get(key) == svc.store.get(key), key
        assert other.store.get(original_key(mine.source.sha256)) == svc.store.get(original_key(mine.source.sha256))
        # the signed chain came across unaltered: it verifies here with the sender's key, rows and objects alike
        assert chain.verify_subject(other, code, public=svc.signing_key.public_key()) == []
    for fid in files:
        assert [r.result_code for r in pipeline.results_for_file(other, fid)] == \
            [r.result_code for r in pipeline.results_for_file(svc, fid)]
        with other.sessions() as s:
            assert s.get(FileRow, fid).state == "done"
    with other.sessions() as s:  # the citizen's tracking lookup goes on working at the receiver
        tracked = dossiers.tracking(dossiers.load(s, DOSSIER))
    assert (tracked.status, tracked.digitised) == ("digitised", len(codes))
    with other.sessions() as s:  # and downstream systems there hear of the results
        assert sorted(c.result_code for c in changes.after(s, 0, 100)) == sorted(codes)

    # The import is recorded on this installation's chain of the dossier, after the sender's events.
    theirs = chain.events(other, batch)
    sent = [e for e in chain.events(svc, batch) if e.type != "export"]
    assert [e.hash for e in theirs[:-1]] == [e.hash for e in sent]
    assert theirs[-1].type == "import" and theirs[-1].prev_hash == sent[-1].hash
    assert theirs[-1].inputs == {"bag-manifest-sha256.txt": sha256((path / "manifest-sha256.txt").read_bytes())}


def test_importing_the_same_bag_twice_adds_nothing(other, exported) -> None:
    path = exported[3]
    assert import_bag(other, path).accepted
    before, objects = counts(other), other.store.list("")
    again = import_bag(other, path)
    assert again.accepted and again.already_imported
    assert counts(other) == before and other.store.list("") == objects


def test_a_bag_can_go_back_to_where_it_came_from(svc, exported) -> None:
    path = exported[3]
    before = counts(svc)
    report = import_bag(svc, path)
    assert report.accepted, report.problems
    after = counts(svc)
    assert after["events"] == before["events"] + 1  # the import event, nothing duplicated
    assert {k: v for k, v in after.items() if k != "events"} == {k: v for k, v in before.items() if k != "events"}


# ---------------------------------------------------------------- tampering
def tampered(path: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "tampered"
    shutil.copytree(path, copy)
    return copy


def remanifest(path: Path) -> None:
    """What someone covering their tracks does: BagIt's manifests made to match the new bytes."""
    bagit.Bag(str(path)).save(manifests=True)
    bagit.Bag(str(path)).validate()


def flip_byte(file: Path) -> None:
    data = bytearray(file.read_bytes())
    data[len(data) // 2] ^= 0x01
    file.write_bytes(bytes(data))


def refused(other: Services, path: Path) -> list[str]:
    report = import_bag(other, path)
    assert not report.accepted and report.problems
    assert_untouched(other)
    return report.problems


def test_a_changed_byte_fails_bagit_and_is_refused(other, exported, tmp_path) -> None:
    code, path = exported[2][0], tampered(exported[3], tmp_path)
    flip_byte(path / "data" / "results" / code / "text.txt")
    problems = refused(other, path)
    assert any(p.startswith("bagit:") and f"results/{code}/text.txt" in p for p in problems)


def test_a_changed_byte_with_rewritten_manifests_is_caught_by_provenance(other, exported, tmp_path) -> None:
    code, path = exported[2][0], tampered(exported[3], tmp_path)
    flip_byte(path / "data" / "results" / code / "text.txt")
    remanifest(path)
    problems = refused(other, path)
    assert not any(p.startswith("bagit:") for p in problems)
    assert f"results/{code}/text.txt: its SHA-256 differs from the one recorded in provenance (altered)" in problems


def test_a_changed_original_with_rewritten_manifests_is_refused(svc, other, exported, tmp_path) -> None:
    code, path = exported[2][0], tampered(exported[3], tmp_path)
    digest = pipeline.get_result(svc, code).source.sha256
    flip_byte(path / "data" / "originals" / f"{digest}.pdf")
    remanifest(path)
    problems = refused(other, path)
    assert f"data/originals/{digest}.pdf: its bytes do not hash to the SHA-256 it is named by" in problems
    assert f"{original_key(digest)}: its SHA-256 differs from the one recorded in provenance (altered)" in problems


def test_an_altered_event_with_rewritten_manifests_is_refused(other, exported, tmp_path) -> None:
    code, path = exported[2][0], tampered(exported[3], tmp_path)
    events = sorted((path / "data" / "results" / code / "events").iterdir())
    target = next(e for e in events if json.loads(e.read_text())["type"] == "extract")
    event = json.loads(target.read_text())
    event["parameters"]["review_threshold"] = 0.0  # "nothing needed review"
    target.write_text(json.dumps(event, indent=2, ensure_ascii=False))
    remanifest(path)
    problems = refused(other, path)
    seq = event["seq"]
    assert f"{code} event {seq} (extract): its content does not match its hash (altered)" in problems


def test_an_event_re_signed_with_another_key_is_refused(other, exported, tmp_path) -> None:
    code, path = exported[2][0], tampered(exported[3], tmp_path)
    target = min((path / "data" / "results" / code / "events").iterdir())
    event = chain.Event.model_validate_json(target.read_bytes())
    forged = chain.sign_event(event.model_copy(update={"actor": "someone else"}), Ed25519PrivateKey.generate())
    target.write_text(forged.model_dump_json(indent=2))
    remanifest(path)
    problems = refused(other, path)
    assert any(p.startswith(f"{code} event 1 (") and "signature does not verify" in p for p in problems)
    assert any(p.startswith(f"{code} event 2 (") and "does not link" in p for p in problems)


def test_a_removed_event_with_rewritten_manifests_is_refused(other, exported, tmp_path) -> None:
    code, path = exported[2][0], tampered(exported[3], tmp_path)
    (path / "data" / "results" / code / "events" / "000002.json").unlink()
    remanifest(path)
    problems = refused(other, path)
    assert any(p.startswith(f"{code} event 2 (") and "numbered 3, expected 2" in p for p in problems)
    assert any(p.startswith(f"{code} event 2 (") and "does not link to the event before it" in p for p in problems)


def test_a_chain_cut_short_at_its_end_leaves_its_objects_unvouched(other, exported, tmp_path) -> None:
    code, path = exported[2][0], tampered(exported[3], tmp_path)
    last = max((path / "data" / "results" / code / "events").iterdir())
    assert json.loads(last.read_text())["type"] == "store"
    last.unlink()  # every link before it still holds
    remanifest(path)
    problems = refused(other, path)
    assert f"results/{code}/result.json: no event of the bag names it, so nothing vouches for it" in problems


def test_an_object_slipped_into_a_result_is_refused(other, exported, tmp_path) -> None:
    code, path = exported[2][0], tampered(exported[3], tmp_path)
    (path / "data" / "results" / code / "copies").mkdir()
    (path / "data" / "results" / code / "copies" / "1.pdf").write_bytes(b"%PDF-1.7 a copy nobody issued")
    remanifest(path)
    problems = refused(other, path)
    assert problems == [f"results/{code}/copies/1.pdf: no event of the bag names it, so nothing vouches for it"]


def test_an_import_that_would_overwrite_something_different_is_refused(svc, other, exported, tmp_path) -> None:
    code = exported[2][0]
    other.store.put(f"results/{code}/text.txt", b"this installation's own text")
    report = import_bag(other, exported[3])
    assert not report.accepted
    assert report.problems == [f"results/{code}/text.txt: this service already holds a different object under that key"]
    assert other.store.list("") == [f"results/{code}/text.txt"] and set(counts(other).values()) == {0}


# ---------------------------------------------------------------- command line
def test_cli_exports_and_imports(svc, other, tmp_path, monkeypatch) -> None:
    batch, _, codes = processed_dossier(svc, cards=1)
    monkeypatch.setattr("sohoa.cli._services", lambda **_: svc)
    assert CliRunner().invoke(app, ["export", batch, str(tmp_path / "bag")]).exit_code == 0
    shutil.copytree(tmp_path / "bag", tmp_path / "bad")
    flip_byte(tmp_path / "bad" / "data" / "results" / codes[0] / "result.json")

    monkeypatch.setattr("sohoa.cli._services", lambda **_: other)
    bad = CliRunner().invoke(app, ["import", str(tmp_path / "bad")])
    assert bad.exit_code == 1 and json.loads(bad.stdout)["accepted"] is False
    ok = CliRunner().invoke(app, ["import", str(tmp_path / "bag")])
    assert ok.exit_code == 0 and json.loads(ok.stdout)["results"] == codes
