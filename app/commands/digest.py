"""``costpilot digest [--post] [--out FILE.md] [--json]``: the weekly cost digest (the last full
ISO week before ``--as-of``), printed, written as Markdown + PNG, or posted to Slack once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from app.context import get_context
from app.render import console, emit_json


def _say(text: str) -> None:
    console.print(text, markup=False, highlight=False)


def digest_command(
    ctx: typer.Context,
    post: bool = typer.Option(False, "--post", help="post to the digest channel (once per week)"),
    out: Path | None = typer.Option(None, "--out", help="write Markdown here and the PNG chart beside it"),
    week: str | None = typer.Option(None, "--week", help="ISO week YYYY-Www (default: last full week)"),
    as_json: bool = typer.Option(False, "--json", help="one JSON document on stdout"),
) -> None:
    """Week-over-week spend, movers, anomalies, month-end forecast, AI unit costs, savings."""
    from app.slack.digest_post import compute_digest, write_digest

    deps = get_context(ctx).deps
    config: Any = None
    if post:
        from app.slack.config import slack_config

        config = slack_config(deps.settings)
        config.channel("digest")  # a missing setting is one line, before any work
        config.require_bot()
    result: Any = compute_digest(deps, week=week)
    lines: list[str] = []
    posted: Any = None
    if out is not None:
        written = write_digest(result, out)
        lines.append("wrote " + ", ".join(str(p) for p in written))
    if config is not None:
        from app.slack.client import web_client
        from app.slack.digest_post import post_digest

        posted = post_digest(deps, web_client(config), config, now=deps.clock(), result=result)
        lines.append(posted.line())
    if as_json:
        doc = result.model_dump(mode="json")
        if posted is not None:
            doc["post"] = {
                "state": posted.state,
                "channel": posted.channel,
                "ts": posted.ts,
                "note": posted.note,
            }
        emit_json(doc)
        return
    if result.status == "skipped":
        _say(f"digest {result.week}: skipped")
    else:
        from app.slack.digest_render import month_line, mover_line, total_line

        _say(f"digest {result.week} ({result.period.label()}): {total_line(result)}")
        for mover in result.movers:
            _say(f"  {mover_line(mover, result.currency)}")
        _say(f"anomalies this week: {len(result.anomalies) + result.more_anomalies}")
        if result.month is not None:
            _say(f"month-end: {month_line(result.month, result.currency)}")
    for note in result.notes:
        _say(f"note: {note}")
    for line in lines:
        _say(line)


def register(app: typer.Typer) -> None:
    app.command("digest")(digest_command)
