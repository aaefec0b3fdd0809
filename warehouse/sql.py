"""Quoting for the few SQL strings built by hand (identifiers and literals from file headers)."""

from __future__ import annotations


def ident(name: str) -> str:
    """A quoted SQL identifier (column names come from users' files)."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A quoted SQL string literal."""
    return "'" + text.replace("'", "''") + "'"
