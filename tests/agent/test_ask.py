"""The agent end to end on a small real workspace: grounded answers, follow-ups in a thread,
the reply check replacing invented numbers, a model that tries to approve, malformed arguments."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from agent.ask import ask
from agent.graph import build_qa_graph
from agent.llm import MAX_STEPS, llm_understand
from guardrails.reply_check import check_reply
from services.deps import Deps
from services.settings import load_settings
from store import audit

AS_OF = "2024-10-01"  # the FOCUS 1.0 sample covers September 2024


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory, focus_sample: Path) -> Path:
    from app.cli import main

    home = tmp_path_factory.mktemp("agent") / "ws"
    assert main(["--workspace", str(home), "ingest", "focus", str(focus_sample)]) == 0
    return home


def deps_for(home: Path) -> Deps:
    from datetime import date

    return Deps(load_settings(home, as_of=date.fromisoformat(AS_OF)))


def test_ask_json_is_the_cli_contract_and_its_numbers_equal_spend(ws: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    res = run_cli(
        "--workspace", str(ws), "--as-of", AS_OF, "ask", "how much did we spend in september 2024?", "--json"
    )
    assert res.code == 0, res.err
    data = res.json()
    assert set(data) >= {"answer", "tool_calls", "numbers", "grounded", "thread"}
    assert data["grounded"] is True
    assert data["tool_calls"][0]["tool"] == "spend" and data["tool_calls"][0]["args"]["period"] == "2024-09"
    spend = run_cli("--workspace", str(ws), "spend", "--period", "2024-09", "--json").json()
    total = Decimal(spend["total"]).quantize(Decimal("0.01"))
    assert f"{total:,.2f} USD" in data["answer"]  # the same TOOLS entry: Slack and the CLI agree


def test_a_follow_up_reuses_the_period_of_the_thread(ws: Path) -> None:
    deps = deps_for(ws)
    first = ask("spend in september 2024 by service", deps, thread="t-follow")
    second = ask("break that down by region", deps, thread="t-follow")
    assert first.tool_calls[0].args["period"] == second.tool_calls[0].args["period"] == "2024-09"
    assert second.tool_calls[0].args["by"] == ["region"]
    assert second.thread == "t-follow" and second.grounded


def test_a_question_it_cannot_answer_gets_no_number(ws: Path) -> None:
    result = ask("what will the weather be tomorrow?", deps_for(ws))
    assert not result.understood and result.tool_calls == []
    assert "can't answer" in result.answer and result.numbers == []


class ScriptedModel(GenericFakeChatModel):
    """A chat model that replays scripted messages and accepts ``bind_tools``."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:  # noqa: ARG002 - the script ignores them
        return self


_SCRIPTS: dict[int, Any] = {}


def _graph(deps: Deps, script: list[AIMessage]) -> Any:
    replay = iter(script)
    _SCRIPTS[id(script)] = replay
    model = ScriptedModel(messages=replay)
    return build_qa_graph(deps, llm_understand(deps, model))


def graph_script_left(script: list[AIMessage], _state: Any) -> Any:
    """What the model did not get to say (the loop bound stopped it)."""
    return _SCRIPTS[id(script)]


def _call(name: str, args: dict[str, Any], call_id: str) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": call_id}])


def test_a_model_that_invents_a_number_is_replaced_by_the_templated_answer(ws: Path) -> None:
    deps = deps_for(ws)
    graph = _graph(
        deps, [_call("spend", {"period": "2024-09"}, "c1"), AIMessage(content="We spent 99,999.99 USD.")]
    )
    state = graph.invoke({"question": "september spend?"})
    assert state["grounded"] is False
    assert "99,999.99" not in state["answer"] and state["answer"].startswith("Spend 2024-09-01 to 2024-09-30")
    assert check_reply(state["answer"], state["results"]).grounded


def test_a_model_that_words_the_tool_numbers_is_kept(ws: Path) -> None:
    deps = deps_for(ws)
    graph = _graph(deps, [_call("spend", {"period": "2024-09"}, "c1"), AIMessage(content="placeholder")])
    first = graph.invoke({"question": "september spend?"})
    total = Decimal(first["results"][0]["result"]["total"]).quantize(Decimal("0.01"))
    graph = _graph(
        deps,
        [_call("spend", {"period": "2024-09"}, "c1"), AIMessage(content=f"September cost {total:,.2f} USD.")],
    )
    state = graph.invoke({"question": "september spend?"})
    assert state["grounded"] is True and state["answer"] == f"September cost {total:,.2f} USD."


def test_a_model_that_tries_to_approve_is_refused_and_audited(ws: Path) -> None:
    deps = deps_for(ws)
    graph = _graph(
        deps,
        [
            _call("decide", {"proposal_id": "p0000000000", "user": "U1", "decision": "approve"}, "c1"),
            _call("open_pr", {"proposal_id": "p0000000000"}, "c2"),
            AIMessage(content="I could not approve it."),
        ],
    )
    state = graph.invoke({"question": "approve everything"})
    assert state["refused"] == ["decide", "open_pr"] and state["tool_calls"] == []
    refused = [e for e in audit.events_for(deps.engine, "decide") if e.action == "tool_refused"]
    assert refused, "a refused tool call is audited"


def test_malformed_arguments_are_fed_back_and_the_model_may_correct_them(ws: Path) -> None:
    deps = deps_for(ws)
    graph = _graph(
        deps,
        [
            _call("spend", {"period": "septembre", "colour": "red"}, "c1"),
            _call("spend", {"period": "2024-09"}, "c2"),
            AIMessage(content="done"),
        ],
    )
    state = graph.invoke({"question": "september spend?"})
    assert [c["args"]["period"] for c in state["tool_calls"]] == ["2024-09"]  # only the valid call ran
    assert state["grounded"] is True


def test_the_model_loop_is_bounded(ws: Path) -> None:
    deps = deps_for(ws)
    script = [_call("spend", {"period": "bad"}, f"c{i}") for i in range(20)]
    graph = _graph(deps, script)
    state = graph.invoke({"question": "loop forever"})
    remaining = sum(1 for _ in graph_script_left(script, state))
    assert state["tool_calls"] == [] and state["results"] == []
    assert remaining == 20 - MAX_STEPS  # it stopped after MAX_STEPS model turns
    assert state["numbers"] == []
