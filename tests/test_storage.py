"""Object store and metadata: durable writes, key safety, registry import, provenance signatures."""

from __future__ import annotations

from datetime import datetime

import pytest

from sohoa import registry
from sohoa.models import ProvenanceRecord, ProvenanceStep
from sohoa.provenance import load_or_create_key, sign, verify_signature
from storage.fs import FsObjectStore
from storage.objects import ObjectDamaged, ObjectNotFound, original_key, sha256


def test_fs_store_roundtrip_and_no_temp_leftovers(tmp_path) -> None:
    store = FsObjectStore(tmp_path)
    digest = store.put("results/KQ-1/text.txt", "Nguyễn Thị Hồng".encode())
    assert digest == sha256("Nguyễn Thị Hồng".encode())
    assert store.get("results/KQ-1/text.txt").decode() == "Nguyễn Thị Hồng"
    assert store.list("results/") == ["results/KQ-1/text.txt"]
    assert not [p for p in tmp_path.rglob(".tmp-*")]
    store.delete("results/KQ-1/text.txt")
    with pytest.raises(ObjectNotFound):
        store.get("results/KQ-1/text.txt")


def test_fs_store_lists_by_prefix_walking_only_the_folder_it_names(tmp_path, monkeypatch) -> None:
    store = FsObjectStore(tmp_path)
    for key in ("results/KQ-1/a.txt", "results/KQ-12/b.txt", "results/KQ-2/c.txt", "work/d/pages/00001.json"):
        store.put(key, b"x")
    assert store.list("results/KQ-1") == ["results/KQ-1/a.txt", "results/KQ-12/b.txt"]  # a prefix, not a folder
    assert store.list("results/KQ-1/") == ["results/KQ-1/a.txt"]
    assert store.list("") == sorted(["results/KQ-1/a.txt", "results/KQ-12/b.txt", "results/KQ-2/c.txt",
                                     "work/d/pages/00001.json"])
    assert store.list("nothing/here/") == []
    walked = []
    real_rglob = type(tmp_path).rglob
    monkeypatch.setattr(type(tmp_path), "rglob", lambda self, pattern: walked.append(self) or real_rglob(self, pattern))
    assert store.list("work/") == ["work/d/pages/00001.json"]
    assert walked == [tmp_path / "work"]  # not the whole store


def test_fs_store_checks_originals_against_the_digest_their_key_names(tmp_path) -> None:
    store = FsObjectStore(tmp_path)
    scan = b"%PDF-1.7 the dossier"
    key = original_key(store.put(original_key(sha256(scan)), scan))
    assert store.get(key) == scan
    (tmp_path / key).write_bytes(b"%PDF-1.7 the dossieR")  # one flipped byte on disk
    with pytest.raises(ObjectDamaged, match=key):
        store.get(key)
    # Derived artefacts keep no digest on disk: they are read as they are (and can be made again).
    store.put("results/KQ-1/text.txt", b"text")
    (tmp_path / "results/KQ-1/text.txt").write_bytes(b"txet")
    assert store.get("results/KQ-1/text.txt") == b"txet"
    assert store.presigned_get(key, 300) is None  # embedded mode: the API serves the bytes itself


@pytest.mark.parametrize("key", ["../x", "/etc/passwd", "a//b", "a/../b", ""])
def test_fs_store_refuses_unsafe_keys(tmp_path, key: str) -> None:
    with pytest.raises(ValueError):
        FsObjectStore(tmp_path).put(key, b"x")


CSV = """id_number,full_name,date_of_birth,sex,place_of_residence
074187001234,"Nguyễn Thị Hồng Nhung",1987-03-12,Nữ,"Số 12 đường Yersin, Phường Phú Cường, thành phố Thủ Dầu Một, tỉnh Bình Dương"
07418700123,"Short Id",1987-03-12,Nữ,"x"
079093762295,"Phạm Gia Trung",13/03/1993,Nam,"x"
079093762296,"Phạm Gia Trung",1993-03-13,Male,"x"
079093762297,"",1993-03-13,Nam,"x"
"""


def test_registry_import_is_idempotent_and_explains_rejections(svc) -> None:
    first = registry.import_csv(CSV, svc.sessions, "test.csv")
    assert (first.inserted, first.updated, first.unchanged) == (1, 0, 0)
    reasons = dict(first.rejected)
    assert set(reasons) == {3, 4, 5, 6}
    assert "9 or 12 digits" in reasons[3] and "YYYY-MM-DD" in reasons[4]
    assert "sex" in reasons[5] and "full_name" in reasons[6]
    again = registry.import_csv(CSV, svc.sessions, "test.csv")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 1)
    changed = registry.import_csv(CSV.replace("Nguyễn Thị Hồng Nhung", "Nguyễn Thị Hồng"), svc.sessions, "v2.csv")
    assert changed.updated == 1
    assert registry.lookup(svc.sessions, "074187001234")["full_name"] == "Nguyễn Thị Hồng"
    assert registry.lookup(svc.sessions, "000000000000") is None


def test_registry_import_requires_the_header(svc) -> None:
    with pytest.raises(ValueError, match="lacks column"):
        registry.import_csv("id,name\n1,a\n", svc.sessions, "bad.csv")


def test_provenance_signature_detects_tampering(tmp_path) -> None:
    key = load_or_create_key(tmp_path / "k.pem")
    assert load_or_create_key(tmp_path / "k.pem").public_key().public_bytes_raw() == key.public_key().public_bytes_raw()
    now = datetime.fromisoformat("2026-11-25T10:00:00+07:00")
    rec = ProvenanceRecord(result_code="KQ-X", document_id="d-1", created_at=now, steps=[
        ProvenanceStep(step="ocr", started_at=now, finished_at=now, actor="test", outputs={"text": "ab" * 32})])
    signed = sign(rec, key)
    assert verify_signature(signed, key.public_key())
    tampered = signed.model_copy(deep=True)
    tampered.steps[0].outputs["text"] = "cd" * 32
    assert not verify_signature(tampered, key.public_key())
