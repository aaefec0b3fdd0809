"""The policy loader on arbitrary input: it compiles, or it refuses in one line naming the file —
never a traceback, never a partial set."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import ConfigError
from guardrails.rego import PolicySet, compile_policies

TOKENS = [
    "package p\n", "package kubernetes.admission\n", "import rego.v1\n", "import future.keywords.if\n",
    "deny[msg] {", "deny contains msg if {", "violation[{\"msg\": msg}] {", "warn[msg] {", "}", "\n", " ", "msg := \"m\"", "input.request.kind.kind == \"Deployment\"", "not ", "some x in input.xs",
    "to_number(\"4\") > 3", "re_match(\"a\", x)", "sprintf(\"%v\", [1])", "f(x) = y { y := x }", "f(1)", ";",
    "# comment\n", "\"unterminated", "`raw`", "every x in [1] { x > 0 }", "default allow := false\n", "else",
    "count(input.xs)", "data.lib.f(1)", "print(1)", ":=", "=", "==", "\\", "é",
    "deny[msg] { msg := \"m\" }\n", "warn contains \"w\" if { input.x == 1 }\n", "g(x) := x + 1\n",
    "deny[msg] { g(1) == 2; msg := sprintf(\"%v\", [input.x]) }\n", "x := [1, 2, 3][_]\n", " with input as x", " with input as {\"a\": 1}",
]  # fmt: skip


def _outcome(files: dict[str, str | bytes]) -> None:
    try:
        result = compile_policies(files)
    except ConfigError as exc:
        text = str(exc)
        assert "\n" not in text and text.startswith("p.rego"), text
        return
    assert isinstance(result, PolicySet)
    for policy in result.policies:
        assert policy.path == "p.rego"
        policy.evaluate({"request": {"kind": {"kind": "Deployment"}, "object": {}}})


@settings(max_examples=120)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_load_or_fail_in_one_line(data: bytes) -> None:
    _outcome({"p.rego": data})


@settings(max_examples=120)
@given(st.text(max_size=200))
def test_arbitrary_text_loads_or_fails_in_one_line(text: str) -> None:
    _outcome({"p.rego": text})


@settings(max_examples=250)
@given(st.lists(st.sampled_from(TOKENS), max_size=30))
def test_rego_shaped_text_loads_or_fails_in_one_line(tokens: list[str]) -> None:
    _outcome({"p.rego": "".join(tokens)})
