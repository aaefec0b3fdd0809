"""Helpers to write FOCUS variants of the reference sample."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest


def read_sample(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def write_csv(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def focus_variant(tmp_path: Path, focus_sample: Path) -> Callable[..., Path]:
    """Write the reference sample with edits: ``edit(rows)`` mutates the list of dict rows."""

    def make(name: str, edit: Callable[[list[dict[str, str]]], None] | None = None, header_map=None) -> Path:  # type: ignore[no-untyped-def]
        header, rows = read_sample(focus_sample)
        if edit:
            edit(rows)
        if header_map:
            rows = [{header_map(k): v for k, v in row.items()} for row in rows]
            header = [header_map(h) for h in header]
        return write_csv(tmp_path / name, header, rows)

    return make
