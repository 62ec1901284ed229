"""Prometheus metrics: served by the API at `/metrics` and by `sohoa worker` on `metrics_port`.

Two kinds of numbers:

- Events counted where they happen (pages, documents, step latencies). Celery workers are prefork
  processes, so with `PROMETHEUS_MULTIPROC_DIR` set every process writes its own file there and
  the exporting process sums them (prometheus_client's multiprocess mode). Without it, the
  process's own registry is served; that is right for `sohoa serve` with its embedded worker.
- State read at scrape time (files per state and branch, queue depth), so the numbers are the
  same whichever of many API processes answers.

Labels are desk codes, document types, step and queue names: never anything about a person.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Literal

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, multiprocess, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    Sessions = Callable[[], Session]

log = logging.getLogger("sohoa.metrics")

NO_BRANCH = "-"  # batches sent without a branch; "" would read as a missing label in PromQL
STATES = ("queued", "processing", "done", "failed")  # storage/db.py FileRow.state
EMBEDDED_QUEUE = "embedded"
BROKER_TIMEOUT_SECONDS = 1.0  # a scrape (10 s timeout by default) must not hang on a dead broker
# kombu's Redis transport keeps priority p > 0 of a queue in a list named queue + SEP + p
# (kombu/transport/redis.py, Channel._q_for_pri); priority 0 is the list named after the queue.
KOMBU_PRIORITY_SEP = "\x06\x16"
KOMBU_PRIORITY_STEPS = (0, 3, 6, 9)

# From a text-layer page (milliseconds) to a long OCR page or a whole store to S3 (minutes).
STEP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)

PAGES = Counter("sohoa_pages", "Pages read, by branch and by where the text came from (PDF text layer or OCR).",
                ["branch", "source"])
DOCUMENTS = Counter("sohoa_documents", "Documents produced, by branch and document type.", ["branch", "doc_type"])
STEP_SECONDS = Histogram("sohoa_step_seconds", "Duration of one pipeline step (the provenance steps).",
                         ["step"], buckets=STEP_BUCKETS)

_NUMBERED_STEP = re.compile(r"_\d+$")


def multiprocess_mode() -> bool:
    """prometheus_client picks its value storage from this variable when it is imported."""
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def _branch(branch: str | None) -> str:
    return (branch or NO_BRANCH)[:64]


def _guarded(what: str, action: Callable[[], None]) -> None:
    # A metric that cannot be written (full disk under the multiprocess dir) must not fail a document.
    try:
        action()
    except Exception as exc:  # noqa: BLE001
        log.warning("metrics: cannot record %s: %s", what, type(exc).__name__)


def observe_page(branch: str | None, source: Literal["text_layer", "ocr"]) -> None:
    """One page read. Pages per minute: `rate(sohoa_pages_total[1m]) * 60`."""
    _guarded("page", lambda: PAGES.labels(branch=_branch(branch), source=source).inc())


def observe_document(branch: str | None, doc_type: str) -> None:
    """One document (result object) produced."""
    _guarded("document", lambda: DOCUMENTS.labels(branch=_branch(branch), doc_type=doc_type).inc())


def step_label(name: str) -> str:
    """`read_page_12` -> `read_page`: one series per step kind, not one per page number."""
    return _NUMBERED_STEP.sub("", name)


def observe_step(name: str, seconds: float) -> None:
    # Times reported by another process can be a little out of order; a negative time is noise.
    _guarded("step", lambda: STEP_SECONDS.labels(step=step_label(name)).observe(max(seconds, 0.0)))


def mark_process_dead(pid: int | None = None, **_signal: object) -> None:
    """Forget the live-gauge files of a finished worker process (multiprocess mode only).

    Usable directly as a Celery `worker_process_shutdown` receiver, which runs in the exiting
    child and passes `pid`. Counter and histogram files stay: their totals must survive the child.
    """
    if multiprocess_mode():
        multiprocess.mark_process_dead(pid or os.getpid())


def process_registry() -> CollectorRegistry:
    """What this process exports of the event metrics: every process's files, or its own registry."""
    if not multiprocess_mode():
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def start_worker_metrics_server(port: int, addr: str = "0.0.0.0") -> None:
    """Serve /metrics from a Celery worker's main process, which has no HTTP server of its own.

    Call it before the pool forks. Without `PROMETHEUS_MULTIPROC_DIR` only the main process's
    numbers would be served and the pool children's work would be missing, hence the warning.
    """
    if not multiprocess_mode():
        log.warning("metrics: PROMETHEUS_MULTIPROC_DIR is not set; pool processes' metrics are not exported")
    start_http_server(port, addr=addr, registry=process_registry())


class _Forward(Collector):
    """Puts another collector's metrics into a per-scrape registry without registering it twice."""

    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterable[Metric]:
        return self.source.collect()


def count_files(sessions: Sessions) -> dict[tuple[str, str], int]:
    """Files per (state, branch), in one GROUP BY query."""
    from sqlalchemy import func, select

    from storage.db import BatchRow, FileRow

    query = (select(FileRow.state, BatchRow.branch, func.count())
             .select_from(FileRow).outerjoin(BatchRow, FileRow.batch_id == BatchRow.id)
             .group_by(FileRow.state, BatchRow.branch))
    with sessions() as s:
        return {(state, _branch(branch)): n for state, branch, n in s.execute(query)}


def redis_queue_depths(url: str, queues: Iterable[str], timeout: float = BROKER_TIMEOUT_SECONDS) -> dict[str, int]:
    """Messages waiting in each Celery queue on a Redis broker, all priority levels together."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        names = list(queues)
        with client.pipeline(transaction=False) as pipe:
            for name in names:
                for pri in KOMBU_PRIORITY_STEPS:
                    pipe.llen(f"{name}{KOMBU_PRIORITY_SEP}{pri}" if pri else name)
            lengths = pipe.execute()
    finally:
        client.close()
    steps = len(KOMBU_PRIORITY_STEPS)
    return {name: sum(lengths[i * steps:(i + 1) * steps]) for i, name in enumerate(names)}


def is_redis_url(url: str | None) -> bool:
    return bool(url) and url.startswith(("redis://", "rediss://"))


class StateCollector(Collector):
    """Files per state and branch and queue depth, read from the database and broker at scrape time.

    A component that does not answer leaves its series out and sets `sohoa_component_up` to 0;
    the scrape itself still succeeds.
    """

    def __init__(self, sessions: Sessions, broker_url: str | None) -> None:
        self.sessions = sessions
        self.broker_url = broker_url

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("sohoa_component_up", "Whether /metrics could read the component (1) or not (0).",
                               labels=["component"])
        files = self._files()
        up.add_metric(["database"], float(files is not None))
        if files is not None:
            yield self._files_family(files)
        depths = self._queue_depths(files)
        if depths is not None:
            yield self._depth_family(depths)
        if is_redis_url(self.broker_url):
            up.add_metric(["broker"], float(depths is not None))
        yield up

    def _files(self) -> dict[tuple[str, str], int] | None:
        try:
            return count_files(self.sessions)
        except Exception as exc:  # noqa: BLE001 - reported as sohoa_component_up
            log.warning("metrics: database not readable: %s", type(exc).__name__)
            return None

    def _queue_depths(self, files: dict[tuple[str, str], int] | None) -> dict[str, int] | None:
        if not self.broker_url:
            if files is None:
                return None
            return {EMBEDDED_QUEUE: sum(n for (state, _), n in files.items() if state == "queued")}
        if not is_redis_url(self.broker_url):
            return None  # AMQP brokers report depth through their own exporters
        from workers.queues import QUEUES

        try:
            return redis_queue_depths(self.broker_url, QUEUES)
        except Exception as exc:  # noqa: BLE001 - the URL is never logged: it may carry a password
            log.warning("metrics: broker not readable: %s", type(exc).__name__)
            return None

    @staticmethod
    def _files_family(files: dict[tuple[str, str], int]) -> GaugeMetricFamily:
        family = GaugeMetricFamily("sohoa_files", "Received files by processing state and branch (database, at scrape).",
                                   labels=["state", "branch"])
        # Every state of every branch seen, zeros included, so an alert on a state has a series to test.
        for branch in sorted({b for _, b in files}):
            for state in sorted(set(STATES) | {s for s, b in files if b == branch}):
                family.add_metric([state, branch], float(files.get((state, branch), 0)))
        return family

    @staticmethod
    def _depth_family(depths: dict[str, int]) -> GaugeMetricFamily:
        family = GaugeMetricFamily("sohoa_queue_depth", "Messages waiting in a work queue (Celery queue on Redis, "
                                   "or queued files of the embedded worker).", labels=["queue"])
        for queue, n in sorted(depths.items()):
            family.add_metric([queue], float(n))
        return family


def render(sessions: Sessions, broker_url: str | None, accept: str | None = None) -> tuple[bytes, str]:
    """The body and content type of one scrape (OpenMetrics when the scraper asks for it)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Forward(process_registry()))
    registry.register(StateCollector(sessions, broker_url))
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type
