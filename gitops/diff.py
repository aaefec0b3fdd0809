"""Diffs of planned changes: the unified text diff a reviewer reads, and the list of fields that
really changed, computed by comparing the parsed documents before and after."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from domain.changes import FileChange
from gitops.yaml_load import has_control_chars
from gitops.yaml_path import Index, Key, Named, Token, doc_selector, format_path


def unified_diff(files: Iterable[FileChange]) -> str:
    """One unified diff (``a/PATH`` → ``b/PATH``, 3 lines of context) of all files, in path order."""
    chunks: list[str] = []
    for change in sorted(files, key=lambda f: f.path):
        before = change.before.splitlines(keepends=True)
        after = change.after.splitlines(keepends=True)
        for lines in (before, after):
            if lines and not lines[-1].endswith("\n"):
                lines[-1] += "\n\\ No newline at end of file\n"
        chunks.extend(
            difflib.unified_diff(before, after, header_path("a", change.path), header_path("b", change.path))
        )
    return "".join(chunks)


def header_path(side: str, path: str) -> str:
    """``a/PATH`` for a diff header; a path holding a control character is quoted and escaped
    the way git does (``"a/x\\ny.yaml"``), so it can never forge another header line."""
    text = f"{side}/{path}"
    if not has_control_chars(text) and '"' not in text and "\\" not in text:
        return text
    escaped = text.encode("unicode_escape").decode("ascii").replace('"', '\\"')
    return f'"{escaped}"'


def changed_fields(before_docs: list[Any], after_docs: list[Any]) -> list[str]:
    """Every leaf path that differs, as ``Kind/name:path`` for Kubernetes objects, else ``path``.

    Lists of mappings with a ``name`` are compared item by item by name (containers, env); other
    lists by position. A document added or removed is reported as ``#N:<document>``.
    """
    out: list[str] = []
    for index in range(max(len(before_docs), len(after_docs))):
        if index >= len(before_docs) or index >= len(after_docs):
            out.append(f"#{index}:<document>")
            continue
        before, after = before_docs[index], after_docs[index]
        selector = doc_selector(after) or doc_selector(before)
        prefix = f"{selector}:" if selector else ""
        out.extend(prefix + p for p in _diff(before, after, ()))
    return out


def _diff(before: Any, after: Any, path: tuple[Token, ...]) -> list[str]:
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[str] = []
        for key in list(before) + [k for k in after if k not in before]:
            sub = (*path, Key(str(key)))
            if key not in after or key not in before:
                out.extend(_leaves(before.get(key), sub) if key not in after else _leaves(after[key], sub))
            else:
                out.extend(_diff(before[key], after[key], sub))
        return out
    if isinstance(before, list) and isinstance(after, list):
        if _named(before) and _named(after):
            names_b = [item["name"] for item in before]
            names_a = [item["name"] for item in after]
            if names_b != names_a:
                return [format_path(path)] if path else ["<document>"]
            return [
                p for b, a in zip(before, after, strict=True) for p in _diff(b, a, (*path, Named(b["name"])))
            ]
        if len(before) != len(after):
            return [format_path(path)] if path else ["<document>"]
        return [
            p
            for i, (b, a) in enumerate(zip(before, after, strict=True))
            for p in _diff(b, a, (*path, Index(i)))
        ]
    if type(before) is not type(after) or before != after:
        return [format_path(path)] if path else ["<document>"]
    return []


def _leaves(value: Any, path: tuple[Token, ...]) -> list[str]:
    """Paths of every leaf under an added or removed value (so each is checked on its own); in
    lists of named items (containers) the ``name`` is the item's identity, not a leaf."""
    if isinstance(value, dict) and value:
        return [p for k, v in value.items() for p in _leaves(v, (*path, Key(str(k))))]
    if isinstance(value, list) and value and _named(value):
        out = []
        for item in value:
            rest = {k: v for k, v in item.items() if k != "name"}
            out.extend(
                _leaves(rest, (*path, Named(item["name"])))
                if rest
                else [format_path((*path, Named(item["name"])))]
            )
        return out
    return [format_path(path)]


def identity(doc: Any) -> Any:
    """The part of a new Kubernetes document that only says which object it is (apiVersion,
    kind, metadata.name): what a new patch file may carry besides its declared fields."""
    if not isinstance(doc, dict):
        return None
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    out = {k: doc[k] for k in ("apiVersion", "kind") if k in doc}
    if "name" in meta:
        out["metadata"] = {"name": meta["name"]}
    return out


def _named(items: list[Any]) -> bool:
    names = [item.get("name") for item in items if isinstance(item, dict)]
    return (
        len(names) == len(items) and all(isinstance(n, str) for n in names) and len(set(names)) == len(names)
    )
