"""The Q&A graph's state: one thread per conversation, checkpointed in the state database."""

from __future__ import annotations

from typing import Any, TypedDict


class QAState(TypedDict, total=False):
    """Each turn overwrites the per-turn fields; ``context`` carries over to follow-ups."""

    question: str
    """The user's words, exactly as asked (data, never instructions)."""
    user: str | None
    """Who asked (Slack user id or OS user), for the audit of refused tool calls."""
    context: dict[str, Any] | None
    """The planner's ``PlanContext`` after the last understood turn (period, scope, dimensions)."""
    intent: str
    understood: bool
    tool_calls: list[dict[str, Any]]
    """``[{"tool", "args"}]`` planned this turn."""
    results: list[dict[str, Any]]
    """``[{"tool", "args", "result"}]`` or ``{..., "error"}`` for each call this turn."""
    notes: list[str]
    draft: str
    """The reply before the check (the LLM's words, or the templated answer)."""
    answer: str
    numbers: list[str]
    grounded: bool
    refused: list[str]
    """Tools a model asked for that it may not call (audited)."""
