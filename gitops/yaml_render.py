"""YAML text for values and small trees, in the forms a hand-written manifest uses: plain
scalars unless quoting is needed to keep the type, block mappings and lists, flow collections."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import yaml as pyyaml

from gitops.yaml_load import SAFE_LOADER

# "@" and "`" are reserved indicators: a plain scalar may contain them but not start with one.
PLAIN_OK = re.compile(r"^[A-Za-z0-9_./+-][A-Za-z0-9_./@+ -]*$")


def scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def render_scalar(value: Any, style: str | None) -> str:
    """YAML text for ``value`` in the old scalar's quoting style (plain when it stays a string)."""
    text = scalar_text(value)
    if not isinstance(value, str):
        # Numbers, booleans and null stay typed: quoting them would turn them into strings.
        return "null" if value is None else text
    if style == "'":
        return "'" + text.replace("'", "''") + "'"
    if style == '"':
        return json.dumps(text, ensure_ascii=False)
    if not plain_keeps_string(text):
        return json.dumps(text, ensure_ascii=False)
    return text


def plain_keeps_string(text: str) -> bool:
    if not PLAIN_OK.match(text) or text != text.strip():
        return False
    try:
        return pyyaml.load(text, Loader=SAFE_LOADER) == text
    except pyyaml.YAMLError:  # not a plain scalar at all: quote it
        return False


def block(tree: dict[str, Any], indent: int, unit: int) -> str:
    lines: list[str] = []
    for key, value in tree.items():
        name = key_text(key)
        if isinstance(value, dict) and value:
            lines.append(" " * indent + f"{name}:\n" + block(value, indent + unit, unit))
        elif isinstance(value, list) and value:
            lines.append(
                " " * indent + f"{name}:\n" + "".join(seq_item(v, indent + unit, unit) for v in value)
            )
        else:
            lines.append(" " * indent + f"{name}: {flow(value)}\n")
    return "".join(lines)


def seq_item(value: Any, dash: int, unit: int) -> str:
    """One block-sequence item whose dash is at column ``dash``."""
    if isinstance(value, dict) and value:
        body = block(value, dash + 2, unit)
        return " " * dash + "- " + body[dash + 2 :]
    return " " * dash + f"- {flow(value)}\n"


def flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key_text(k)}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return render_scalar(value, None)


def key_text(key: Any) -> str:
    return key if isinstance(key, str) and plain_keeps_string(key) else json.dumps(str(key))
