"""The MinIO/S3 object store over real HTTP, against moto's S3-compatible server on loopback.

What this does not prove: MinIO-specific behaviour (erasure coding, object lock, multi-node);
the production-deployment issue covers those.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time

import pytest

from storage.objects import ObjectNotFound


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    pytest.importorskip("moto.server")
    port = free_port()
    exe = shutil.which("moto_server") or shutil.which("moto_server", path=str(__import__("pathlib").Path(sys.executable).parent))
    cmd = [exe] if exe else [sys.executable, "-m", "moto.server"]
    proc = subprocess.Popen([*cmd, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("moto server did not start")
    yield f"127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)


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


def test_pipeline_runs_on_s3(s3_endpoint, tmp_path) -> None:
    from sohoa import pipeline
    from sohoa.config import Settings
    from sohoa.services import build_services

    from .docs import card_png

    settings = Settings(data_dir=tmp_path / "d", storage_backend="s3", s3_endpoint=s3_endpoint,
                        s3_access_key="test", s3_secret_key="testsecret", s3_bucket="sohoa-pipe", s3_region="us-east-1")
    svc = build_services(settings)
    batch = pipeline.create_batch(svc, "S3")
    [fid] = pipeline.receive(svc, batch, "card.png", card_png())
    [res] = pipeline.process_file(svc, fid)
    assert res.doc_type == "cccd"
    keys = svc.store.list(f"results/{res.result_code}/")
    assert {k.rsplit("/", 1)[-1] for k in keys} >= {"result.json", "text.txt", "provenance.json", "1.png"}
    assert not (tmp_path / "d" / "objects").exists()
