"""Requests as Slack sends them to the real Bolt app: signatures, retries, questions in threads,
slash commands."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from store.slack_state import SlackEvent
from tests.app.slack.conftest import GENERAL, SlackApp, as_of_clock, make_runtime, serve
from tests.app.slack.slack_standin import SlackStandin

QUESTION = "what did team payments spend last week?"


def mention(text: str, ts: str, *, thread_ts: str | None = None, user: str = "U_ALICE") -> dict[str, Any]:
    event = {
        "type": "app_mention",
        "user": user,
        "text": f"<@UBOT> {text}",
        "ts": ts,
        "channel": GENERAL,
        "event_ts": ts,
    }
    return event | ({"thread_ts": thread_ts} if thread_ts else {})


def events_stored(app: SlackApp) -> int:
    with Session(app.runtime.deps().engine) as session:
        return int(session.exec(select(func.count()).select_from(SlackEvent)).one()[0])  # type: ignore[call-overload]


# ----- signatures -----


@pytest.mark.parametrize(
    "how",
    ["wrong signature", "missing signature", "six minutes old", "signed for another body"],
)
def test_unsigned_or_stale_requests_get_401_and_nothing_runs(
    slack_app: SlackApp, standin: SlackStandin, how: str
) -> None:
    body = json.dumps({"type": "event_callback", "event_id": "Ev401", "team_id": "T0001",
                       "event": mention(QUESTION, "1712000000.000100")})  # fmt: skip
    before = [c.method for c in standin.calls]
    if how == "wrong signature":
        response = slack_app.post(body, "application/json", signature="v0=" + "0" * 64)
    elif how == "missing signature":
        response = slack_app.post(body, "application/json", signature=None)
    elif how == "six minutes old":
        response = slack_app.post(body, "application/json", timestamp=int(time.time()) - 6 * 60)
    else:
        from slack_sdk.signature import SignatureVerifier

        ts = str(int(time.time()))
        other = SignatureVerifier("8f742231b10e8888abcd99yyyzzz85a5").generate_signature(
            timestamp=ts, body="{}"
        )
        response = slack_app.post(body, "application/json", signature=other, timestamp=int(ts))
    assert response.status_code == 401
    # Nothing processed: no event id stored, no Web API call beyond the ones made before.
    assert events_stored(slack_app) == 0
    assert [c.method for c in standin.calls] == before
    assert not standin.of("chat.postMessage")


def test_url_verification_and_health(slack_app: SlackApp) -> None:
    response = slack_app.post(
        json.dumps({"type": "url_verification", "challenge": "abc123"}), "application/json"
    )
    assert response.status_code == 200 and response.json() == {"challenge": "abc123"}
    health = slack_app.http.get(slack_app.url.replace("/slack/events", "/healthz"))
    assert (health.status_code, health.text) == (200, "ok")
    assert slack_app.http.post(slack_app.url.replace("/slack/events", "/other")).status_code == 404


# ----- questions -----


@pytest.fixture
def qa_app(with_warehouse: Path) -> Any:
    yield from serve(make_runtime(with_warehouse, clock=as_of_clock()))


def expected_answers(home: Path, *questions: str) -> list[Any]:
    """What the agent answers the same questions in one fresh thread (the CLI's `ask`)."""
    from agent.ask import ask
    from services.deps import Deps
    from services.settings import load_settings

    deps = Deps(load_settings(home))
    try:
        return [ask(q, deps, thread="reference", user="U_ALICE") for q in questions]
    finally:
        deps.close()


def test_a_mention_is_answered_in_its_thread_and_a_follow_up_keeps_the_context(
    qa_app: SlackApp, standin: SlackStandin, with_warehouse: Path
) -> None:
    first, follow_up = expected_answers(with_warehouse, QUESTION, "and for search?")
    started = time.monotonic()
    response = qa_app.event(mention(QUESTION, "1712000000.000100"), "Ev1")
    assert response.status_code == 200
    assert time.monotonic() - started < 2  # acked before the answer is worked out
    [posted] = standin.wait_calls("chat.postMessage")
    assert posted.args["channel"] == GENERAL and posted.args["thread_ts"] == "1712000000.000100"
    assert posted.args["text"] == first.answer and first.grounded
    assert "USD" in first.answer
    section = posted.args["blocks"][0]["text"]["text"]
    assert section == first.answer.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert posted.args["blocks"][-1]["elements"][0]["text"].startswith("tools: spend")
    # The follow-up in the same thread continues the conversation (channel + thread ts).
    qa_app.event(mention("and for search?", "1712000000.000200", thread_ts="1712000000.000100"), "Ev2")
    second = standin.wait_calls("chat.postMessage", 2)[1]
    assert second.args["thread_ts"] == "1712000000.000100"
    assert second.args["text"] == follow_up.answer != first.answer
    assert "search" in second.args["text"]


def test_a_retried_event_is_answered_once(qa_app: SlackApp, standin: SlackStandin) -> None:
    event = mention(QUESTION, "1712000000.000300")
    assert qa_app.event(event, "EvRetry").status_code == 200
    standin.wait_calls("chat.postMessage")
    for retry in ("1", "2"):
        again = qa_app.event(
            event, "EvRetry", headers={"X-Slack-Retry-Num": retry, "X-Slack-Retry-Reason": "http_timeout"}
        )
        assert again.status_code == 200
    # Another delivery of a different event is answered: the queue is not stuck.
    qa_app.event(mention(QUESTION, "1712000000.000400"), "EvOther")
    posts = standin.wait_calls("chat.postMessage", 2)
    assert [p.args["thread_ts"] for p in posts] == ["1712000000.000300", "1712000000.000400"]
    assert events_stored(qa_app) == 2


def test_a_dm_is_answered_and_bot_messages_are_ignored(qa_app: SlackApp, standin: SlackStandin) -> None:
    bot = {
        "type": "message",
        "channel_type": "im",
        "channel": "D1",
        "bot_id": "B9",
        "text": "hi",
        "ts": "1.1",
    }
    qa_app.event(bot, "EvBot")
    dm = {
        "type": "message",
        "channel_type": "im",
        "channel": "D1",
        "user": "U_ALICE",
        "text": QUESTION,
        "ts": "1712000000.000500",
    }
    qa_app.event(dm, "EvDm")
    [posted] = standin.wait_calls("chat.postMessage")
    assert (posted.args["channel"], posted.args["thread_ts"]) == ("D1", "1712000000.000500")


def test_data_text_is_escaped(qa_app: SlackApp, standin: SlackStandin) -> None:
    qa_app.event(
        mention("<!channel> spend for team <https://evil.example|x> last week", "1712000000.000600"), "EvEsc"
    )
    [posted] = standin.wait_calls("chat.postMessage")
    text = json.dumps(posted.args["blocks"])
    assert "<!channel>" not in text and "<https://evil" not in text


# ----- /costpilot -----


def test_slash_help_is_the_ack_and_unknown_lists_the_commands(
    slack_app: SlackApp, standin: SlackStandin
) -> None:
    response = slack_app.command("help")
    # Slack shows an ack's text to the user alone.
    assert response.status_code == 200 and "`/costpilot ask QUESTION`" in response.text
    unknown = slack_app.command("frobnicate")
    assert unknown.text.startswith("Unknown command `frobnicate`.") and "`/costpilot scan`" in unknown.text
    assert not standin.of("chat.postMessage")


def test_slash_ask_posts_the_question_and_answers_in_its_thread(
    qa_app: SlackApp, standin: SlackStandin, with_warehouse: Path
) -> None:
    [expected] = expected_answers(with_warehouse, QUESTION)
    assert qa_app.command(f"ask {QUESTION}").status_code == 200
    asked, answer = standin.wait_calls("chat.postMessage", 2)
    assert asked.args["text"] == f"<@U_ALICE> asked: {QUESTION}" and "thread_ts" not in asked.args
    assert answer.args["thread_ts"] == asked_ts(standin) and answer.args["text"] == expected.answer


def asked_ts(standin: SlackStandin) -> str:
    return "1700000000.000001"  # the stand-in's first ts


def test_slash_budget_without_budgets_says_how_to_add_one(qa_app: SlackApp, standin: SlackStandin) -> None:
    qa_app.command("budget")
    [told] = standin.wait_calls("chat.postEphemeral")
    assert told.args["user"] == "U_ALICE"
    assert told.args["text"] == (
        "`/costpilot budget`: no budgets yet; add one with `costpilot budget set --scope total --amount N`"
    )
