"""A per-backend memo of ``backend.table(name)`` (reading a table's schema costs 40–100 ms a call).

An ingest in this process calls ``invalidate()`` so the next query sees the table as it is now
(new ``x_`` columns, a re-created table); an ingest by another process (a CronJob beside two
``serve`` replicas) is seen after ``MAX_AGE_SECONDS`` at the latest.
"""

from __future__ import annotations

import threading
import time
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ibis
    import ibis.expr.operations as ops
    import ibis.expr.types as ir

MAX_AGE_SECONDS = 30.0

_lock = threading.RLock()  # re-entrant: a finalizer may run (GC) while it is held
_generation = 0
# id(backend) → (the backend, weakly; {table name: (generation, monotonic time read, table op)}).
# Keyed by identity: Ibis backends compare equal when they point at the same database, and a
# table must stay with the backend object that read it (another may be closed). Only the
# schema and namespace are kept, never the backend: a memo must not hold a DuckDB file open.
_Entry = tuple[int, float, "ops.DatabaseTable"]
_tables: dict[int, tuple[weakref.ref[ibis.BaseBackend], dict[str, _Entry]]] = {}


def invalidate() -> None:
    """Forget every memoized table (the warehouse's tables changed)."""
    global _generation
    with _lock:
        _generation += 1  # older entries no longer match; the next read replaces them


def _forget(key: int) -> None:
    _tables.pop(key, None)  # atomic; runs when the backend is collected


def cached_table(backend: ibis.BaseBackend, name: str) -> ir.Table:
    """``backend.table(name)``, read once per backend until invalidated or ``MAX_AGE_SECONDS`` old."""
    import ibis.expr.operations as ops

    now = time.monotonic()
    key = id(backend)
    with _lock:
        entry = _tables.get(key)
        hit = entry[1].get(name) if entry is not None and entry[0]() is backend else None
        generation = _generation
    if hit is not None and hit[0] == generation and now - hit[1] < MAX_AGE_SECONDS:
        op = hit[2]
        return ops.DatabaseTable(op.name, schema=op.schema, source=backend, namespace=op.namespace).to_expr()
    table = backend.table(name)
    op = table.op()
    if not isinstance(op, ops.DatabaseTable):
        return table  # a backend whose tables are something else: not memoized
    # Kept without its source (the backend); rebuilt around the caller's backend on a hit.
    kept = ops.DatabaseTable(op.name, schema=op.schema, source=None, namespace=op.namespace)
    with _lock:
        if generation == _generation:  # an ingest that finished meanwhile wins
            entry = _tables.get(key)
            if entry is None or entry[0]() is not backend:
                entry = _tables[key] = (weakref.ref(backend), {})
                weakref.finalize(backend, _forget, key)
            entry[1][name] = (generation, now, kept)
    return table
