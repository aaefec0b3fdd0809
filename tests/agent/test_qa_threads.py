"""The offline path runs the Q&A nodes without compiling the graph; its answers and the thread it
stores are the graph's, so a thread continues across the two (CLI offline, Slack server, a chat
model configured later) and follow-ups keep the period, scope and dimensions."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from agent.ask import ask
from agent.checkpoint import open_checkpointer, sqlite_state
from agent.graph import build_qa_graph
from agent.qa import qa_nodes, run_turn
from agent.thread_sqlite import NotPlain, load, uuid6
from agent.threads import save_state
from services.deps import Deps
from services.settings import load_settings

AS_OF = "2024-10-01"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory, focus_sample: Path) -> Path:
    from app.cli import main

    home = tmp_path_factory.mktemp("threads") / "ws"
    assert main(["--workspace", str(home), "ingest", "focus", str(focus_sample)]) == 0
    return home


@pytest.fixture
def deps(ws: Path) -> Any:
    deps = Deps(load_settings(ws, as_of=date.fromisoformat(AS_OF)))
    yield deps
    deps.close()


def graph_turn(deps: Deps, thread: str, question: str) -> dict[str, Any]:
    with open_checkpointer(deps) as saver:
        graph = build_qa_graph(deps, checkpointer=saver)
        return graph.invoke(
            {"question": question, "user": None}, {"configurable": {"thread_id": f"qa:{thread}"}}
        )


PER_TURN = ("intent", "understood", "tool_calls", "results", "answer", "numbers", "grounded", "context")


def per_turn(state: dict[str, Any]) -> dict[str, Any]:
    """The turn's outcome; each result's ``computed_at`` is the clock, not the computation."""
    out = {k: state.get(k) for k in PER_TURN}
    for result in out["results"] or []:
        (result.get("result") or {}).get("provenance", {}).pop("computed_at", None)
    return out


@pytest.mark.parametrize(
    "question",
    ["spend in september 2024 by service", "top 3 regions in september 2024", "what's the weather?"],
)
def test_the_nodes_without_the_graph_give_the_graphs_state(deps: Deps, question: str) -> None:
    plain = run_turn(qa_nodes(deps), {"question": question, "user": None})
    graphed = build_qa_graph(deps).invoke({"question": question, "user": None})
    assert per_turn(plain) == per_turn(graphed)


def test_a_thread_started_offline_continues_in_the_graph_and_back(deps: Deps) -> None:
    first = ask("spend in september 2024 by service", deps, thread="t-mixed")
    second = graph_turn(deps, "t-mixed", "break that down by region")  # e.g. a Slack server
    third = ask("and for the top 3?", deps, thread="t-mixed")
    assert first.tool_calls[0].args["period"] == "2024-09"
    assert second["tool_calls"][0]["args"]["period"] == "2024-09"
    assert second["tool_calls"][0]["args"]["by"] == ["region"]
    assert third.tool_calls[0].args["period"] == "2024-09" and third.grounded


def test_a_thread_started_in_the_graph_continues_offline(deps: Deps) -> None:
    graph_turn(deps, "t-graph-first", "spend in september 2024 by service")
    follow = ask("break that down by region", deps, thread="t-graph-first")
    assert follow.tool_calls[0].args["period"] == "2024-09" and follow.tool_calls[0].args["by"] == ["region"]
    # and the graph keeps going after the offline turn
    again = graph_turn(deps, "t-graph-first", "what about staging?")
    assert again["tool_calls"][0]["args"]["period"] == "2024-09"
    assert again["answer"] and again["grounded"] is True


def test_the_offline_cli_never_imports_langgraph(ws: Path, deps: Deps) -> None:
    ask("spend in september 2024", deps)  # the saver has made its tables in this workspace
    code = (
        "import sys\n"
        "from app.cli import main\n"
        f"code = main(['--workspace', {str(ws)!r}, '--as-of', {AS_OF!r}, 'ask', 'spend in september 2024', '--json'])\n"
        "assert code == 0, code\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules if m.startswith(('langgraph', 'langchain'))})\n"
        "print('LOADED', loaded)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "LOADED []" in out.stdout, out.stdout[-300:]


def test_uuid6_ids_sort_after_langgraphs_and_each_other() -> None:
    from langgraph.checkpoint.base.id import uuid6 as langgraph_uuid6

    before = str(langgraph_uuid6(clock_seq=-2))
    ours = [uuid6() for _ in range(50)]
    assert ours == sorted(ours) and len(set(ours)) == 50 and before < ours[0]
    assert all(uuid.UUID(i).version == 6 for i in ours)
    assert str(langgraph_uuid6(clock_seq=-2)) > ours[-1]


def test_a_thread_the_fast_path_cannot_read_goes_through_the_saver(deps: Deps) -> None:
    """A row holding a non-plain value (a date: an extension type in LangGraph's msgpack) is read
    by the saver; the follow-up still reuses the thread."""
    graph_turn(deps, "t-not-plain", "spend in september 2024 by service")
    with open_checkpointer(deps) as saver:
        latest = saver.get_tuple({"configurable": {"thread_id": "qa:t-not-plain", "checkpoint_ns": ""}})
        values = {**latest.checkpoint["channel_values"], "notes": [date(2024, 10, 1)]}
        save_state(saver, "qa:t-not-plain", values, latest)
    with sqlite_state(deps) as conn:
        assert conn is not None
        with pytest.raises(NotPlain):
            load(conn, "qa:t-not-plain")
    follow = ask("break that down by region", deps, thread="t-not-plain")
    assert follow.tool_calls[0].args["period"] == "2024-09" and follow.tool_calls[0].args["by"] == ["region"]
    again = ask("and the top 3?", deps, thread="t-not-plain")  # the saver wrote plain data again
    assert again.tool_calls[0].args["period"] == "2024-09"
