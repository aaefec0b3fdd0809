"""`costpilot savings` (being built)."""

from __future__ import annotations

import typer


def register(cli: typer.Typer) -> None:
    """Nothing registered yet."""
