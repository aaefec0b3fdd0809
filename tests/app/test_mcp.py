"""``costpilot mcp`` as an MCP client sees it: the official ``mcp`` client drives the server as a
subprocess over stdio (and once over streamable HTTP) and compares its answers with the CLI's."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import given
from hypothesis import strategies as st
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from services.registry import AGENT_TOOLS, TOOLS

ROOT = Path(__file__).resolve().parents[2]
NEVER_EXPOSED = {"decide", "open_pr", "budget_set", "scan", "ingest_focus", "ingest_llm_usage",
                 "ingest_utilization", "ingest_prometheus"}  # fmt: skip
SEPTEMBER_TOTAL = "14.97651418586"  # EffectiveCost of the FOCUS 1.0 sample in 2024-09
AS_OF = "2024-10-01"  # the sample covers September 2024


def _env() -> dict[str, str]:
    """The server's environment without the developer's COSTPILOT_* settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith("COSTPILOT_")}


@asynccontextmanager
async def _stdio_session(
    workspace: Path, errlog: Any, *options: str, keep_open: str = "5"
) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "app.cli", "--workspace", str(workspace), *options, "mcp", "--keep-open", keep_open],
        cwd=str(ROOT),
        env=_env(),
    )
    async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


class Client:
    """A live stdio session driven from synchronous tests through an event loop in a thread."""

    def __init__(self, portal: BlockingPortal, session: ClientSession, stderr: Path) -> None:
        self.portal, self.session, self.stderr = portal, session, stderr

    def call(self, name: str, args: dict[str, Any] | None = None) -> Any:
        return self.portal.call(self.session.call_tool, name, args or {})


def _strip_clock(doc: dict[str, Any]) -> dict[str, Any]:
    return {**doc, "provenance": {k: v for k, v in doc["provenance"].items() if k != "computed_at"}}


def _cli(run_cli, monkeypatch: pytest.MonkeyPatch, *args: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    for key in [k for k in os.environ if k.startswith("COSTPILOT_")]:
        monkeypatch.delenv(key)
    result = run_cli(*args)
    assert result.code == 0, result.err
    return result.json()


@pytest.fixture(scope="module")
def focus_ws(tmp_path_factory: pytest.TempPathFactory, focus_sample: Path) -> Path:
    """A workspace holding the FOCUS 1.0 sample and a total budget, made through the CLI."""
    from app.cli import main

    home = tmp_path_factory.mktemp("mcp") / "ws"
    with pytest.MonkeyPatch.context() as env:
        for key in [k for k in os.environ if k.startswith("COSTPILOT_")]:
            env.delenv(key)
        assert main(["--workspace", str(home), "ingest", "focus", str(focus_sample)]) == 0
        budget = [
            "--workspace",
            str(home),
            "--as-of",
            AS_OF,
            "budget",
            "set",
            "--scope",
            "total",
            "--amount",
            "20",
        ]
        assert main(budget) == 0
    return home


@pytest.fixture(scope="module")
def client(focus_ws: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    """One server for the module's data tests (starting the SDK takes seconds on a busy box)."""
    stderr = tmp_path_factory.mktemp("mcp-stderr") / "stderr.txt"
    with (
        stderr.open("w") as errlog,
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(
            _stdio_session(focus_ws, errlog, "--as-of", AS_OF, keep_open="0")
        ) as session,
    ):
        yield Client(portal, session, stderr)


def test_lists_exactly_the_agent_tools_and_refuses_the_rest(tmp_path: Path) -> None:
    """Names, schemas, descriptions and annotations; on an empty workspace a data error is a
    tool error, and a tool that is not exposed cannot be called."""

    async def scenario() -> None:
        with (tmp_path / "stderr.txt").open("w") as errlog:
            async with _stdio_session(tmp_path / "empty-ws", errlog) as session:
                listed = (await session.list_tools()).tools
                empty = await session.call_tool("spend", {"period": "2024-09"})
                decide = await session.call_tool(
                    "decide", {"proposal_id": "p-1", "user": "u", "decision": "approve"}
                )
                still = await session.call_tool("budget_list", {})
        names = [t.name for t in listed]
        assert names == list(AGENT_TOOLS) and "request_approval" in names
        assert not NEVER_EXPOSED & set(names)
        for tool in listed:
            spec = TOOLS[tool.name]
            assert tool.input_schema == spec.request.model_json_schema()
            assert tool.description.startswith(spec.description)
            assert "`truncated`" in tool.description and "80 kB" in tool.description
            hints = tool.annotations
            assert (hints.read_only_hint, hints.destructive_hint, hints.idempotent_hint) == (
                True,
                False,
                True,
            )
        spend = next(t for t in listed if t.name == "spend")
        assert set(spend.input_schema["properties"]) == {"period", "by", "filters", "measure", "top"}
        assert spend.input_schema["additionalProperties"] is False
        assert {"provenance", "total", "rows", "truncated"} <= set(spend.output_schema["properties"])
        assert (
            empty.is_error
            and "no warehouse yet; run `costpilot ingest focus PATH` first" in empty.content[0].text
        )
        assert decide.is_error and decide.content[0].text == "Unknown tool: decide"
        assert not still.is_error and still.structured_content["budgets"] == []

    anyio.run(scenario)
    assert "Traceback" not in (tmp_path / "stderr.txt").read_text()


def test_spend_over_mcp_equals_spend_json(
    client: Client, run_cli, monkeypatch: pytest.MonkeyPatch, focus_ws: Path
) -> None:  # type: ignore[no-untyped-def]
    result = client.call("spend", {"period": "2024-09", "by": ["env", "provider"]})
    cli = _cli(run_cli, monkeypatch, "--workspace", str(focus_ws), "spend", "--period", "2024-09", "--by", "env,provider", "--json")  # fmt: skip
    assert not result.is_error
    doc = result.structured_content
    assert _strip_clock(doc) == _strip_clock(cli)
    assert doc["total"] == SEPTEMBER_TOTAL and doc["currency"] == "USD"
    assert (doc["rows"][0]["env"], doc["rows"][0]["provider"], doc["rows"][0]["cost"]) == ("dev", "AWS", "16")
    assert doc["provenance"]["rows_scanned"] == 1000 and "cost_facts" in doc["provenance"]["query"]
    import json

    assert json.loads(result.content[0].text) == doc  # the text block is the same document

    # Filters, and list arguments sent as JSON text (as some clients do), mean the same.
    filtered = client.call(
        "spend", {"period": "2024-09", "by": '["provider"]', "filters": {"provider": ["AWS"]}}
    )
    cli = _cli(run_cli, monkeypatch, "--workspace", str(focus_ws), "spend", "--period", "2024-09", "--by", "provider", "--filter", "provider=AWS", "--json")  # fmt: skip
    assert not filtered.is_error, filtered.content
    assert _strip_clock(filtered.structured_content) == _strip_clock(cli)
    assert [r["provider"] for r in filtered.structured_content["rows"]] == ["AWS"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"period": "2024-13"}, "spend: period: period '2024-13': month must be 01..12"),
        ({"period": "2024-09", "bogus": 1}, "spend: bogus: unknown argument"),
        ({"period": "2024-09", "top": 0}, "spend: top 0: Input should be greater than or equal to 1"),
        ({"period": "2024-09", "by": ["nope"]}, "spend: unknown dimension 'nope'; use one of:"),
        ({"period": "2024-09", "measure": "Cheapest"}, "spend: measure 'Cheapest': Input should be"),
    ],
)
def test_bad_arguments_are_tool_errors_and_the_server_keeps_working(
    client: Client, args: dict[str, Any], message: str
) -> None:
    bad = client.call("spend", args)
    assert bad.is_error and bad.structured_content is None
    assert bad.content[0].text.startswith(message), bad.content[0].text
    assert "\n" not in bad.content[0].text
    good = client.call("spend", {"period": "2024-09"})
    assert not good.is_error and good.structured_content["total"] == SEPTEMBER_TOTAL


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("movers", {"period": "2024-09", "compare": "2024-08", "by": ["provider"]}),
        ("anomalies", {"period": "2024-09", "by": ["provider"]}),
        ("forecast", {"horizon": 7, "history_days": 30}),
        ("budget_status", {}),
        ("proposals_list", {}),
        ("audit_verify", {}),
    ],
)
def test_tools_on_cost_data_answer_within_their_output_schema(
    client: Client, tool: str, args: dict[str, Any]
) -> None:
    """The client checks structured content against the published output schema (it raises on a
    mismatch), so a schema that drifted from the documents fails here."""
    result = client.call(tool, args)
    assert not result.is_error, result.content[0].text
    doc = result.structured_content
    if TOOLS[tool].to_json is None:
        assert set(doc) <= set(client.portal.call(_output_properties, client.session, tool))
    if tool == "budget_status":
        assert [(b["scope"], b["amount"]) for b in doc["budgets"]] == [("total", "20")], doc
    if tool in ("movers", "anomalies", "forecast"):
        assert doc["provenance"]["tool"] == tool and doc["provenance"]["rows_scanned"] > 0


async def _output_properties(session: ClientSession, name: str) -> list[str]:
    tools = (await session.list_tools()).tools
    return list(next(t for t in tools if t.name == name).output_schema["properties"])


def test_ingest_runs_while_the_server_is_up(
    client: Client,
    run_cli,
    monkeypatch: pytest.MonkeyPatch,
    focus_ws: Path,
    focus_sample: Path,
    tmp_path: Path,
) -> None:  # type: ignore[no-untyped-def]
    """Between calls the server holds no handle on the warehouse (``--keep-open 0`` here), so an
    ingest in another process takes DuckDB's write lock; the next call sees the new rows."""
    import csv
    from decimal import Decimal

    before = client.call("spend", {"period": "2024-08"})
    assert before.is_error and before.content[0].text.startswith(
        "spend: no cost rows in 2024-08-01..2024-08-31"
    )
    august = tmp_path / "focus-august.csv"  # 20 sample rows moved to August: September stays as it was
    with focus_sample.open(newline="") as src, august.open("w", newline="") as out:
        reader = csv.DictReader(src)
        writer = csv.DictWriter(out, fieldnames=reader.fieldnames or [])
        writer.writeheader()
        rows = [next(reader) for _ in range(20)]
        for row in rows:
            for key in ("ChargePeriodStart", "ChargePeriodEnd", "BillingPeriodStart", "BillingPeriodEnd"):
                row[key] = row[key].replace("2024-09", "2024-08").replace("2024-10-01", "2024-09-01")
            writer.writerow(row)
    ingest = _cli(run_cli, monkeypatch, "--workspace", str(focus_ws), "ingest", "focus", str(august), "--json")  # fmt: skip
    assert (ingest["rows_read"], ingest["rows_loaded"]) == (20, 20)
    after = client.call("spend", {"period": "2024-08"})
    assert not after.is_error
    assert Decimal(after.structured_content["total"]) == sum(Decimal(r["EffectiveCost"]) for r in rows)
    assert after.structured_content["provenance"]["rows_scanned"] == 20
    assert client.call("spend", {"period": "2024-09"}).structured_content["total"] == SEPTEMBER_TOTAL


def test_shared_handles_are_reused_within_the_window_and_dropped_after(tmp_path: Path) -> None:
    from app.commands.mcp import KEEP_OPEN_SECONDS as CLI_DEFAULT
    from app.mcp.handles import KEEP_OPEN_SECONDS, SharedDeps
    from services.settings import load_settings

    assert CLI_DEFAULT == KEEP_OPEN_SECONDS  # the command repeats it to keep `--help` light
    settings = load_settings(tmp_path / "ws")
    shared = SharedDeps(settings, keep_open=3600)
    first, second = shared.run(lambda d: d), shared.run(lambda d: d)
    assert first is second and shared.is_open
    shared.close()
    assert not shared.is_open and shared.run(lambda d: d) is not first

    def fail(_: Any) -> None:
        raise RuntimeError("broken connection")

    with pytest.raises(RuntimeError):
        shared.run(fail)
    assert not shared.is_open  # a failed call never leaves its handles for the next one
    at_once = SharedDeps(settings, keep_open=0)
    at_once.run(lambda d: d)
    assert not at_once.is_open
    briefly = SharedDeps(settings, keep_open=0.05)
    briefly.run(lambda d: d)
    assert briefly.is_open
    briefly._timer.join(10)  # type: ignore[union-attr]  # the idle timer fires and closes
    assert not briefly.is_open


def test_unknown_proposal_is_a_tool_error(client: Client) -> None:
    result = client.call("proposal_show", {"proposal_id": "p-missing"})
    assert result.is_error and "p-missing" in result.content[0].text


def test_an_oversized_result_is_capped_with_counts(
    client: Client, run_cli, monkeypatch: pytest.MonkeyPatch, focus_ws: Path
) -> None:  # type: ignore[no-untyped-def]
    from app.mcp.cap import json_size
    from app.mcp.server import MAX_RESULT_BYTES

    args = {"period": "2024-09", "by": ["resource", "sku", "day"]}
    result = client.call("spend", args)
    cli = _cli(run_cli, monkeypatch, "--workspace", str(focus_ws), "spend", "--period", "2024-09", "--by", "resource,sku,day", "--json")  # fmt: skip
    assert json_size(cli) > MAX_RESULT_BYTES and len(cli["rows"]) == 1000  # the whole answer is ~200 kB
    assert not result.is_error
    doc = result.structured_content
    assert len(result.content[0].text.encode()) <= MAX_RESULT_BYTES and json_size(doc) <= MAX_RESULT_BYTES
    [cut] = doc["truncated"]
    assert cut["path"] == "rows" and cut["unit"] == "items" and cut["total"] == 1000
    assert 300 < cut["kept"] < 1000 and len(doc["rows"]) == cut["kept"]
    assert doc["rows"] == cli["rows"][: cut["kept"]]  # the largest rows first, exactly as the CLI's
    assert doc["total"] == cli["total"] == SEPTEMBER_TOTAL  # the total still covers every row
    assert _strip_clock(doc)["provenance"] == _strip_clock(cli)["provenance"]


@pytest.mark.slow
def test_streamable_http_on_a_free_loopback_port(focus_ws: Path) -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "--workspace", str(focus_ws), "mcp", "--transport", "http", "--port", "0"],
        cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in server.stderr], daemon=True).start()  # type: ignore[union-attr]
    try:
        url = _announced_url(server, lines)
        assert url.startswith("http://127.0.0.1:") and url.endswith("/mcp")

        async def scenario() -> tuple[list[str], Any, Any]:
            async with streamable_http_client(url) as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                names = [t.name for t in (await session.list_tools()).tools]
                spend = await session.call_tool("spend", {"period": "2024-09", "by": ["provider"]})
                bad = await session.call_tool("spend", {"period": "someday"})
                return names, spend, bad

        names, spend, bad = anyio.run(scenario)
        assert names == list(AGENT_TOOLS)
        assert not spend.is_error and spend.structured_content["total"] == SEPTEMBER_TOTAL
        assert spend.structured_content["provenance"]["tool"] == "spend"
        assert bad.is_error and bad.content[0].text.startswith("spend: period")
    finally:
        server.terminate()
        server.wait(timeout=30)


def _announced_url(server: subprocess.Popen[str], lines: queue.Queue[str]) -> str:
    """The URL the server prints on stderr once its socket is bound (no polling of the port)."""
    seen: list[str] = []
    while True:
        try:
            line = lines.get(timeout=120)
        except queue.Empty:
            pytest.fail(f"no URL announced within 120 s; stderr so far: {''.join(seen)}")
        seen.append(line)
        if "streamable HTTP on " in line:
            return line.rsplit(" ", 1)[1].strip()
        if server.poll() is not None:
            pytest.fail(f"server exited {server.returncode}: {''.join(seen)}")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("mcp", "--transport", "pigeon"), "--transport 'pigeon': use one of: stdio, http"),
        (("mcp", "--port", "8080"), "--port applies to --transport http only"),
        (("mcp", "--transport", "http", "--port", "70000"), "--port 70000: must be 0..65535"),
        (("mcp", "--keep-open", "-1"), "--keep-open -1: must be 0..3600 seconds"),
    ],
)
def test_bad_command_options_exit_2_with_one_line(
    run_cli, workspace: Path, args: tuple[str, ...], message: str
) -> None:  # type: ignore[no-untyped-def]
    result = run_cli(*args)
    assert result.code == 2 and result.out == ""
    assert result.err == f"costpilot: error: {message}\n"


def test_a_port_in_use_is_a_one_line_error(run_cli, workspace: Path) -> None:  # type: ignore[no-untyped-def]
    import socket

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = run_cli("mcp", "--transport", "http", "--port", str(port))
    assert result.code == 2
    assert result.err.startswith(f"costpilot: error: --port {port}: cannot listen on 127.0.0.1: ")
    assert result.err.count("\n") == 1


def test_a_crashing_handler_is_a_tool_error_not_a_dead_server(tmp_path: Path) -> None:
    """A bug in a handler (here a real callable that raises TypeError on these arguments) gives
    the client one generic line; the traceback goes to the workspace log, not to the client."""
    from dataclasses import replace

    from app.logs import configure_logging
    from app.mcp.handles import SharedDeps
    from app.mcp.server import registry_tool
    from app.workspace import Workspace
    from services.settings import load_settings

    settings = load_settings(tmp_path / "ws")
    settings.home.mkdir()
    configure_logging(Workspace(settings.home))
    broken = replace(TOOLS["budget_list"], name="budget_list", handler="operator:truediv")
    tool = registry_tool(broken, SharedDeps(settings, 0), anyio.CapacityLimiter(1), 80_000)
    result = anyio.run(tool.run, {}, None)
    assert result.is_error
    assert result.content[0].text == "budget_list: internal error (the traceback is in the workspace log)"
    log = (settings.home / "logs" / "costpilot.log").read_text()
    assert "mcp budget_list: unexpected error" in log and "TypeError" in log


# ----- the size cap itself (pure) -----

_scalar = st.one_of(st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.text(max_size=12))
_text = st.one_of(st.text(max_size=12), st.text(min_size=500, max_size=3000))
_row = st.dictionaries(
    st.sampled_from(["name", "cost", "note", "tags"]),
    st.one_of(_scalar, _text, st.lists(_scalar, max_size=30)),
    max_size=4,
)
_doc = st.fixed_dictionaries(
    {"total": st.text(max_size=10), "provenance": st.fixed_dictionaries({"tool": st.just("spend")})},
    optional={"rows": st.lists(_row, max_size=300), "series": st.lists(_row, max_size=50), "query": _text},
)


def _at(doc: Any, path: str) -> Any:
    import re

    for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path):
        doc = doc[int(index)] if index else doc[name]
    return doc


@given(doc=_doc, max_bytes=st.integers(1500, 30_000))
def test_cap_fits_and_every_cut_is_a_prefix_with_its_counts(doc: dict[str, Any], max_bytes: int) -> None:
    from app.mcp.cap import ELLIPSIS, MARKER, cap_document, json_size

    capped, cuts = cap_document(doc, max_bytes)
    if json_size(doc) <= max_bytes:
        assert capped is doc and cuts == [] and MARKER not in capped
        return
    assert json_size(capped) <= max_bytes
    assert capped[MARKER] == [c.as_json() for c in cuts] and cuts
    assert (capped["total"], capped["provenance"]) == (doc["total"], doc["provenance"])  # scalars stay
    for cut in cuts:
        before, after = _at(doc, cut.path), _at(capped, cut.path)
        assert cut.total == len(before) and 0 <= cut.kept < cut.total
        if cut.unit == "items":
            assert len(after) == cut.kept
            inner = {c.path for c in cuts}
            for i, (a, b) in enumerate(zip(after, before[: cut.kept], strict=True)):
                assert a == b or any(p.startswith(f"{cut.path}[{i}]") for p in inner)
        else:
            assert after == before[: cut.kept] + ELLIPSIS
    assert MARKER not in doc  # the caller's document is never changed


def test_cap_cuts_a_long_text_and_refuses_what_cannot_fit() -> None:
    from app.mcp.cap import cap_document, json_size
    from domain.errors import InputError

    doc = {"id": "p-1", "diff": "+" * 100_000, "rows": [{"a": i} for i in range(10)]}
    capped, [cut] = cap_document(doc, 20_000)
    assert (cut.path, cut.unit, cut.total) == ("diff", "chars", 100_000)
    assert capped["diff"].endswith("…") and len(capped["diff"]) == cut.kept + 1
    assert capped["rows"] == doc["rows"] and capped["id"] == "p-1" and json_size(capped) <= 20_000
    many_keys = {f"k{i}": i for i in range(5000)}  # no list or long text to cut
    with pytest.raises(InputError, match="larger than 1000 bytes even with every list and long text cut"):
        cap_document(many_keys, 1000)
