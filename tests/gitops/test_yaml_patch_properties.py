"""Properties of the patcher: read-back equals the value set; untouched lines and documents are
unchanged byte for byte; comments survive."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitops.yaml_patch import FieldEdit, load_documents, read_field, set_fields

KEYS = st.from_regex(r"[a-z][a-z0-9_-]{0,8}", fullmatch=True)
SCALARS = st.one_of(
    st.integers(min_value=-(10**9), max_value=10**9),
    st.booleans(),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=0, max_size=20),
    st.sampled_from(["250m", "1Gi", "yes", "null", "1.5", "0x1F", "~", "a: b", "# no", "'q'", '"dq"', "-"]),
)
STYLES = st.sampled_from(["plain", "single", "double"])


def _render(value: str, style: str) -> str:
    if style == "single":
        return "'" + value.replace("'", "''") + "'"
    if style == "double":
        return '"' + value + '"'
    return value


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, list[list[str]]]:
    """A multi-document YAML text of commented two-level mappings, and the keys of each doc."""
    docs, keys_per_doc = [], []
    for d in range(draw(st.integers(min_value=1, max_value=3))):
        top = draw(st.lists(KEYS, min_size=1, max_size=4, unique=True))
        lines = [f"# document {d}"]
        for key in top:
            style = draw(STYLES)
            word = draw(st.from_regex(r"[a-z]{1,6}", fullmatch=True))
            lines.append(f"{key}:   # about {key}")
            lines.append(f"  leaf: {_render(word, style)}  # old value")
            lines.append(f"  other: {word}x")
        docs.append("\n".join(lines) + "\n")
        keys_per_doc.append(top)
    return "---\n".join(docs), keys_per_doc


@pytest.mark.parametrize("locator", ["libyaml", "ruamel"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=documents(), value=SCALARS, choice=st.data())
def test_set_then_read_back_and_nothing_else_moves(
    locator: str, data: tuple[str, list[list[str]]], value: object, choice: st.DataObject
) -> None:
    text, keys = data
    doc = choice.draw(st.integers(min_value=0, max_value=len(keys) - 1))
    key = choice.draw(st.sampled_from(keys[doc]))
    edits = [FieldEdit(doc, f"{key}.leaf", value)]
    out = set_fields(text, edits, locator=locator)
    assert out == set_fields(text, edits, locator="ruamel" if locator == "libyaml" else "libyaml")
    assert read_field(out, doc, f"{key}.leaf") == value
    before_docs, after_docs = text.split("---\n"), out.split("---\n")
    assert len(before_docs) == len(after_docs)
    for i, (b, a) in enumerate(zip(before_docs, after_docs, strict=True)):
        if i != doc:
            assert a == b  # other documents byte for byte
    changed = [(b, a) for b, a in zip(text.splitlines(), out.splitlines(), strict=True) if b != a]
    assert len(changed) <= 1  # only the edited line
    for b, a in changed:
        assert b.endswith("  # old value") and a.endswith("  # old value")
    parsed_before, parsed_after = load_documents(text), load_documents(out)
    parsed_before[doc][key]["leaf"] = value
    assert parsed_after == parsed_before  # nothing else changed in meaning either


@pytest.mark.parametrize("locator", ["libyaml", "ruamel"])
@settings(max_examples=25, deadline=None)
@given(data=documents(), new_key=st.from_regex(r"zz[a-z]{1,5}", fullmatch=True), value=SCALARS)
def test_inserting_a_key_keeps_every_existing_line(
    locator: str, data: tuple[str, list[list[str]]], new_key: str, value: object
) -> None:
    text, keys = data
    out = set_fields(text, [FieldEdit(0, f"{keys[0][0]}.{new_key}", value)], locator=locator)
    assert read_field(out, 0, f"{keys[0][0]}.{new_key}") == value
    remaining = out.splitlines()
    for line in text.splitlines():  # every old line is still there, in order
        idx = remaining.index(line)
        remaining = remaining[idx + 1 :]
    assert len(out.splitlines()) == len(text.splitlines()) + 1


YAML_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**12), max_value=10**12),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=12),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=80, deadline=None)
@given(docs=st.lists(YAML_VALUES, min_size=1, max_size=3))
def test_fast_loader_reads_what_pyyaml_reads(docs: list[object]) -> None:
    import yaml

    text = yaml.safe_dump_all(docs, sort_keys=False)
    assert load_documents(text) == list(yaml.safe_load_all(text))


@pytest.mark.parametrize(
    "value", ["@", "@team", "`x", "%x", "!x", "&x", "*x", "|", ">", "-", "? x", "#x", "a: b"]
)
def test_values_starting_with_yaml_indicators_are_quoted_and_read_back(value: str) -> None:
    text = "a:   # about a\n  leaf: a  # old value\n"
    out = set_fields(text, [FieldEdit(0, "a.zza", value)], locator="ruamel")
    assert read_field(out, 0, "a.zza") == value
