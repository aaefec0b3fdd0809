"""Conversations: each turn is planned with the context the previous turn left in the thread."""

from __future__ import annotations

from datetime import date

import pytest
from planner_calls import (
    AI,
    EC2,
    MID,
    MON,
    Call,
    anomalies,
    call,
    forecast,
    movers,
    rightsize,
    spend,
    unit_costs,
    why,
)

from agent.planner import PlanContext, Vocabulary, plan_question

Turn = tuple[str, list[Call]]

CONVERSATIONS: dict[str, tuple[date, list[Turn]]] = {
    "replace a team, add an env, break down, change period, shift back": (
        MON,
        [
            ("what did payments spend last week?", [spend("last-week", team=["payments"])]),
            ("and search?", [spend("last-week", team=["search"])]),
            ("and for staging?", [spend("last-week", team=["search"], env=["staging"])]),
            (
                "break that down by service",
                [spend("last-week", ["service"], team=["search"], env=["staging"])],
            ),
            ("what about last month?", [spend("last-month", ["service"], team=["search"], env=["staging"])]),
            ("the month before", [spend("2026-09", ["service"], team=["search"], env=["staging"])]),
            ("also checkout", [spend("2026-09", ["service"], team=["search", "checkout"], env=["staging"])]),
            ("overall", [spend("2026-09", ["service"])]),
        ],
    ),
    "why, then follow-ups keep asking why": (
        MON,
        [
            ("why did prod go up?", why("last-7d", ["team"], env=["prod"])),
            ("and for staging?", why("last-7d", ["team"], env=["staging"])),
            ("break that down by service", why("last-7d", ["service"], env=["staging"])),
            ("what about last month?", why("last-month", ["service"], "2026-09", env=["staging"])),
        ],
    ),
    "same for, then a new intent keeps the scope": (
        MON,
        [
            ("how much did the search team spend yesterday", [spend("yesterday", team=["search"])]),
            ("same for payments", [spend("yesterday", team=["payments"])]),
            ("what's the forecast for that?", [forecast(30, team=["payments"])]),
            ("and by env", [forecast(30, ["env"], team=["payments"])]),
            ("and search", [forecast(30, ["env"], team=["search"])]),
        ],
    ),
    "top N survives a change of period and a new filter": (
        MON,
        [
            ("top 5 services last month", [spend("last-month", ["service"], top=5)]),
            ("and last week?", [spend("last-week", ["service"], top=5)]),
            ("for prod only", [spend("last-week", ["service"], top=5, env=["prod"])]),
            ("what about ec2?", [spend("last-week", ["service"], top=5, env=["prod"], service=[EC2])]),
        ],
    ),
    "anomalies narrowed step by step": (
        MON,
        [
            ("anomalies last 30 days", [anomalies("last-30d")]),
            ("by team", [anomalies("last-30d", ["team"])]),
            ("in dev", [anomalies("last-30d", ["team"], env=["dev"])]),
            ("and why did dev go up?", why("last-30d", ["team"], env=["dev"])),
        ],
    ),
    "right-sizing: namespaces and presets": (
        MON,
        [
            ("rightsize search-prod", [rightsize("search-prod")]),
            ("and payments-prod", [rightsize("payments-prod")]),
            ("with vpa", [rightsize("payments-prod", "vpa-like")]),
        ],
    ),
    "idle and proposals carry their own arguments": (
        MON,
        [
            ("idle workloads", [call("idle", days=7)]),
            ("and for 30 days?", [call("idle", days=30)]),
            ("list proposals", [call("proposals_list", states=[])]),
            ("blocked ones?", [call("proposals_list", states=["blocked"])]),
        ],
    ),
    "unit costs then a period": (
        MID,
        [
            ("cost per 1k tokens for search-summary", [unit_costs("last-30d", feature=["search-summary"])]),
            ("what about last week", [unit_costs("last-week", feature=["search-summary"])]),
            ("and support-chat?", [unit_costs("last-week", feature=["support-chat"])]),
        ],
    ),
    "a fresh question does not inherit the scope": (
        MON,
        [
            ("what did payments spend last week?", [spend("last-week", team=["payments"])]),
            ("how much did we spend on AI yesterday", [spend("yesterday", category=[AI])]),
            ("any anomalies?", [anomalies("last-30d")]),
        ],
    ),
    "a turn that is not understood leaves the thread as it was": (
        MON,
        [
            ("what did payments spend last week?", [spend("last-week", team=["payments"])]),
            ("what's the weather like?", []),
            ("and search?", [spend("last-week", team=["search"])]),
            ("what did the marketing team spend?", []),
            ("and for staging?", [spend("last-week", team=["search"], env=["staging"])]),
        ],
    ),
    "all teams drops the team filter and breaks down": (
        MON,
        [
            ("what did payments spend in october", [spend("2026-10", team=["payments"])]),
            ("and for all teams?", [spend("2026-10", ["team"])]),
            ("and the week before last", [spend("2026-11-09..2026-11-15", ["team"])]),
        ],
    ),
    "change: a new pair of periods replaces the comparison": (
        MON,
        [
            ("compare october to september", [movers("2026-10", ["team"], "2026-09")]),
            ("for payments", [movers("2026-10", ["service"], "2026-09", team=["payments"])]),
            (
                "and q3 vs q2?",
                [movers("2026-07-01..2026-09-30", ["service"], "2026-04-01..2026-06-30", team=["payments"])],
            ),
        ],
    ),
}


@pytest.mark.parametrize("name", list(CONVERSATIONS))
def test_conversation(name: str, vocabulary: Vocabulary) -> None:
    today, turns = CONVERSATIONS[name]
    context: PlanContext | None = None
    for question, expected in turns:
        plan = plan_question(question, today, vocabulary, context)
        assert [c.model_dump() for c in plan.tool_calls] == expected, question
        assert plan.understood is bool(expected), question
        context = plan.context


def test_the_context_records_what_the_turn_used(vocabulary: Vocabulary) -> None:
    plan = plan_question("break down payments' spend in prod by service last week", MON, vocabulary)
    assert plan.context == PlanContext(
        period="last-week",
        by=["service"],
        filters={"team": ["payments"], "env": ["prod"]},
        intent="spend",
        last_tool_calls=plan.tool_calls,
    )


def test_the_context_survives_a_json_round_trip_like_a_checkpoint(vocabulary: Vocabulary) -> None:
    first = plan_question("top 5 services last month", MON, vocabulary)
    restored = PlanContext.model_validate_json(first.context.model_dump_json())
    follow = plan_question("and last week?", MON, vocabulary, restored)
    assert [c.model_dump() for c in follow.tool_calls] == [spend("last-week", ["service"], top=5)]


def test_a_context_with_an_unreadable_period_is_not_fatal(vocabulary: Vocabulary) -> None:
    broken = PlanContext(period="fortnight-ish", intent="spend", filters={"team": ["payments"]})
    plan = plan_question("and search?", MON, vocabulary, broken)
    assert [c.model_dump() for c in plan.tool_calls] == [spend("this-month", team=["search"])]
    assert "no period named: used this-month" in plan.notes


def test_a_follow_up_of_help_is_a_new_question(vocabulary: Vocabulary) -> None:
    helped = plan_question("help", MON, vocabulary)
    plan = plan_question("and staging?", MON, vocabulary, helped.context)
    assert [c.model_dump() for c in plan.tool_calls] == [spend("this-month", env=["staging"])]
