"""The ``Deps`` a long-lived MCP server shares between calls, and when it lets go of them.

A server lives for days, but DuckDB lets one process write a database file only while no other
process has it open, even read-only: a server that held the warehouse open between calls would
make every ``costpilot ingest`` fail. Reopening on every call costs ~50-150 ms (the Ibis backend
and its table schema), a large share of a ~100 ms query. So handles stay open while calls keep
coming and close ``keep_open`` seconds after the last one (0: after every call), and after any
failure, so a broken connection is never reused.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from services.deps import Deps, build_deps
from services.settings import Settings

KEEP_OPEN_SECONDS = 5.0

T = TypeVar("T")


class SharedDeps:
    """One ``Deps`` at a time, built from the settings of the entry point on first use."""

    def __init__(self, settings: Settings, keep_open: float = KEEP_OPEN_SECONDS) -> None:
        self.settings = settings
        self.keep_open = keep_open
        self._lock = threading.Lock()
        self._deps: Deps | None = None
        self._timer: threading.Timer | None = None

    @property
    def is_open(self) -> bool:
        return self._deps is not None

    def run(self, work: Callable[[Deps], T]) -> T:
        """``work(deps)`` with the shared handles (blocking; call it from a worker thread)."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._deps is None:
                self._deps = build_deps(self.settings)
            try:
                result = work(self._deps)
            except BaseException:
                self._close_locked()
                raise
            if self.keep_open <= 0:
                self._close_locked()
            else:
                self._timer = threading.Timer(self.keep_open, self.close)
                self._timer.daemon = True
                self._timer.start()
            return result

    def close(self) -> None:
        with self._lock:
            self._close_locked()

    def _close_locked(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._deps is not None:
            # A new Deps next time: its cached handles are closed now and must not be reused.
            self._deps.close()
            self._deps = None
