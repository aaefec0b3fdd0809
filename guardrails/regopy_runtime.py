"""regopy, loaded so that it cannot take over other native libraries' C++ allocator.

regopy's ``librego_shared.so`` defines its own ``operator new``/``operator delete``. When it is
the first library in a process to load ``libstdc++.so.6``, the dynamic linker binds libstdc++'s
own internal calls to those definitions, while DuckDB (loaded later) allocates through
libstdc++'s: memory taken with one allocator is handed back to the other and never freed.
Measured: ≈ 0.5 MiB of glibc heap lost per DuckDB query (a `serve` replica grew by 2–11 MiB per
Slack answer, +40–400 % per burst; benchmarks/README.md "Load"). Loading libstdc++ first, in
its own scope, binds its relocations to itself; regopy keeps its allocator for its own code.
Every import of regopy in costpilot goes through this module.
"""

from __future__ import annotations

import contextlib
import ctypes
import sys


def _load_libstdcxx_first() -> None:
    if not sys.platform.startswith("linux") or "regopy" in sys.modules:
        return
    # RTLD_LOCAL: only its own relocations are resolved now. No shared libstdc++ (a static
    # build): then nothing can bind to regopy's allocator either.
    with contextlib.suppress(OSError):
        ctypes.CDLL("libstdc++.so.6")


_load_libstdcxx_first()

from regopy import Input, Interpreter, LogLevel  # noqa: E402 - after libstdc++, on purpose
from regopy.rego_shared import RegoError, rego_bundle_query, rego_output_string  # noqa: E402

__all__ = ["Input", "Interpreter", "LogLevel", "RegoError", "rego_bundle_query", "rego_output_string"]
