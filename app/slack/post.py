"""``costpilot scan --post`` (and the scheduled scan): each proposal of a scan that awaits approval
is posted to the approvals channel once; one already posted (by any process) is left alone."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from domain.errors import CostpilotError

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from app.slack.config import SlackConfig
    from services.deps import Deps


@dataclass
class PostResult:
    channel: str
    posted: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = []
        if self.posted:
            out.append(f"posted for approval to {self.channel}: {', '.join(self.posted)}")
        if self.already:
            out.append(f"already posted: {', '.join(self.already)}")
        out.extend(f"not posted {pid}: {reason}" for pid, reason in self.failed)
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "posted": self.posted,
            "already": self.already,
            "failed": [{"proposal_id": p, "reason": r} for p, r in self.failed],
        }


def post_new_proposals(
    deps: Deps,
    summary: Any,
    *,
    client: WebClient | None = None,
    config: SlackConfig | None = None,
    now: datetime | None = None,
) -> PostResult:
    """Post every proposal of ``summary`` (a ``ScanSummary``) awaiting approval that has no
    approval message yet. A Slack failure for one proposal is reported and the rest go on; it
    is posted by the next ``scan --post``."""
    from app.slack.approvals import post_approval
    from app.slack.client import web_client
    from app.slack.config import slack_config

    config = config or slack_config(deps.settings)
    channel = config.channel("approvals")  # a missing channel is a one-line ConfigError up front
    client = client or web_client(config)
    result = PostResult(channel=channel)
    for item in summary.awaiting:
        try:
            posted = post_approval(deps, client, config, item.id, now=now or deps.clock())
        except CostpilotError as exc:
            result.failed.append((item.id, " ".join(str(exc).split())))
            continue
        (result.posted if posted.ts else result.already).append(item.id)
    return result


def scan_and_post(
    deps: Deps, *, requested_by: str, client: WebClient, config: SlackConfig, now: datetime
) -> tuple[Any, PostResult | None]:
    """A scan as ``requested_by`` (``/costpilot scan``, the alert button, the scheduler): each new
    proposal's remediation thread waits at its approval interrupt, as after ``costpilot scan``,
    and is posted for approval when the approvals channel is set (None: not set)."""
    from agent.remediation import start_threads
    from services.registry import call_tool

    summary: Any = call_tool("scan", {"requested_by": requested_by}, deps)
    start_threads(deps, [i.id for i in summary.awaiting])
    if not config.approvals_channel:
        return summary, None
    return summary, post_new_proposals(deps, summary, client=client, config=config, now=now)
