"""A small static reading of a Rego module: its package, its rule heads and the functions it
calls, so a policy that calls a function nobody provides is refused when it loads.

rego-cpp compiles a module that calls an unknown function (``re_match``, ``to_int``) and only
fails when evaluation reaches the call — a policy whose failing branch is rarely reached would
pass silently. OPA itself refuses such a module at compile time; this check does the same.
Strings and comments are skipped; only rule heads at the top level count as definitions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from domain.errors import ConfigError

MAX_NESTING = 64  # deeper than any real policy; bounds the native parser's recursion too
MESSAGE_RULES = ("deny", "violation", "warn")
# Words that may precede "(" without being a call.
_KEYWORDS = frozenset(
    {"not", "some", "every", "in", "if", "contains", "else", "with", "as", "default", "import", "package"}
)
# OPA built-ins that rego-cpp evaluates but does not list as built-ins.
_ALSO_BUILTIN = frozenset({"print", "trace"})
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\s*\.\s*[A-Za-z_][A-Za-z0-9_]*)*")
_OPEN, _CLOSE = "{[(", "}])"


@dataclass
class Call:
    name: str  # as written, dots without spaces: "regex.match", "lib.helper"
    line: int


@dataclass
class ModuleShape:
    """What the scan found in one module."""

    package: str | None = None
    rules: set[str] = field(default_factory=set)  # top-level rule names (heads)
    functions: set[str] = field(default_factory=set)  # top-level rule names followed by "("
    calls: list[Call] = field(default_factory=list)
    uses_print: bool = False
    with_lines: list[int] = field(default_factory=list)  # lines using the ``with`` keyword

    @property
    def message_rules(self) -> list[str]:
        return [r for r in MESSAGE_RULES if r in self.rules]


def _code_only(text: str) -> str:
    """``text`` with comments and string contents blanked (newlines kept, so lines still count)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "#":
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(" " * (end - i))
            i = end
        elif ch == '"':
            j = i + 1
            while j < n and text[j] != '"' and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append('"' + " " * (min(j, n) - i - 1) + ('"' if j < n else ""))
            i = j + 1
        elif ch == "`":
            end = text.find("`", i + 1)
            end = n - 1 if end < 0 else end
            chunk = text[i : end + 1]
            out.append("".join("\n" if c == "\n" else " " for c in chunk))
            i = end + 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def scan_module(path: str, text: str) -> ModuleShape:
    """Package, rule heads and calls of one module; ConfigError naming ``path`` and the line
    when the module is nested deeper than ``MAX_NESTING`` or its brackets do not balance."""
    code = _code_only(text)
    shape = ModuleShape()
    depth = 0
    line = 1
    line_start = True  # at the first token of a line
    i, n = 0, len(code)
    while i < n:
        ch = code[i]
        if ch == "\n":
            line += 1
            line_start = True
            i += 1
            continue
        if ch.isspace():
            i += 1
            continue
        if ch in _OPEN:
            depth += 1
            if depth > MAX_NESTING:
                raise ConfigError(f"{path}:{line}: nested deeper than {MAX_NESTING} levels")
            line_start = False
            i += 1
            continue
        if ch in _CLOSE:
            depth -= 1
            if depth < 0:
                raise ConfigError(f"{path}:{line}: unbalanced {ch!r}")
            line_start = False
            i += 1
            continue
        match = _IDENT.match(code, i)
        if match is None:
            line_start = False
            i += 1
            continue
        name = re.sub(r"\s+", "", match.group(0))
        end = match.end()
        rest = code[end : end + 200].lstrip()
        head = line_start and depth == 0
        line_start = False
        first = name.split(".")[0]
        if name == "with":
            shape.with_lines.append(line)
        if head and first == "package" and shape.package is None:
            shape.package = _package_ref(code, end)
        elif head and first == "default":
            following = _IDENT.match(code[end:].lstrip(" \t"))
            if following:
                shape.rules.add(following.group(0).split(".")[0])
        elif head and first not in _KEYWORDS:
            shape.rules.add(first)
            if rest.startswith("("):
                shape.functions.add(first)
        elif rest.startswith("(") and first not in _KEYWORDS:
            shape.calls.append(Call(name, line))
            shape.uses_print = shape.uses_print or name == "print"
        i = end
    if depth != 0:
        raise ConfigError(f"{path}:{line}: unbalanced brackets (an opening one is never closed)")
    return shape


def _package_ref(code: str, start: int) -> str | None:
    end = code.find("\n", start)
    ref = code[start : end if end >= 0 else len(code)].strip()
    return ref or None


def unknown_calls(
    shape: ModuleShape, defined: set[str], is_builtin: object, path: str
) -> list[tuple[str, int]]:
    """Calls that are neither built-ins nor functions defined in ``defined`` (this module's and
    the libraries' top-level rule names): (name, line)."""
    assert callable(is_builtin)
    missing = []
    for call in shape.calls:
        name = call.name
        last = name.split(".")[-1]
        if name in _ALSO_BUILTIN or is_builtin(name):
            continue
        if "." not in name and name in defined:
            continue
        if "." in name and last in defined:  # data.lib.f(...) or an imported alias lib.f(...)
            continue
        missing.append((name, call.line))
    return missing
