"""``costpilot serve [--socket-mode] [--port N]``: the Slack app (HTTP at ``/slack/events``)."""

from __future__ import annotations

import typer

from app.context import get_context


def serve_command(
    ctx: typer.Context,
    socket_mode: bool = typer.Option(
        False, "--socket-mode", help="connect out over Socket Mode (SLACK_APP_TOKEN)"
    ),
    port: int = typer.Option(3000, "--port", min=1, max=65535, help="HTTP port"),
    host: str = typer.Option("0.0.0.0", "--host", help="HTTP address to listen on"),
    schedule: bool = typer.Option(
        False, "--schedule", help="also post the weekly digest and alerts from this process"
    ),
) -> None:
    """Serve the Slack app: questions, /costpilot, approval buttons, digest and alerts."""
    from app.slack.app import build_app
    from app.slack.config import slack_config
    from app.slack.server import Scheduler, build_runtime, serve_http, serve_socket_mode

    deps = get_context(ctx).deps
    config = slack_config(deps.settings)
    app_token = config.require_socket() if socket_mode else None
    if not socket_mode:
        config.require_http()
    runtime = build_runtime(deps.settings, config=config)
    runtime.engine  # noqa: B018 - open and migrate the state DB before the first request
    scheduler = Scheduler(runtime) if schedule else None
    try:
        bolt = build_app(runtime)
        if scheduler is not None:
            scheduler.start()
        if app_token is not None:
            serve_socket_mode(bolt, app_token)
        else:
            serve_http(bolt, host=host, port=port)
    finally:
        if scheduler is not None:
            scheduler.stop()
        runtime.close()


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
