"""Distributed mode: claims and leases, routing, page fan-out, and the fault tests of issue 5 —
a worker killed with SIGKILL, object storage down for 30 s, Redis restarted (and emptied), the
database unreachable at ingest. Real servers on loopback (tests/servers.py); every test asserts
on what is stored, never on logs."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy.exc
from sqlalchemy import func, select, update

from sohoa import pipeline
from sohoa.config import Settings, WorkerOptions
from sohoa.services import Services, build_services
from storage.db import DocumentRow, FileRow, utcnow
from workers import queue
from workers.faults import is_transient

from .docs import card_lines, text_pdf
from .servers import CeleryWorker, MotoS3, RedisServer, TcpProxy, wait_until

pytestmark = pytest.mark.distributed


# ============================================================================ claims (no servers)
def _one_file(svc: Services) -> str:
    [fid] = pipeline.receive(svc, pipeline.create_batch(svc, "B1"), "c.pdf", text_pdf(card_lines(1)))
    return fid


def _row(svc: Services, fid: str) -> FileRow:
    with svc.sessions() as s:
        return s.get(FileRow, fid)


def test_a_file_is_held_by_one_worker_until_its_lease_runs_out(svc) -> None:
    fid = _one_file(svc)
    assert queue.claim(svc.sessions, fid, "task:a", 60)
    assert not queue.claim(svc.sessions, fid, "task:b", 60)  # a duplicate message elsewhere
    assert queue.claim(svc.sessions, fid, "task:a", 60)  # the same task redelivered after a crash
    with svc.sessions() as s, s.begin():  # task:a's worker died: its lease runs out
        s.execute(update(FileRow).where(FileRow.id == fid).values(lease_until=utcnow() - timedelta(seconds=1)))
    assert queue.claim(svc.sessions, fid, "task:b", 60)
    assert _row(svc, fid).claimed_by == "task:b" and _row(svc, fid).attempts == 3


def test_a_file_that_kills_every_worker_is_failed_with_the_reason(svc) -> None:
    fid = _one_file(svc)
    for _ in range(queue.MAX_ATTEMPTS):  # each time: claimed, then the worker dies (same message back)
        assert queue.claim(svc.sessions, fid, "task:a", 60)
    assert not queue.claim(svc.sessions, fid, "task:a", 60)
    row = _row(svc, fid)
    assert row.state == "failed" and row.error_code == "processing_failed"
    assert f"after {queue.MAX_ATTEMPTS} attempts" in row.error_message


def test_an_outage_gives_the_attempt_back(svc) -> None:
    fid = _one_file(svc)
    for _ in range(queue.MAX_ATTEMPTS + 2):  # more outages than attempts: never failed for them
        assert queue.claim(svc.sessions, fid, "task:a", 60)
        queue.release_transient(svc.sessions, fid, "task:a")
    row = _row(svc, fid)
    assert (row.state, row.attempts) == ("queued", 0)


def test_transient_faults_are_told_apart_from_bad_input() -> None:
    from minio.error import ServerError
    from urllib3.exceptions import MaxRetryError

    from ingest.errors import IngestError

    assert is_transient(sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("connection refused")))
    assert is_transient(MaxRetryError(None, "/sohoa/x", "connection refused"))
    assert is_transient(ServerError("503 Service Unavailable", 503))
    try:  # wrapped: what the pipeline raises while an outage is underneath
        try:
            raise ConnectionRefusedError(111, "refused")
        except ConnectionRefusedError as inner:
            raise RuntimeError("store failed") from inner
    except RuntimeError as wrapped:
        assert is_transient(wrapped)
    assert not is_transient(IngestError("corrupt_file", "the PDF cannot be opened"))
    assert not is_transient(ValueError("a bug"))


def test_a_poison_file_ends_failed_after_bounded_retries_not_in_a_loop(svc, monkeypatch) -> None:
    from workers import tasks

    fid = _one_file(svc)
    calls = []

    def explode(*_a: object) -> None:
        calls.append(1)
        raise RuntimeError("parser bug")

    monkeypatch.setattr(tasks, "_services", lambda: svc)
    monkeypatch.setattr(tasks, "process_file", explode)
    monkeypatch.setattr(tasks, "_backoff", lambda *_a: 0)
    # .apply() runs the task here, retries included (Celery runs a retry of an eager task inline).
    tasks.process_file_task.apply(args=[fid])
    row = _row(svc, fid)
    assert len(calls) == queue.MAX_ATTEMPTS
    assert row.state == "failed" and "parser bug" in row.error_message


def test_an_outage_longer_than_the_retries_leaves_the_file_queued_not_failed(svc, monkeypatch) -> None:
    from workers import tasks

    fid = _one_file(svc)
    calls = []

    def storage_down(*_a: object) -> None:
        calls.append(1)
        raise sqlalchemy.exc.OperationalError("INSERT", {}, ConnectionRefusedError(111, "refused"))

    svc.settings.workers.max_retries = 2
    monkeypatch.setattr(tasks, "_services", lambda: svc)
    monkeypatch.setattr(tasks, "process_file", storage_down)
    monkeypatch.setattr(tasks, "_backoff", lambda *_a: 0)
    tasks.process_file_task.apply(args=[fid])
    row = _row(svc, fid)
    assert len(calls) == 3  # the first run and 2 retries
    assert (row.state, row.attempts, row.error_code) == ("queued", 0, None)  # for the sweeper, attempts intact
    waiting, _ = queue.stale(svc.sessions, requeue_after_seconds=0)
    assert fid in waiting


def test_readings_left_by_a_worker_that_died_after_its_commit_are_swept(svc) -> None:
    done, busy = _one_file(svc), _one_file(svc)
    with svc.sessions() as s, s.begin():
        s.execute(update(FileRow).where(FileRow.id == done).values(state="done"))
        s.execute(update(FileRow).where(FileRow.id == busy).values(state="processing", sha256="b" * 64))
        digests = {fid: s.get(FileRow, fid).sha256 for fid in (done, busy)}
    for digest in digests.values():
        for n in (1, 2):
            svc.store.put(f"work/{digest}/pages/{n:05d}.json", b"{}")
    assert pipeline.drop_stale_readings(svc) == 2
    assert svc.store.list("work/") == [f"work/{digests[busy]}/pages/00001.json",
                                       f"work/{digests[busy]}/pages/00002.json"]


# ============================================================================ a cluster on loopback
class Cluster:
    """Redis, a shared data dir (SQLite unless a database URL is given), workers started on demand."""

    def __init__(self, tmp: Path, **settings: object):
        self.tmp = tmp
        self.redis = RedisServer(tmp / "redis").start()
        # Short leases and sweeps, so that recovery shows within a test's time.
        fast = WorkerOptions(lease_seconds=6, sweep_interval_seconds=2, requeue_after_seconds=4,
                             retry_backoff_max_seconds=4, fanout_min_pages=4)
        self.settings = Settings(data_dir=tmp / "data", broker_url=self.redis.url, api_key="k", ocr_workers=1,
                                 workers=fast, **settings)
        self.svc = build_services(self.settings)
        self.workers: list[CeleryWorker] = []

    def env(self) -> dict[str, str]:
        s = self.settings
        env = {"SOHOA_DATA_DIR": str(s.data_dir), "SOHOA_BROKER_URL": s.broker_url, "SOHOA_API_KEY": "k",
               "SOHOA_OCR_WORKERS": "1", "OMP_THREAD_LIMIT": "1", "SOHOA_STORAGE_BACKEND": s.storage_backend}
        env |= {f"SOHOA_WORKERS__{k.upper()}": str(v) for k, v in s.workers.model_dump().items()}
        if s.database_url:
            env["SOHOA_DATABASE_URL"] = s.database_url
        if s.storage_backend == "s3":
            env |= {"SOHOA_S3_ENDPOINT": s.s3_endpoint, "SOHOA_S3_ACCESS_KEY": s.s3_access_key,
                    "SOHOA_S3_SECRET_KEY": s.s3_secret_key, "SOHOA_S3_BUCKET": s.s3_bucket,
                    "SOHOA_S3_REGION": s.s3_region or ""}
        return env

    def start_worker(self, concurrency: int = 2, queues: str | None = None) -> CeleryWorker:
        w = CeleryWorker(self.env(), self.tmp / f"worker{len(self.workers)}.log", concurrency, queues)
        self.workers.append(w)
        return w

    def submit(self, files: list[tuple[str, bytes]], key: str | None = None) -> list[str]:
        from workers.tasks import send

        accepted = pipeline.accept(self.svc, files, "CN1", key)
        send(self.svc, accepted.queued)
        return accepted.file_ids

    def states(self, ids: list[str]) -> dict[str, int]:
        with self.svc.sessions() as s:
            rows = s.execute(select(FileRow.state, func.count()).where(FileRow.id.in_(ids))
                             .group_by(FileRow.state)).all()
        return dict(rows)

    def wait_done(self, ids: list[str], timeout: float) -> None:
        try:
            wait_until(lambda: self.states(ids).get("done", 0) + self.states(ids).get("failed", 0) == len(ids),
                       timeout, every=0.5, what="every file finished")
        except TimeoutError:
            raise AssertionError(f"states after {timeout} s: {self.states(ids)}; logs in {self.tmp}") from None

    def close(self) -> None:
        for w in self.workers:
            w.stop()
        self.svc.close()
        self.svc.sessions.kw["bind"].dispose()
        self.redis.stop()


@pytest.fixture
def cluster(tmp_path, database_url):
    made: list[Cluster] = []

    def make(**settings: object) -> Cluster:
        c = Cluster(tmp_path, database_url=database_url, **settings)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def cards(n: int, start: int = 0) -> list[tuple[str, bytes]]:
    return [(f"card{i:03d}.pdf", text_pdf(card_lines(i))) for i in range(start, start + n)]


def assert_each_file_stored_once(c: Cluster, ids: list[str]) -> None:
    """Every file done, one document each, each document's artefacts once, nothing half-made."""
    assert c.states(ids) == {"done": len(ids)}
    with c.svc.sessions() as s:
        digests = s.scalars(select(FileRow.sha256).where(FileRow.id.in_(ids))).all()
        docs = s.scalars(select(DocumentRow).where(DocumentRow.source_sha256.in_(digests))).all()
    assert len(docs) == len(ids) and len({d.source_sha256 for d in docs}) == len(ids)
    codes = {d.result_code for d in docs}
    result_jsons = [k for k in c.svc.store.list("results/") if k.endswith("/result.json")]
    assert {k.split("/")[1] for k in result_jsons} == codes and len(result_jsons) == len(codes)
    for code in codes:
        assert c.svc.store.exists(f"results/{code}/provenance.json")
    assert c.svc.store.list("work/") == []


# ============================================================================ routing and fan-out
def test_cards_and_long_pdfs_go_to_separate_queues_and_long_pdfs_fan_out(cluster) -> None:
    import redis

    c = cluster()
    long_pdf = text_pdf(card_lines(900), pages=6)  # >= fanout_min_pages (4): read page by page
    ids = c.submit([*cards(3), ("long.pdf", long_pdf)])
    r = redis.Redis.from_url(c.redis.url)
    # Before any worker runs: the cards wait on the small queue, the long file on the large one.
    assert (r.llen("sohoa.small"), r.llen("sohoa.large")) == (3, 1)

    c.start_worker(concurrency=2)
    c.wait_done(ids, 120)
    assert c.states(ids) == {"done": 4}
    [long_id] = ids[3:]
    fanned = pipeline.results_for_file(c.svc, long_id)
    assert sorted(p for r_ in fanned for p in r_.source.pages) == [1, 2, 3, 4, 5, 6]
    # The readings are removed just after the file's commit, so an observer may see "done" first.
    wait_until(lambda: c.svc.store.list("work/") == [], 10, what="page readings removed")
    from sohoa import chain

    events = chain.events(c.svc, fanned[0].result_code)  # pages read by other workers, in one chain
    assert [e.type for e in events][0] == "ingest" and events[-1].type == "store"
    assert {e.parameters["page"] for e in events if e.type == "read_page"} >= set(fanned[0].source.pages)
    assert chain.verify_subject(c.svc, fanned[0].result_code) == []

    # The same file read in one process gives the same documents.
    alone = build_services(Settings(data_dir=c.tmp / "alone", ocr_workers=1))
    [fid] = pipeline.receive(alone, pipeline.create_batch(alone, "CN1"), "long.pdf", long_pdf)
    in_process = pipeline.process_file(alone, fid)
    assert [(d.doc_type, d.source.pages, d.fields) for d in in_process] == \
           [(d.doc_type, d.source.pages, d.fields) for d in fanned]


# ============================================================================ fault tests
def test_fault_a_worker_killed_mid_batch_loses_and_duplicates_nothing(cluster) -> None:
    c = cluster()
    ids = c.submit(cards(50))
    first = c.start_worker(concurrency=2)
    wait_until(lambda: c.states(ids).get("done", 0) >= 8, 90, what="8 files done")
    first.kill9()  # the main process and its pool children, mid-task
    states = c.states(ids)
    assert states.get("done", 0) < 50, "the batch finished before the kill: the test proves nothing"
    c.start_worker(concurrency=2)
    c.wait_done(ids, 150)
    assert_each_file_stored_once(c, ids)
    with c.svc.sessions() as s:  # the files the dead worker held were taken again, once each
        assert max(s.scalars(select(FileRow.attempts).where(FileRow.id.in_(ids)))) <= 2


def test_fault_b_object_storage_down_for_30_s_mid_batch(cluster) -> None:
    s3 = MotoS3()
    proxy = TcpProxy(s3.port)
    try:
        c = cluster(storage_backend="s3", s3_endpoint=f"127.0.0.1:{proxy.port}", s3_access_key="test",
                    s3_secret_key="testsecret", s3_bucket="sohoa-fault", s3_region="us-east-1")
        ids = c.submit(cards(20, start=100))
        c.start_worker(concurrency=2)
        wait_until(lambda: c.states(ids).get("done", 0) >= 3, 90, what="3 files done")
        proxy.cut()
        time.sleep(30)
        assert c.states(ids).get("done", 0) < 20, "the batch finished before the outage: the test proves nothing"
        assert c.states(ids).get("failed", 0) == 0  # an outage is not the documents' fault
        proxy.restore()
        c.wait_done(ids, 180)
        assert_each_file_stored_once(c, ids)
        for fid in ids:  # the originals, too, are all there
            assert c.svc.store.exists(_row(c.svc, fid).original_key)
    finally:
        proxy.cut()
        s3.stop()


def test_fault_c_redis_restarted_mid_batch_loses_no_accepted_document(cluster) -> None:
    c = cluster()
    ids = c.submit(cards(30, start=200))
    c.start_worker(concurrency=2)
    for done in (5, 12):  # twice: a worker's second reconnection is where Celery has hung (cli.worker)
        wait_until(lambda: c.states(ids).get("done", 0) >= done, 90, what=f"{done} files done")
        c.redis.restart(down_seconds=2)
    c.wait_done(ids, 150)
    assert_each_file_stored_once(c, ids)


def test_a_celery_worker_that_dies_is_started_again_by_sohoa_worker(cluster) -> None:
    import os
    import signal

    c = cluster()
    ids = c.submit(cards(12, start=500))
    w = c.start_worker(concurrency=1)
    wait_until(lambda: c.states(ids).get("done", 0) >= 2, 90, what="2 files done")
    celery = w.celery_pid()
    os.kill(celery, signal.SIGKILL)  # Celery's main process alone, as its own "Unrecoverable error" ends it
    c.wait_done(ids, 150)
    assert_each_file_stored_once(c, ids)
    assert w.proc.poll() is None and w.celery_pid() != celery  # the same `sohoa worker`, a new Celery


def test_fault_c_redis_that_lost_its_data_is_refilled_by_the_sweeper(cluster) -> None:
    import redis

    c = cluster()
    ids = c.submit(cards(10, start=300))
    redis.Redis.from_url(c.redis.url).flushall()  # a broker rebuilt empty: every message gone
    c.start_worker(concurrency=2)
    c.wait_done(ids, 120)  # the database still says "queued": the sweeper sends them again
    assert_each_file_stored_once(c, ids)


def test_fault_d_database_down_at_ingest_gives_503_and_a_safe_retry(tmp_path) -> None:
    import os
    from urllib.parse import urlsplit

    from fastapi.testclient import TestClient

    from api.main import create_app

    from .conftest import tool_missing

    url = os.environ.get("SOHOA_TEST_DATABASE_URL")
    if not url:
        tool_missing("SOHOA_TEST_DATABASE_URL is not set (scripts/start-postgres)")
    parts = urlsplit(url)
    proxy = TcpProxy(parts.port or 5432)
    proxied = parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}").geturl()
    settings = Settings(data_dir=tmp_path / "d", database_url=proxied, api_key="k")
    key = f"upload-{time.time_ns()}"
    files = [("files", (name, data, "application/pdf")) for name, data in cards(3, start=400)]
    try:
        with TestClient(create_app(settings, embedded_worker=False)) as client:
            proxy.cut()
            r = client.post("/v1/batches", files=files, headers={"X-API-Key": "k", "Idempotency-Key": key})
            assert r.status_code == 503, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["code"] == "database_unavailable" and r.headers["Retry-After"]
            assert client.get("/healthz").status_code == 200  # the service stays up
            proxy.restore()
            first = client.post("/v1/batches", files=files, headers={"X-API-Key": "k", "Idempotency-Key": key})
            again = client.post("/v1/batches", files=files, headers={"X-API-Key": "k", "Idempotency-Key": key})
        assert first.status_code == again.status_code == 202
        assert again.json()["batch_id"] == first.json()["batch_id"]
        assert again.headers.get("Idempotent-Replayed") == "true"
        svc = build_services(Settings(data_dir=tmp_path / "d", database_url=url))
        with svc.sessions() as s:
            from storage.db import BatchRow

            batches = s.scalars(select(BatchRow.id).where(BatchRow.idempotency_key == key)).all()
            files_recorded = s.scalar(select(func.count()).select_from(FileRow).where(FileRow.batch_id.in_(batches)))
        assert len(batches) == 1 and files_recorded == 3
    finally:
        proxy.cut()
