"""Intent → builder: one function per intent, registered by name (no chain of ifs)."""

from __future__ import annotations

from collections.abc import Callable

from agent.planner import cost_calls, ops_calls
from agent.planner.models import ToolCall
from agent.planner.scope import Scope

Builder = Callable[[Scope], list[ToolCall]]
BUILDERS: dict[str, Builder] = {
    "spend": cost_calls.spend,
    "change": cost_calls.change,
    "anomalies": cost_calls.anomalies,
    "forecast": cost_calls.forecast,
    "budget_status": cost_calls.budget_status,
    "unit_costs": cost_calls.unit_costs,
    "untagged": cost_calls.untagged,
    "rightsize": ops_calls.rightsize,
    "savings": ops_calls.savings,
    "idle": ops_calls.idle,
    "cheaper_model": ops_calls.models,
    "proposals": ops_calls.proposals,
    "proposal_status": ops_calls.proposal_status,
    "how_to_act": ops_calls.how_to_act,
    "help": ops_calls.help_,
}
