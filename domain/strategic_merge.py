"""Kubernetes strategic merge, as far as manifests need it to find effective values."""

from __future__ import annotations

from typing import Any


def strategic_merge(base: Any, patch: Any) -> Any:
    """Maps merge key by key; lists of named items (containers, env…) merge by ``name``;
    anything else is replaced by the patch."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for key, value in patch.items():
            out[key] = strategic_merge(base[key], value) if key in base else value
        return out
    if (
        isinstance(base, list)
        and isinstance(patch, list)
        and all(isinstance(i, dict) and "name" in i for i in [*base, *patch])
    ):
        merged = {i["name"]: i for i in base}
        for item in patch:
            name = item["name"]
            merged[name] = strategic_merge(merged[name], item) if name in merged else item
        return list(merged.values())
    return patch
