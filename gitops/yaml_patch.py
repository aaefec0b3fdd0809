"""Round-trip YAML patching that keeps every byte it was not asked to change.

A composer locates each target node with its exact start/end marks; the patch then splices new
text into the original at those marks. Comments, key order, quoting, indentation and the other
documents of a multi-document file stay byte-for-byte as they were (a re-dump of the whole tree
would re-indent and re-wrap lines the patch never meant to touch).

Two composers give the same node tree and character marks: libyaml's (PyYAML's C loader,
~0.3 ms for a 40-line manifest) and ruamel.yaml's round-trip composer (pure Python, ~5-15 ms).
``locator="auto"`` takes libyaml when it is compiled in and ruamel otherwise; tests run both.

Hostile input is refused first (``gitops.yaml_load``: anchors/aliases, merge keys, size, paths
leaving the repository); its names are re-exported here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml as pyyaml
from ruamel.yaml import YAML
from ruamel.yaml import nodes as rnodes
from ruamel.yaml.error import YAMLError as RuamelYAMLError

from gitops.yaml_load import (
    MAX_BYTES,
    MAX_DOCUMENTS,
    SAFE_LOADER,
    PatchError,
    UnsafeYamlError,
    check_safe_yaml,
    load_documents,
    one_line,
    read_field,
    resolve_in_repo,
)
from gitops.yaml_path import MISSING, Key, Named, Token, format_path, get_value, parse_path
from gitops.yaml_render import block, flow, render_scalar, scalar_text, seq_item

_SAFE_LOADER = SAFE_LOADER
# Node classes of both composers (same shape: value, tag, style, flow_style, start/end marks).
MappingNode = (rnodes.MappingNode, pyyaml.MappingNode)
SequenceNode = (rnodes.SequenceNode, pyyaml.SequenceNode)
ScalarNode = (rnodes.ScalarNode, pyyaml.ScalarNode)
Node = Any
LOCATORS = ("auto", "libyaml", "ruamel")
__all__ = [
    "LOCATORS",
    "MAX_BYTES",
    "MAX_DOCUMENTS",
    "FieldEdit",
    "PatchError",
    "UnsafeYamlError",
    "append_to_list",
    "check_safe_yaml",
    "load_documents",
    "new_document",
    "read_field",
    "resolve_in_repo",
    "set_fields",
]


@dataclass(frozen=True)
class FieldEdit:
    """Set ``path`` (see ``gitops.yaml_path``) of document ``doc`` to ``value``."""

    doc: int
    path: str
    value: Any


def set_fields(
    text: str,
    edits: Sequence[FieldEdit],
    source: str = "<yaml>",
    locator: str = "auto",
    checked: bool = False,
) -> str:
    """``text`` with each edit applied; only the edited scalars (and inserted keys) change.

    Missing keys are created under the deepest existing mapping; missing list items
    (``containers[api]``) are an error, never invented. The result is re-read and each field
    checked to hold its new value. ``checked=True`` skips the safety scan of ``text`` when the
    caller already ran ``check_safe_yaml`` / ``load_documents`` on it.
    """
    if not checked:
        check_safe_yaml(text, source)
    roots = _compose(text, source, locator)
    splices: list[tuple[int, int, str]] = []
    inserts: dict[int, _Insert] = {}
    flows: dict[int, _FlowRewrite] = {}
    for edit in edits:
        tokens = parse_path(edit.path)
        if not 0 <= edit.doc < len(roots) or roots[edit.doc] is None:
            raise PatchError(f"{source}: no YAML document #{edit.doc}")
        _plan_edit(text, roots[edit.doc], tokens, edit, source, splices, inserts, flows)
    for insert in inserts.values():
        splices.append(insert.render(text))
    for rewrite in flows.values():
        splices.append(rewrite.render(text))
    result = _apply(text, splices, source)
    _verify(result, edits, source)
    return result


# --- locating ---------------------------------------------------------------------------


def _compose(text: str, source: str, locator: str) -> list[Any]:
    if locator not in LOCATORS:
        raise ValueError(f"locator must be one of {LOCATORS}")
    if locator == "libyaml" or (locator == "auto" and hasattr(pyyaml, "CSafeLoader")):
        try:
            return list(pyyaml.compose_all(text, Loader=_SAFE_LOADER))
        except pyyaml.YAMLError as exc:
            raise PatchError(f"{source}: not valid YAML: {one_line(exc)}") from exc
    try:
        return list(YAML(typ="rt").compose_all(text))
    except RuamelYAMLError as exc:
        raise PatchError(f"{source}: not valid YAML: {one_line(exc)}") from exc


@dataclass
class _Insert:
    """New keys to add under one existing node (a mapping, or an empty ``key:``)."""

    node: Node
    key_node: Node | None
    tree: dict[str, Any]

    def render(self, text: str) -> tuple[int, int, str]:
        node = self.node
        if isinstance(node, MappingNode):
            indent = node.value[0][0].start_mark.column
            pos = _line_end_after(text, _last_end(node))
            prefix = "" if pos == 0 or text[pos - 1] == "\n" else "\n"
            return pos, pos, prefix + block(self.tree, indent, _indent_unit(text))
        # an empty value (``resources:``) or an explicit null
        assert self.key_node is not None
        if isinstance(node, ScalarNode) and node.value not in ("",):
            return node.start_mark.index, node.end_mark.index, flow(self.tree)
        nl = text.find("\n", self.key_node.end_mark.index)
        pos = len(text) if nl == -1 else nl
        indent = self.key_node.start_mark.column + _indent_unit(text)
        return pos, pos, "\n" + block(self.tree, indent, _indent_unit(text)).rstrip("\n")


@dataclass
class _FlowRewrite:
    """A flow collection re-rendered with the edits that reach into it."""

    node: Node
    edits: list[tuple[tuple[Token, ...], Any, str]]

    def render(self, text: str) -> tuple[int, int, str]:
        start, end = self.node.start_mark.index, self.node.end_mark.index
        data = pyyaml.load(text[start:end], Loader=_SAFE_LOADER)
        for tokens, value, where in self.edits:
            data = _set_in(data, tokens, value, where)
        return start, end, flow(data)


def _set_in(data: Any, tokens: tuple[Token, ...], value: Any, where: str) -> Any:
    if not tokens:
        return value
    token, rest = tokens[0], tokens[1:]
    if isinstance(token, Key):
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise PatchError(f"{where}: parent is not a mapping")
        if token.name not in data and any(not isinstance(t, Key) for t in rest):
            raise PatchError(f"{where}: missing, and list items are never invented")
        data[token.name] = _set_in(data.get(token.name), rest, value, where)
        return data
    if not isinstance(data, list):
        raise PatchError(f"{where}: parent is not a list")
    if isinstance(token, Named):
        idx = [i for i, item in enumerate(data) if isinstance(item, dict) and item.get("name") == token.name]
        if not idx:
            raise PatchError(f"{where}: no list item named {token.name!r}")
        data[idx[0]] = _set_in(data[idx[0]], rest, value, where)
        return data
    if not -len(data) <= token.index < len(data):
        raise PatchError(f"{where}: no list item #{token.index}")
    data[token.index] = _set_in(data[token.index], rest, value, where)
    return data


def _plan_edit(
    text: str,
    root: Node,
    tokens: tuple[Token, ...],
    edit: FieldEdit,
    source: str,
    splices: list[tuple[int, int, str]],
    inserts: dict[int, _Insert],
    flows: dict[int, _FlowRewrite],
) -> None:
    node: Node = root
    key_node: Node | None = None
    for depth, token in enumerate(tokens):
        where = f"{source}: document #{edit.doc}: {format_path(tokens[: depth + 1])}"
        if isinstance(node, MappingNode + SequenceNode) and node.flow_style:
            # Inside a flow collection ({...} / [...]) the whole collection is re-rendered once
            # with every edit that reaches into it; nested splices would overlap.
            rewrite = flows.setdefault(id(node), _FlowRewrite(node, []))
            rewrite.edits.append((tokens[depth:], edit.value, where))
            return
        if isinstance(token, Key):
            if _is_empty(node):
                _add_insert(inserts, node, key_node, tokens[depth:], edit.value, where)
                return
            if not isinstance(node, MappingNode):
                raise PatchError(f"{where}: parent is not a mapping")
            found = [(k, v) for k, v in node.value if isinstance(k, ScalarNode) and k.value == token.name]
            if not found:
                _add_insert(inserts, node, key_node, tokens[depth:], edit.value, where)
                return
            key_node, node = found[0]
        elif isinstance(token, Named):
            if not isinstance(node, SequenceNode):
                raise PatchError(f"{where}: parent is not a list")
            items = [item for item in node.value if _item_name(item) == token.name]
            if not items:
                raise PatchError(f"{where}: no list item named {token.name!r}")
            key_node, node = None, items[0]
        else:
            if not isinstance(node, SequenceNode) or not -len(node.value) <= token.index < len(node.value):
                raise PatchError(f"{where}: no list item #{token.index}")
            key_node, node = None, node.value[token.index]
    where = f"{source}: document #{edit.doc}: {format_path(tokens)}"
    if not isinstance(node, ScalarNode):
        raise PatchError(
            f"{where}: is a {'mapping' if isinstance(node, MappingNode) else 'list'}, not a value"
        )
    if node.style in ("|", ">"):
        new = render_scalar(edit.value, '"')
    else:
        new = render_scalar(edit.value, node.style)
    splices.append((node.start_mark.index, node.end_mark.index, new))


def _add_insert(
    inserts: dict[int, _Insert],
    node: Node,
    key_node: Node | None,
    rest: tuple[Token, ...],
    value: Any,
    where: str,
) -> None:
    if any(not isinstance(t, Key) for t in rest):
        raise PatchError(f"{where}: missing, and list items are never invented")
    insert = inserts.setdefault(id(node), _Insert(node, key_node, {}))
    tree = insert.tree
    for token in rest[:-1]:
        assert isinstance(token, Key)
        tree = tree.setdefault(token.name, {})
        if not isinstance(tree, dict):
            raise PatchError(f"{where}: conflicting edits")
    last = rest[-1]
    assert isinstance(last, Key)
    tree[last.name] = value


def _is_empty(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag.endswith(":null")


def _item_name(item: Node) -> str | None:
    if isinstance(item, MappingNode):
        for k, v in item.value:
            if isinstance(k, ScalarNode) and k.value == "name" and isinstance(v, ScalarNode):
                return str(v.value)
    return None


def _last_end(node: Node) -> int:
    """End index of the last scalar inside a block collection."""
    while isinstance(node, MappingNode + SequenceNode) and node.value and not node.flow_style:
        last = node.value[-1]
        node = last[1] if isinstance(node, MappingNode) else last
    return node.end_mark.index


def _line_end_after(text: str, index: int) -> int:
    if index > 0 and text[index - 1] == "\n":
        return index
    nl = text.find("\n", index)
    return len(text) if nl == -1 else nl + 1


def _indent_unit(text: str) -> int:
    """The file's mapping indentation step (2 when it cannot be seen)."""
    steps = [
        len(m.group(2)) - len(m.group(1))
        for m in re.finditer(r"^( *)[\w\"'][^\n]*:\n( +)[\w\"'-]", text, re.M)
    ]
    steps = [s for s in steps if s > 0]
    return min(steps) if steps else 2


def append_to_list(text: str, doc: int, path: str, item: Any, source: str = "<yaml>") -> str:
    """``text`` with ``item`` appended to the list at ``path`` (created when missing), in the
    list's own indentation; nothing else changes."""
    check_safe_yaml(text, source)
    roots = _compose(text, source, "auto")
    if not 0 <= doc < len(roots) or roots[doc] is None:
        raise PatchError(f"{source}: no YAML document #{doc}")
    node: Node = roots[doc]
    tokens = parse_path(path)
    for depth, token in enumerate(tokens):
        if not isinstance(token, Key) or not isinstance(node, MappingNode):
            raise PatchError(
                f"{source}: {format_path(tokens[: depth + 1])}: only mapping keys lead to a list"
            )
        found = [v for k, v in node.value if isinstance(k, ScalarNode) and k.value == token.name]
        if not found:
            if node.flow_style:
                raise PatchError(f"{source}: {format_path(tokens)}: cannot add a list inside a flow mapping")
            tree: dict[str, Any] = {}
            leaf = tree
            for t in tokens[depth:-1]:
                leaf = leaf.setdefault(t.name, {})  # type: ignore[union-attr]
            leaf[tokens[-1].name] = [item]  # type: ignore[union-attr]
            out = _apply(text, [_Insert(node, None, tree).render(text)], source)
            return _verify_appended(out, doc, tokens, item, source)
        node = found[0]
    if not isinstance(node, SequenceNode):
        raise PatchError(f"{source}: {format_path(tokens)}: not a list")
    if node.flow_style or not node.value:
        data = pyyaml.load(text[node.start_mark.index : node.end_mark.index], Loader=_SAFE_LOADER) or []
        splice = (node.start_mark.index, node.end_mark.index, flow([*data, item]))
    else:
        first = node.value[0].start_mark.index
        line_start = text.rfind("\n", 0, first) + 1
        dash = text.index("-", line_start, first) - line_start
        pos = _line_end_after(text, _last_end(node))
        prefix = "" if pos == 0 or text[pos - 1] == "\n" else "\n"
        splice = (pos, pos, prefix + seq_item(item, dash, _indent_unit(text)))
    return _verify_appended(_apply(text, [splice], source), doc, tokens, item, source)


def _verify_appended(result: str, doc: int, tokens: tuple[Token, ...], item: Any, source: str) -> str:
    got = get_value(load_documents(result, source)[doc], tokens)
    if not isinstance(got, list) or got[-1] != item:
        raise PatchError(f"{source}: {format_path(tokens)}: append did not take")
    return result


def new_document(header: dict[str, Any], edits: Sequence[tuple[str, Any]]) -> str:
    """A new YAML document: ``header`` (apiVersion, kind, metadata) plus each field set; list
    items named in a path (``containers[api]``) are created as ``{name: api}`` — for new
    strategic-merge patch files, which select list items by name."""
    data: dict[str, Any] = dict(header)
    for path, value in edits:
        node: Any = data
        tokens = parse_path(path)
        for token, nxt in zip(tokens, tokens[1:], strict=False):
            if isinstance(token, Key):
                child = node.setdefault(token.name, [] if isinstance(nxt, Named) else {})
            elif isinstance(token, Named):
                child = next((i for i in node if i.get("name") == token.name), None)
                if child is None:
                    child = {"name": token.name}
                    node.append(child)
            else:
                raise PatchError(f"{path}: list indexes cannot be created")
            node = child
        last = tokens[-1]
        if not isinstance(last, Key):
            raise PatchError(f"{path}: must end in a key")
        node[last.name] = value
    return block(data, 0, 2)


def _apply(text: str, splices: list[tuple[int, int, str]], source: str) -> str:
    # Insertions at one point (several nested mappings ending on the same line) go deepest
    # first: the most indented text is written first.
    ordered = sorted(splices, key=lambda s: (s[0], s[1], -_indent_of(s[2])))
    for (s1, e1, _), (s2, e2, _) in zip(ordered, ordered[1:], strict=False):
        if s2 < e1 or (s1 == s2 and (s1 != e1 or s2 != e2)):
            raise PatchError(f"{source}: two edits overlap at character {s2}")
    for start, end, new in reversed(ordered):
        text = text[:start] + new + text[end:]
    return text


def _indent_of(new: str) -> int:
    stripped = new.lstrip("\n")
    return len(stripped) - len(stripped.lstrip(" "))


def _verify(result: str, edits: Sequence[FieldEdit], source: str) -> None:
    docs = load_documents(result, source)
    for edit in edits:
        got = get_value(docs[edit.doc], parse_path(edit.path)) if edit.doc < len(docs) else MISSING
        if got is MISSING or scalar_text(got) != scalar_text(edit.value):
            raise PatchError(
                f"{source}: document #{edit.doc}: {edit.path}: patch did not take (reads {got!r})"
            )
