"""Reading input files: format by content, SHA-256 identity, raw headers, log records.

Everything here turns unreadable input into a one-line :class:`FileRejected` (a whole file) or a
reason string (one record), never an exception from the standard library.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import json
import re
import unicodedata
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any, Literal

from domain.errors import FileRejected

FileFormat = Literal["parquet", "csv", "jsonl"]
# What a damaged gzip stream raises while it is read (a valid header says nothing of the rest).
_GZIP_ERRORS = (OSError, EOFError, zlib.error)
Record = dict[str, Any]


def shown(text: object, limit: int = 60) -> str:
    """Text from a file, safe inside a one-line message: control characters escaped, cut short."""
    try:
        value = str(text)
    except ValueError:  # an int longer than Python prints (4,300 digits)
        value = f"<{type(text).__name__} too long to show>"
    out = "".join(
        ch if unicodedata.category(ch)[0] != "C" else ch.encode("unicode_escape", "backslashreplace").decode()
        for ch in value[:limit]
    )
    return out + ("…" if len(value) > limit else "")


def rejected(path: Path, reason: str) -> FileRejected:
    """A whole-file rejection whose message stays one line whatever the file is called."""
    return FileRejected(shown(path, 4096), reason)


def _unreadable(path: Path, exc: OSError) -> FileRejected:
    return rejected(path, f"cannot be read ({exc.strerror or exc.__class__.__name__})")


def _read_failed(path: Path, exc: BaseException, what: str) -> FileRejected:
    """An error while reading (possibly gzip) content: the disk's, or the stream's own."""
    if isinstance(exc, OSError) and not isinstance(exc, gzip.BadGzipFile) and exc.errno:
        return _unreadable(path, exc)
    return rejected(path, what)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise _unreadable(path, exc) from None
    return digest.hexdigest()


def check_readable(path: Path) -> None:
    try:
        if not path.exists():
            raise rejected(path, "no such file")
        if not path.is_file():
            raise rejected(path, "not a file")
        if path.stat().st_size == 0:
            raise rejected(path, "empty file")
    except OSError as exc:
        raise _unreadable(path, exc) from None


def is_gzip(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(2) == b"\x1f\x8b"
    except OSError as exc:
        raise _unreadable(path, exc) from None


def read_head(path: Path, size: int = 4096) -> bytes:
    """The first ``size`` bytes of the content (decompressed when the file is gzip)."""
    try:
        if is_gzip(path):
            with gzip.open(path, "rb") as gz:
                return gz.read(size)
        with path.open("rb") as handle:
            return handle.read(size)
    except _GZIP_ERRORS as exc:
        raise _read_failed(path, exc, "corrupt gzip file") from None


def sniff_format(path: Path, allowed: tuple[FileFormat, ...]) -> FileFormat:
    """The file's format from its bytes (Parquet magic, gzip, text), not only its name."""
    check_readable(path)
    head = read_head(path)
    if head[:4] == b"PAR1":
        fmt: FileFormat = "parquet"
    else:
        if b"\x00" in head:
            raise rejected(path, f"not a {' / '.join(allowed)} file (binary content)")
        text = head.decode("utf-8", "replace")
        stripped = text.lstrip("\ufeff \r\n\t")
        fmt = "jsonl" if stripped.startswith("{") else "csv"
    if fmt not in allowed:
        raise rejected(path, f"not a {' / '.join(allowed)} file (looks like {fmt})")
    return fmt


def duplicate_columns(names: Sequence[str]) -> str | None:
    """One line naming every column that appears twice (names compared trimmed and
    case-insensitively, as the ingest matches them), or None."""
    positions: dict[str, list[int]] = {}
    for number, name in enumerate(names, start=1):
        if name.strip():
            positions.setdefault(name.strip().lower(), []).append(number)
    parts = []
    for found in positions.values():
        if len(found) > 1:
            spellings = "/".join(dict.fromkeys(shown(names[i - 1].strip(), 40) for i in found))
            where = ", ".join(map(str, found[:-1])) + f" and {found[-1]}"
            parts.append(f"{spellings} (columns {where})")
    if not parts:
        return None
    return "duplicate column names (compared case-insensitively): " + "; ".join(parts)


def _dialect_kwargs(delimiter: str, quote: str, escape: str) -> dict[str, Any] | None:
    if len(delimiter) != 1:
        return None
    kwargs: dict[str, Any] = {"delimiter": delimiter, "strict": False}
    if quote in ("", "(empty)"):
        kwargs["quoting"] = csv.QUOTE_NONE
    elif len(quote) == 1:
        kwargs["quotechar"] = quote
    else:
        return None
    if escape not in ("", "(empty)", quote):
        if len(escape) != 1:
            return None
        kwargs.update(escapechar=escape, doublequote=False)
    return kwargs


def raw_csv_header(path: Path, delimiter: str, quote: str, escape: str) -> list[str] | None:
    """The first record of a CSV file split with the given dialect (DuckDB's, as it sniffed it),
    names exactly as written; None when it cannot be split."""
    kwargs = _dialect_kwargs(delimiter, quote, escape)
    if kwargs is None:
        return None
    text = read_head(path, 1 << 20).decode("utf-8", "replace").lstrip("\ufeff")
    try:
        return next(csv.reader(io.StringIO(text, newline=""), **kwargs))
    except (csv.Error, StopIteration):
        return None


def header_matches(raw: Sequence[str], described: Sequence[str]) -> bool:
    """Whether ``raw`` is the header DuckDB read as ``described`` (which renames a repeated
    name to name_1, name_2 … and an empty one to columnN)."""
    if len(raw) != len(described):
        return False
    for name, seen in zip(raw, described, strict=True):
        if seen in (name, name.strip()) or not name.strip():
            continue
        if not re.fullmatch(re.escape(name.strip()) + r"_\d+", seen, flags=re.IGNORECASE):
            return False
    return True


# ---- LLM usage logs: one record per JSON line or CSV row -------------------------------------


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for key, value in pairs:
        if key in record:
            raise _DuplicateKey(key)
        record[key] = value
    return record


def parse_json(text: str) -> Any:
    """``json.loads`` that refuses a key given twice (json keeps the last one silently).
    Raises ValueError with a one-line reason."""
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except _DuplicateKey as exc:
        raise ValueError(f"duplicate key {shown(exc.args[0], 40)!r}") from None
    except RecursionError:
        raise ValueError("nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise ValueError(exc.msg) from None
    except ValueError as exc:  # e.g. an integer longer than Python converts (4,300 digits)
        raise ValueError(shown(str(exc).splitlines()[0], 80)) from None


def _case_duplicates(keys: Sequence[str]) -> str | None:
    seen: dict[str, str] = {}
    for key in keys:
        if key.lower() in seen:
            return f"keys {shown(seen[key.lower()], 40)!r} and {shown(key, 40)!r} differ only in case"
        seen[key.lower()] = key
    return None


def _json_line(raw: bytes, number: int) -> Record | str:
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"line {number}: not UTF-8 text (byte {exc.start + 1})"
    try:
        record = parse_json(line)
    except ValueError as exc:
        return f"line {number}: not valid JSON ({exc})"
    if not isinstance(record, dict):
        return f"line {number}: not a JSON object"
    clash = _case_duplicates(list(record))
    return f"line {number}: {clash}" if clash else record


def _open_binary(path: Path) -> IO[bytes]:
    return gzip.open(path, "rb") if is_gzip(path) else path.open("rb")  # type: ignore[return-value]


def _jsonl_records(handle: IO[bytes]) -> Iterator[tuple[int, Record | str]]:
    for number, raw in enumerate(handle, start=1):
        if number == 1:
            raw = raw.removeprefix(codecs.BOM_UTF8)
        if raw.strip():
            yield number, _json_line(raw, number)


def _csv_records(
    path: Path, handle: IO[bytes], required: Sequence[str]
) -> Iterator[tuple[int, Record | str]]:
    # surrogateescape: a row with bytes that are not UTF-8 is rejected on its own, not the file.
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", errors="surrogateescape", newline="")
    reader = csv.reader(text)
    try:
        header = next(reader)
        "".join(header).encode("utf-8")
    except (csv.Error, StopIteration, UnicodeEncodeError):
        raise rejected(path, "no readable CSV header line") from None
    duplicates = duplicate_columns(header)
    if duplicates:
        raise rejected(path, duplicates)
    missing = [f for f in required if f not in header]
    if missing:
        raise rejected(path, f"not an LLM usage log: missing column(s) {', '.join(missing)}")
    number = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            number += 1
            yield number, f"row {number}: {shown(exc, 80)}"
            continue
        if not row:
            continue  # a blank line is no record
        number += 1
        try:
            "".join(row).encode("utf-8")
        except UnicodeEncodeError:
            yield number, f"row {number}: not UTF-8 text"
            continue
        if len(row) > len(header):
            yield number, f"row {number}: more values than header columns"
            continue
        yield number, {k: v for k, v in zip(header, row, strict=False) if v != ""}


def read_records(path: Path, fmt: FileFormat, required: Sequence[str]) -> Iterator[tuple[int, Record | str]]:
    """(row number, record) pairs of a JSONL or CSV log (plain or gzip); a record that cannot be
    parsed comes as its reason string. A file unusable as a whole raises FileRejected."""
    number = 0
    try:
        with _open_binary(path) as handle:
            records = _jsonl_records(handle) if fmt == "jsonl" else _csv_records(path, handle, required)
            for number, record in records:
                yield number, record
    except _GZIP_ERRORS as exc:
        raise _read_failed(path, exc, f"corrupt gzip data after record {number}") from None
