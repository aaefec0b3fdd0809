"""``ask``: one question in a thread → a grounded answer, the tool calls behind it, its numbers.

The CLI (`costpilot ask`), Slack and the evals call this. A thread (Slack: channel + thread ts)
keeps the planner's context in the checkpointer, so follow-ups reuse period, scope and dimensions.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.deps import Deps


class ToolCallRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    tool: str
    args: dict[str, Any]


class AskResult(BaseModel):
    """The CLI contract of ``costpilot ask --json``: answer, tool_calls, numbers, grounded, thread."""

    model_config = ConfigDict(frozen=True)

    answer: str
    tool_calls: list[ToolCallRecord]
    numbers: list[str]
    grounded: bool
    thread: str
    intent: str = ""
    understood: bool = True
    notes: list[str] = Field(default_factory=list)
    results: list[dict[str, Any]] = Field(default_factory=list, description="each tool's registry JSON")


def new_thread() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


def ask(question: str, deps: Deps, *, thread: str | None = None, user: str | None = None) -> AskResult:
    """Answer ``question`` in ``thread`` (a new thread when None).

    With a chat model configured the compiled graph runs; with the offline planner the same nodes
    run in order without compiling it (``agent.threads.offline_turn``), which spares every CLI
    process the import of LangGraph. Both read and store the thread in the checkpointer's tables.
    """
    from agent.checkpoint import open_checkpointer
    from agent.llm import understand_for

    thread = thread or new_thread()
    thread_id = f"qa:{thread}"
    turn = {"question": question, "user": user}
    understand = understand_for(deps)
    if understand is None:
        from agent.qa import qa_nodes
        from agent.threads import offline_turn

        state = offline_turn(deps, thread_id, turn, qa_nodes(deps))
    else:
        from agent.graph import build_qa_graph

        with open_checkpointer(deps) as saver:
            graph = build_qa_graph(deps, understand, checkpointer=saver)
            state = graph.invoke(turn, config={"configurable": {"thread_id": thread_id}})
    return AskResult(
        answer=state["answer"],
        tool_calls=[
            ToolCallRecord(tool=c["tool"], args=c.get("args") or {}) for c in state.get("tool_calls", [])
        ],
        numbers=state.get("numbers", []),
        grounded=state.get("grounded", False),
        thread=thread,
        intent=state.get("intent", ""),
        understood=state.get("understood", False),
        notes=state.get("notes", []),
        results=state.get("results", []),
    )
