"""`sohoa worker` keeps its Celery worker running (workers/supervisor.py): real child processes,
signals delivered through the handler the supervisor installs."""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from workers.supervisor import restart_delay, supervise


def _child(tmp: Path, script: str) -> list[str]:
    """A child that appends a line to `runs` each time it starts, then runs `script` (which sees
    `n`, its start number from 1)."""
    runs = tmp / "runs"
    prelude = (f"import os, signal, sys, time\nfrom pathlib import Path\np = Path({str(runs)!r})\n"
               "with p.open('a') as f: f.write('x\\n')\nn = len(p.read_text().split())\n")
    return [sys.executable, "-c", prelude + script]


def _runs(tmp: Path) -> int:
    path = tmp / "runs"
    return len(path.read_text().split()) if path.exists() else 0


def _no_signals(_handler: Callable[[int], None]) -> None:
    pass


def test_delays_double_after_each_quick_death_up_to_the_cap() -> None:
    assert [restart_delay(n, 30) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


def test_a_worker_that_dies_is_started_again_until_it_ends_cleanly(tmp_path) -> None:
    # Dies twice (an error, then SIGKILL as from the OOM killer), then ends with 0 as after a
    # remote `shutdown`: 3 starts, and 0 is returned.
    cmd = _child(tmp_path, "if n == 1: sys.exit(1)\nif n == 2: os.kill(os.getpid(), signal.SIGKILL)\nsys.exit(0)")
    assert supervise(cmd, max_delay=0.05, install_signals=_no_signals) == 0
    assert _runs(tmp_path) == 3


def test_a_stop_signal_ends_the_worker_warmly_and_is_not_followed_by_a_restart(tmp_path) -> None:
    # The child ends on SIGTERM with 0, as Celery's warm shutdown does; it logs what it got.
    got = tmp_path / "got"
    cmd = _child(tmp_path, f"signal.signal(signal.SIGTERM, lambda *a: (Path({str(got)!r}).write_text('TERM'), "
                           "sys.exit(0)))\ntime.sleep(60)")
    handlers = []
    threading.Thread(target=lambda: (_wait_for_runs(tmp_path, 1), handlers[0](signal.SIGINT)), daemon=True).start()
    started = time.monotonic()
    assert supervise(cmd, max_delay=0.05, install_signals=handlers.append) == 0
    assert time.monotonic() - started < 30
    assert got.read_text() == "TERM" and _runs(tmp_path) == 1  # SIGINT became one SIGTERM: warm, not cold


def test_a_stop_during_the_wait_before_a_restart_starts_nothing_more(tmp_path) -> None:
    handlers = []
    cmd = _child(tmp_path, "sys.exit(3)")
    threading.Thread(target=lambda: (_wait_for_runs(tmp_path, 1), time.sleep(0.3), handlers[0](signal.SIGTERM)),
                     daemon=True).start()
    assert supervise(cmd, max_delay=5, install_signals=handlers.append) == 3
    assert _runs(tmp_path) == 1


def _wait_for_runs(tmp: Path, n: int) -> None:
    deadline = time.monotonic() + 20
    while _runs(tmp) < n:
        if time.monotonic() > deadline:
            pytest.fail(f"the child did not start {n} time(s)")
        time.sleep(0.02)


def test_sohoa_worker_exits_with_celerys_exit_code(tmp_path) -> None:
    # Celery's app.worker_main drops the code: a worker that ended on "Unrecoverable error" exited
    # 0, which the supervisor (and systemd's Restart=on-failure) take for a deliberate stop. The
    # fault is injected where Celery's own bootsteps start, so Celery's handling of it is real.
    import os
    import subprocess

    inject = ("import celery.bootsteps as b\n"
              "def boom(self, parent): raise RuntimeError('injected fault')\n"
              "b.Blueprint.start = boom\n"
              "from sohoa.cli import app\napp()")
    env = {**os.environ, "SOHOA_DATA_DIR": str(tmp_path), "SOHOA_BROKER_URL": "redis://127.0.0.1:1/0"}
    run = subprocess.run([sys.executable, "-c", inject, "worker", "--no-restart", "--concurrency=1"],
                         env=env, capture_output=True, text=True, timeout=120, check=False,
                         cwd=Path(__file__).parents[1])
    assert "Unrecoverable error: RuntimeError('injected fault')" in run.stderr + run.stdout
    assert run.returncode == 1
