"""Size cap for MCP tool results: a client caps a reply near 25k tokens, so a result larger than
``max_bytes`` of compact JSON is cut down to fit, and says exactly what was cut.

Only lists (their tail items) and long strings (their tail characters) are cut; scalars and the
shape of every object stay, so totals, currencies and provenance survive. The cut is recorded in
the document under ``truncated``: one ``{"path", "kept", "total", "unit"}`` entry per list or
string that was shortened (``unit`` is ``items`` or ``chars``). Lists keep their *first* items:
the tools sort them largest first.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from domain.errors import InputError

MARKER = "truncated"
# Strings shorter than this are never cut (ids, dates, names): only diffs, queries, long text.
MIN_STRING_CUT = 512
ELLIPSIS = "…"
_MAX_ROUNDS = 500  # each round shortens one list or string; real results need a handful


def json_size(doc: Any) -> int:
    """Bytes of ``doc`` as compact UTF-8 JSON (what goes over the wire)."""
    return len(json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode())


def compact(doc: Any) -> str:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


@dataclass
class Cut:
    """One shortened list (``unit="items"``) or string (``unit="chars"``)."""

    path: str
    kept: int
    total: int
    unit: str

    def as_json(self) -> dict[str, Any]:
        return {"path": self.path, "kept": self.kept, "total": self.total, "unit": self.unit}


@dataclass
class _Slot:
    """A cuttable value and where it sits (so it can be replaced in place)."""

    path: str
    parent: dict[str, Any] | list[Any]
    key: str | int
    value: list[Any] | str
    size: int


def cap_document(doc: dict[str, Any], max_bytes: int) -> tuple[dict[str, Any], list[Cut]]:
    """``doc`` unchanged when it fits in ``max_bytes``; otherwise a copy with the largest lists and
    strings shortened until it fits, carrying ``truncated``. Raises ``InputError`` when even that
    cannot make it fit (the caller turns it into a tool error asking for a narrower query)."""
    if json_size(doc) <= max_bytes:
        return doc, []
    out = copy.deepcopy(doc)
    cuts: dict[str, Cut] = {}
    for _ in range(_MAX_ROUNDS):
        out[MARKER] = [c.as_json() for c in cuts.values()]
        excess = json_size(out) - max_bytes
        if excess <= 0:
            return out, list(cuts.values())
        slot = _largest_slot(out)
        if slot is None:
            break
        _shorten(slot, excess, cuts)
    raise InputError(
        f"result is larger than {max_bytes} bytes even with every list and long text cut; "
        "narrow the query (a shorter period, filters, fewer dimensions or `top`)"
    )


def _largest_slot(doc: dict[str, Any]) -> _Slot | None:
    best: _Slot | None = None
    for slot in _slots(doc, ""):
        if best is None or slot.size > best.size:
            best = slot
    return best


def _slots(node: Any, path: str) -> Iterator[_Slot]:
    """Every non-empty list and long string below ``node`` (the marker itself excluded)."""
    items: Iterator[tuple[str | int, Any]]
    if isinstance(node, dict):
        items = ((k, v) for k, v in node.items() if not (path == "" and k == MARKER))
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return
    for key, value in items:
        where = f"{path}[{key}]" if isinstance(key, int) else (f"{path}.{key}" if path else str(key))
        if (isinstance(value, list) and value) or (isinstance(value, str) and len(value) >= MIN_STRING_CUT):
            yield _Slot(where, node, key, value, json_size(value))
        if isinstance(value, dict | list):
            yield from _slots(value, where)


def _shorten(slot: _Slot, excess: int, cuts: dict[str, Cut]) -> None:
    """Cut about ``excess`` bytes off the slot's tail (at least one item or character)."""
    value = slot.value
    total = cuts[slot.path].total if slot.path in cuts else len(value)
    per_unit = max(slot.size / max(len(value), 1), 1.0)
    # A little more than the excess: the marker entry and separators grow as we cut.
    drop = max(1, int((excess + 96) / per_unit) + 1)
    keep = max(0, len(value) - drop)
    if isinstance(value, str):
        if keep < MIN_STRING_CUT // 2:
            keep = 0
        new: list[Any] | str = value[:keep] + ELLIPSIS if keep else ELLIPSIS
        cuts[slot.path] = Cut(slot.path, keep, total, "chars")
    else:
        new = value[:keep]
        cuts[slot.path] = Cut(slot.path, keep, total, "items")
        # Cuts inside items that are gone now would name paths that no longer exist.
        for path in [p for p in cuts if _item_index(p, slot.path) >= keep]:
            del cuts[path]
    slot.parent[slot.key] = new  # type: ignore[index]


def _item_index(path: str, list_path: str) -> int:
    """The index of ``list_path``'s item that ``path`` lies in, or -1 when it is not inside it."""
    prefix = f"{list_path}["
    if not path.startswith(prefix):
        return -1
    index = path[len(prefix) :].split("]", 1)[0]
    return int(index) if index.isdigit() else -1
