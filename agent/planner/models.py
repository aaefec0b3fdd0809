"""What the offline planner reads and returns: the vocabulary, tool calls, plans, thread context.

These are the planner's own types (the agent layer may not import ``services/``); the graph maps
a ``ToolCall`` onto the registry entry of the same name, whose request model has exactly these
argument names.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Every tool a question can lead to. All are read-only: a question is answered, never acted on.
PLANNER_TOOLS: tuple[str, ...] = (
    "spend",
    "movers",
    "unit_costs",
    "anomalies",
    "forecast",
    "budget_status",
    "rightsize",
    "idle",
    "models",
    "untagged",
    "proposals_list",
    "proposal_show",
    "help",
)
# Tools that change state; the planner never emits them, whatever the question says.
FORBIDDEN_TOOLS: frozenset[str] = frozenset({"decide", "open_pr", "budget_set", "scan", "request_approval"})

INTENTS: tuple[str, ...] = (
    "spend",  # total, breakdown, filtered, top N
    "change",  # what changed / why did X go up (movers, plus anomalies for "why")
    "anomalies",
    "forecast",  # forecasts and month-end projections
    "budget_status",
    "rightsize",
    "savings",  # every savings finder at once: right-sizing, idle, cheaper models
    "idle",
    "unit_costs",  # AI cost per 1k tokens / per request
    "cheaper_model",
    "untagged",
    "proposals",  # proposals in some state (default: waiting for approval)
    "proposal_status",  # one proposal by id
    "how_to_act",  # "approve p…", "open a PR": answered with how to do it, never done
    "help",
    "unknown",  # not understood: no tool calls
)

# Dimensions a vocabulary carries (see Vocabulary).
VOCABULARY_DIMENSIONS: tuple[str, ...] = (
    "team",
    "env",
    "service",
    "provider",
    "region",
    "account",
    "feature",
    "model",
    "category",
    "namespace",
    "workload",
)


class Vocabulary(BaseModel):
    """What the warehouse actually holds: dimension → distinct values, spelled as stored."""

    model_config = ConfigDict(extra="forbid")

    values: dict[str, list[str]] = Field(default_factory=dict)

    def of(self, dimension: str) -> list[str]:
        return self.values.get(dimension, [])


class ToolCall(BaseModel):
    """One call of a registry tool: its name and the request model's arguments."""

    model_config = ConfigDict(extra="forbid")

    tool: str
    args: dict[str, Any] = Field(default_factory=dict)


class PlanContext(BaseModel):
    """What a thread remembers between turns, so follow-ups can reuse period, scope and dimensions."""

    model_config = ConfigDict(extra="forbid")

    period: str | None = Field(None, description="the period of the last turn, a CLI period string")
    by: list[str] = Field(default_factory=list, description="the breakdown dimensions of the last turn")
    filters: dict[str, list[str]] = Field(default_factory=dict, description="dimension → values in scope")
    intent: str | None = Field(None, description="the intent of the last understood turn")
    last_tool_calls: list[ToolCall] = Field(default_factory=list)


class Plan(BaseModel):
    """The planner's answer to one question: what to call, and what the thread remembers after it."""

    model_config = ConfigDict(extra="forbid")

    intent: str
    tool_calls: list[ToolCall]
    context: PlanContext
    understood: bool = Field(description="False: answer honestly that this cannot be answered, plus help")
    notes: list[str] = Field(default_factory=list, description="how words were read, what was left out")

    @model_validator(mode="after")
    def _read_only(self) -> Plan:
        # A structural guarantee, not a convention: a plan with a state-changing tool cannot exist.
        bad = [c.tool for c in self.tool_calls if c.tool not in PLANNER_TOOLS]
        if bad:
            raise ValueError(f"a plan may only call read-only tools, not {bad}")
        if self.intent not in INTENTS:
            raise ValueError(f"unknown intent {self.intent!r}")
        if not self.understood and self.tool_calls:
            raise ValueError("a question that was not understood calls no tools")
        return self
