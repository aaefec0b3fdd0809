"""Safe YAML reading: the guards every costpilot YAML read goes through.

Hostile input is refused before anything is built: anchors/aliases (the "billion laughs" bomb)
and merge keys, oversized files, too many documents; file paths must stay inside the repository.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml as pyyaml

from domain.errors import InputError
from gitops.yaml_path import MISSING, get_value, parse_path

MAX_BYTES = 1_000_000
MAX_DOCUMENTS = 200
# Kubernetes objects nest ~20 deep; 64 leaves room for CRDs. Deeper input is refused before it is
# built: Python code walking it would hit the recursion limit, and libyaml's composer crashes
# the process (segfault) at ~10^5 levels.
MAX_DEPTH = 64
SAFE_LOADER = getattr(pyyaml, "CSafeLoader", pyyaml.SafeLoader)


class PatchError(InputError):
    """A patch cannot be made or would be unsafe; the message names the file and the field."""


class UnsafeYamlError(PatchError):
    """The YAML uses a construct costpilot refuses (anchors, aliases, merge keys, huge input)."""


def _depth_bound(text: str) -> int:
    """An upper bound of the nesting depth of ``text``, without parsing it.

    Flow collections need a ``[`` or ``{`` per level. Block collections nest by indentation: along
    any path the columns never decrease, each distinct column holds at most a mapping and the
    sequence that is one of its values, and compact entries on one line (``- - x``, ``- k: v``)
    add a level per leading indicator.
    """
    indents: set[int] = set()
    compact = 0
    for line in text.splitlines():
        content = line.lstrip(" ")
        if not content or content.startswith("#"):
            continue
        indents.add(len(line) - len(content))
        indicators = _INDICATORS.match(content)
        compact = max(compact, len(indicators.group(0).split()) if indicators else 0)
    return text.count("[") + text.count("{") + 2 * len(indents) + 2 * compact + 2


def _check_depth(text: str, source: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH, counted on libyaml's event stream (no recursion)."""
    depth = 0
    try:
        for event in pyyaml.parse(text, Loader=SAFE_LOADER):
            if isinstance(event, pyyaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise UnsafeYamlError(
                        f"{source}: line {event.start_mark.line + 1}: nested deeper than {MAX_DEPTH} levels; refused"
                    )
            elif isinstance(event, pyyaml.CollectionEndEvent):
                depth -= 1
    except pyyaml.YAMLError as exc:
        raise PatchError(f"{source}: not valid YAML: {one_line(exc)}") from exc


def check_safe_yaml(text: str, source: str = "<yaml>") -> None:
    """Refuse anchors/aliases, merge keys, nesting deeper than MAX_DEPTH, more than MAX_BYTES or
    MAX_DOCUMENTS (bomb guards)."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise UnsafeYamlError(f"{source}: larger than {MAX_BYTES} bytes; refused")
    if _depth_bound(text) > MAX_DEPTH:
        _check_depth(text, source)
    if (
        "&" not in text
        and "*" not in text
        and "<<" not in text
        and len(_DOC_START.findall(text)) < MAX_DOCUMENTS
    ):
        return  # no anchor, alias or merge key can be written without these characters
    documents = 0
    try:
        for event in pyyaml.parse(text, Loader=SAFE_LOADER):
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
        raise PatchError(f"{source}: not valid YAML: {one_line(exc)}") from exc


def load_documents(text: str, source: str = "<yaml>") -> list[Any]:
    """Every document of ``text`` as plain data (dict/list/scalars), after the safety checks.

    The same values as ``yaml.safe_load_all``; the common tags (str, int, null, bool, map, seq)
    are built directly from libyaml's nodes, the rest by PyYAML's safe constructor.
    """
    check_safe_yaml(text, source)
    loader = SAFE_LOADER(text)
    try:
        docs = []
        while loader.check_node():
            docs.append(_construct(loader.get_node(), loader))
        return docs
    except pyyaml.YAMLError as exc:
        raise PatchError(f"{source}: not valid YAML: {one_line(exc)}") from exc
    except TypeError as exc:  # an unhashable mapping key
        raise PatchError(f"{source}: not valid YAML: {one_line(exc)}") from exc
    except RecursionError:  # the depth guard should prevent this; never a traceback if not
        raise UnsafeYamlError(f"{source}: nested too deep; refused") from None
    finally:
        loader.dispose()


_DOC_START = re.compile(r"^---(?:[ \t]|$)", re.M)
_INDICATORS = re.compile(r"(?:[-?:](?: +|$))+")
_PLAIN_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_TRUE, _FALSE = (
    {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"},
    {
        "false",
        "False",
        "FALSE",
        "no",
        "No",
        "NO",
        "off",
        "Off",
        "OFF",
    },
)
_STR, _INT, _NULL, _BOOL = (f"tag:yaml.org,2002:{t}" for t in ("str", "int", "null", "bool"))
_MAP, _SEQ = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"


def _construct(node: Any, loader: Any) -> Any:
    """Plain data from a node; PyYAML's SafeConstructor does every less common tag."""
    tag = node.tag
    if isinstance(node, pyyaml.ScalarNode):
        value = node.value
        if tag == _STR:
            return value
        if tag == _NULL:
            return None
        if tag == _INT and _PLAIN_INT.fullmatch(value):
            return int(value)
        if tag == _BOOL and (value in _TRUE or value in _FALSE):
            return value in _TRUE
        return loader.construct_object(node, deep=True)
    if isinstance(node, pyyaml.MappingNode) and tag == _MAP:
        return {_construct(k, loader): _construct(v, loader) for k, v in node.value}
    if isinstance(node, pyyaml.SequenceNode) and tag == _SEQ:
        return [_construct(item, loader) for item in node.value]
    return loader.construct_object(node, deep=True)


def read_field(text: str, doc: int, path: str, source: str = "<yaml>") -> Any:
    """The value at ``path`` in document ``doc``, or ``gitops.yaml_path.MISSING``."""
    docs = load_documents(text, source)
    if not 0 <= doc < len(docs):
        return MISSING
    return get_value(docs[doc], parse_path(path))


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def has_control_chars(text: str) -> bool:
    """True when ``text`` holds a control character (newline, ESC, NUL, line separators)."""
    return _CONTROL.search(text) is not None


def one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


# --- paths -------------------------------------------------------------------------------


def resolve_in_repo(repo: Path, relative: str) -> Path:
    """The absolute file for ``relative`` inside ``repo``; refuses absolute paths, ``..`` and
    symlinks that lead outside the repository."""
    if not relative or relative.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", relative):
        raise PatchError(f"{relative!r}: not a relative path inside the repository")
    if _CONTROL.search(relative):
        # A newline in a path would forge lines of a diff header, a commit or a PR body.
        raise PatchError(f"{relative!r}: control character in the path; refused")
    parts = Path(relative).parts
    if ".." in parts:
        raise PatchError(f"{relative}: path escapes the repository ('..')")
    root = repo.resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(root):
        raise PatchError(f"{relative}: resolves outside the repository (symlink)")
    if ".git" in Path(relative).parts:
        raise PatchError(f"{relative}: inside .git; refused")
    return target
