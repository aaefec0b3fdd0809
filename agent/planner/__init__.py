"""The offline planner: plain-language cost questions → read-only tool calls (no LLM, no network)."""

from agent.planner.models import (
    FORBIDDEN_TOOLS,
    INTENTS,
    PLANNER_TOOLS,
    VOCABULARY_DIMENSIONS,
    Plan,
    PlanContext,
    ToolCall,
    Vocabulary,
)
from agent.planner.planner import plan_question

__all__ = [
    "FORBIDDEN_TOOLS",
    "INTENTS",
    "PLANNER_TOOLS",
    "VOCABULARY_DIMENSIONS",
    "Plan",
    "PlanContext",
    "ToolCall",
    "Vocabulary",
    "plan_question",
]
