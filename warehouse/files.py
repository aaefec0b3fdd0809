"""Reading input files: format by content, SHA-256 identity, header inspection."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path
from typing import Literal

from domain.errors import FileRejected

FileFormat = Literal["parquet", "csv", "jsonl"]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_readable(path: Path) -> None:
    if not path.exists():
        raise FileRejected(str(path), "no such file")
    if not path.is_file():
        raise FileRejected(str(path), "not a file")
    if path.stat().st_size == 0:
        raise FileRejected(str(path), "empty file")


def sniff_format(path: Path, allowed: tuple[FileFormat, ...]) -> FileFormat:
    """The file's format from its bytes (Parquet magic, gzip, text), not only its name."""
    check_readable(path)
    with path.open("rb") as handle:
        head = handle.read(4096)
    if head[:4] == b"PAR1":
        fmt: FileFormat = "parquet"
    else:
        if head[:2] == b"\x1f\x8b":
            try:
                with gzip.open(path, "rb") as gz:
                    head = gz.read(4096)
            except OSError:
                raise FileRejected(str(path), "corrupt gzip file") from None
        if b"\x00" in head:
            raise FileRejected(str(path), f"not a {' / '.join(allowed)} file (binary content)")
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError:
            text = head.decode("latin-1")
        stripped = text.lstrip("\ufeff \r\n\t")
        fmt = "jsonl" if stripped.startswith("{") else "csv"
    if fmt not in allowed:
        raise FileRejected(str(path), f"not a {' / '.join(allowed)} file (looks like {fmt})")
    return fmt
