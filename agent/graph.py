"""The Q&A graph: understand → call tools → compose → check reply → answer.

The nodes live in ``agent.qa`` (one implementation); this module only wires them into a LangGraph
``StateGraph`` with a checkpointer. A chat model's path (``agent.llm``) runs through this graph;
the offline planner's path runs the same nodes without compiling it (``agent.qa.run_turn``).
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph

from agent.qa import Understand, offline_understand, qa_nodes, run_tool_calls, vocabulary
from agent.state import QAState
from services.deps import Deps

__all__ = ["Understand", "build_qa_graph", "offline_understand", "run_tool_calls", "vocabulary"]


def build_qa_graph(deps: Deps, understand: Understand | None = None, checkpointer: Any = None) -> Any:
    """The compiled graph; ``understand`` defaults to the offline planner."""
    graph = StateGraph(QAState)
    nodes = qa_nodes(deps, understand)
    previous = START
    for name, node in nodes:
        graph.add_node(name, node)
        graph.add_edge(previous, name)
        previous = name
    graph.add_edge(previous, END)
    return graph.compile(checkpointer=checkpointer)
