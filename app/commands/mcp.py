"""``costpilot mcp``: serve the read-only tools and ``request_approval`` to MCP clients."""

from __future__ import annotations

import typer

from app.context import get_context
from domain.errors import InputError

TRANSPORTS = ("stdio", "http")
DEFAULT_PORT = 8000
KEEP_OPEN_SECONDS = 5.0  # app.mcp.handles.KEEP_OPEN_SECONDS (not imported: `--help` stays fast)


def mcp_command(
    ctx: typer.Context,
    transport: str = typer.Option("stdio", "--transport", help="stdio (for a client that starts us) | http"),
    port: int | None = typer.Option(
        None, "--port", help=f"HTTP port (default {DEFAULT_PORT}; 0 picks a free one, printed on stderr)"
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="HTTP address to listen on (no authentication)"),
    keep_open: float = typer.Option(
        KEEP_OPEN_SECONDS,
        "--keep-open",
        help="seconds the warehouse stays open after a call (0: close after each); while open, "
        "`costpilot ingest` in another process is refused",
    ),
) -> None:
    """Serve costpilot's read-only tools and request_approval over MCP (stdio or streamable HTTP at
    /mcp). Deciding and opening pull requests are never reachable through MCP."""
    if transport not in TRANSPORTS:
        raise InputError(f"--transport {transport!r}: use one of: {', '.join(TRANSPORTS)}")
    if transport == "stdio" and port is not None:
        raise InputError("--port applies to --transport http only")
    chosen = DEFAULT_PORT if port is None else port
    if not 0 <= chosen <= 65535:
        raise InputError(f"--port {chosen}: must be 0..65535")
    if not 0 <= keep_open <= 3600:
        raise InputError(f"--keep-open {keep_open:g}: must be 0..3600 seconds")
    from app.mcp.server import serve  # the SDK loads only when serving (`--help` stays fast)

    serve(get_context(ctx).settings, transport=transport, host=host, port=chosen, keep_open=keep_open)


def register(app: typer.Typer) -> None:
    app.command("mcp")(mcp_command)
