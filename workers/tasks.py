"""Celery tasks (distributed mode) and the task body the embedded worker shares with them.

The work of one file, as Celery sees it:

    sohoa.process_file(f)            on sohoa.small (<= small_max_pages pages) or sohoa.large
      ├─ short file: every step here, pages read by this worker's OCR pool
      └─ long file (>= fanout_min_pages): one sohoa.read_page(f, n) per page on sohoa.pages,
         read in parallel by any worker; the page task that completes the set sends
         sohoa.finish_file(f) (split -> extract -> verify -> store).

Why not a Celery chain per step for every file: between steps a page's images would travel
through the broker or storage, which costs more than most steps; pages are the unit worth
spreading. Why not a chord for the fan-out: a chord's join lives in the result backend and
dies with it; here the join is "are all pages stored?", asked of object storage, so it
survives a Redis restart and a lost message is re-sent by the sweeper.

Delivery is at least once (`acks_late`; a dead worker's message comes back). Exactly-once
*effects* come from the claims in `workers.queue` and from content-addressed results: a
redelivered task finds its file taken or done and stops.
"""

from __future__ import annotations

import logging
from functools import cache

from celery import Celery, signals
from celery.exceptions import MaxRetriesExceededError
from kombu import Queue
from kombu.exceptions import ChannelError
from sqlalchemy import func, select

from sohoa import metrics
from sohoa.config import Settings, get_settings
from sohoa.logs import configure_celery_logging
from sohoa.models import DocState
from sohoa.pipeline import drop_stale_readings, finish_file, pages_read, process_file, read_file_page
from sohoa.services import Services, build_services
from storage.db import FileRow

from . import queue
from .faults import is_transient
from .queues import LARGE, MAINTENANCE, PAGES, QUEUES, SMALL

log = logging.getLogger("sohoa.worker")


# ---------------------------------------------------------------- the body both modes run
def run_file(svc: Services, file_id: str) -> None:
    """Process one claimed file (embedded worker); an unexpected error puts it back for a
    bounded number of retries."""
    try:
        process_file(svc, file_id)
    except Exception as exc:  # noqa: BLE001 - recorded on the file; the worker carries on
        log.exception("file %s: unexpected error", file_id)
        queue.release_for_retry(svc.sessions, file_id, f"{type(exc).__name__}: {exc}")


# ---------------------------------------------------------------- the Celery application
def make_celery(settings: Settings) -> Celery:
    w = settings.workers
    app = Celery("sohoa", broker=settings.broker_url or "memory://")
    app.conf.update(
        task_acks_late=True,  # a message is acknowledged after its work, so a dead worker's comes back
        task_reject_on_worker_lost=True,  # ... also when the pool child was killed under it
        worker_prefetch_multiplier=1,  # a worker reserves one message at a time: long tasks don't hoard
        task_serializer="json", accept_content=["json"],
        task_queues=[Queue(name) for name in QUEUES], task_default_queue=SMALL,
        task_routes={"sohoa.read_page": {"queue": PAGES}, "sohoa.finish_file": {"queue": LARGE},
                     "sohoa.sweep": {"queue": MAINTENANCE}, "sohoa.audit": {"queue": MAINTENANCE},
                     "sohoa.webhooks": {"queue": MAINTENANCE}},
        broker_transport_options={"visibility_timeout": w.visibility_timeout_seconds},
        broker_connection_retry_on_startup=True, broker_connection_max_retries=None,  # wait out a broker restart
        worker_cancel_long_running_tasks_on_connection_loss=False,  # claims keep a redelivery from doubling it
        task_ignore_result=True,  # results live in the database and object storage, not in Celery
        beat_schedule={"sweep": {"task": "sohoa.sweep", "schedule": w.sweep_interval_seconds},
                       "audit": {"task": "sohoa.audit", "schedule": w.audit_interval_seconds},
                       # Expires with its interval: a backlog of dispatches would only repeat one another.
                       "webhooks": {"task": "sohoa.webhooks", "schedule": settings.webhooks.dispatch_interval_seconds,
                                    "options": {"expires": settings.webhooks.dispatch_interval_seconds}}},
    )
    return app


celery_app = make_celery(get_settings())  # what `celery -A workers.tasks worker` runs
configure_celery_logging()  # JSON or text as configured, personal data masked, in workers too
signals.worker_process_shutdown.connect(metrics.mark_process_dead)  # multiprocess metrics of a pool child


@cache
def _app_for(broker_url: str) -> Celery:
    return make_celery(get_settings().model_copy(update={"broker_url": broker_url}))


def sender(settings: Settings) -> Celery:
    """The app to send with: this process's services may name another broker than its
    environment does (tests, tools)."""
    if settings.broker_url == celery_app.conf.broker_url:
        return celery_app
    return _app_for(settings.broker_url)


@cache
def _services() -> Services:
    from ocr.engines import one_thread_per_process

    # One file's pages in this process: Celery's pool children may not start processes of their
    # own, and a worker machine's cores are already busy with one task each.
    one_thread_per_process()
    return build_services(get_settings().model_copy(update={"ocr_workers": 1}))


def _backoff(retries: int, settings: Settings) -> float:
    return float(min(2 ** retries, settings.workers.retry_backoff_max_seconds))


def _holder(task) -> str:  # noqa: ANN001 - a bound Celery task
    return f"task:{task.request.id}"


def _held(svc: Services, task, file_id: str, work, take=None) -> None:  # noqa: ANN001
    """Take the file (claim it, or `take()`), run `work` under a renewed lease, and sort out what
    went wrong: transient faults are retried with backoff, anything else a bounded number of times."""
    w = svc.settings.workers
    holder = _holder(task)
    try:
        taken = take() if take else queue.claim(svc.sessions, file_id, holder, w.lease_seconds)
        if not taken:
            return  # done, failed, or someone else holds it: a duplicate message
        with queue.Lease(svc.sessions, file_id, holder, w.lease_seconds):
            work()
    except Exception as exc:
        if not is_transient(exc):
            log.exception("file %s: unexpected error", file_id)
            if queue.release_for_retry(svc.sessions, file_id, f"{type(exc).__name__}: {exc}"):
                raise task.retry(countdown=_backoff(task.request.retries, svc.settings), exc=exc,
                                 max_retries=queue.MAX_ATTEMPTS) from exc
            return
        log.warning("file %s: %s, retrying (%d so far)", file_id, type(exc).__name__, task.request.retries)
        try:
            queue.release_transient(svc.sessions, file_id, holder)
        except Exception:  # noqa: BLE001 - the database itself is away; our lease runs out instead
            pass
        try:
            raise task.retry(countdown=_backoff(task.request.retries, svc.settings), max_retries=w.max_retries) from exc
        except MaxRetriesExceededError:
            # An outage is never the document's fault: it stays queued, and the sweeper sends it
            # again every `requeue_after_seconds` until storage and database are back.
            log.error("file %s: %s after %d retries; left queued for the sweeper", file_id, type(exc).__name__,
                      w.max_retries)


@celery_app.task(name="sohoa.process_file", bind=True)
def process_file_task(self, file_id: str) -> None:
    svc = _services()

    def work() -> None:
        with svc.sessions() as s:
            row = s.get(FileRow, file_id)
        if row.pages and row.pages >= svc.settings.workers.fanout_min_pages and svc.settings.broker_url:
            _fan_out(svc, row, _holder(self))
        else:
            process_file(svc, file_id)

    _held(svc, self, file_id, work)


def _fanout_holder(file_id: str) -> str:
    return f"fanout:{file_id}"


def _fan_out(svc: Services, row: FileRow, holder: str) -> None:
    """Send one task per page not read yet. The file stays held (`processing`) by the fan-out
    meanwhile, for as long as a message may wait in the broker, and each page read renews that;
    the page that completes the set sends `finish_file`."""
    hold = svc.settings.workers.visibility_timeout_seconds
    queue.handover(svc.sessions, row.id, holder, _fanout_holder(row.id), hold)
    stored, total = pages_read(svc, row.id)
    missing = [n for n in range(1, total + 1) if n not in stored]
    if not missing:
        celery_app.send_task("sohoa.finish_file", args=[row.id])
    for n in missing:
        celery_app.send_task("sohoa.read_page", args=[row.id, n])


@celery_app.task(name="sohoa.read_page", bind=True)
def read_page_task(self, file_id: str, number: int) -> None:
    svc = _services()
    try:
        read_file_page(svc, file_id, number)
        queue.extend(svc.sessions, file_id, svc.settings.workers.visibility_timeout_seconds)
        stored, total = pages_read(svc, file_id)
    except Exception as exc:
        if is_transient(exc):
            raise self.retry(countdown=_backoff(self.request.retries, svc.settings), exc=exc,
                             max_retries=svc.settings.workers.max_retries) from exc
        # A page that cannot be read fails its file (the rest of the batch goes on).
        log.exception("file %s page %d: unexpected error", file_id, number)
        queue.fail(svc.sessions, file_id, "processing_failed", f"page {number}: {type(exc).__name__}: {exc}")
        return
    if len(stored) >= total:
        # Several last pages may finish together; only one finish_file takes the file over.
        celery_app.send_task("sohoa.finish_file", args=[file_id])


@celery_app.task(name="sohoa.finish_file", bind=True)
def finish_file_task(self, file_id: str) -> None:
    svc = _services()
    take = lambda: queue.handover(svc.sessions, file_id, _fanout_holder(file_id), _holder(self),  # noqa: E731
                                  svc.settings.workers.lease_seconds)
    _held(svc, self, file_id, lambda: finish_file(svc, file_id), take=take)


# ---------------------------------------------------------------- sending, and re-sending what was lost
def route(pages: int | None, settings: Settings) -> str:
    return SMALL if (pages or 1) <= settings.workers.small_max_pages else LARGE


def enqueue(svc: Services, file_ids: list[str]) -> None:
    """Hand the queued ones among `file_ids` to the workers (see `send`)."""
    if not svc.settings.broker_url or not file_ids:
        return
    with svc.sessions() as s:
        rows = s.execute(select(FileRow.id, FileRow.pages).where(FileRow.id.in_(file_ids),
                                                                 FileRow.state == DocState.queued.value)).all()
    send(svc, dict(rows))


def send(svc: Services, queued: dict[str, int | None]) -> None:
    """Tell the workers about queued files (id -> page count, which picks the queue): Celery when
    a broker is configured, else nothing (the embedded worker polls the table). A send that fails
    is not an error for the client: the files are recorded as queued, and the sweeper sends them
    once the broker is back."""
    if not svc.settings.broker_url or not queued:
        return
    app = sender(svc.settings)
    try:
        for file_id, pages in queued.items():
            app.send_task("sohoa.process_file", args=[file_id], queue=route(pages, svc.settings))
    except Exception:  # noqa: BLE001 - kombu raises many types for an unreachable broker
        log.warning("broker unreachable; %d file(s) stay queued for the sweeper", len(queued), exc_info=True)


def sweep(svc: Services) -> int:
    """Send again what the broker no longer holds. Returns how many files were sent."""
    w = svc.settings.workers
    waiting, abandoned = queue.stale(svc.sessions, w.requeue_after_seconds)
    # A long backlog is not a loss: when the broker still holds at least as many messages as
    # there are queued files, nothing was lost, and re-sending would only double the queue.
    if waiting and broker_depth(sender(svc.settings)) >= queued_count(svc):
        waiting = []
    for fid in abandoned:
        queue.release_abandoned(svc.sessions, fid)
    drop_stale_readings(svc)
    again = [*waiting, *abandoned]
    queue.touch(svc.sessions, again)
    enqueue(svc, again)
    if again:
        log.info("sweeper re-sent %d file(s) (%d waiting, %d abandoned)", len(again), len(waiting), len(abandoned))
    return len(again)


def queued_count(svc: Services) -> int:
    with svc.sessions() as s:
        return s.scalar(select(func.count()).select_from(FileRow).where(FileRow.state == DocState.queued.value)) or 0


def broker_depth(app: Celery) -> int:
    """Messages waiting in sohoa's file queues. Messages delivered but not acknowledged are not
    counted: a worker killed with its prefetched message holds it until the visibility timeout
    (an hour), and counting it hid a lost file from the sweeper (fault test a, on PostgreSQL)."""
    total = 0
    with app.connection_for_read() as conn:
        channel = conn.default_channel
        for name in (SMALL, LARGE):
            try:
                total += channel.queue_declare(queue=name, passive=True).message_count
            except ChannelError:  # Redis keeps no empty queue: none declared is none waiting
                pass
    return total


@celery_app.task(name="sohoa.audit")
def audit_task() -> int:
    """The periodic fixity audit: a random sample; damage is recorded on each chain (and logged)."""
    from sohoa import fixity

    svc = _services()
    report = fixity.audit(svc, fixity.subjects(svc, sample=svc.settings.workers.audit_sample))
    for problem in report.problems:
        log.error("fixity: %s", problem)
    return len(report.problems)


@celery_app.task(name="sohoa.webhooks")
def webhooks_task() -> int:
    """Plan and send webhook deliveries (sohoa/webhooks.py); several at once are safe (claims)."""
    from sohoa import webhooks

    return webhooks.dispatch(_services()).sent


@celery_app.task(name="sohoa.sweep")
def sweep_task() -> int:
    return sweep(_services())


@signals.worker_ready.connect
def _sweep_on_start(**_kw: object) -> None:
    # A worker coming back after a crash or a broker restart looks for lost work at once,
    # rather than at the next beat.
    celery_app.send_task("sohoa.sweep")
