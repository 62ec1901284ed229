"""The durable queue of embedded mode: claims, crash recovery, bounded retries."""

from __future__ import annotations

from sohoa import pipeline
from sohoa.models import DocState
from storage.db import FileRow
from workers import queue
from workers.embedded import EmbeddedWorker

from .docs import card_png


def state(svc, file_id: str) -> str:
    with svc.sessions() as s:
        return s.get(FileRow, file_id).state


def test_work_accepted_before_a_crash_is_finished_after_restart(svc) -> None:
    batch = pipeline.create_batch(svc, "B1")
    [fid] = pipeline.receive(svc, batch, "card.png", card_png())
    assert state(svc, fid) == "queued"
    # A worker claims the file and dies before finishing.
    assert queue.claim_next(svc.sessions) == fid
    assert state(svc, fid) == "processing"
    assert queue.claim_next(svc.sessions) is None  # nobody else takes it meanwhile

    worker = EmbeddedWorker(svc)
    assert queue.recover(svc.sessions) == 1
    assert worker.drain() == 1
    assert state(svc, fid) == "done"
    [doc] = pipeline.results_for_file(svc, fid)
    assert doc.doc_type == "cccd" and doc.result_code


def test_poison_file_fails_after_bounded_attempts(svc, monkeypatch) -> None:
    batch = pipeline.create_batch(svc, "B1")
    [fid] = pipeline.receive(svc, batch, "card.png", card_png())

    def explode(*_a, **_k):
        raise RuntimeError("engine crashed")

    monkeypatch.setattr("workers.tasks.process_file", explode)
    worker = EmbeddedWorker(svc)
    assert worker.drain() == queue.MAX_ATTEMPTS
    with svc.sessions() as s:
        row = s.get(FileRow, fid)
        assert row.state == DocState.failed.value and row.attempts == queue.MAX_ATTEMPTS
        assert row.error_code == "processing_failed" and "engine crashed" in row.error_message


def test_missing_original_is_a_named_failure(svc) -> None:
    batch = pipeline.create_batch(svc, "B1")
    [fid] = pipeline.receive(svc, batch, "card.png", card_png())
    with svc.sessions() as s:
        key = s.get(FileRow, fid).original_key
    svc.store.delete(key)
    [res] = pipeline.process_file(svc, fid)
    assert res.error and res.error.code == "original_missing"


def test_celery_task_runs_the_same_code_and_ignores_redelivery(svc, monkeypatch) -> None:
    from workers import tasks

    monkeypatch.setattr(tasks, "_services", lambda: svc)
    batch = pipeline.create_batch(svc, "B1")
    [fid] = pipeline.receive(svc, batch, "card.png", card_png())
    tasks.process_file_task.apply(args=[fid]).get()  # runs the task body locally, as a worker would
    assert state(svc, fid) == "done"
    [doc] = pipeline.results_for_file(svc, fid)
    tasks.process_file_task.apply(args=[fid]).get()  # a redelivered message
    assert [d.result_code for d in pipeline.results_for_file(svc, fid)] == [doc.result_code]
