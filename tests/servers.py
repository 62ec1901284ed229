"""Real servers on loopback for the distributed-mode tests: Redis (Debian's redis-server), the S3
test server (moto), a TCP proxy that can cut a connection like a failed network, and Celery
worker processes that can be killed. Each lives in the test's tmp dir and dies with the test."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from .conftest import tool_missing

ROOT = Path(__file__).resolve().parents[1]


def processes() -> Iterator[tuple[int, int, int]]:
    """(pid, parent pid, process group) of every live process, from /proc/<pid>/stat."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
            yield int(stat.parent.name), int(fields[1]), int(fields[2])
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30, proc: subprocess.Popen | None = None) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening on {port}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def wait_until(condition, timeout: float, every: float = 0.25, what: str = "condition"):  # noqa: ANN001, ANN201
    deadline = time.time() + timeout
    while time.time() < deadline:
        if value := condition():
            return value
        time.sleep(every)
    raise TimeoutError(f"{what} not reached within {timeout} s")


class RedisServer:
    """redis-server with every write fsynced to its append-only file, as production should run it:
    a restart keeps every message it acknowledged."""

    def __init__(self, workdir: Path):
        exe = shutil.which("redis-server")
        if exe is None:
            tool_missing("redis-server is not installed (Debian package redis-server)")
        self.exe, self.dir, self.port = exe, workdir, free_port()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.proc = subprocess.Popen(
            [self.exe, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
             "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, 15, self.proc)
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: redis flushes and exits cleanly
            self.proc.wait(15)

    def restart(self, down_seconds: float = 1.0) -> None:
        self.stop()
        time.sleep(down_seconds)
        self.start()


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a server; `cut()` drops every connection and refuses new ones,
    as a failed network or a stopped server would, until `restore()`."""

    def __init__(self, target_port: int):
        self.target, self.port = target_port, free_port()
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        listener, self._listener = self._listener, None
        if listener:
            try:
                listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() blocked in the other thread
            except OSError:
                pass
            listener.close()
        with self._lock:
            for c in self._conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                c.close()
            self._conns.clear()

    close = cut

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class MotoS3:
    """moto's S3-compatible server (what it does not prove: docs/storage.md)."""

    def __init__(self):
        try:
            import moto.server  # noqa: F401
        except ImportError:
            tool_missing("moto[server] is not installed (the dev extra)")
        self.port = free_port()
        # This interpreter's moto (the pinned one), not whichever `moto_server` comes first on PATH.
        self.proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, 30, self.proc)

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


class CeleryWorker:
    """`sohoa worker`, the production command, in its own process group, so kill -9 takes the
    pool children with it."""

    def __init__(self, env: dict[str, str], log: Path, concurrency: int = 2, queues: str | None = None,
                 beat: bool = True):
        args = [sys.executable, "-m", "sohoa.cli", "worker", f"--concurrency={concurrency}"]
        if queues:
            args.append(f"--queues={queues}")
        if beat:
            args.append("--beat")
        self.log = log.open("ab")
        self.proc = subprocess.Popen(args, cwd=ROOT, env={**os.environ, **env}, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def celery_pid(self, timeout: float = 30) -> int:
        """The Celery worker that `sohoa worker` runs as its child (workers/supervisor.py)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            for pid, parent, _group in processes():
                if parent == self.proc.pid:
                    return pid
            time.sleep(0.1)
        raise TimeoutError(f"no child of `sohoa worker` (pid {self.proc.pid}) after {timeout} s")

    def kill9(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill9()
        self.log.close()
