"""Field paths inside YAML documents, e.g. ``spec.template.spec.containers[api].resources.requests.cpu``.

Tokens: ``key`` (a mapping key), ``[name]`` (the list item whose ``name`` is ``name``, as
Kubernetes lists containers), ``[3]`` (a list index), ``["a.b/c"]`` (a key with dots or brackets,
e.g. a label ``costpilot.io/team``). A path may carry a document selector in front,
``Deployment/checkout:spec.replicas``, naming the document of a multi-document file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from domain.errors import InputError


@dataclass(frozen=True, slots=True)
class Key:
    name: str


@dataclass(frozen=True, slots=True)
class Named:
    """A list item selected by its ``name`` field."""

    name: str


@dataclass(frozen=True, slots=True)
class Index:
    index: int


Token = Key | Named | Index

_TOKEN = re.compile(r'\.?(?:\["((?:[^"\\]|\\.)*)"\]|\[([^\]]+)\]|([^.\[\]]+))')
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_*-]+$")
MISSING: Any = object()


def split_selector(path: str) -> tuple[str | None, str]:
    """``"Deployment/api:spec.replicas"`` → ``("Deployment/api", "spec.replicas")``."""
    head, sep, tail = path.partition(":")
    if sep and "[" not in head and '"' not in head:
        return head, tail
    return None, path


def parse_path(path: str) -> tuple[Token, ...]:
    """Tokens of a path (without selector); raises InputError naming the path when malformed."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(path):
        match = _TOKEN.match(path, pos)
        if not match or match.end() == pos or (pos > 0 and path[pos] not in ".["):
            raise InputError(f"malformed field path {path!r} at character {pos}")
        quoted, bracket, plain = match.groups()
        if quoted is not None:
            tokens.append(Key(json.loads(f'"{quoted}"')))
        elif bracket is not None:
            tokens.append(Index(int(bracket)) if bracket.isdigit() else Named(bracket))
        else:
            tokens.append(Key(plain))
        pos = match.end()
    if not tokens:
        raise InputError("empty field path")
    return tuple(tokens)


def format_path(tokens: tuple[Token, ...] | list[Token]) -> str:
    parts: list[str] = []
    for token in tokens:
        if isinstance(token, Key):
            if _PLAIN_KEY.match(token.name):
                parts.append(("." if parts else "") + token.name)
            else:
                parts.append("[" + json.dumps(token.name) + "]")
        elif isinstance(token, Named):
            parts.append(f"[{token.name}]")
        else:
            parts.append(f"[{token.index}]")
    return "".join(parts)


def get_value(doc: Any, tokens: tuple[Token, ...]) -> Any:
    """The value at ``tokens`` in plain parsed data, or ``MISSING``."""
    node = doc
    for token in tokens:
        if isinstance(token, Key):
            if not isinstance(node, dict) or token.name not in node:
                return MISSING
            node = node[token.name]
        elif isinstance(token, Named):
            if not isinstance(node, list):
                return MISSING
            found = [item for item in node if isinstance(item, dict) and item.get("name") == token.name]
            if not found:
                return MISSING
            node = found[0]
        else:
            if not isinstance(node, list) or not -len(node) <= token.index < len(node):
                return MISSING
            node = node[token.index]
    return node


def doc_selector(doc: Any) -> str | None:
    """``Kind/name`` of a Kubernetes object, or None for other documents."""
    if isinstance(doc, dict) and isinstance(doc.get("kind"), str):
        meta = doc.get("metadata")
        name = meta.get("name") if isinstance(meta, dict) else None
        return f"{doc['kind']}/{name}" if isinstance(name, str) else doc["kind"]
    return None


def pattern_matches(pattern: str, selector: str | None, path: str) -> bool:
    """Does a declared field pattern cover a changed field?

    ``*`` as a token matches any single token (``containers[*]`` any item, ``labels.*`` any
    key); a trailing ``.**`` matches any deeper path. A pattern with a selector
    (``HorizontalPodAutoscaler/*:spec.minReplicas``) also matches the document's ``Kind/name``.
    """
    from fnmatch import fnmatchcase

    pat_sel, pat_path = split_selector(pattern)
    if pat_sel is not None and (selector is None or not fnmatchcase(selector, pat_sel)):
        return False
    deep = pat_path.endswith(".**")
    want = parse_path(pat_path[:-3] if deep else pat_path)
    have = parse_path(path)
    if len(have) < len(want) or (not deep and len(have) != len(want)):
        return False
    return all(_token_matches(w, h) for w, h in zip(want, have, strict=False))


def _token_matches(want: Token, have: Token) -> bool:
    if isinstance(want, Key):
        return isinstance(have, Key) and want.name in ("*", have.name)
    if isinstance(want, Named) and want.name == "*":
        return isinstance(have, Named | Index)
    return want == have
