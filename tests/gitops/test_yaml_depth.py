"""The nesting guard: YAML deeper than MAX_DEPTH is refused before anything is built (no
RecursionError, no libyaml crash), and the cheap pre-check never under-estimates the depth."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from gitops.yaml_load import MAX_DEPTH, UnsafeYamlError, _depth_bound, load_documents

leaves = st.one_of(st.integers(), st.text(alphabet="ab -:[]{}#", max_size=5), st.none())
trees = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3),
        st.dictionaries(st.text(alphabet="abc", min_size=1, max_size=3), inner, min_size=1, max_size=3),
    ),
    max_leaves=40,
)


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def _nest(depth: int) -> Any:
    value: Any = "x"
    for i in range(depth):
        value = {"k": value} if i % 2 else [value]
    return value


@settings(max_examples=150, deadline=None)
@given(trees, st.sampled_from([False, True, None]), st.integers(0, 4))
def test_the_pre_check_bounds_the_real_depth(tree: Any, flow: bool | None, extra: int) -> None:
    value = _nest(extra) if extra else tree
    value = [value, tree] if extra else value
    text = yaml.safe_dump(value, default_flow_style=flow)
    assert _depth_bound(text) >= _depth(value)
    assert load_documents(text) == [value]


def _block(depth: int) -> str:
    """``_nest(depth)`` written in block style by hand (PyYAML's dumper itself recurses)."""
    lines, indent = [], 0
    for i in reversed(range(depth)):
        if i % 2:
            lines.append(" " * indent + "k:")
        else:
            lines.append(" " * indent + "-")
        indent += 2
    return "\n".join(lines) + "\n" + " " * indent + "x\n"


def _flow(depth: int) -> str:
    text = "x"
    for i in range(depth):
        text = f"{{k: {text}}}" if i % 2 else f"[{text}]"
    return text + "\n"


@pytest.mark.parametrize("style", [_block, _flow])
@pytest.mark.parametrize("depth", [MAX_DEPTH, MAX_DEPTH + 1, 500])
def test_deep_documents_are_refused_in_both_styles(depth: int, style: Any) -> None:
    value = _nest(depth)
    text = style(depth)
    if depth <= MAX_DEPTH:
        assert load_documents(text, "ok.yaml") == [value]
    else:
        with pytest.raises(
            UnsafeYamlError, match=rf"^deep\.yaml: line \d+: nested deeper than {MAX_DEPTH} levels; refused$"
        ):
            load_documents(text, "deep.yaml")


def test_a_megabyte_of_brackets_is_refused_without_crashing() -> None:
    # libyaml's composer crashes the whole process at ~10^5 levels; the guard runs first.
    with pytest.raises(UnsafeYamlError, match="nested deeper than"):
        load_documents("a: " + "[" * 400_000 + "]" * 400_000 + "\n", "bomb.yaml")
