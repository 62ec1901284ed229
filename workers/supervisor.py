"""Keeps a Celery worker running: `sohoa worker` starts it as a child process and starts it again
when it dies.

Why not rely on the init system alone: Celery can end its worker itself after a broker restart.
With kombu 5.7 and Redis, closing the lost connection can try to put its unacknowledged
messages back through a transport that is already detached (`AttributeError: 'NoneType' object
has no attribute 'hostname'` in kombu/transport/redis.py); Celery logs "Unrecoverable error" and
exits 1. Fault test (c) hit it
on CI. No accepted document is lost (the database holds the queue of record), but a worker run
from a shell, a container without a restart policy or a laptop would stay dead. systemd's
`Restart=always` does the same job one level up; the two do not conflict.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT)


def restart_delay(failures: int, max_delay: float) -> float:
    """1, 2, 4 … seconds after consecutive quick deaths, at most `max_delay`: a worker that cannot
    start (broker down, bad configuration) is retried without spinning."""
    return min(max_delay, 2.0 ** max(failures - 1, 0))


def supervise(cmd: Sequence[str], *, min_uptime: float = 60.0, max_delay: float = 30.0,
              install_signals: Callable[[Callable[[int], None]], None] | None = None) -> int:
    """Runs `cmd` until it exits by itself with 0 or this process is told to stop; returns its
    exit code then. Any other end (a non-zero code, a signal such as the OOM killer's SIGKILL) is
    logged and followed by a new start. A run that lasted `min_uptime` seconds resets the delay.

    A stop signal (SIGTERM, SIGINT, SIGQUIT) becomes one SIGTERM to the child: Celery's warm
    shutdown, which lets running tasks finish. A SIGTERM it also got from its process group (a
    terminal's Ctrl-C, systemd stopping the unit) is harmless: Celery ignores repeats.
    """
    stopping = threading.Event()
    child: list[subprocess.Popen[bytes]] = []

    def stop(_signum: int) -> None:
        stopping.set()
        if child and child[0].poll() is None:
            child[0].send_signal(signal.SIGTERM)

    (install_signals or _install)(stop)
    failures = 0
    while True:
        started = time.monotonic()
        child[:] = [subprocess.Popen(list(cmd))]
        if stopping.is_set():  # a stop that came while the child was being started
            child[0].send_signal(signal.SIGTERM)
        code = child[0].wait()
        if stopping.is_set() or code == 0:  # told to stop, here or by Celery's remote control
            return code
        failures = 1 if time.monotonic() - started >= min_uptime else failures + 1
        delay = restart_delay(failures, max_delay)
        log.error("celery worker (pid %d) ended with %s; starting it again in %.0f s", child[0].pid,
                  f"signal {-code}" if code < 0 else f"exit code {code}", delay)
        if stopping.wait(delay):
            return code


def _install(handler: Callable[[int], None]) -> None:
    for sig in STOP_SIGNALS:
        signal.signal(sig, lambda signum, _frame: handler(signum))
