"""Text from data shown safely on a terminal (kept for existing imports; the functions live in domain)."""

from __future__ import annotations

from domain.text import terminal_safe

__all__ = ["terminal_safe"]
