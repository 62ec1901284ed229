"""Task code shared by the embedded worker and Celery workers.

In distributed mode (`SOHOA_BROKER_URL` set) the API enqueues `sohoa.process_file` on Celery
and `sohoa worker` consumes it; the production-deployment issue adds queues per workload,
page fan-out and retries with backoff.
"""

from __future__ import annotations

import logging
from functools import cache

from celery import Celery

from sohoa.config import get_settings
from sohoa.pipeline import process_file
from sohoa.services import Services, build_services

from . import queue

log = logging.getLogger("sohoa.worker")


def run_file(svc: Services, file_id: str) -> None:
    """Process one claimed file; an unexpected error puts it back for a bounded number of retries."""
    try:
        process_file(svc, file_id)
    except Exception as exc:  # noqa: BLE001 - recorded on the file; the worker carries on
        log.exception("file %s: unexpected error", file_id)
        queue.release_for_retry(svc.sessions, file_id, f"{type(exc).__name__}: {exc}")


def make_celery() -> Celery:
    settings = get_settings()
    app = Celery("sohoa", broker=settings.broker_url or "memory://")
    app.conf.update(task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
                    task_serializer="json", accept_content=["json"], broker_connection_retry_on_startup=True)
    return app


celery_app = make_celery()


@cache
def _services() -> Services:
    return build_services(get_settings())


@celery_app.task(name="sohoa.process_file")
def process_file_task(file_id: str) -> None:
    svc = _services()
    # Claiming through the queue table keeps a redelivered message from running the file twice.
    with svc.sessions() as s:
        from storage.db import FileRow

        row = s.get(FileRow, file_id)
        if row is None or row.state not in ("queued", "processing"):
            return
    run_file(svc, file_id)


def enqueue(svc: Services, file_ids: list[str]) -> None:
    """Hand queued files to the workers: Celery when a broker is configured, else the embedded worker polls."""
    if svc.settings.broker_url:
        for fid in file_ids:
            celery_app.send_task("sohoa.process_file", args=[fid])
