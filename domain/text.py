"""Untrusted text (tag values, resource names, repository files, Slack messages, LLM metadata)
made safe for where it is shown. Pure functions; every surface that prints data uses them."""

from __future__ import annotations

import re

# C0/C1 control characters (ESC starts colour, OSC hyperlinks, screen clears); newline and tab stay.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_ALL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Characters that start Markdown emphasis, links, code, headings, tables, or raw HTML.
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>&])")


def terminal_safe(text: str) -> str:
    """``text`` without control characters, so data cannot drive the terminal."""
    return _CONTROL.sub("\ufffd", text)


def single_line(text: str) -> str:
    """``text`` on one line with no control characters at all (titles, table cells, headers)."""
    return _CONTROL_ALL.sub(" ", text)


def markdown_escape(text: str) -> str:
    """``text`` as literal characters in GitHub Markdown: one line, no emphasis, links or HTML."""
    return _MARKDOWN.sub(r"\\\1", single_line(text))


def markdown_code(text: str) -> str:
    """``text`` as one inline code span, shown verbatim (escapes are not processed inside a code
    span, so ``markdown_escape`` there would print its backslashes): a fence longer than any run
    of backticks in it, padded when the text itself starts or ends with a backtick or a space."""
    line = single_line(text) or " "
    fence = "`" * (max((len(run) for run in re.findall(r"`+", line)), default=0) + 1)
    edge = line[0] in "` " or line[-1] in "` "
    pad = " " if edge and line.strip() else ""
    return f"{fence}{pad}{line}{pad}{fence}"


# In a table cell only these start emphasis, code, links, HTML or end the cell.
_MARKDOWN_CELL = re.compile(r"([\\`*_\[\]<>|~&])")


def markdown_cell(text: str) -> str:
    """``text`` as one literal cell of a GitHub Markdown table (lighter than ``markdown_escape``:
    numbers such as ``1,234.56`` stay as typed)."""
    return _MARKDOWN_CELL.sub(r"\\\1", single_line(text))


def mrkdwn_text(text: str) -> str:
    """``text`` as literal Slack mrkdwn that may span lines: no control characters, ``&<>`` as
    Slack's entities (so ``<!channel>``, ``<@U…>`` and ``<url|label>`` cannot form)."""
    return _CONTROL.sub("", text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn_escape(text: str) -> str:
    """``text`` as literal characters in Slack mrkdwn (Slack's own three entities)."""
    return single_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
