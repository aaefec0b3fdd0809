"""Compiled policies and the groups they are evaluated in.

Every policy file has its own interpreter (so errors and messages name the right file, even
when two files share a package). For speed, files whose packages neither equal nor contain one
another are also compiled together into one group, evaluated with one query of ``data`` per
document — one input conversion and one query instead of one per file. When a group's query
fails, each member is evaluated alone, so the error names the file that caused it.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from domain.errors import ConfigError
from guardrails.rego_engine import (
    RegoError,
    RegoEvaluationError,
    RegoMessage,
    build,
    interpreter,
    messages,
    native_message,
    plain,
    print_to_stderr,
)
from guardrails.regopy_runtime import Input, Interpreter

_SIMPLE_PACKAGE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
Outcome = list[RegoMessage] | RegoEvaluationError


@dataclass
class CompiledPolicy:
    """One policy file, compiled once; ``evaluate`` may be called from several threads."""

    path: str
    package: str
    rules: tuple[str, ...]
    sha256: str
    uses_print: bool
    _interpreter: Interpreter = field(repr=False)
    _bundle: Any = field(repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def segments(self) -> tuple[str, ...] | None:
        """The package as path segments, or None when it is not a plain dotted name."""
        return tuple(self.package.split(".")) if _SIMPLE_PACKAGE.match(self.package) else None

    def evaluate(self, value: Mapping[str, Any] | Input) -> list[RegoMessage]:
        """The messages of this policy for one input (an admission review)."""
        given = value if isinstance(value, Input) else Input(plain(value))
        with self._lock, print_to_stderr(self.uses_print):
            self._interpreter.set_input(given)
            try:
                output = self._interpreter.query_bundle(self._bundle)
            except (json.JSONDecodeError, RegoError) as exc:
                raise RegoEvaluationError(native_message(exc, self._interpreter, self._bundle)) from None
        results = output.results
        bound = results[0].bindings.get("x") if results else None
        return self.messages_of(bound)

    def messages_of(self, package_value: Any) -> list[RegoMessage]:
        if not isinstance(package_value, dict):
            return []
        return [m for rule in self.rules for m in messages(rule, package_value.get(rule))]


@dataclass
class PolicyGroup:
    """Policies compiled together (distinct, unrelated packages) and queried as one."""

    members: tuple[CompiledPolicy, ...]
    _interpreter: Interpreter | None = field(default=None, repr=False)
    _bundle: Any = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def evaluate(self, given: Input) -> dict[str, Outcome]:
        """Each member's messages for one input (or the error that member raised)."""
        if self._interpreter is None:
            return {m.path: _alone(m, given) for m in self.members}
        with self._lock, print_to_stderr(any(m.uses_print for m in self.members)):
            self._interpreter.set_input(given)
            try:
                output = self._interpreter.query_bundle(self._bundle)
            except (json.JSONDecodeError, RegoError):
                output = None
        if output is None:  # find which file failed, and still judge the others
            return {m.path: _alone(m, given) for m in self.members}
        data = output.results[0].bindings.get("x") if output.results else None
        out: dict[str, Outcome] = {}
        for m in self.members:
            node: Any = data
            for segment in m.segments or ():
                node = node.get(segment) if isinstance(node, dict) else None
            out[m.path] = m.messages_of(node)
        return out


def _alone(policy: CompiledPolicy, given: Input) -> Outcome:
    try:
        return policy.evaluate(given)
    except RegoEvaluationError as exc:
        return exc


def _related(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    shorter = min(len(a), len(b))
    return a[:shorter] == b[:shorter]


def build_groups(
    policies: Sequence[CompiledPolicy], texts: Mapping[str, str], libraries: Mapping[str, str]
) -> tuple[PolicyGroup, ...]:
    """Policies packed into as few groups as their packages allow (a package that is not a
    plain dotted name stays alone, evaluated through its own interpreter)."""
    buckets: list[list[CompiledPolicy]] = []
    alone: list[CompiledPolicy] = []
    library_segments = [tuple(_package_of(t).split(".")) for t in libraries.values()]
    for policy in policies:
        seg = policy.segments
        if seg is None or any(_related(seg, lib) for lib in library_segments):
            alone.append(policy)
            continue
        home = next((b for b in buckets if not any(_related(seg, m.segments or ()) for m in b)), None)
        if home is None:
            buckets.append([policy])
        else:
            home.append(policy)
    groups = [PolicyGroup((p,)) for p in alone]
    for bucket in buckets:
        if len(bucket) == 1:
            groups.append(PolicyGroup((bucket[0],)))
            continue
        modules = {**libraries, **{m.path: texts[m.path] for m in bucket}}
        try:
            rego = interpreter(modules)
            bundle = build(rego, "x = data", modules, bucket[0].path)
        except ConfigError:  # each compiled alone; together they do not: keep them apart
            groups.extend(PolicyGroup((m,)) for m in bucket)
            continue
        groups.append(PolicyGroup(tuple(bucket), rego, bundle))
    return tuple(groups)


def _package_of(text: str) -> str:
    match = re.search(r"^\s*package\s+(\S+)", text, re.MULTILINE)
    return match.group(1) if match else ""
