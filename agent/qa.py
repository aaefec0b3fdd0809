"""The Q&A nodes — understand → call tools → compose → check reply — written once.

``agent.graph`` wires them into a LangGraph ``StateGraph``; ``run_turn`` runs the same functions in
the same order on a plain dict, with the same merge rule as the graph's channels (each node's
update overwrites those keys, every other key keeps its value). The offline planner path uses
``run_turn`` so a CLI process never imports LangGraph's graph machinery (~0.5 s); the state it
stores in the checkpointer is the graph's final state, so either way can continue a thread.

The nodes call only ``TOOLS`` entries, and of those only ``AGENT_TOOLS``; every number of the
reply is checked against this turn's tool results (``guardrails.reply_check``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agent.compose import compose
from agent.state import QAState
from domain.errors import CostpilotError
from services.deps import Deps
from services.registry import AGENT_TOOLS, get_tool

Understand = Callable[[QAState], dict[str, Any]]
Node = Callable[[QAState], dict[str, Any]]


def vocabulary(deps: Deps) -> Any:
    """The planner's vocabulary: the warehouse's actual dimension values (``services.catalog``)."""
    from agent.planner import Vocabulary
    from services.catalog import catalog

    return Vocabulary(values=catalog(deps).values)


def offline_understand(deps: Deps) -> Understand:
    def understand(state: QAState) -> dict[str, Any]:
        from agent.planner import PlanContext, plan_question

        previous = PlanContext.model_validate(state["context"]) if state.get("context") else None
        plan = plan_question(state["question"], deps.today, vocabulary(deps), previous)
        return {
            "intent": plan.intent,
            "understood": plan.understood,
            "tool_calls": [c.model_dump() for c in plan.tool_calls],
            "context": plan.context.model_dump() if plan.understood else state.get("context"),
            "notes": plan.notes,
            "refused": [],
            "draft": "",
        }

    return understand


def run_tool_calls(deps: Deps, calls: list[dict[str, Any]], user: str | None = None) -> list[dict[str, Any]]:
    """Run each planned call through the registry; a tool outside ``AGENT_TOOLS`` is refused and
    audited, an error becomes the call's answer (one line), never an exception."""
    results: list[dict[str, Any]] = []
    for call in calls:
        # None means "the tool's default" (the planner leaves unnamed values open).
        tool = call["tool"]
        args = {k: v for k, v in (call.get("args") or {}).items() if v is not None}
        if tool == "help":
            results.append({"tool": "help", "args": {}})
            continue
        if tool not in AGENT_TOOLS:
            _audit_refusal(deps, tool, user)
            results.append({"tool": tool, "args": args, "error": f"{tool} is not available to the assistant"})
            continue
        spec = get_tool(tool)
        try:
            result = spec.run(args, deps)
        except CostpilotError as exc:
            results.append({"tool": tool, "args": args, "error": str(exc)})
            continue
        results.append(
            {"tool": tool, "args": spec.parse(args).model_dump(mode="json"), "result": spec.json(result)}
        )
    return results


def _audit_refusal(deps: Deps, tool: str, user: str | None) -> None:
    from store import audit
    from store.db import session_scope

    with session_scope(deps.engine) as session:
        audit.append(
            session,
            actor="agent",
            action="tool_refused",
            subject=tool,
            data={"tool": tool, "asked_by": user or "unknown"},
            at=deps.clock(),
        )


def qa_nodes(deps: Deps, understand: Understand | None = None) -> list[tuple[str, Node]]:
    """The Q&A nodes in their order; ``understand`` defaults to the offline planner."""

    def call_tools(state: QAState) -> dict[str, Any]:
        if state.get("draft"):  # a chat model ran its own tool loop in ``understand``
            return {}
        return {"results": run_tool_calls(deps, state.get("tool_calls") or [], state.get("user"))}

    def compose_reply(state: QAState) -> dict[str, Any]:
        if state.get("draft"):  # a chat model already worded the reply
            return {}
        return {"draft": compose(state.get("results") or [], understood=state.get("understood", False))}

    def check(state: QAState) -> dict[str, Any]:
        from guardrails.reply_check import check_reply

        results = state.get("results") or []
        sources = results  # the question is not a source: its numbers are claims, not facts
        verdict = check_reply(state["draft"], sources)
        if verdict.grounded:
            return {"answer": state["draft"], "numbers": verdict.numbers, "grounded": True}
        # Replace the reply by the templated answer built from the same results.
        templated = compose(results, understood=state.get("understood", False))
        return {"answer": templated, "numbers": check_reply(templated, sources).numbers, "grounded": False}

    return [
        ("understand", understand or offline_understand(deps)),
        ("call_tools", call_tools),
        ("compose", compose_reply),
        ("check", check),
    ]


def run_turn(nodes: list[tuple[str, Node]], state: dict[str, Any]) -> dict[str, Any]:
    """One turn through ``nodes`` in order, merged as the graph's last-value channels merge."""
    state = dict(state)
    for _name, node in nodes:
        state.update(node(state))  # type: ignore[arg-type]
    return state
