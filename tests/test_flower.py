"""Flower, Celery's monitoring UI (docs/operations.md), runs on our Celery app and reads our broker."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from workers.queues import QUEUES

from .servers import ROOT, RedisServer, free_port

USER, PASSWORD = "ops", "flower-test-secret"
START_SECONDS = 30  # importing workers.tasks loads the whole pipeline; a busy 2-core machine is slow


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[str]:
    server = RedisServer(tmp_path / "redis").start()
    yield server.url
    server.stop()


def _get(url: str, auth: bool = True) -> tuple[int, bytes]:
    request = urllib.request.Request(url)
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _wait_for_health(proc: subprocess.Popen, base: str, log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"flower exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if _get(f"{base}/healthcheck", auth=False)[0] == 200:
                return
        except OSError:
            pass  # not listening yet
        time.sleep(0.2)
    raise AssertionError(f"flower did not answer in {START_SECONDS} s: {log.read_text()[-2000:]}")


@contextmanager
def running_flower(broker: str, workdir: Path) -> Iterator[str]:
    """The command of docs/operations.md, on a free loopback port; yields its base URL."""
    port = free_port()
    env = {**os.environ, "SOHOA_BROKER_URL": broker, "SOHOA_DATA_DIR": str(workdir / "data"),
           "PYTHONPATH": str(ROOT)}
    env.pop("FLOWER_UNAUTHENTICATED_API", None)  # the API must be behind basic auth here
    log = workdir / "flower.log"
    with log.open("wb") as out:  # a file, not a pipe nobody reads while flower runs
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "workers.tasks", "flower", f"--port={port}",
             "--address=127.0.0.1", f"--broker={broker}", f"--basic-auth={USER}:{PASSWORD}"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for_health(proc, base, log)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_flower_reads_our_queues(broker: str, tmp_path: Path) -> None:
    import redis

    # Different counts per queue, so a right answer cannot come from anywhere but the broker.
    waiting = {name: i + 1 for i, name in enumerate([*QUEUES, "celery"])}
    client = redis.Redis.from_url(broker)
    for name, n in waiting.items():
        client.lpush(name, *[json.dumps({"n": k}) for k in range(n)])

    with running_flower(broker, tmp_path) as base:
        assert _get(f"{base}/healthcheck", auth=False) == (200, b"OK")
        assert _get(f"{base}/api/queues/length", auth=False)[0] == 401  # basic auth is on
        status, body = _get(f"{base}/api/queues/length")

    assert status == 200, body
    reported = {q["name"]: q["messages"] for q in json.loads(body)["active_queues"]}
    # No worker is running, so Flower lists the queues configured on our app (workers/tasks.py),
    # not Celery's default `celery`: it loaded `-A workers.tasks`.
    assert reported == {name: waiting[name] for name in QUEUES}, reported
