"""Running the digest: compute it (the ``digest`` operation), write it as Markdown + PNG, or post
it to the digest channel once per ISO week across replicas (claimed in the state DB)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from domain.errors import ExternalError

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from app.slack.config import SlackConfig
    from services.deps import Deps


def compute_digest(deps: Deps, *, week: str | None = None, top: int = 5) -> Any:
    """The ``digest`` operation's result (``services.digest.DigestResult``)."""
    from services.registry import call_tool

    args: dict[str, Any] = {"week": week, "top": top}
    return call_tool("digest", args, deps)


def chart_path(markdown: Path) -> Path:
    return markdown.with_suffix(".png")


def write_digest(result: Any, out: Path) -> list[Path]:
    """``out`` (Markdown) and, for a digest with data, its PNG chart beside it."""
    from app.slack.chart import render_chart
    from app.slack.digest_render import digest_markdown

    written = []
    chart = chart_path(out) if result.status == "ok" else None
    out.parent.mkdir(parents=True, exist_ok=True)
    if chart is not None:
        chart.write_bytes(render_chart(result))
    out.write_text(digest_markdown(result, chart.name if chart else None))
    written.append(out)
    if chart is not None:
        written.append(chart)
    return written


@dataclass(frozen=True)
class DigestPost:
    state: Literal["posted", "skipped", "already"]
    week: str
    channel: str
    ts: str | None = None
    file_id: str | None = None
    note: str | None = None

    def line(self) -> str:
        return {
            "posted": f"digest {self.week} posted to {self.channel}"
            + (f" ({self.note})" if self.note else ""),
            "skipped": f"digest {self.week} skipped: {self.note}",
            "already": f"digest {self.week} was already posted to {self.channel}; not posted again",
        }[self.state]


def post_digest(
    deps: Deps, client: WebClient, config: SlackConfig, *, now: datetime, result: Any | None = None
) -> DigestPost:
    """Post the digest with its chart, once per week in any number of processes; a week without
    data is skipped with a note (and tried again by a later run, when its data may be in)."""
    from slack_sdk.errors import SlackClientError

    from app.slack.approvals import slack_error
    from app.slack.chart import render_chart
    from app.slack.digest_render import digest_blocks
    from store import slack_state

    channel = config.channel("digest")
    result = result if result is not None else compute_digest(deps)
    week = result.week
    if not slack_state.claim_posting(deps.engine, "digest", week, channel=channel, now=now):
        return DigestPost("already", week, channel)
    if result.status == "skipped":
        note = " ".join(result.notes)
        slack_state.finish_posting(deps.engine, "digest", week, state="skipped", now=now, note=note)
        return DigestPost("skipped", week, channel, note=note)
    try:
        message = client.chat_postMessage(
            channel=channel, text=f"Cost digest {week}", blocks=digest_blocks(result), unfurl_links=False
        )
    except (SlackClientError, OSError) as exc:
        slack_state.finish_posting(
            deps.engine, "digest", week, state="failed", now=now, note=slack_error(exc)
        )
        raise ExternalError(f"Slack refused the digest for {week}: {slack_error(exc)}") from None
    ts, note, file_id = str(message["ts"]), None, None
    try:
        upload = client.files_upload_v2(
            channel=str(message.get("channel") or channel),
            file=render_chart(result),
            filename=f"costpilot-digest-{week}.png",
            title=f"Daily spend and top movers, {week}",
            initial_comment=f"Chart for cost digest {week}",
        )
        file_id = str((upload.get("file") or {}).get("id") or "") or None
    except (SlackClientError, OSError) as exc:  # the digest is out; posting it again would duplicate it
        note = f"chart not uploaded: {slack_error(exc)}"
    slack_state.finish_posting(deps.engine, "digest", week, state="posted", now=now, ts=ts, note=note)
    return DigestPost("posted", week, channel, ts=ts, file_id=file_id, note=note)
