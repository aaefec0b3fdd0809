"""What costpilot needs of regopy (rego-cpp): an interpreter that stays quiet, inputs in the types
it takes, rule values as messages, and its native errors as one line with file and line."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from domain.errors import ConfigError
from guardrails.regopy_runtime import Interpreter, LogLevel, RegoError

_INT64 = 2**63


class RegoEvaluationError(Exception):
    """A policy failed while evaluating one input (the message is one line)."""


@dataclass(frozen=True)
class RegoMessage:
    """One member of a policy's ``deny`` / ``violation`` / ``warn`` rule."""

    rule: str
    message: str
    details: Any = None


def plain(value: Any) -> Any:
    """``value`` as JSON types regopy can take (YAML may carry dates, huge ints, tuples). A NUL in
    a string would end it early in the C API (hiding its tail from a policy): it becomes U+FFFD."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        return value if -_INT64 <= value < _INT64 else str(value)
    if isinstance(value, Mapping):
        return {
            k if isinstance(k, str | int) and not isinstance(k, bool) else str(k): plain(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return str(value)


def messages(rule: str, value: Any) -> list[RegoMessage]:
    """The members of one rule's value, as messages sorted by text."""
    if value is None or value is False:
        return []
    if value is True:
        return [RegoMessage(rule, f"{rule} is true")]
    if isinstance(value, str):
        return [RegoMessage(rule, value)]
    if isinstance(value, dict):  # v0 partial set: members are keys (non-strings JSON-encoded)
        members = [_decoded_key(k) for k in value]
    elif isinstance(value, list):
        members = value
    else:
        members = [value]
    out = []
    for member in members:
        if isinstance(member, dict) and "msg" in member:
            out.append(RegoMessage(rule, str(member["msg"]), member.get("details")))
        elif isinstance(member, str):
            out.append(RegoMessage(rule, member))
        else:
            out.append(RegoMessage(rule, json.dumps(member, sort_keys=True), member))
    return sorted(out, key=lambda m: m.message)


def _decoded_key(key: str) -> Any:
    if key.startswith("{") and key.endswith("}"):
        with contextlib.suppress(ValueError):
            return json.loads(key)
    return key


def _line_of(text: str, byte_offset: int) -> int:
    return text.encode("utf-8")[: max(byte_offset, 0)].count(b"\n") + 1


def parse_native_error(raw: str, texts: Mapping[str, str]) -> tuple[str | None, int | None, str]:
    """(file, line, message) out of rego-cpp's error S-expression."""
    msg_match = re.search(r"\(errormsg (\d+):", raw)
    message = raw[msg_match.end() : msg_match.end() + int(msg_match.group(1))] if msg_match else ""
    loc = re.search(r"\(error (\d+):", raw)
    file = line = None
    if loc:
        start = loc.end()
        name = raw[start : start + int(loc.group(1))]
        offset = re.match(r"\|(\d+)\|", raw[start + len(name) :])
        if name in texts:
            file = name
            line = _line_of(texts[name], int(offset.group(1))) if offset else None
    return file, line, " ".join(message.split()) or "does not compile"


def native_message(exc: Exception, interpreter: Interpreter, bundle: Any) -> str:
    """One line for an evaluation error (regopy raises JSONDecodeError: the output is not JSON)."""
    from guardrails.regopy_runtime import rego_bundle_query, rego_output_string

    raw = str(exc)
    if isinstance(exc, json.JSONDecodeError):
        with contextlib.suppress(Exception):
            raw = rego_output_string(rego_bundle_query(interpreter._impl, bundle._impl))
    _, _, message = parse_native_error(raw, {})
    return message if message != "does not compile" else " ".join(raw.split())[:200]


def where(path: str, line: int | None) -> str:
    return f"{path}:{line}" if line else path


def interpreter(modules: Mapping[str, str]) -> Interpreter:
    """An interpreter holding ``modules`` (name → text); ConfigError naming file and line."""
    rego = Interpreter()
    rego.log_level = LogLevel.NONE  # rego-cpp prints compile errors on stdout otherwise
    for name, text in modules.items():
        try:
            rego.add_module(name, text)
        except RegoError as exc:
            file, line, message = parse_native_error(str(exc), modules)
            raise ConfigError(f"{where(file or name, line)}: {message}") from None
    return rego


def build(rego: Interpreter, query: str, modules: Mapping[str, str], path: str) -> Any:
    """The compiled bundle of ``query``; ConfigError naming the file (and line) when it fails."""
    try:
        bundle = rego.build(query, [])
    except RegoError as exc:
        file, line, message = parse_native_error(str(exc), modules)
        raise ConfigError(f"{where(file or path, line)}: {message}") from None
    if not bundle.ok():
        raise ConfigError(f"{path}: does not compile")
    return bundle


@contextlib.contextmanager
def print_to_stderr(active: bool) -> Iterator[None]:
    """Rego's ``print()`` writes to the process's stdout from native code; while such a policy
    runs, stdout points at stderr (as OPA prints), so a ``--json`` stdout stays one document."""
    if not active:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        with contextlib.suppress(Exception):
            ctypes.CDLL(None).fflush(None)
        os.dup2(saved, 1)
        os.close(saved)


__all__ = [
    "RegoError",
    "RegoEvaluationError",
    "RegoMessage",
    "build",
    "interpreter",
    "messages",
    "native_message",
    "parse_native_error",
    "plain",
    "print_to_stderr",
    "where",
]
