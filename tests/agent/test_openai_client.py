"""The real ``langchain-openai`` client (through ``init_chat_model``) against an OpenAI-compatible
stand-in on a loopback port: tool calls pick the tools, the reply check keeps the tools' numbers
and catches a made-up one, a 5xx or a timeout leaves the turn to the offline planner with a note,
and the API key reaches the server but never the output, the logs or the stored thread."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from agent.graph import build_qa_graph
from agent.llm import MAX_RETRIES, init_model, llm_understand
from services.deps import Deps
from services.registry import AGENT_TOOLS, TOOLS
from services.settings import load_settings
from tests.agent.openai_standin import Reply, StandIn, openai_standin, text, tool_call, tool_results

AS_OF = "2024-10-01"  # the FOCUS 1.0 sample covers September 2024
API_KEY = "sk-standin-a1b2c3d4e5f6a7b8c9d0e1f2"
MODEL = "openai:gpt-standin"
QUESTION = "how much did we spend in september 2024?"


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory, focus_sample: Path) -> Path:
    from app.cli import main

    home = tmp_path_factory.mktemp("openai") / "ws"
    assert main(["--workspace", str(home), "ingest", "focus", str(focus_sample)]) == 0
    return home


@pytest.fixture(scope="module")
def september_total(ws: Path) -> str:
    """The spend tool's own total for September, to the cent, as the answer must show it."""
    from services.registry import call_tool

    deps = Deps(load_settings(ws, as_of=date.fromisoformat(AS_OF)))
    total = call_tool("spend", {"period": "2024-09"}, deps).total  # type: ignore[attr-defined]
    deps.close()
    return f"{Decimal(total).quantize(Decimal('0.01')):,.2f}"


def words_the_total(body: dict[str, Any]) -> Reply:
    """A model that asks for spend, then words the tool's total exactly."""
    results = tool_results(body)
    if not results:
        return tool_call("spend", {"period": "2024-09"})
    total = Decimal(results[-1]["total"]).quantize(Decimal("0.01"))
    return text(f"We spent {total:,.2f} {results[-1]['currency']} in September 2024.")


def invents_a_number(body: dict[str, Any]) -> Reply:
    if not tool_results(body):
        return tool_call("spend", {"period": "2024-09"})
    return text("We spent 12,345.67 USD in September 2024, up 42% on August.")


@pytest.fixture
def llm_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    def configure(standin: StandIn) -> None:
        monkeypatch.setenv("COSTPILOT_LLM", MODEL)
        monkeypatch.setenv("COSTPILOT_LLM_BASE_URL", standin.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", API_KEY)

    yield configure


def ask_cli(run_cli: Any, ws: Path, *extra: str) -> Any:
    return run_cli("--workspace", str(ws), "--as-of", AS_OF, "ask", QUESTION, *extra)


def assert_key_never_shown(ws: Path, *outputs: str) -> None:
    for out in outputs:
        assert API_KEY not in out
    for log in (ws / "logs").glob("*"):
        assert API_KEY not in log.read_text(errors="replace"), log
    assert API_KEY.encode() not in (ws / "state.sqlite").read_bytes()


def test_the_model_picks_the_tool_and_its_reply_keeps_the_tools_numbers(
    ws: Path, run_cli: Any, llm_env: Any, september_total: str
) -> None:
    with openai_standin(words_the_total) as standin:
        llm_env(standin)
        res = ask_cli(run_cli, ws, "--json")
    assert res.code == 0, res.err
    data = res.json()
    assert data["grounded"] is True and data["intent"] == "llm"
    assert [c["tool"] for c in data["tool_calls"]] == ["spend"]
    assert data["tool_calls"][0]["args"]["period"] == "2024-09"
    assert data["answer"] == f"We spent {september_total} USD in September 2024."
    assert september_total in data["numbers"]
    # What the real client sent: chat completions, no streaming, the registry's request schemas.
    assert [r.path for r in standin.requests] == ["/v1/chat/completions"] * 2
    first = standin.requests[0].body
    assert not first.get("stream") and first["model"] == "gpt-standin"
    tools = {t["function"]["name"]: t["function"] for t in first["tools"]}
    assert set(tools) == set(AGENT_TOOLS) and not {"decide", "open_pr"} & set(tools)
    assert tools["spend"]["parameters"]["properties"].keys() == (
        TOOLS["spend"].request.model_json_schema()["properties"].keys()
    )
    assert standin.requests[0].headers["authorization"] == f"Bearer {API_KEY}"  # the key was used
    sent_back = tool_results(standin.requests[1].body)
    assert f"{Decimal(sent_back[0]['total']).quantize(Decimal('0.01')):,.2f}" == september_total
    assert_key_never_shown(ws, res.out, res.err)


def test_a_made_up_number_is_caught_and_the_templated_answer_shown(
    ws: Path, run_cli: Any, llm_env: Any, september_total: str
) -> None:
    with openai_standin(invents_a_number) as standin:
        llm_env(standin)
        data = ask_cli(run_cli, ws, "--json").json()
        plain = ask_cli(run_cli, ws)
    assert data["grounded"] is False
    assert "12,345.67" not in data["answer"] and "42%" not in data["answer"]
    assert data["answer"].startswith("Spend 2024-09-01 to 2024-09-30") and september_total in data["answer"]
    assert plain.code == 0 and "not grounded: templated answer" in plain.out and "12,345.67" not in plain.out
    assert_key_never_shown(ws, plain.out, plain.err)


def test_a_5xx_leaves_the_turn_to_the_offline_planner_with_a_note(
    ws: Path, run_cli: Any, llm_env: Any, september_total: str
) -> None:
    with openai_standin(lambda body: Reply(status=503)) as standin:
        llm_env(standin)
        res = ask_cli(run_cli, ws, "--json")
        plain = ask_cli(run_cli, ws)
    assert res.code == 0, res.err
    data = res.json()
    assert len(standin.requests) == 2 * (1 + MAX_RETRIES)  # the client's retry, then the fallback
    assert data["notes"][0] == "the language model did not answer (HTTP 503); the offline planner answered"
    assert data["grounded"] is True and data["intent"] != "llm"
    assert data["tool_calls"][0]["tool"] == "spend" and data["tool_calls"][0]["args"]["period"] == "2024-09"
    assert f"{september_total} USD" in data["answer"]
    assert "the offline planner answered" in plain.out  # the note is shown in text mode too
    log = (ws / "logs" / "costpilot.log").read_text()
    assert "language model unavailable (HTTP 503)" in log
    # The server echoed the Authorization header in its error body: none of it is passed on.
    assert_key_never_shown(ws, res.out, res.err, plain.out, plain.err)


def test_a_timeout_leaves_the_turn_to_the_offline_planner(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    deps = Deps(load_settings(ws, as_of=date.fromisoformat(AS_OF)))
    with openai_standin(lambda body: Reply(stall=30)) as standin:
        model = init_model(MODEL, standin.base_url, timeout=0.3)
        state = build_qa_graph(deps, llm_understand(deps, model)).invoke({"question": QUESTION})
    assert state["notes"][0] == "the language model did not answer (timed out); the offline planner answered"
    assert state["grounded"] is True and state["tool_calls"][0]["tool"] == "spend"
    assert len(standin.requests) == 1 + MAX_RETRIES
    deps.close()


def test_a_model_asking_for_decide_gets_refused_through_the_real_client(
    ws: Path, run_cli: Any, llm_env: Any
) -> None:
    def approves(body: dict[str, Any]) -> Reply:
        if not tool_results(body):
            return tool_call("decide", {"proposal_id": "p0000000000", "user": "U1", "decision": "approve"})
        return text("Approved.")

    with openai_standin(approves) as standin:
        llm_env(standin)
        data = ask_cli(run_cli, ws, "--json").json()
    assert data["tool_calls"] == []
    assert tool_results(standin.requests[1].body) == [
        {"error": "error: decide is not available to the assistant"}
    ]


@pytest.mark.parametrize(
    ("spec", "env", "message"),
    [
        ("gpt-4o", {}, "COSTPILOT_LLM 'gpt-4o': expected provider:model"),
        ("nosuchprovider:m1", {}, "unknown provider 'nosuchprovider'"),
        ("openai:gpt-standin", {"OPENAI_API_KEY": None}, "the provider's API key is not set"),
    ],
)
def test_a_misconfigured_model_is_one_line_and_exit_2(
    ws: Path, run_cli: Any, monkeypatch: pytest.MonkeyPatch, spec: str, env: dict[str, Any], message: str
) -> None:
    monkeypatch.setenv("COSTPILOT_LLM", spec)
    monkeypatch.setenv("COSTPILOT_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
    res = ask_cli(run_cli, ws)
    assert res.code == 2 and res.out == ""
    assert res.err.count("\n") == 1 and message in res.err, res.err


def test_a_provider_package_that_is_not_installed_is_named(
    ws: Path, run_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    if importlib.util.find_spec("langchain_anthropic") is not None:
        pytest.skip("langchain-anthropic is installed here")
    monkeypatch.setenv("COSTPILOT_LLM", "anthropic:claude-x")
    res = ask_cli(run_cli, ws)
    assert res.code == 2
    assert "the anthropic provider is not installed (pip install langchain langchain-anthropic)" in res.err


def test_init_chat_model_builds_the_openai_client_for_a_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    from langchain_openai import ChatOpenAI

    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    model = init_model(MODEL, "http://127.0.0.1:9/v1", timeout=5)
    assert isinstance(model, ChatOpenAI)
    assert model.openai_api_base == "http://127.0.0.1:9/v1" and model.request_timeout == 5
    assert model.max_retries == MAX_RETRIES and model.temperature == 0
    assert API_KEY not in repr(model) and API_KEY not in json.dumps(
        model.model_dump(mode="json"), default=str
    )
