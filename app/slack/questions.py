"""Questions: app mentions, DMs and ``/costpilot ask`` → the agent's grounded answer, posted in the
thread of the question. The conversation id is channel + thread ts, so a follow-up in the same
thread ("and for staging?") continues the same agent thread."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from app.logs import get_logger
from app.slack.blocks import FALLBACK_TEXT, Block, clip, context, esc, fit, result_table, section
from domain.errors import CostpilotError

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from app.slack.runtime import SlackRuntime

log = get_logger("slack.questions")
MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")
HINT = (
    "Ask me about spend, e.g. _what did team payments spend last week?_, _why did prod go up?_, "
    "_forecast for this month_. `/costpilot help` lists the commands."
)


def conversation_id(channel: str, thread_ts: str) -> str:
    """The agent thread of a Slack conversation: channel + thread ts."""
    return f"slack:{channel}:{thread_ts}"


def question_text(text: str) -> str:
    """The question without the bot mention(s) and surrounding whitespace."""
    return " ".join(MENTION.sub(" ", text or "").split())


def _get(result: Any, name: str, default: Any = None) -> Any:
    if isinstance(result, Mapping):
        return result.get(name, default)
    return getattr(result, name, default)


def answer_blocks(result: Any) -> list[Block]:
    """The agent's answer as Block Kit: its text (escaped), small tables of its own tool results
    as fields, and which tools it called."""
    answer = str(_get(result, "answer", ""))
    blocks: list[Block] = [section(esc(answer))]
    for item in _get(result, "results", []) or []:
        tool = _get(item, "tool")
        blocks.extend(result_table(str(tool), _get(item, "result")))
        if len(blocks) > 12:  # a reply, not a report
            break
    tools = [str(_get(c, "tool")) for c in _get(result, "tool_calls", []) or []]
    grounded = _get(result, "grounded", False)
    footer = ("tools: " + ", ".join(dict.fromkeys(tools))) if tools else "no tool calls"
    blocks.append(context(esc(footer) + (" · every number from a tool result" if grounded else "")))
    return fit(blocks)


def answer_in_thread(
    runtime: SlackRuntime,
    client: WebClient,
    *,
    channel: str,
    thread_ts: str,
    user: str | None,
    text: str,
) -> dict[str, Any]:
    """Ask the agent and post its answer in the thread; returns what was posted."""
    question = question_text(text)
    if not question:
        return _post(client, channel, thread_ts, HINT, [section(HINT)])
    try:
        result = runtime.ask(question, thread=conversation_id(channel, thread_ts), user=user)
    except CostpilotError as exc:
        line = " ".join(str(exc).split())
        return _post(
            client,
            channel,
            thread_ts,
            f"I can't answer that: {line}",
            [section(esc(f"I can't answer that: {line}"))],
        )
    except Exception:  # the surface must answer; the operator's log has the traceback
        log.exception("question failed in %s/%s", channel, thread_ts)
        text_out = "Something went wrong answering that; the operator's log has the details."
        return _post(client, channel, thread_ts, text_out, [section(text_out)])
    return _post(client, channel, thread_ts, str(_get(result, "answer", "")), answer_blocks(result))


def _post(client: WebClient, channel: str, thread_ts: str, text: str, blocks: list[Block]) -> dict[str, Any]:
    response = client.chat_postMessage(
        channel=channel,
        thread_ts=thread_ts,
        text=clip(esc(text), FALLBACK_TEXT),
        blocks=blocks,
        unfurl_links=False,
        unfurl_media=False,
    )
    return dict(response.data) if hasattr(response, "data") else {}


# ----- Bolt listeners (ack at once; the work runs lazily after the ack) -----


def on_mention(runtime: SlackRuntime, event: Mapping[str, Any], client: WebClient) -> None:
    thread_ts = event.get("thread_ts") or event["ts"]
    answer_in_thread(
        runtime,
        client,
        channel=event["channel"],
        thread_ts=thread_ts,
        user=event.get("user"),
        text=event.get("text", ""),
    )


def is_dm_question(event: Mapping[str, Any]) -> bool:
    """A person's message in a DM with the bot (not an edit, a join or another bot)."""
    return (
        event.get("channel_type") == "im"
        and not event.get("subtype")
        and not event.get("bot_id")
        and bool(event.get("user"))
    )


def on_message(runtime: SlackRuntime, event: Mapping[str, Any], client: WebClient) -> None:
    if not is_dm_question(event):
        return
    on_mention(runtime, event, client)


def ask_from_command(
    runtime: SlackRuntime, client: WebClient, *, channel: str, user: str, question: str
) -> None:
    """``/costpilot ask Q``: the question is posted (quoted) so its answer and any follow-up have a
    thread of their own."""
    asked = client.chat_postMessage(
        channel=channel,
        text=clip(f"<@{user}> asked: {esc(question)}", FALLBACK_TEXT),
        blocks=[section(f"<@{user}> asked: _{esc(question)}_")],
        unfurl_links=False,
    )
    answer_in_thread(runtime, client, channel=channel, thread_ts=asked["ts"], user=user, text=question)
