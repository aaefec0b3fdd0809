"""Kubernetes resource quantities: parse to canonical units, format back in a manifest's style.

Canonical units follow ``domain.findings``: CPU in cores (``Decimal``), memory in bytes (``int``).
"""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, Decimal, InvalidOperation

from domain.errors import InputError

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal(10**3),
    "M": Decimal(10**6),
    "G": Decimal(10**9),
    "T": Decimal(10**12),
    "P": Decimal(10**15),
    "E": Decimal(10**18),
}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]?)$")


def parse_quantity(value: object) -> Decimal:
    """Exact value of a Kubernetes quantity (``"500m"`` → 0.5, ``"1Gi"`` → 1073741824)."""
    if isinstance(value, bool) or value is None:
        raise InputError(f"not a Kubernetes quantity: {value!r}")
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    match = _QUANTITY.match(str(value).strip())
    if not match:
        raise InputError(f"not a Kubernetes quantity: {value!r}")
    number, suffix = match.groups()
    try:
        base = Decimal(number)
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only numbers
        raise InputError(f"not a Kubernetes quantity: {value!r}") from exc
    factor = Decimal(_BINARY[suffix]) if suffix in _BINARY else _DECIMAL[suffix]
    return base * factor


def parse_cpu(value: object) -> Decimal:
    """CPU quantity in cores."""
    return parse_quantity(value)


def parse_memory(value: object) -> int:
    """Memory quantity in bytes, rounded up to a whole byte (as the API server does)."""
    return int(parse_quantity(value).to_integral_value(rounding=ROUND_CEILING))


def format_cpu(cores: Decimal, like: object = None) -> str | int:
    """Cores as a manifest value: whole cores keep the old value's form (number or string of
    cores), anything else becomes millicores (rounded up to 1m)."""
    cores = Decimal(cores)
    milli = (cores * 1000).to_integral_value(rounding=ROUND_CEILING)
    if milli % 1000 == 0 and isinstance(like, int | float) and not isinstance(like, bool):
        return int(milli // 1000)
    if milli % 1000 == 0 and isinstance(like, str) and "m" not in like:
        return str(int(milli // 1000))  # "2" → "1": stays a string, keeps its quotes
    return f"{int(milli)}m"


def format_memory(num_bytes: int, like: object = None) -> str | int:
    """Bytes as a manifest value in the old value's unit family when exact, else Mi (rounded up)."""
    num_bytes = int(num_bytes)
    if isinstance(like, int) and not isinstance(like, bool):
        return num_bytes
    suffix = ""
    if isinstance(like, str):
        match = _QUANTITY.match(like.strip())
        suffix = match.group(2) if match else ""
    if suffix in _BINARY and num_bytes % _BINARY[suffix] == 0:
        return f"{num_bytes // _BINARY[suffix]}{suffix}"
    if suffix in ("M", "G", "T") and num_bytes % int(_DECIMAL[suffix]) == 0:
        return f"{num_bytes // int(_DECIMAL[suffix])}{suffix}"
    for unit in ("Gi", "Mi"):
        if num_bytes % _BINARY[unit] == 0:
            return f"{num_bytes // _BINARY[unit]}{unit}"
    mebi = -(-num_bytes // _BINARY["Mi"])
    return f"{mebi}Mi"
