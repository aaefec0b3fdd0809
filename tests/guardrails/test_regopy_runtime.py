"""regopy must not take over the C++ allocator of DuckDB (guardrails/regopy_runtime.py).

Each case runs in a fresh interpreter (the order in which native libraries load is the whole
point) and measures glibc's heap in use (``mallinfo2``) over 200 DuckDB queries, after a warm-up
of the same 200.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import ctypes, sys
{first}
import duckdb

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
con = duckdb.connect()
con.sql("CREATE TABLE t AS SELECT range AS i, 'team-' || (range % 7)::VARCHAR AS team, "
        "(range * 1.5)::DECIMAL(18, 6) AS cost FROM range(20000)")

def queries():
    for _ in range(200):
        con.sql("SELECT team, sum(cost) FROM t WHERE i % 3 = 0 GROUP BY team ORDER BY team").to_arrow_table().to_pylist()

queries()
before = libc.mallinfo2().uordblks
queries()
print((libc.mallinfo2().uordblks - before) / 2**20)
"""

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's dynamic linker")


def heap_growth_mib(first: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(first=first)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return float(out.stdout.strip())


def test_duckdb_keeps_its_memory_when_guardrails_load_regopy_first() -> None:
    assert heap_growth_mib("import guardrails.regopy_runtime") < 5


def test_the_probe_sees_the_loss_when_regopy_is_imported_bare() -> None:
    # The oracle: without the guard the same 200 queries lose tens of MiB (92 MiB measured). If
    # this starts to fail, regopy no longer overrides the allocator and the guard can go.
    assert heap_growth_mib("import regopy") > 20


def test_regopy_is_imported_only_through_the_guard() -> None:
    offenders = []
    packages = ("app", "agent", "services", "tools", "guardrails", "playbooks", "gitops", "warehouse",
                "store", "domain", "evals", "benchmarks")  # fmt: skip
    for path in (p for package in packages for p in (ROOT / package).rglob("*.py")):
        if path.name == "regopy_runtime.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = (
                [a.name for a in node.names] if isinstance(node, ast.Import)
                else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            )  # fmt: skip
            if any(n == "regopy" or n.startswith("regopy.") for n in names):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
