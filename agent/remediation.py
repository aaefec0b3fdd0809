"""The remediation graph: request approval (``interrupt()``) → decide → open PR → record.

One thread per proposal (thread id = proposal id), checkpointed in the state database. ``scan``
starts a thread for each proposal awaiting approval and stops at the interrupt, whose payload is
the Agent Inbox-shaped approval request; a decision (CLI ``approve``/``reject``, a Slack button)
resumes it. The PR node comes after the decision node, and both call idempotent ``services``
steps, so resuming twice, or after a crash between the decision and the PR, gives one PR.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

from services.deps import Deps
from services.registry import call_tool


class RemediationState(TypedDict, total=False):
    proposal_id: str
    request: dict[str, Any]
    """The approval request shown to the humans (Agent Inbox shape)."""
    decision: dict[str, Any]
    """``{"type": "accept" | "ignore" | "response", "user", "reason", "patch_sha256"}``."""
    outcome: dict[str, Any]
    """The last step's ``ApprovalOutcome`` JSON."""


def build_remediation_graph(deps: Deps, checkpointer: Any) -> Any:
    def request_approval(state: RemediationState) -> dict[str, Any]:
        request = call_tool("request_approval", {"proposal_id": state["proposal_id"]}, deps)
        payload = request.model_dump(mode="json")
        # Resumed with the human's answer; a resumed node re-runs from its start, and the
        # request above only reads, so re-running it is harmless.
        answer = interrupt(payload)
        return {"request": payload, "decision": dict(answer)}

    def decide(state: RemediationState) -> dict[str, Any]:
        d = state["decision"]
        verdict = "approve" if d.get("type") == "accept" else "reject"
        args = {
            "proposal_id": state["proposal_id"],
            "user": d["user"],
            "decision": verdict,
            "patch_sha256": d.get("patch_sha256"),
            "reason": d.get("reason"),
            "idempotency_key": d.get("idempotency_key"),
            "via": d.get("via"),  # where the decision came from (cli | slack | mcp), audited
            "os_user": d.get("os_user"),
        }
        outcome = call_tool("decide", {k: v for k, v in args.items() if v is not None}, deps)
        return {"outcome": outcome.model_dump(mode="json")}

    def after_decide(state: RemediationState) -> Literal["open_pr", "record"]:
        return "open_pr" if state["outcome"]["step"] == "approved" else "record"

    def open_pr(state: RemediationState) -> dict[str, Any]:
        outcome = call_tool("open_pr", {"proposal_id": state["proposal_id"]}, deps)
        return {"outcome": outcome.model_dump(mode="json")}

    def record(state: RemediationState) -> dict[str, Any]:
        return {}  # every transition is already audited by the store; the thread ends here

    graph = StateGraph(RemediationState)
    graph.add_node("request_approval", request_approval)
    graph.add_node("decide", decide)
    graph.add_node("open_pr", open_pr)
    graph.add_node("record", record)
    graph.add_edge(START, "request_approval")
    graph.add_edge("request_approval", "decide")
    graph.add_conditional_edges("decide", after_decide)
    graph.add_edge("open_pr", "record")
    graph.add_edge("record", END)
    return graph.compile(checkpointer=checkpointer)


def _config(proposal_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": f"proposal:{proposal_id}"}}


def start_approval(deps: Deps, proposal_id: str) -> dict[str, Any] | None:
    """Run the proposal's thread up to its approval interrupt (once); the interrupt payload, or
    None when the thread is already past it."""
    from agent.checkpoint import open_checkpointer

    with open_checkpointer(deps) as saver:
        graph = build_remediation_graph(deps, saver)
        snapshot = graph.get_state(_config(proposal_id))
        if not snapshot.values:  # a new thread
            graph.invoke({"proposal_id": proposal_id}, _config(proposal_id))
            snapshot = graph.get_state(_config(proposal_id))
        pending = [i.value for t in snapshot.tasks for i in t.interrupts]
        return pending[0] if pending else None


def resume_decision(deps: Deps, proposal_id: str, decision: dict[str, Any]) -> dict[str, Any]:
    """Resume the proposal's thread with a human decision (starting it first if ``scan`` ran
    before threads existed); returns the last step's outcome. Resuming a finished thread, or
    resuming again after a crash, reaches the same idempotent steps: one PR."""
    from agent.checkpoint import open_checkpointer

    with open_checkpointer(deps) as saver:
        graph = build_remediation_graph(deps, saver)
        config = _config(proposal_id)
        snapshot = graph.get_state(config)
        if not snapshot.values:
            graph.invoke({"proposal_id": proposal_id}, config)
            snapshot = graph.get_state(config)
        if not snapshot.next:  # finished: the decision was taken before (idempotent answer)
            return dict(snapshot.values.get("outcome") or {})
        waiting = any(t.interrupts for t in snapshot.tasks)
        # At the interrupt: resume with the decision. Past it (a crash between the decision and
        # the PR): continue from the checkpoint; the PR node re-runs, idempotently.
        state = graph.invoke(Command(resume=decision) if waiting else None, config)
        return dict(state.get("outcome") or {})


def start_threads(deps: Deps, proposal_ids: list[str]) -> list[str]:
    """Start (once) the thread of each proposal awaiting approval; the ids now waiting."""
    from agent.checkpoint import open_checkpointer

    waiting = []
    with open_checkpointer(deps) as saver:
        graph = build_remediation_graph(deps, saver)
        for pid in proposal_ids:
            config = _config(pid)
            if not graph.get_state(config).values:
                graph.invoke({"proposal_id": pid}, config)
            if any(t.interrupts for t in graph.get_state(config).tasks):
                waiting.append(pid)
    return waiting
