"""The MinIO/S3 object store over real HTTP, against moto's S3-compatible server on loopback.

What this does not prove (moto is not MinIO): erasure coding, healing, several nodes, that the
server verifies Content-MD5 (moto accepts a wrong one), that a presigned URL stops working when
it expires (moto does not check), WORM as MinIO enforces it. See docs/storage.md.
"""

from __future__ import annotations

import base64
import hashlib
import io
import itertools
import os
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from storage.objects import (
    ObjectDamaged,
    ObjectNotFound,
    original_key,
    result_key,
    sha256,
)

from .servers import MotoS3

MIB = 1024 * 1024
_names = itertools.count()


@pytest.fixture(scope="module")
def s3_endpoint():
    server = MotoS3()
    yield server.endpoint
    server.stop()


def test_s3_store_roundtrip(s3_endpoint) -> None:
    from storage.s3 import S3ObjectStore

    store = S3ObjectStore(s3_endpoint, "test", "testsecret", "sohoa-test", region="us-east-1")
    data = "Giấy khai sinh".encode() * 1000
    digest = store.put("results/KQ-1/text.txt", data, "text/plain")
    assert store.get("results/KQ-1/text.txt") == data
    assert store.exists("results/KQ-1/text.txt") and not store.exists("results/KQ-1/none")
    assert store.list("results/") == ["results/KQ-1/text.txt"]
    stat = store.client.stat_object("sohoa-test", "results/KQ-1/text.txt")
    assert stat.metadata.get("x-amz-meta-sha256") == digest
    store.delete("results/KQ-1/text.txt")
    with pytest.raises(ObjectNotFound):
        store.get("results/KQ-1/text.txt")
    assert not store.exists("results/KQ-1/text.txt")


def new_store(endpoint: str, **options):
    from storage.s3 import S3ObjectStore

    return S3ObjectStore(endpoint, "test", "testsecret", f"sohoa-t{next(_names)}", region="us-east-1", **options)


def record_requests(store) -> list[tuple[str, str, dict[str, str], bytes | None]]:
    """Every HTTP request the store's client sends from now on: method, URL, headers, body."""
    seen: list[tuple[str, str, dict[str, str], bytes | None]] = []
    real = store.client._http.urlopen

    def spy(method, url, body=None, headers=None, **kw):
        seen.append((method, url, {k.lower(): v for k, v in (headers or {}).items()}, body))
        return real(method, url, body=body, headers=headers, **kw)

    store.client._http.urlopen = spy
    return seen


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def versions(store, key: str) -> list:
    return [o for o in store.client.list_objects(store.bucket, prefix=key, include_version=True) if o.object_name == key]


def test_large_upload_goes_multipart_and_every_body_carries_content_md5(s3_endpoint) -> None:
    store = new_store(s3_endpoint, part_size=6 * MIB)
    sent = record_requests(store)
    big = os.urandom(13 * MIB)
    digest = store.put("originals/xx/big", big)
    store.put("results/KQ-1/text.txt", b"small")

    puts = [(url, headers, body) for method, url, headers, body in sent if method == "PUT"]
    # Parts go up in parallel: put them back in order by their number.
    parts = sorted((p for p in puts if "partNumber=" in p[0]), key=lambda p: int(parse_qs(urlsplit(p[0]).query)["partNumber"][0]))
    assert len(parts) == 3 and b"".join(body for _, _, body in parts) == big
    assert [len(body) for _, _, body in parts] == [6 * MIB, 6 * MIB, 1 * MIB]  # our part size, not the SDK's
    assert len(puts) == 4  # three parts and one plain PUT for the small object
    for _, headers, body in puts:
        assert headers.get("content-md5") == md5_b64(body)

    stat = store.client.stat_object(store.bucket, "originals/xx/big")
    assert stat.etag.endswith("-3")  # S3's multipart ETag: md5 of the part md5s, then the part count
    assert stat.metadata.get("x-amz-meta-sha256") == digest == sha256(big)
    assert store.get("originals/xx/big") == big


def test_default_part_size_keeps_a_6_mib_scan_in_one_request(s3_endpoint) -> None:
    store = new_store(s3_endpoint)
    sent = record_requests(store)
    scan = os.urandom(6 * MIB)  # the SDK on its own would split this into 5 MiB parts
    store.put("originals/xx/scan", scan)
    puts = [url for method, url, _, _ in sent if method == "PUT"]
    assert len(puts) == 1 and "partNumber=" not in puts[0]
    assert store.get("originals/xx/scan") == scan


def test_part_size_below_the_s3_minimum_is_refused(s3_endpoint) -> None:
    from storage.s3 import StoreConfigError

    with pytest.raises(StoreConfigError, match="SOHOA_S3_PART_SIZE"):
        new_store(s3_endpoint, part_size=1 * MIB)


def test_get_refuses_bytes_that_do_not_match_their_sha256(s3_endpoint) -> None:
    store = new_store(s3_endpoint)
    key = result_key("KQ-9", "result.json")
    digest = store.put(key, b'{"doc_type": "cccd"}', "application/json")
    # Behind the store's back: other bytes, the old digest kept as metadata.
    store.client.put_object(store.bucket, key, io.BytesIO(b'{"doc_type": "xxxx"}'), 20, metadata={"sha256": digest})
    with pytest.raises(ObjectDamaged, match="KQ-9/result.json") as err:
        store.get(key)
    assert err.value.key == key

    # An original whose bytes and metadata agree with each other but not with the digest its key names.
    okey = original_key(sha256(b"the scan"))
    store.client.put_object(store.bucket, okey, io.BytesIO(b"another scan"), 12, metadata={"sha256": sha256(b"another scan")})
    with pytest.raises(ObjectDamaged, match=okey):
        store.get(okey)

    store.client.put_object(store.bucket, "results/KQ-9/bare.txt", io.BytesIO(b"x"), 1)
    with pytest.raises(ObjectDamaged, match="no sha256 metadata"):
        store.get("results/KQ-9/bare.txt")


def test_bucket_is_versioned_so_overwrites_and_deletes_keep_history(s3_endpoint) -> None:
    store = new_store(s3_endpoint)
    assert store.client.get_bucket_versioning(store.bucket).status == "Enabled"
    key = result_key("KQ-2", "result.json")
    store.put(key, b"first")
    store.put(key, b"second")
    kept = versions(store, key)
    assert len(kept) == 2 and len({v.version_id for v in kept}) == 2
    assert store.get(key) == b"second"

    store.delete(key)
    assert not store.exists(key)
    kept = [v for v in versions(store, key) if not v.is_delete_marker]
    assert sorted(store.client.get_object(store.bucket, key, version_id=v.version_id).read() for v in kept) \
        == [b"first", b"second"]


@pytest.mark.parametrize("mode", ["GOVERNANCE", "COMPLIANCE"])
def test_object_lock_keeps_originals_and_provenance_within_retention(s3_endpoint, mode: str) -> None:
    from minio.error import S3Error

    store = new_store(s3_endpoint, object_lock=True, retention_days=1, retention_mode=mode)
    rule = store.client.get_object_lock_config(store.bucket)
    assert (rule.mode, rule.duration, rule.duration_unit) == (mode, 1, "Days")
    assert mode in store.describe()

    scan = b"%PDF-1.7 the dossier"
    stored = {original_key(sha256(scan)): scan, result_key("KQ-3", "provenance.json"): b'{"signature": "..."}'}
    for key, data in stored.items():
        store.put(key, data)
        [version] = versions(store, key)
        with pytest.raises(S3Error) as err:
            store.client.remove_object(store.bucket, key, version_id=version.version_id)
        assert err.value.code == "AccessDenied"
        store.delete(key)  # only a delete marker: allowed, and the locked version stays
        assert store.client.get_object(store.bucket, key, version_id=version.version_id).read() == data

    # A second process (a worker beside the API) finds the bucket set up and starts on it.
    from storage.s3 import S3ObjectStore

    again = S3ObjectStore(s3_endpoint, "test", "testsecret", store.bucket, region="us-east-1",
                          object_lock=True, retention_days=1, retention_mode=mode)
    again.put("results/KQ-4/text.txt", b"after restart")
    assert again.get("results/KQ-4/text.txt") == b"after restart"


def test_object_lock_on_a_bucket_made_without_it_stops_startup(s3_endpoint) -> None:
    from storage.s3 import S3ObjectStore, StoreConfigError

    plain = new_store(s3_endpoint)
    with pytest.raises(StoreConfigError, match="SOHOA_S3_OBJECT_LOCK"):
        S3ObjectStore(s3_endpoint, "test", "testsecret", plain.bucket, region="us-east-1",
                      object_lock=True, retention_days=30)
    with pytest.raises(StoreConfigError, match="SOHOA_S3_RETENTION_DAYS"):
        new_store(s3_endpoint, retention_days=30)  # retention without object lock means nothing


def test_settings_reach_the_store(s3_endpoint, tmp_path) -> None:
    from pydantic import ValidationError

    from sohoa.config import Settings
    from sohoa.services import make_store

    settings = Settings(data_dir=tmp_path, storage_backend="s3", s3_endpoint=s3_endpoint, s3_access_key="test",
                        s3_secret_key="testsecret", s3_bucket="sohoa-settings", s3_region="us-east-1",
                        s3_part_size=7 * MIB, s3_object_lock=True, s3_retention_days=2, s3_retention_mode="COMPLIANCE")
    store = make_store(settings)
    assert store.part_size == 7 * MIB
    rule = store.client.get_object_lock_config("sohoa-settings")
    assert (rule.mode, rule.duration) == ("COMPLIANCE", 2)
    with pytest.raises(ValidationError, match="s3_part_size"):
        Settings(s3_part_size=4 * MIB)
    with pytest.raises(ValidationError, match="s3_retention_mode"):
        Settings(s3_retention_mode="FOREVER")


def test_presigned_get_serves_the_bytes_with_a_bounded_lifetime(s3_endpoint) -> None:
    store = new_store(s3_endpoint)
    scan = b"\x89PNG the card"
    key = original_key(store.put(original_key(sha256(scan)), scan))
    url = store.presigned_get(key, 2, content_type="image/png")
    assert url
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Expires"] == ["2"] and query["X-Amz-Signature"]
    resp = httpx.get(url)
    assert resp.status_code == 200 and resp.content == scan
    assert resp.headers["content-type"] == "image/png"
    assert store.presigned_get(key, 0) is None  # SOHOA_S3_PRESIGN_SECONDS=0: the API streams instead


def test_pipeline_runs_on_s3(s3_endpoint, tmp_path) -> None:
    from sohoa import pipeline
    from sohoa.config import Settings
    from sohoa.services import build_services

    from .docs import card_png

    settings = Settings(data_dir=tmp_path / "d", storage_backend="s3", s3_endpoint=s3_endpoint,
                        s3_access_key="test", s3_secret_key="testsecret", s3_bucket="sohoa-pipe", s3_region="us-east-1",
                        api_key="test-key")
    svc = build_services(settings)
    batch = pipeline.create_batch(svc, "S3")
    card = card_png()
    [fid] = pipeline.receive(svc, batch, "card.png", card)
    [res] = pipeline.process_file(svc, fid)
    assert res.doc_type == "cccd"
    keys = svc.store.list(f"results/{res.result_code}/")
    assert {k.rsplit("/", 1)[-1] for k in keys} >= {"result.json", "text.txt", "provenance.json", "1.png"}
    assert not (tmp_path / "d" / "objects").exists()

    # The API authorises and audits the download of an original, then sends the client to the store.
    from fastapi.testclient import TestClient
    from sqlalchemy import select

    from api.main import create_app
    from storage.db import AuditRow

    with TestClient(create_app(settings, services=svc, embedded_worker=False)) as client:
        resp = client.get(f"/v1/documents/{res.document_id}/original", follow_redirects=False,
                          headers={"X-API-Key": "test-key", "X-Purpose": "test"})
        with svc.sessions() as s:
            assert s.scalar(select(AuditRow).where(AuditRow.action == "read_original",
                                                   AuditRow.target == res.document_id)) is not None
    assert resp.status_code == 307
    assert parse_qs(urlsplit(resp.headers["location"]).query)["X-Amz-Expires"] == ["300"]
    direct = httpx.get(resp.headers["location"])
    assert direct.status_code == 200 and direct.content == card and direct.headers["content-type"] == "image/png"
