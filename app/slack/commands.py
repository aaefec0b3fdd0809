"""``/costpilot ask|digest|scan|budget|help``: a registry of subcommands by name.

The slash command is acked at once (with the help text when that is the whole answer); the
work runs lazily and answers the user ephemerally, or, for ``ask``, in a thread of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.logs import get_logger
from app.slack.blocks import (
    FALLBACK_TEXT,
    Block,
    clip,
    context,
    esc,
    field_sections,
    fit,
    money,
    pct,
    section,
)
from domain.errors import CostpilotError

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from app.slack.runtime import SlackRuntime

log = get_logger("slack.commands")
HELP = "\n".join(
    [
        "*costpilot* — every number comes from a deterministic tool.",
        "`/costpilot ask QUESTION` — e.g. _what did team payments spend on OpenAI last week?_",
        "`/costpilot digest` — last week's cost digest (just for you)",
        "`/costpilot scan` — look for savings; new proposals go to the approvals channel",
        "`/costpilot budget` — every budget: spent, projected, % used",
        "`/costpilot help` — this text",
        "You can also mention me or send me a DM; follow-ups in the same thread keep the context.",
    ]
)


@dataclass(frozen=True)
class Invocation:
    runtime: SlackRuntime
    client: WebClient
    channel: str
    user: str
    args: str

    def tell(self, text: str, blocks: list[Block] | None = None) -> None:
        """An ephemeral answer to the user who typed the command."""
        self.client.chat_postEphemeral(
            channel=self.channel,
            user=self.user,
            text=clip(text, FALLBACK_TEXT),
            blocks=blocks or [section(clip(text, 2900))],
        )


def _ask(inv: Invocation) -> None:
    from app.slack.questions import ask_from_command

    if not inv.args.strip():
        inv.tell("Usage: `/costpilot ask QUESTION`")
        return
    ask_from_command(inv.runtime, inv.client, channel=inv.channel, user=inv.user, question=inv.args.strip())


def _digest(inv: Invocation) -> None:
    from app.slack.digest_post import compute_digest
    from app.slack.digest_render import digest_blocks

    result = compute_digest(inv.runtime.deps())
    if result.status == "skipped":
        inv.tell(f"No digest for {result.week}: {' '.join(result.notes)}")
        return
    inv.tell(f"Cost digest {result.week}", digest_blocks(result))


def _scan(inv: Invocation) -> None:
    from app.slack.post import scan_and_post

    rt = inv.runtime
    summary, posted = scan_and_post(
        rt.deps(), requested_by=inv.user, client=inv.client, config=rt.config, now=rt.now()
    )
    posted_lines = (
        posted.lines()
        if posted
        else ["COSTPILOT_SLACK_APPROVALS_CHANNEL is not set: nothing posted for approval"]
    )
    lines = [
        f"scan: {summary.findings} findings, {len(summary.proposals)} proposals "
        f"({len(summary.awaiting)} awaiting approval, {len(summary.blocked)} blocked)",
        *(esc(line) for line in posted_lines),
        *(f"blocked `{esc(i.id)}`: {esc(', '.join(i.blocked_rules))}" for i in summary.blocked),
        *(f"note: {esc(n)}" for n in summary.notes[:5]),
    ]
    inv.tell("\n".join(lines))


def _budget(inv: Invocation) -> None:
    from services.registry import call_tool

    report: Any = call_tool("budget_status", {}, inv.runtime.deps())  # none set: its InputError says how
    pairs = []
    for b in report.budgets:
        projected = f", projected {money(b.projected)}" if b.projected is not None else ""
        flag = " ⚠️ projected overrun" if b.projected_overrun else ""
        pairs.append(
            (
                esc(f"{b.scope} ({b.period_kind})"),
                f"{money(b.spent)} of {money(b.amount)} ({pct(b.pct_used, signed=False, ratio_in=False)}){projected}{flag}",
            )
        )
    blocks = [section(f"*Budgets* as of {report.as_of}"), *field_sections(pairs)]
    inv.tell(f"Budgets as of {report.as_of}", fit([*blocks, context("from `budget_status`")]))


def _help(inv: Invocation) -> None:
    """Answered by the ack itself."""


SUBCOMMANDS: dict[str, Callable[[Invocation], None]] = {
    "ask": _ask,
    "digest": _digest,
    "scan": _scan,
    "budget": _budget,
    "help": _help,
}


def split(text: str) -> tuple[str, str]:
    name, _, rest = (text or "").strip().partition(" ")
    return name.lower(), rest


def ack_command(ack: Callable[..., None], command: Mapping[str, Any]) -> None:
    """Ack within Slack's 3 seconds: the help text for ``help`` / unknown names, else a word."""
    name, _ = split(command.get("text", ""))
    if name in ("", "help"):
        ack(text=HELP)
    elif name not in SUBCOMMANDS:
        ack(text=f"Unknown command `{esc(name)}`.\n{HELP}")
    else:
        ack()


def run_command(runtime: SlackRuntime, command: Mapping[str, Any], client: WebClient) -> None:
    name, args = split(command.get("text", ""))
    handler = SUBCOMMANDS.get(name)
    if handler is None or handler is _help:
        return
    inv = Invocation(runtime, client, str(command["channel_id"]), str(command["user_id"]), args)
    try:
        handler(inv)
    except CostpilotError as exc:
        inv.tell(f"`/costpilot {name}`: {esc(' '.join(str(exc).split()))}")
    except Exception:  # the surface must answer; the operator's log has the traceback
        log.exception("/costpilot %s failed", name)
        inv.tell(f"`/costpilot {name}` failed; the operator's log has the details.")
