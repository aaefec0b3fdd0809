"""Placeholder until the utilization ingest lands (owned by the right-sizing work)."""

from __future__ import annotations

import typer


def add_commands(ingest_app: typer.Typer) -> None:
    """Add ``utilization`` and ``prometheus`` to the ingest group."""
