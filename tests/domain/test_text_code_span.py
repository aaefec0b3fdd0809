"""``markdown_code``: any text as one inline code span that a CommonMark parser (markdown-it, as
GitHub's renderer does) shows verbatim: no backslashes added, no way out of the span."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from domain.text import markdown_code, single_line

PARSER = MarkdownIt("commonmark")


def rendered_code(markdown: str) -> list[tuple[str, str]]:
    [inline] = [t for t in PARSER.parse(markdown) if t.type == "inline"]
    return [(c.type, c.content) for c in inline.children or []]


def test_a_branch_name_is_shown_as_typed() -> None:
    assert markdown_code("team-checkout/holiday-sale-capacity") == "`team-checkout/holiday-sale-capacity`"
    assert rendered_code(markdown_code("a`b")) == [("code_inline", "a`b")]
    assert rendered_code(markdown_code("`x`")) == [("code_inline", "`x`")]


@given(st.text(min_size=1, max_size=40).filter(lambda t: single_line(t).strip()))
def test_any_text_is_one_code_span_with_exactly_its_characters(text: str) -> None:
    assert rendered_code(markdown_code(text)) == [("code_inline", single_line(text))]
