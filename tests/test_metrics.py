"""Prometheus metrics: /metrics from the database and broker, step latencies from provenance,
page/document counters, and prefork workers' numbers summed in multiprocess mode."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.main import create_app
from sohoa import metrics
from sohoa.provenance import StepRecorder, now_vn
from storage.db import BatchRow, FileRow
from workers.queues import LARGE, PAGES, QUEUES, SMALL

from .servers import ROOT, RedisServer, free_port


def sample(name: str, **labels: str) -> float:
    """The current value in this process's exported registry (0 when the series does not exist yet)."""
    return metrics.process_registry().get_sample_value(name, labels) or 0.0


def parse(body: str) -> dict[tuple[str, frozenset], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(body) for s in family.samples}


def add_files(svc, branch: str | None, states: list[str]) -> None:  # noqa: ANN001
    with svc.sessions() as s, s.begin():
        batch_id = f"b-{branch}-{len(states)}"
        s.add(BatchRow(id=batch_id, branch=branch))
        s.flush()
        for i, state in enumerate(states):
            # The name carries an ID number on purpose: /metrics must not let it through.
            s.add(FileRow(id=f"f-{branch}-{i}", batch_id=batch_id, name=f"cccd 079123456789 {i}.png",
                          sha256="0" * 64, size=1, original_key="k", state=state))


# ---------------------------------------------------------------- event metrics
def test_step_recorder_observes_every_step_once_with_page_numbers_collapsed() -> None:
    before = {step: (sample("sohoa_step_seconds_count", step=step), sample("sohoa_step_seconds_sum", step=step))
              for step in ("read_page", "extract")}
    rec = StepRecorder("test")
    start = now_vn()
    rec.record("read_page_1", start, start + timedelta(seconds=2.5))
    rec.record("read_page_12", start.isoformat(), (start + timedelta(seconds=0.5)).isoformat())  # from an OCR process
    with rec.step("extract"):
        time.sleep(0.02)

    count, total = before["read_page"]
    assert sample("sohoa_step_seconds_count", step="read_page") == count + 2
    assert sample("sohoa_step_seconds_sum", step="read_page") == pytest.approx(total + 3.0)
    assert sample("sohoa_step_seconds_bucket", step="read_page", le="1.0") >= 1  # the 0.5 s page
    count, total = before["extract"]
    assert sample("sohoa_step_seconds_count", step="extract") == count + 1  # step() records through record()
    assert sample("sohoa_step_seconds_sum", step="extract") - total >= 0.02
    assert sample("sohoa_step_seconds_count", step="read_page_12") == 0
    assert [s.step for s in rec.steps] == ["read_page_1", "read_page_12", "extract"]  # provenance unchanged


def test_page_and_document_counters() -> None:
    pages = sample("sohoa_pages_total", branch="TDM01", source="ocr")
    text_pages = sample("sohoa_pages_total", branch="-", source="text_layer")
    docs = sample("sohoa_documents_total", branch="TDM01", doc_type="cccd")
    metrics.observe_page("TDM01", "ocr")
    metrics.observe_page("TDM01", "ocr")
    metrics.observe_page(None, "text_layer")
    metrics.observe_document("TDM01", "cccd")
    assert sample("sohoa_pages_total", branch="TDM01", source="ocr") == pages + 2
    assert sample("sohoa_pages_total", branch="-", source="text_layer") == text_pages + 1
    assert sample("sohoa_documents_total", branch="TDM01", doc_type="cccd") == docs + 1


# ---------------------------------------------------------------- /metrics
def test_metrics_endpoint_counts_files_by_state_and_branch(settings, svc) -> None:
    add_files(svc, "TDM01", ["queued", "queued", "done", "failed"])
    add_files(svc, None, ["queued", "processing"])
    metrics.observe_page("TDM01", "ocr")
    with TestClient(create_app(settings, services=svc, embedded_worker=False)) as client:
        r = client.get("/metrics")  # no API key: it is for the scraper
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    got = parse(r.text)

    def files(state: str, branch: str) -> float:
        return got[("sohoa_files", frozenset({"state": state, "branch": branch}.items()))]

    assert [files(s, "TDM01") for s in ("queued", "processing", "done", "failed")] == [2, 0, 1, 1]
    assert [files(s, "-") for s in ("queued", "processing", "done", "failed")] == [1, 1, 0, 0]
    assert got[("sohoa_queue_depth", frozenset({"queue": "embedded"}.items()))] == 3
    assert got[("sohoa_component_up", frozenset({"component": "database"}.items()))] == 1
    assert ("sohoa_component_up", frozenset({"component": "broker"}.items())) not in got
    assert got[("sohoa_pages_total", frozenset({"branch": "TDM01", "source": "ocr"}.items()))] >= 1
    assert "079123456789" not in r.text and "cccd " not in r.text  # file names stay in the database


def test_a_processed_card_shows_in_metrics(settings, svc) -> None:
    from .docs import card_png
    from .test_api import H, wait_done

    def value(got: dict, name: str, **labels: str) -> float:
        return got.get((name, frozenset(labels.items())), 0.0)

    with TestClient(create_app(settings, services=svc)) as client:  # with the embedded worker
        before = parse(client.get("/metrics").text)
        r = client.post("/v1/batches", files=[("files", ("card.png", card_png(), "image/png"))],
                        data={"branch": "BDG02"}, headers=H)
        assert r.status_code == 202, r.text
        wait_done(client, r.json()["batch_id"])
        after = parse(client.get("/metrics").text)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("sohoa_pages_total", branch="BDG02", source="ocr") == 1
    assert grew("sohoa_documents_total", branch="BDG02", doc_type="cccd") == 1
    for step in ("read_page", "extract", "verify", "store"):
        assert grew("sohoa_step_seconds_count", step=step) >= 1, step
    assert value(after, "sohoa_files", state="done", branch="BDG02") == 1
    assert value(after, "sohoa_queue_depth", queue="embedded") == 0


def test_metrics_endpoint_speaks_openmetrics_when_asked(settings, svc) -> None:
    with TestClient(create_app(settings, services=svc, embedded_worker=False)) as client:
        r = client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/openmetrics-text")
    assert r.text.rstrip().endswith("# EOF")


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[str]:
    server = RedisServer(tmp_path / "redis").start()
    yield server.url
    server.stop()


def test_queue_depth_from_redis_counts_every_priority_list(broker: str, svc) -> None:
    from kombu import Connection, Exchange, Queue

    # Published by kombu itself, so the test fails if its Redis layout stops being what we count.
    with Connection(broker) as conn:
        producer = conn.Producer()
        for name, n, priority in ((SMALL, 3, None), (PAGES, 2, 9), (PAGES, 1, 0)):
            queue = Queue(name, Exchange(name, "direct"), routing_key=name)
            for _ in range(n):
                producer.publish({"file_id": "f-x"}, exchange=queue.exchange, routing_key=name,
                                 declare=[queue], priority=priority)
    body, _ = metrics.render(svc.sessions, broker)
    got = parse(body.decode())
    depth = {q: got[("sohoa_queue_depth", frozenset({"queue": q}.items()))] for q in QUEUES}
    assert depth[SMALL] == 3 and depth[PAGES] == 3 and depth[LARGE] == 0
    assert set(depth) == set(QUEUES)
    assert ("sohoa_queue_depth", frozenset({"queue": "embedded"}.items())) not in got
    assert got[("sohoa_component_up", frozenset({"component": "broker"}.items()))] == 1


def test_a_dead_broker_does_not_break_metrics_nor_leak_its_password(svc, caplog) -> None:
    add_files(svc, "TDM01", ["queued"])
    broker = f"redis://:s3cret-broker-pw@127.0.0.1:{free_port()}/0"  # nothing listens there
    start = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="sohoa.metrics"):
        body, _ = metrics.render(svc.sessions, broker)
    assert time.monotonic() - start < 5
    got = parse(body.decode())
    assert got[("sohoa_component_up", frozenset({"component": "broker"}.items()))] == 0
    assert not any(name == "sohoa_queue_depth" for name, _ in got)
    assert got[("sohoa_files", frozenset({"state": "queued", "branch": "TDM01"}.items()))] == 1  # the rest is there
    assert "broker not readable" in caplog.text and "s3cret" not in caplog.text


def test_an_unreadable_database_is_reported_not_raised() -> None:
    def broken():  # noqa: ANN202
        raise OSError("database away")

    got = parse(metrics.render(broken, None)[0].decode())
    assert got[("sohoa_component_up", frozenset({"component": "database"}.items()))] == 0
    assert not any(name in ("sohoa_files", "sohoa_queue_depth") for name, _ in got)


# ---------------------------------------------------------------- prefork workers
WORKER = textwrap.dedent("""
    import multiprocessing, os, sys, urllib.request
    from datetime import timedelta

    from sohoa import metrics
    from sohoa.provenance import StepRecorder, now_vn

    def child(n):
        for _ in range(2):
            metrics.observe_page("TDM01", "ocr")
        start = now_vn()
        StepRecorder("w").record(f"read_page_{n}", start, start + timedelta(seconds=1))
        # What a Celery worker_process_shutdown receiver gets.
        metrics.mark_process_dead(sender=None, pid=os.getpid(), exitcode=0)

    if __name__ == "__main__":
        port = int(sys.argv[1])
        metrics.start_worker_metrics_server(port, addr="127.0.0.1")  # before the pool forks, as in a worker
        ctx = multiprocessing.get_context("fork")
        children = [ctx.Process(target=child, args=(n,)) for n in range(3)]
        for c in children:
            c.start()
        for c in children:
            c.join()
            assert c.exitcode == 0
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            sys.stdout.write(r.read().decode())
""")


def test_prefork_children_are_summed_by_the_worker_metrics_server(tmp_path: Path) -> None:
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    multiproc = tmp_path / "prom"
    multiproc.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(multiproc), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(script), str(free_port())], env=env, cwd=ROOT, check=False,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    got = parse(done.stdout)
    assert got[("sohoa_pages_total", frozenset({"branch": "TDM01", "source": "ocr"}.items()))] == 6
    assert got[("sohoa_step_seconds_count", frozenset({"step": "read_page"}.items()))] == 3
    assert got[("sohoa_step_seconds_sum", frozenset({"step": "read_page"}.items()))] == pytest.approx(3.0)
    assert any(multiproc.glob("counter_*.db"))  # each child wrote its own file; the totals survive it
