"""Round-trip YAML patching that keeps every byte it was not asked to change.

A composer locates each target node with its exact start/end marks; the patch then splices new
text into the original at those marks. Comments, key order, quoting, indentation and the other
documents of a multi-document file stay byte-for-byte as they were (a re-dump of the whole tree
would re-indent and re-wrap lines the patch never meant to touch).

Two composers give the same node tree and character marks: libyaml's (PyYAML's C loader,
~0.3 ms for a 40-line manifest) and ruamel.yaml's round-trip composer (pure Python, ~5-15 ms).
``locator="auto"`` takes libyaml when it is compiled in and ruamel otherwise; tests run both.

Hostile input is refused before anything is built: anchors/aliases (the "billion laughs" bomb)
and merge keys, oversized files, too many documents, and paths that leave the repository.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml as pyyaml
from ruamel.yaml import YAML
from ruamel.yaml import nodes as rnodes
from ruamel.yaml.error import YAMLError as RuamelYAMLError

from domain.errors import InputError
from gitops.yaml_path import MISSING, Key, Named, Token, format_path, get_value, parse_path

MAX_BYTES = 1_000_000
MAX_DOCUMENTS = 200
_SAFE_LOADER = getattr(pyyaml, "CSafeLoader", pyyaml.SafeLoader)
# Node classes of both composers (same shape: value, tag, style, flow_style, start/end marks).
MappingNode = (rnodes.MappingNode, pyyaml.MappingNode)
SequenceNode = (rnodes.SequenceNode, pyyaml.SequenceNode)
ScalarNode = (rnodes.ScalarNode, pyyaml.ScalarNode)
Node = Any
LOCATORS = ("auto", "libyaml", "ruamel")


class PatchError(InputError):
    """A patch cannot be made or would be unsafe; the message names the file and the field."""


class UnsafeYamlError(PatchError):
    """The YAML uses a construct costpilot refuses (anchors, aliases, merge keys, huge input)."""


@dataclass(frozen=True)
class FieldEdit:
    """Set ``path`` (see ``gitops.yaml_path``) of document ``doc`` to ``value``."""

    doc: int
    path: str
    value: Any


def check_safe_yaml(text: str, source: str = "<yaml>") -> None:
    """Refuse anchors/aliases, merge keys, more than MAX_BYTES or MAX_DOCUMENTS (bomb guards)."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise UnsafeYamlError(f"{source}: larger than {MAX_BYTES} bytes; refused")
    documents = 0
    try:
        for event in pyyaml.parse(text, Loader=_SAFE_LOADER):
            if isinstance(event, pyyaml.AliasEvent):
                raise UnsafeYamlError(
                    f"{source}: line {event.start_mark.line + 1}: YAML alias *{event.anchor}; "
                    "anchors and aliases are refused"
                )
            if getattr(event, "anchor", None):
                raise UnsafeYamlError(
                    f"{source}: line {event.start_mark.line + 1}: YAML anchor &{event.anchor}; "
                    "anchors and aliases are refused"
                )
            if isinstance(event, pyyaml.ScalarEvent) and event.value == "<<" and not event.style:
                raise UnsafeYamlError(
                    f"{source}: line {event.start_mark.line + 1}: YAML merge key '<<' refused"
                )
            if isinstance(event, pyyaml.DocumentStartEvent):
                documents += 1
                if documents > MAX_DOCUMENTS:
                    raise UnsafeYamlError(f"{source}: more than {MAX_DOCUMENTS} YAML documents; refused")
    except pyyaml.YAMLError as exc:
        raise PatchError(f"{source}: not valid YAML: {_one_line(exc)}") from exc


def load_documents(text: str, source: str = "<yaml>") -> list[Any]:
    """Every document of ``text`` as plain data (dict/list/scalars), after the safety checks."""
    check_safe_yaml(text, source)
    try:
        return list(pyyaml.load_all(text, Loader=_SAFE_LOADER))
    except pyyaml.YAMLError as exc:
        raise PatchError(f"{source}: not valid YAML: {_one_line(exc)}") from exc


def read_field(text: str, doc: int, path: str, source: str = "<yaml>") -> Any:
    """The value at ``path`` in document ``doc``, or ``gitops.yaml_path.MISSING``."""
    docs = load_documents(text, source)
    if not 0 <= doc < len(docs):
        return MISSING
    return get_value(docs[doc], parse_path(path))


def set_fields(
    text: str, edits: Sequence[FieldEdit], source: str = "<yaml>", locator: str = "auto", checked: bool = False
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
            raise PatchError(f"{source}: not valid YAML: {_one_line(exc)}") from exc
    try:
        return list(YAML(typ="rt").compose_all(text))
    except RuamelYAMLError as exc:
        raise PatchError(f"{source}: not valid YAML: {_one_line(exc)}") from exc


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
            return pos, pos, prefix + _block(self.tree, indent, _indent_unit(text))
        # an empty value (``resources:``) or an explicit null
        assert self.key_node is not None
        if isinstance(node, ScalarNode) and node.value not in ("",):
            return node.start_mark.index, node.end_mark.index, _flow(self.tree)
        nl = text.find("\n", self.key_node.end_mark.index)
        pos = len(text) if nl == -1 else nl
        indent = self.key_node.start_mark.column + _indent_unit(text)
        return pos, pos, "\n" + _block(self.tree, indent, _indent_unit(text)).rstrip("\n")


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
        return start, end, _flow(data)


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


def _flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key_text(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return _render_scalar(value, None)


def _key_text(key: Any) -> str:
    return key if isinstance(key, str) and _plain_keeps_string(key) else json.dumps(str(key))


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
        new = _render_scalar(edit.value, '"')
    else:
        new = _render_scalar(edit.value, node.style)
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
        for m in re.finditer(r"^( *)[\w\"'-][^\n]*:\n( +)[\w\"']", text, re.M)
    ]
    steps = [s for s in steps if s > 0]
    return min(steps) if steps else 2


# --- rendering ----------------------------------------------------------------------------

_PLAIN_OK = re.compile(r"^[A-Za-z0-9_./@+-][A-Za-z0-9_./@+ -]*$")


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _render_scalar(value: Any, style: str | None) -> str:
    """YAML text for ``value`` in the old scalar's quoting style (plain when it stays a string)."""
    text = _scalar_text(value)
    if not isinstance(value, str):
        # Numbers, booleans and null stay typed: quoting them would turn them into strings.
        return "null" if value is None else text
    if style == "'":
        return "'" + text.replace("'", "''") + "'"
    if style == '"':
        return json.dumps(text, ensure_ascii=False)
    if not _plain_keeps_string(text):
        return json.dumps(text, ensure_ascii=False)
    return text


def _plain_keeps_string(text: str) -> bool:
    if not _PLAIN_OK.match(text) or text != text.strip():
        return False
    return pyyaml.load(text, Loader=_SAFE_LOADER) == text


def _block(tree: dict[str, Any], indent: int, unit: int) -> str:
    lines: list[str] = []
    for key, value in tree.items():
        name = _key_text(key)
        if isinstance(value, dict):
            lines.append(" " * indent + f"{name}:\n" + _block(value, indent + unit, unit))
        else:
            lines.append(" " * indent + f"{name}: {_render_scalar(value, None)}\n")
    return "".join(lines)


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
        if got is MISSING or _scalar_text(got) != _scalar_text(edit.value):
            raise PatchError(
                f"{source}: document #{edit.doc}: {edit.path}: patch did not take (reads {got!r})"
            )


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


# --- paths -------------------------------------------------------------------------------


def resolve_in_repo(repo: Path, relative: str) -> Path:
    """The absolute file for ``relative`` inside ``repo``; refuses absolute paths, ``..`` and
    symlinks that lead outside the repository."""
    if not relative or relative.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", relative):
        raise PatchError(f"{relative!r}: not a relative path inside the repository")
    parts = Path(relative).parts
    if ".." in parts or "\x00" in relative:
        raise PatchError(f"{relative}: path escapes the repository ('..')")
    root = repo.resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(root):
        raise PatchError(f"{relative}: resolves outside the repository (symlink)")
    if ".git" in Path(relative).parts:
        raise PatchError(f"{relative}: inside .git; refused")
    return target
