"""A real ``costpilot serve`` process on a free loopback port, for the operations tests and the
load benchmark: started with the environment given, awaited on its own "listening" line (no
polling), its stderr kept line by line, stopped by its pid.

``python -m tests.app.serve_process ARGS`` runs the CLI with the remediation detectors replaced
by the findings in the JSON file ``COSTPILOT_TEST_FINDINGS`` (when set): the scans of a serve
process then propose what a test chose, through the real playbooks, guardrails and forge.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shlex
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
FINDINGS_ENV = "COSTPILOT_TEST_FINDINGS"
TRACE_ENV = "COSTPILOT_TEST_TRACEMALLOC_DIR"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_findings(path: Path, findings: list[Any]) -> Path:
    path.write_text(json.dumps([f.model_dump(mode="json") for f in findings]))
    return path


class ServeProcess:
    """``costpilot serve --host 127.0.0.1 --port N`` with ``env`` over this process's environment."""

    def __init__(self, env: Mapping[str, str], *args: str) -> None:
        self.port = free_port()
        environ = {**os.environ, "PYTHONPATH": str(ROOT), **env}
        # Memory hunting: COSTPILOT_TEST_WRAPPER is a command prefix ("heaptrack -o DIR/serve-{port}", …).
        wrapper = shlex.split(environ.get("COSTPILOT_TEST_WRAPPER", "").replace("{port}", str(self.port)))
        self.proc = subprocess.Popen(
            [*wrapper, sys.executable, "-m", "tests.app.serve_process", "serve", "--host", "127.0.0.1",
             "--port", str(self.port), *args],
            cwd=ROOT, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def events_url(self) -> str:
        return f"{self.base}/slack/events"

    def wait_line(self, predicate: Any, timeout: float = 60) -> str:
        """The first stderr line (from now on, or already read) for which ``predicate`` holds."""
        for line in self.seen:
            if predicate(line):
                return line
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=min(max(deadline - time.monotonic(), 0.05), 1.0))
            except queue.Empty:
                if self.proc.poll() is not None:
                    raise AssertionError("serve exited: " + "".join(self.seen)) from None
                if time.monotonic() > deadline:
                    raise AssertionError("no such line; serve said: " + "".join(self.seen)) from None
                continue
            self.seen.append(line)
            if predicate(line):
                return line

    def log_text(self) -> str:
        """Everything the process wrote to stderr so far (for a failing test's message)."""
        while True:
            try:
                self.seen.append(self.lines.get_nowait())
            except queue.Empty:
                return "".join(self.seen)

    def wait_listening(self, timeout: float = 60) -> ServeProcess:
        self.wait_line(lambda line: line.startswith("costpilot serve: listening on"), timeout)
        return self

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.base + path, timeout=20)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _install_findings(path: str) -> None:
    from domain.findings import Finding
    from services import remediation

    findings = [Finding.model_validate(f) for f in json.loads(Path(path).read_text())]
    remediation.DETECTORS = {"test": lambda deps: list(findings)}  # type: ignore[attr-defined]


def _install_tracemalloc(folder: str) -> None:
    """Memory hunting (``bench_load.py --trace DIR``): SIGUSR1 writes a tracemalloc snapshot."""
    import signal
    import tracemalloc

    tracemalloc.start(25)
    count = iter(range(1, 10_000))

    def dump(*_: object) -> None:
        tracemalloc.take_snapshot().dump(f"{folder}/snap-{os.getpid()}-{next(count)}.pickle")

    signal.signal(signal.SIGUSR1, dump)


def _install_memstats(folder: str) -> None:
    """Memory hunting: SIGUSR2 appends glibc's and Arrow's allocator figures as one JSON line."""
    import ctypes
    import signal

    class MallInfo2(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in
                    ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]  # fmt: skip

    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = MallInfo2

    def dump(*_: object) -> None:
        info = libc.mallinfo2()
        doc = {n: getattr(info, n) for n, _ in MallInfo2._fields_}
        if "pyarrow" in sys.modules:
            pool = sys.modules["pyarrow"].default_memory_pool()
            doc["arrow_allocated"] = pool.bytes_allocated()
            doc["arrow_max"] = pool.max_memory()
        with open(f"{folder}/memstats-{os.getpid()}.jsonl", "a") as out:
            out.write(json.dumps(doc) + "\n")

    signal.signal(signal.SIGUSR2, dump)


if __name__ == "__main__":
    if os.environ.get(TRACE_ENV):
        _install_tracemalloc(os.environ[TRACE_ENV])
    if os.environ.get("COSTPILOT_TEST_MEMSTATS_DIR"):
        _install_memstats(os.environ["COSTPILOT_TEST_MEMSTATS_DIR"])
    if os.environ.get(FINDINGS_ENV):
        _install_findings(os.environ[FINDINGS_ENV])
    from app.cli import main

    raise SystemExit(main(sys.argv[1:]))


class FreshDatabase:
    """A PostgreSQL database of its own on the shared server (created now, dropped by ``drop``)."""

    def __init__(self, server_url: str, prefix: str = "cp_ops") -> None:
        import uuid

        import psycopg

        self.server_url = server_url
        self.name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        base = server_url.rsplit("/", 1)[0]
        self.url = f"{base}/{self.name}"

    def drop(self) -> None:
        import psycopg

        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class TcpProxy:
    """A loopback TCP forwarder to ``target`` that can be cut (every connection dropped, the port
    closed) and restored on the same port: a database going away and coming back mid-run."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._conns: list[socket.socket] = []
        self._server: socket.socket | None = None
        self._lock = threading.Lock()

    def start(self) -> TcpProxy:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(64)
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()
        return self

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
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
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        if self._server is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone would not on Linux.
            with contextlib.suppress(OSError):
                self._server.shutdown(socket.SHUT_RDWR)
            self._server.close()
            self._server = None
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
