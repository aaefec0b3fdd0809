"""``costpilot mcp``: the agent-safe ``TOOLS`` entries over the Model Context Protocol.

One MCP tool per name in ``AGENT_TOOLS`` (the read-only tools plus ``request_approval``) and
nothing else: deciding, opening PRs, budgets, scans and ingest are not reachable from here. Each
tool publishes its request model's JSON schema as input schema, the registry's description and
annotations, and answers with the registry's JSON of the result (the same document as
``costpilot … --json``, provenance included) as structured content, capped in size.

Built on the official SDK's ``MCPServer`` (FastMCP's name since mcp 2). Tools are registered as
``Tool`` objects whose ``run`` validates with the registry's request model, so the published
schema and the validation are the request model itself, not a copy inferred from a signature.
"""

from __future__ import annotations

import json
import socket
import sys
import time
import typing
from functools import partial
from typing import Any

import anyio
import anyio.to_thread
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata
from mcp_types import CallToolResult, TextContent, ToolAnnotations

from app.logs import get_logger
from app.mcp.cap import MARKER, cap_document, compact
from app.mcp.handles import KEEP_OPEN_SECONDS, SharedDeps
from domain.errors import ConfigError, CostpilotError
from domain.period import PERIOD_HELP
from services.deps import Deps
from services.registry import AGENT_TOOLS, TOOLS, ToolSpec
from services.settings import Settings

SERVER_NAME = "costpilot"
# A client caps a reply near 25k tokens; compact JSON runs ~3-4 bytes a token.
MAX_RESULT_BYTES = 80_000
HTTP_PATH = "/mcp"
LOOPBACK = ("127.0.0.1", "localhost", "::1")

INSTRUCTIONS = (
    "costpilot answers FinOps questions from deterministic tools over this workspace's cost data "
    "(FOCUS bills, LLM usage, Kubernetes utilization). Quote numbers exactly as the tools return "
    "them; money is a decimal string in the result's currency, and every result carries its "
    f"provenance (query, period, filters, rows scanned). Periods: {PERIOD_HELP}. Nothing here "
    "changes anything: request_approval returns what the human approvers are asked to decide, "
    "and deciding or opening pull requests is not possible through MCP."
)

log = get_logger("mcp")


def cap_note(max_bytes: int) -> str:
    """The sentence every tool description ends with, so a model knows how a big reply looks."""
    return (
        f" Replies larger than {max_bytes // 1000} kB of JSON are cut to fit: long lists keep their "
        f"first items (listed largest or newest first) and long texts their start, and `{MARKER}` "
        "lists each cut as {path, kept, total, unit}; narrow the period, filters or dimensions (or "
        "set `top` where the tool has it) for the rest."
    )


def annotations(spec: ToolSpec) -> ToolAnnotations:
    return ToolAnnotations(
        title=spec.name.replace("_", " ").capitalize(),
        read_only_hint=spec.read_only,
        destructive_hint=spec.destructive,
        idempotent_hint=spec.idempotent,
    )


def output_schema(spec: ToolSpec) -> dict[str, Any] | None:
    """The result model's JSON schema when the tool's JSON is the model's own dump (tools with a
    custom JSON shape publish none rather than a schema their documents would not match)."""
    if spec.to_json is not None:
        return None
    schema = spec.result_model().model_json_schema(mode="serialization")
    marker = {
        "type": "array",
        "description": "present when the reply was cut to fit the size cap: what was cut",
        "items": {
            "type": "object",
            "properties": {
                "path": {"type": "string"},
                "kept": {"type": "integer"},
                "total": {"type": "integer"},
                "unit": {"enum": ["items", "chars"]},
            },
        },
    }
    return {**schema, "properties": {**schema.get("properties", {}), MARKER: marker}}


class RegistryTool(Tool):
    """An MCP tool backed by one ``TOOLS`` entry (``fn`` is the async call built in ``_caller``)."""

    async def run(self, arguments: dict[str, Any], context: Any, convert_result: bool = False) -> Any:
        try:
            return await self.fn(arguments)
        except Exception:  # a bug must not end the server: one tool error, the traceback logged
            log.exception("mcp %s: unexpected error", self.name)
            sys.stderr.write(
                f"costpilot mcp: {self.name}: unexpected error (traceback in the workspace log)\n"
            )
            return _error(self.name, "internal error (the traceback is in the workspace log)")


def _error(name: str, message: str) -> CallToolResult:
    line = " ".join(message.split())
    if not line.startswith(f"{name}:"):
        line = f"{name}: {line}"
    return CallToolResult(content=[TextContent(type="text", text=line)], is_error=True)


def _pre_parse(spec: ToolSpec, arguments: dict[str, Any]) -> dict[str, Any]:
    """Some clients send list and object arguments as JSON text (``'["team"]'``); decode those
    for list and object fields only, as the SDK does for its own tools."""
    out = dict(arguments)
    for key, value in arguments.items():
        field = spec.request.model_fields.get(key)
        if field is None or not isinstance(value, str) or not _takes_container(field.annotation):
            continue
        try:
            decoded = json.loads(value)
        except ValueError:
            continue
        if isinstance(decoded, list | dict):
            out[key] = decoded
    return out


def _takes_container(annotation: Any) -> bool:
    """Whether a field's type is a list or dict (also inside ``X | None``)."""
    if typing.get_origin(annotation) in (list, dict):
        return True
    return any(_takes_container(arg) for arg in typing.get_args(annotation) if arg is not type(None))


def _caller(spec: ToolSpec, handles: SharedDeps, limiter: anyio.CapacityLimiter, max_bytes: int) -> Any:
    def work(request: Any, deps: Deps) -> Any:
        return spec.json(spec.load_handler()(request, deps))  # imported on first use: fast start

    async def call(arguments: dict[str, Any]) -> CallToolResult:
        started = time.perf_counter()
        try:
            request = spec.parse(_pre_parse(spec, arguments))
            # On a worker thread, so the event loop stays free for the protocol; one at a time,
            # so two calls never race for the warehouse file.
            job = partial(handles.run, partial(work, request))
            doc = await anyio.to_thread.run_sync(job, limiter=limiter)
            doc = doc if isinstance(doc, dict) else {"result": doc}
            doc, cuts = cap_document(doc, max_bytes)
        except CostpilotError as exc:
            log.info("mcp %s refused: %s", spec.name, " ".join(str(exc).split()))
            return _error(spec.name, str(exc))
        text = compact(doc)
        log.info(
            "mcp %s ok in %.0f ms, %d bytes%s",
            spec.name,
            (time.perf_counter() - started) * 1000,
            len(text.encode()),
            f", truncated {[c.path for c in cuts]}" if cuts else "",
        )
        return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=doc)

    return call


def registry_tool(
    spec: ToolSpec, handles: SharedDeps, limiter: anyio.CapacityLimiter, max_bytes: int
) -> Tool:
    """The MCP tool of one registry entry: its request schema, description and annotations."""
    return RegistryTool(
        fn=_caller(spec, handles, limiter, max_bytes),
        name=spec.name,
        title=annotations(spec).title,
        description=spec.description + cap_note(max_bytes),
        parameters=spec.request.model_json_schema(),
        fn_metadata=FuncMetadata(arg_model=ArgModelBase, output_schema=output_schema(spec)),
        is_async=True,
        annotations=annotations(spec),
    )


def build_tools(handles: SharedDeps, max_bytes: int = MAX_RESULT_BYTES) -> list[Tool]:
    """One MCP tool per ``AGENT_TOOLS`` name, in the registry's order, sharing one call slot."""
    limiter = anyio.CapacityLimiter(1)
    return [registry_tool(TOOLS[name], handles, limiter, max_bytes) for name in AGENT_TOOLS]


def build_server(handles: SharedDeps, max_bytes: int = MAX_RESULT_BYTES) -> MCPServer[Any]:
    from importlib.metadata import PackageNotFoundError, version

    try:
        ours = version("costpilot")
    except PackageNotFoundError:  # a source checkout without an install
        ours = "0"
    return MCPServer(
        SERVER_NAME,
        title="costpilot",
        instructions=INSTRUCTIONS,
        version=ours,
        tools=build_tools(handles, max_bytes),
        log_level="WARNING",  # the SDK's own log goes to stderr; ours to the workspace log
    )


def serve(
    settings: Settings,
    transport: str,
    host: str,
    port: int,
    keep_open: float = KEEP_OPEN_SECONDS,
    max_bytes: int = MAX_RESULT_BYTES,
) -> None:
    """Run until the client hangs up (stdio) or the process is stopped (HTTP)."""
    handles = SharedDeps(settings, keep_open)
    server = build_server(handles, max_bytes)
    log.info("mcp serving %d tools over %s", len(AGENT_TOOLS), transport)
    try:
        if transport == "stdio":
            server.run("stdio")  # the SDK serves the protocol on a private copy of stdout
            return
        sock = _listen(host, port)
        url = f"http://{_url_host(host)}:{sock.getsockname()[1]}{HTTP_PATH}"
        if host not in LOOPBACK:
            sys.stderr.write(f"costpilot mcp: warning: listening on {host} without authentication\n")
        # The socket is bound before this line, so a client that reads it can connect at once.
        sys.stderr.write(f"costpilot mcp: streamable HTTP on {url}\n")
        sys.stderr.flush()
        log.info("mcp streamable HTTP on %s", url)
        with sock:
            anyio.run(_serve_http, server, host, sock)
    finally:
        handles.close()


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        raise ConfigError(f"--port {port}: cannot listen on {host}: {exc.strerror or exc}") from None


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


async def _serve_http(server: MCPServer[Any], host: str, sock: socket.socket) -> None:
    import uvicorn

    app = server.streamable_http_app(streamable_http_path=HTTP_PATH, host=host)
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    await uvicorn.Server(config).serve(sockets=[sock])
