"""The embedded worker: a thread in the `sohoa serve` process that drains the durable queue.

It runs the same task body as the Celery workers (`workers.tasks.run_file`), so embedded and
distributed modes differ only in how a file id reaches that function.
"""

from __future__ import annotations

import logging
import threading

from sohoa import webhooks
from sohoa.services import Services

from . import queue
from .tasks import run_file

log = logging.getLogger("sohoa.worker")


class EmbeddedWorker:
    def __init__(self, svc: Services):
        self.svc = svc
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sohoa-embedded-worker", daemon=True)
        # Webhooks in a thread of their own: a receiver that hangs until the timeout delays other
        # receivers, never a document.
        self._hooks_wake = threading.Event()
        self._hooks = threading.Thread(target=self._webhooks_loop, name="sohoa-webhooks", daemon=True)

    def start(self) -> None:
        n = queue.recover(self.svc.sessions)
        if n:
            log.info("requeued %d file(s) left in progress by a previous run", n)
        self._thread.start()
        self._hooks.start()

    def wake(self) -> None:
        self._wake.set()

    def wake_webhooks(self) -> None:
        self._hooks_wake.set()

    def stop(self, timeout: float = 30) -> None:
        self._stop.set()
        self._wake.set()
        self._hooks_wake.set()
        self._thread.join(timeout)
        self._hooks.join(timeout)

    def drain(self) -> int:
        """Process queued files until none is left; returns how many were handled."""
        n = 0
        while not self._stop.is_set() and (file_id := queue.claim_next(self.svc.sessions)):
            run_file(self.svc, file_id)
            n += 1
        return n

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                if self.drain():
                    self._hooks_wake.set()  # new results: tell their subscribers now, not at the next tick
            except Exception:  # noqa: BLE001 - the worker must outlive any one bad file or DB hiccup
                log.exception("embedded worker loop error")
            self._wake.wait(self.svc.settings.embedded_worker_poll_seconds)
            self._wake.clear()

    def _webhooks_loop(self) -> None:
        while not self._stop.is_set():
            try:
                webhooks.dispatch(self.svc)
            except Exception:  # noqa: BLE001 - a receiver's failure is recorded, never raised; this is the DB
                log.exception("webhook dispatch error")
            self._hooks_wake.wait(self.svc.settings.webhooks.dispatch_interval_seconds)
            self._hooks_wake.clear()
