"""The company's own Rego policies (``.costpilot/policies/*.rego``), compiled once with regopy
(OPA's Rego in C++, in-process) and evaluated on admission-review inputs.

* Each policy file is compiled on its own, so two files may share a package (conftest's
  ``package main``) and every message still names the file it came from; files with unrelated
  packages are also compiled together and judged with one query a document
  (``guardrails.rego_policy``). A file without ``deny`` / ``violation`` / ``warn`` rules is a
  library: it is loaded next to every policy.
* Rego v0 (``deny[msg] { … }``) and v1 (``deny contains msg if { … }``) both work; a v0 partial
  set comes back from rego-cpp as an object ``{"<msg>": true}``, a v1 one as a list, and a
  Gatekeeper member as ``{"msg": …, "details": …}`` — all three become the message text.
* Fail closed: a file that is not UTF-8, does not parse, calls a function that is neither a
  built-in nor defined by the policies, or uses ``with`` (rego-cpp 1.5.2 aborts the process on
  some forms) is a ``ConfigError`` naming the file and line, at load time; an error while
  evaluating is a failed verdict, never a silent pass.
* ``*_test.rego`` files (OPA unit tests) are skipped.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from domain.errors import ConfigError, InputError
from gitops.repo_files import read_repo_file
from guardrails.rego_engine import RegoEvaluationError, RegoMessage, build, interpreter, plain
from guardrails.rego_policy import CompiledPolicy, Outcome, PolicyGroup, build_groups
from guardrails.rego_scan import ModuleShape, scan_module, unknown_calls
from guardrails.regopy_runtime import Input, Interpreter

if TYPE_CHECKING:
    from gitops.repo import GitOpsRepo

POLICY_DIR = ".costpilot/policies"
_PROBE = {
    "request": {"kind": {"group": "", "version": "v1", "kind": ""}, "operation": "CREATE", "object": {}}
}

__all__ = [
    "EMPTY",
    "POLICY_DIR",
    "CompiledPolicy",
    "PolicySet",
    "RegoEvaluationError",
    "RegoMessage",
    "compile_policies",
    "load_policies",
    "plain",
    "policies_for",
    "policy_files",
]


@dataclass(frozen=True)
class PolicySet:
    """Every policy of a repository (empty when it has none)."""

    policies: tuple[CompiledPolicy, ...] = ()
    libraries: tuple[str, ...] = ()
    source: str = POLICY_DIR
    groups: tuple[PolicyGroup, ...] = ()
    needs_old_object: bool = False  # some policy reads oldObject: send it (it doubles the input)

    def __bool__(self) -> bool:
        return bool(self.policies)

    def evaluate_all(self, review: Mapping[str, Any]) -> dict[str, Outcome]:
        """Every policy's messages for one admission review (policy path → messages or the
        evaluation error), the input converted once for all of them."""
        given = Input(plain(review))
        out: dict[str, Outcome] = {}
        for group in self.groups:
            out.update(group.evaluate(given))
        return out


EMPTY = PolicySet()


# ----- compile ---------------------------------------------------------------------------------


def _text(path: str, data: str | bytes) -> str:
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    if "\x00" in data:
        line = data[: data.index("\x00")].count("\n") + 1
        raise ConfigError(f"{path}:{line}: NUL character in a policy")
    return data


def compile_policies(files: Mapping[str, str | bytes], source: str = POLICY_DIR) -> PolicySet:
    """Compile every policy of ``files`` (path → text); ConfigError naming the file (and line)
    for the first one that cannot run. Files are taken in path order."""
    texts = {path: _text(path, data) for path, data in sorted(files.items())}
    shapes: dict[str, ModuleShape] = {}
    for path, text in texts.items():
        shape = scan_module(path, text)
        if shape.package is None:
            raise ConfigError(f"{path}:1: no package declaration")
        shapes[path] = shape
    libraries = {p: t for p, t in texts.items() if not shapes[p].message_rules}
    shared = {f for p in libraries for f in shapes[p].rules}
    probe = Interpreter()
    for path, shape in shapes.items():
        missing = unknown_calls(shape, shared | shape.rules, probe.is_builtin, path)
        if missing:
            names = sorted(
                {name for name, _ in missing}, key=lambda n: next(li for nm, li in missing if nm == n)
            )
            listed = " and ".join(f"{n}()" for n in names)
            raise ConfigError(
                f"{path}:{missing[0][1]}: calls {listed}, which {'is' if len(names) == 1 else 'are'} neither "
                "a built-in of this Rego engine nor defined by the policies"
            )
        if shape.with_lines:
            # rego-cpp 1.5.2 aborts the process on some ``with`` forms: refuse them at load.
            raise ConfigError(
                f"{path}:{shape.with_lines[0]}: `with` is not supported in policies by this Rego engine "
                "(keep it in *_test.rego files)"
            )
    policies = []
    for path, text in texts.items():
        shape = shapes[path]
        if path in libraries:
            continue
        modules = {**libraries, path: text}
        rego = interpreter(modules)
        policy = CompiledPolicy(
            path=path,
            package=shape.package or "",
            rules=tuple(shape.message_rules),
            sha256=hashlib.sha256(text.encode()).hexdigest(),
            uses_print=shape.uses_print,
            _interpreter=rego,
            _bundle=build(rego, f"x = data.{shape.package}", modules, path),
        )
        try:
            policy.evaluate(_PROBE)
        except RegoEvaluationError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        policies.append(policy)
    groups = build_groups(policies, texts, libraries)
    needs_old = any("oldObject" in texts[p.path] for p in policies) or any(
        "oldObject" in t for t in libraries.values()
    )
    return PolicySet(tuple(policies), tuple(libraries), source, groups, needs_old)


def policy_files(repo: Path) -> dict[str, str]:
    """``.costpilot/policies/*.rego`` of the checkout at ``repo`` (path → text), read through the
    repository's guards (no symlink out of it, no FIFO, bounded size); tests are left out."""
    folder = repo / POLICY_DIR
    if not folder.is_dir():
        return {}
    out = {}
    for entry in sorted(folder.iterdir()):
        if not entry.name.endswith(".rego") or entry.name.endswith("_test.rego"):
            continue
        rel = f"{POLICY_DIR}/{entry.name}"
        try:
            out[rel] = read_repo_file(repo, rel)
        except InputError as exc:
            raise ConfigError(str(exc)) from None
    return out


def load_policies(repo: Path) -> PolicySet:
    """The compiled policies of the checkout at ``repo`` (empty without a policies folder)."""
    return compile_policies(policy_files(repo))


# One compiled set per repository model: a scan validates many changes against one checkout.
_CACHE: dict[int, tuple[weakref.ref[Any], PolicySet]] = {}
_CACHE_LOCK = threading.Lock()


def policies_for(index: GitOpsRepo) -> PolicySet:
    """The policies of ``index``'s checkout, compiled on first use and kept with the model."""
    key = id(index)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None and hit[0]() is index:
            return hit[1]
    compiled = load_policies(index.repo)
    with _CACHE_LOCK:
        _CACHE[key] = (weakref.ref(index, lambda _r, k=key, cache=_CACHE: cache.pop(k, None)), compiled)
    return compiled
