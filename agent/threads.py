"""A Q&A thread's state in the LangGraph checkpointer, read and written without compiling a graph.

The offline planner's turn (``agent.qa.run_turn``) stores its final state as one checkpoint in
the same table, in the same shape the compiled graph writes: channel values for the state keys,
versions one above every version the thread has seen (LangGraph versions are global within a
thread), the earlier ``versions_seen`` kept. So a thread started offline continues in the graph
(a chat model configured later, a long-lived Slack server) and the other way round.
"""

from __future__ import annotations

from typing import Any

from agent.state import QAState
from services.deps import Deps

NODES_PER_TURN = 4  # understand, call_tools, compose, check (the graph adds 1 step for the input)


def _config(thread_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}


def load_state(saver: Any, thread_id: str) -> tuple[dict[str, Any], Any]:
    """(the thread's last state, its checkpoint tuple or None) — an empty state for a new thread."""
    latest = saver.get_tuple(_config(thread_id))
    if latest is None:
        return {}, None
    return dict(latest.checkpoint.get("channel_values") or {}), latest


def save_state(saver: Any, thread_id: str, state: dict[str, Any], previous: Any) -> None:
    """Store ``state`` as the thread's next checkpoint (after ``previous``, the loaded tuple)."""
    from langgraph.checkpoint.base import empty_checkpoint

    checkpoint = empty_checkpoint()
    versions: dict[str, Any] = {}
    seen: dict[str, Any] = {}
    step = NODES_PER_TURN - 1
    config = _config(thread_id)
    if previous is not None:
        versions = dict(previous.checkpoint.get("channel_versions") or {})
        seen = {k: dict(v) for k, v in (previous.checkpoint.get("versions_seen") or {}).items()}
        step = int((previous.metadata or {}).get("step", -1)) + 1 + NODES_PER_TURN
        config = previous.config
    current = max(versions.values()) if versions else None
    version = saver.get_next_version(current, None)
    keys = [k for k in QAState.__annotations__ if k in state]
    new_versions = dict.fromkeys(keys, version)
    checkpoint["channel_values"] = {k: state[k] for k in keys}
    checkpoint["channel_versions"] = {**versions, **new_versions}
    checkpoint["versions_seen"] = seen
    checkpoint["updated_channels"] = keys
    saver.put(config, checkpoint, {"source": "loop", "step": step, "parents": {}}, new_versions)


def offline_turn(deps: Deps, thread_id: str, turn: dict[str, Any], nodes: list[Any]) -> dict[str, Any]:
    """One offline turn on ``thread_id``: the thread's state, the nodes, the new state stored.

    On the SQLite state DB the rows are read and written without LangGraph (``thread_sqlite``);
    whatever that cannot handle, and PostgreSQL, goes through the saver."""
    from agent.checkpoint import open_checkpointer, sqlite_state
    from agent.qa import run_turn
    from agent.thread_sqlite import NotPlain, load, save

    with sqlite_state(deps) as conn:
        if conn is not None:
            try:
                previous_state, previous = load(conn, thread_id)
            except NotPlain:
                pass
            else:
                state = run_turn(nodes, {**previous_state, **turn})
                try:
                    save(conn, thread_id, state, previous)
                    return state
                except NotPlain:
                    with open_checkpointer(deps) as saver:
                        save_state(saver, thread_id, state, saver.get_tuple(_config(thread_id)))
                    return state
    with open_checkpointer(deps) as saver:
        previous_state, previous_tuple = load_state(saver, thread_id)
        state = run_turn(nodes, {**previous_state, **turn})
        save_state(saver, thread_id, state, previous_tuple)
    return state
