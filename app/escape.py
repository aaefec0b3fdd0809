"""Text from data (tag values, resource names, Slack messages, LLM metadata) shown safely."""

from __future__ import annotations

import re

# C0/C1 control characters (ESC starts colour, OSC hyperlinks, screen clears); newline and tab stay.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_safe(text: str) -> str:
    """``text`` without control characters, so data cannot drive the terminal."""
    return _CONTROL.sub("\ufffd", text)
