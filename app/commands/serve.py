"""``costpilot serve [--socket-mode] [--port N]``: the Slack app (HTTP at ``/slack/events``), with
``/healthz``, ``/readyz`` and ``/metrics`` for the operator."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import typer

from app.context import get_context

if TYPE_CHECKING:
    from app.slack.runtime import SlackRuntime


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
    schedule_every: float = typer.Option(
        300, "--schedule-every", min=0.1, max=86400, help="seconds between scheduler runs (with --schedule)"
    ),
    log_format: str = typer.Option(
        "text",
        "--log-format",
        envvar="COSTPILOT_LOG_FORMAT",
        help="text: the workspace log only; json: also one JSON object per line on stderr",
    ),
) -> None:
    """Serve the Slack app: questions, /costpilot, approval buttons, digest and alerts."""
    from app.log_json import LOG_FORMATS
    from domain.errors import InputError

    if log_format not in LOG_FORMATS:
        raise InputError(f"--log-format {log_format!r}: choose one of {', '.join(LOG_FORMATS)}")
    from app.logs import LOGGER
    from app.ops.metrics import ServeMetrics
    from app.slack.config import slack_config
    from app.slack.server import Scheduler, build_runtime, serve_http, serve_socket_mode

    if log_format == "json":
        import logging

        from app.log_json import add_stderr_handler

        add_stderr_handler(logging.getLogger(LOGGER), "json")
    deps = get_context(ctx).deps
    config = slack_config(deps.settings)
    app_token = config.require_socket() if socket_mode else None
    if not socket_mode:
        config.require_http()
    runtime = build_runtime(deps.settings, config=config)
    metrics = ServeMetrics(runtime.engine_if_open)
    runtime.on_answer = metrics.answered
    open_state_db(runtime)
    scheduler = Scheduler(runtime, tick=schedule_every) if schedule else None
    try:
        bolt = build_bolt(runtime)
        if scheduler is not None:
            scheduler.start()
        if app_token is not None:
            serve_socket_mode(bolt, app_token)
        else:
            serve_http(bolt, host=host, port=port, runtime=runtime, metrics=metrics)
    finally:
        if scheduler is not None:
            scheduler.stop()
        runtime.close()


def open_state_db(runtime: SlackRuntime) -> None:
    """Open and migrate the state DB before the first request. A database that is down is not
    fatal for a server: one line on stderr, and ``/readyz`` answers 503 (and retries) until it
    is back; a bad URL (``ConfigError``) still stops here with exit 2."""
    from domain.errors import ExternalError

    try:
        runtime.engine  # noqa: B018
    except ExternalError as exc:
        sys.stderr.write(f"costpilot serve: warning: {exc}; /readyz answers 503 until it is reachable\n")
        sys.stderr.flush()


def build_bolt(runtime: SlackRuntime) -> Any:
    """The Bolt app; Bolt checks the bot token with ``auth.test`` first, and Slack unreachable or
    refusing the token is one line (exit 2), not a traceback."""
    from slack_bolt.error import BoltError
    from slack_sdk.errors import SlackClientError

    from app.slack.app import build_app
    from domain.errors import ExternalError

    try:
        return build_app(runtime)
    except (BoltError, SlackClientError, OSError) as exc:
        reason = " ".join(str(getattr(exc, "reason", exc)).split()) or type(exc).__name__
        raise ExternalError(
            f"Slack refused or is unreachable at {runtime.config.api_base_url} (auth.test): {reason}"
        ) from None


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
