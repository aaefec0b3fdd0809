"""Stream utilization samples as chunks of whole series (one series = one pod's container).

The right-sizing math needs every sample of a pod's container together (a per-pod p95, daily
memory peaks). Reading 80 million samples at once would cost gigabytes, so the reader walks the
source in record batches, cuts each batch where the series key changes, hands out the complete
series as numpy arrays and carries the unfinished last series into the next batch. This needs
each series to be contiguous in the source: the DuckDB table is read ``ORDER BY`` series and
time; a Parquet file that is not grouped by series is sorted in memory (slower, larger) after the
reader notices a series coming back.

Sources give Arrow record batches; string key columns may be dictionary-encoded (Parquet), in
which case run boundaries come from comparing dictionary indices instead of strings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from domain.errors import DataError, FileRejected
from warehouse.connection import connect_reader, table_exists
from warehouse.utilization import KEY_COLUMNS, NUMERIC_OPTIONAL, SAMPLES_TABLE

SeriesKey = tuple[str, str, str, str, str, str, str]  # KEY_COLUMNS + container_type
VALUE_COLUMNS: tuple[str, ...] = ("cpu_cores", "memory_bytes", *NUMERIC_OPTIONAL)
BATCH_ROWS = 1 << 20


class NotContiguous(Exception):
    """A series came back after another one started: the source is not grouped by series."""


@dataclass
class SeriesChunk:
    """Complete series, back to back. Row arrays share one index; ``offsets`` cut them.

    ``ts`` is int64 UTC seconds, ascending within each series. Values are float64 with NaN for
    a missing sample (cpu_cores, memory_bytes) or an unset request/limit.
    """

    keys: list[SeriesKey]
    offsets: np.ndarray  # int64, len(keys) + 1
    ts: np.ndarray
    cpu: np.ndarray
    mem: np.ndarray
    cpu_request: np.ndarray
    cpu_limit: np.ndarray
    memory_request: np.ndarray
    memory_limit: np.ndarray
    oom: np.ndarray  # bool

    @property
    def rows(self) -> int:
        return int(self.offsets[-1])

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)


_ROW_FIELDS = ("ts", "cpu", "mem", "cpu_request", "cpu_limit", "memory_request", "memory_limit", "oom")


def _ts_seconds(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    typ = arr.type
    if pa.types.is_timestamp(typ):
        factor = {"s": 1, "ms": 1000, "us": 1_000_000, "ns": 1_000_000_000}[typ.unit]
        if arr.null_count:
            raise DataError("timestamp column has empty values")
        raw = np.asarray(arr.view(pa.int64()).to_numpy(zero_copy_only=False))
        return raw // factor if factor != 1 else raw
    if pa.types.is_integer(typ):
        return arr.to_numpy(zero_copy_only=False).astype(np.int64)
    raise DataError(f"timestamp column has type {typ}; expected a timestamp")


def _floats(batch: pa.RecordBatch, name: str, keep_float32: bool = False) -> np.ndarray:
    """Float values with NaN for nulls. float32 usage columns stay float32 (exact in float64
    later, half the memory); everything else becomes float64."""
    idx = batch.schema.get_field_index(name)
    if idx < 0:
        return np.full(batch.num_rows, np.nan)
    col = batch.column(idx)
    if not pa.types.is_floating(col.type):
        col = col.cast(pa.float64())
    values = np.asarray(col.to_numpy(zero_copy_only=False))  # nulls of a float column → NaN
    if keep_float32 and values.dtype == np.float32:
        return values
    return values.astype(np.float64, copy=False)


def _codes(col: pa.Array) -> np.ndarray:
    """Integer codes equal exactly where values are equal (within this batch)."""
    if pa.types.is_dictionary(col.type):
        return np.asarray(col.indices.to_numpy(zero_copy_only=False))
    return np.asarray(pc.dictionary_encode(col).indices.to_numpy(zero_copy_only=False))


def _values_at(col: pa.Array, rows: np.ndarray) -> list[str]:
    return [str(v) for v in col.take(pa.array(rows)).to_pylist()]


class _Cutter:
    """Cuts record batches into complete-series chunks, carrying the last series forward."""

    def __init__(self, namespace: str | None) -> None:
        self.namespace = namespace
        self.pending: tuple[SeriesKey, dict[str, np.ndarray]] | None = None
        self.closed: set[SeriesKey] = set()

    def _close(self, key: SeriesKey) -> None:
        if key in self.closed:
            raise NotContiguous(key)
        self.closed.add(key)

    def feed(self, batch: pa.RecordBatch, since: int | None, until: int | None) -> Iterator[SeriesChunk]:
        n = batch.num_rows
        if n == 0:
            return
        rows = {
            "ts": _ts_seconds(batch.column("timestamp")),
            "cpu": _floats(batch, "cpu_cores", keep_float32=True),
            "mem": _floats(batch, "memory_bytes", keep_float32=True),
            **{c: _floats(batch, c) for c in NUMERIC_OPTIONAL},
        }
        oom_idx = batch.schema.get_field_index("oom_killed")
        rows["oom"] = (
            np.asarray(pc.fill_null(batch.column(oom_idx), False).to_numpy(zero_copy_only=False), dtype=bool)
            if oom_idx >= 0
            else np.zeros(n, dtype=bool)
        )
        key_cols = [batch.column(c) for c in KEY_COLUMNS]
        type_idx = batch.schema.get_field_index("container_type")
        if type_idx >= 0:
            type_col = batch.column(type_idx)
            key_cols.append(pc.fill_null(type_col, "regular") if type_col.null_count else type_col)
        change = np.zeros(n, dtype=bool)
        change[0] = True
        for col in key_cols[: len(KEY_COLUMNS)]:  # container_type is a property, not an identity
            codes = _codes(col)
            change[1:] |= codes[1:] != codes[:-1]
        starts = np.flatnonzero(change)
        keys_by_col = [_values_at(col, starts) for col in key_cols]
        if type_idx < 0:
            keys_by_col.append(["regular"] * len(starts))
        keys: list[SeriesKey] = list(zip(*keys_by_col, strict=True))  # type: ignore[arg-type]
        bounds = np.append(starts, n)
        if since is not None or until is not None:
            keep = np.ones(n, dtype=bool)
            if since is not None:
                keep &= rows["ts"] >= since
            if until is not None:
                keep &= rows["ts"] < until
            if not keep.all():
                kept_before = np.concatenate(([0], np.cumsum(keep)))
                bounds = kept_before[bounds]
                rows = {k: v[keep] for k, v in rows.items()}
        yield from self._emit(keys, bounds, rows)

    def _emit(
        self, keys: list[SeriesKey], bounds: np.ndarray, rows: dict[str, np.ndarray]
    ) -> Iterator[SeriesChunk]:
        first = 0
        if self.pending is not None:
            pkey, prows = self.pending
            self.pending = None
            if keys and keys[0] == pkey:
                lo, hi = bounds[0], bounds[1]
                joined = {k: np.concatenate((prows[k], rows[k][lo:hi])) for k in _ROW_FIELDS}
                first = 1
                if len(keys) == 1:  # the series still goes on
                    self.pending = (pkey, joined)
                    return
                yield from self._chunk([pkey], np.array([0, len(joined["ts"])]), joined, 0, 1)
            else:
                yield from self._chunk([pkey], np.array([0, len(prows["ts"])]), prows, 0, 1)
        last = len(keys) - 1
        if last >= first:
            lo, hi = bounds[last], bounds[last + 1]
            self.pending = (keys[last], {k: rows[k][lo:hi].copy() for k in _ROW_FIELDS})
            if last > first:
                yield from self._chunk(keys, bounds, rows, first, last)

    def flush(self) -> Iterator[SeriesChunk]:
        if self.pending is not None:
            pkey, prows = self.pending
            self.pending = None
            yield from self._chunk([pkey], np.array([0, len(prows["ts"])]), prows, 0, 1)

    def _chunk(
        self, keys: list[SeriesKey], bounds: np.ndarray, rows: dict[str, np.ndarray], first: int, stop: int
    ) -> Iterator[SeriesChunk]:
        for key in keys[first:stop]:
            self._close(key)
        sel_keys = keys[first:stop]
        lo, hi = int(bounds[first]), int(bounds[stop])
        offsets = bounds[first : stop + 1].astype(np.int64) - lo
        data = {k: rows[k][lo:hi] for k in _ROW_FIELDS}
        if self.namespace is not None:
            mask_series = np.array([k[1] == self.namespace for k in sel_keys], dtype=bool)
            if not mask_series.any():
                return
            if not mask_series.all():
                lengths = np.diff(offsets)
                row_keep = np.repeat(mask_series, lengths)
                data = {k: v[row_keep] for k, v in data.items()}
                sel_keys = [k for k, m in zip(sel_keys, mask_series, strict=True) if m]
                offsets = np.concatenate(([0], np.cumsum(lengths[mask_series])))
        lengths = np.diff(offsets)
        nonempty = lengths > 0
        if not nonempty.all():
            sel_keys = [k for k, m in zip(sel_keys, nonempty, strict=True) if m]
            offsets = np.concatenate(([0], np.cumsum(lengths[nonempty])))
        if not sel_keys:
            return
        data = _sorted_within(offsets, data)
        yield SeriesChunk(keys=sel_keys, offsets=offsets, **data)


def _sorted_within(offsets: np.ndarray, data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Sort rows by time inside each series (only when some series is out of order)."""
    ts = data["ts"]
    if len(ts) < 2:
        return data
    backwards = ts[1:] < ts[:-1]
    backwards[offsets[1:-1] - 1] = False  # a new series may start earlier than the last ended
    if not backwards.any():
        return data
    series = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    order = np.lexsort((ts, series))
    return {k: v[order] for k, v in data.items()}


def iter_chunks(
    batches: Iterable[pa.RecordBatch],
    since: datetime | None = None,
    until: datetime | None = None,
    namespace: str | None = None,
) -> Iterator[SeriesChunk]:
    """Complete-series chunks from record batches grouped by series (raises NotContiguous)."""
    cutter = _Cutter(namespace)
    lo = int(since.timestamp()) if since else None
    hi = int(until.timestamp()) if until else None
    for batch in batches:
        yield from cutter.feed(batch, lo, hi)
    yield from cutter.flush()


# --- sources -----------------------------------------------------------------------------------

_WANTED = ("timestamp", *KEY_COLUMNS, "container_type", *VALUE_COLUMNS, "oom_killed")


def parquet_batches(path: Path, batch_rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    """Record batches of a utilization Parquet file, string keys dictionary-encoded."""
    try:
        names = set(pq.read_schema(str(path)).names)
        strings = [c for c in (*KEY_COLUMNS, "container_type") if c in names]
        pf = pq.ParquetFile(str(path), read_dictionary=strings)
    except (OSError, pa.ArrowInvalid) as exc:
        raise FileRejected(str(path), f"cannot be read as Parquet: {exc}") from None
    missing = [c for c in ("timestamp", *KEY_COLUMNS, "cpu_cores", "memory_bytes") if c not in names]
    if missing:
        raise FileRejected(str(path), f"not a utilization file: missing column(s) {', '.join(missing)}")
    columns = [c for c in _WANTED if c in names]
    small = [pf.metadata.row_group(rg).num_rows <= 4 * batch_rows for rg in range(pf.num_row_groups)]
    if not all(small):  # huge row groups: slice them instead of holding one whole
        yield from pf.iter_batches(batch_size=batch_rows, columns=columns)
        return
    # Whole row groups read much faster than iter_batches; the next one is read in a thread
    # (pyarrow releases the GIL) while the caller computes on the current one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(pf.read_row_group, 0, columns=columns) if pf.num_row_groups else None
        for rg in range(pf.num_row_groups):
            assert pending is not None
            table = pending.result()
            pending = (
                pool.submit(pf.read_row_group, rg + 1, columns=columns)
                if rg + 1 < pf.num_row_groups
                else None
            )
            yield from table.to_batches()


def parquet_time_range(path: Path) -> tuple[datetime, datetime] | None:
    """Min and max timestamp from the file's statistics (no data read)."""
    pf = pq.ParquetFile(str(path))
    idx = pf.schema_arrow.get_field_index("timestamp")
    lows, highs = [], []
    for rg in range(pf.num_row_groups):
        stats = pf.metadata.row_group(rg).column(idx).statistics
        if stats is None or not stats.has_min_max:
            return None
        lows.append(stats.min)
        highs.append(stats.max)
    if not lows:
        return None
    return min(lows), max(highs)


def chunks_from_parquet(
    path: Path,
    since: datetime | None = None,
    until: datetime | None = None,
    namespace: str | None = None,
    sort_in_memory: bool = False,
) -> Iterator[SeriesChunk]:
    """Chunks from a Parquet file grouped by series (else NotContiguous: retry with sorting)."""
    if not sort_in_memory:
        yield from iter_chunks(parquet_batches(path), since, until, namespace)
        return
    names = pq.ParquetFile(str(path)).schema_arrow.names
    table = pq.read_table(str(path), columns=[c for c in _WANTED if c in names])
    table = table.sort_by([(c, "ascending") for c in (*KEY_COLUMNS, "timestamp")])
    yield from iter_chunks(table.to_batches(BATCH_ROWS), since, until, namespace)


def warehouse_time_range(warehouse_path: Path) -> tuple[datetime, datetime] | None:
    if not warehouse_path.exists():
        return None
    con = connect_reader(warehouse_path)
    try:
        if not table_exists(con, SAMPLES_TABLE):
            return None
        row = con.execute(f"SELECT min(timestamp), max(timestamp) FROM {SAMPLES_TABLE}").fetchone()
    finally:
        con.close()
    if not row or row[0] is None:
        return None
    return row[0], row[1]


def chunks_from_warehouse(
    warehouse_path: Path,
    since: datetime | None = None,
    until: datetime | None = None,
    namespace: str | None = None,
    sort_in_memory: bool = False,
) -> Iterator[SeriesChunk]:
    """Chunks from ``utilization_samples`` (sorted by series and time in SQL, so always contiguous)."""
    con = connect_reader(warehouse_path)
    try:
        if not table_exists(con, SAMPLES_TABLE):
            return
        where, params = ["TRUE"], []
        if since is not None:
            where.append("timestamp >= ?")
            params.append(since.replace(tzinfo=None))
        if until is not None:
            where.append("timestamp < ?")
            params.append(until.replace(tzinfo=None))
        if namespace is not None:
            where.append("namespace = ?")
            params.append(namespace)
        cols = ", ".join(_WANTED)
        reader = con.sql(
            f"SELECT {cols} FROM {SAMPLES_TABLE} WHERE {' AND '.join(where)} "
            f"ORDER BY {', '.join(KEY_COLUMNS)}, timestamp",
            params=params,
        ).to_arrow_reader(BATCH_ROWS)
        yield from iter_chunks(reader, None, None, None)
    finally:
        con.close()


# A source called with ``sort_in_memory``: False first; True after it raised NotContiguous.
ChunkSource = Callable[[bool], Iterator[SeriesChunk]]


def chunks_from_table(
    table: pa.Table,
    since: datetime | None = None,
    until: datetime | None = None,
    namespace: str | None = None,
    sort_in_memory: bool = False,
) -> Iterator[SeriesChunk]:
    """Chunks from an in-memory Arrow table (tests, small data)."""
    if sort_in_memory:
        table = table.sort_by([(c, "ascending") for c in (*KEY_COLUMNS, "timestamp")])
    yield from iter_chunks(table.to_batches(BATCH_ROWS), since, until, namespace)
