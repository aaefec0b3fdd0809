"""Output: one JSON document for ``--json``, rich text otherwise. Progress on stderr."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from rich.console import Console

if TYPE_CHECKING:
    from pydantic import BaseModel

# Human output on stdout; progress and warnings on stderr so --json stdout stays one document.
console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False)


def emit_json(result: BaseModel | dict[str, Any] | list[Any]) -> None:
    """Print exactly one JSON document on stdout (Decimals as strings via the models)."""
    if hasattr(result, "model_dump_json"):
        text = result.model_dump_json(indent=2)
    else:
        text = json.dumps(result, indent=2, default=str)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def money(amount: Any, currency: str = "USD") -> str:
    """Human money: thousands separators, cents, currency code."""
    from decimal import Decimal

    from domain.money import round_cents

    value = round_cents(Decimal(amount))
    return f"{value:,.2f} {currency}"
