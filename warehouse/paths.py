"""Expanding the PATH... arguments of ingest commands (files, or folders of files)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from domain.errors import InputError


def expand_inputs(paths: Sequence[Path], suffixes: tuple[str, ...]) -> list[Path]:
    """Files as given; a folder contributes its files ending in one of ``suffixes`` (sorted)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.name.lower().endswith(suffixes))
            if not found:
                raise InputError(f"{path}: no {' / '.join(suffixes)} files in this folder")
            files.extend(found)
        else:
            files.append(path)
    return files
