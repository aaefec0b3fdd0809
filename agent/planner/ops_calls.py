"""Builders of the other questions: right-sizing, savings, idle, cheaper models, proposals, help.

None of them acts: "approve p…" or "open a PR" is answered with the proposal (or the queue) and
how to do it oneself; a question never reaches a tool that changes state.
"""

from __future__ import annotations

import re

from agent.planner.days import MAX_DAYS, number
from agent.planner.models import ToolCall
from agent.planner.scope import Scope
from store.proposal_states import ProposalState

MAX_NAMESPACE_CALLS = 10
_WORD_DAYS = re.compile(r"(?<![\w-])(\d{1,4}|\w+)[- ]days?(?![\w-])")
_LAST_N = re.compile(r"last-(\d+)d")
_VPA = re.compile(r"(?<![\w-])vpa(?:-like)?(?![\w-])")
_KRR = re.compile(r"(?<![\w-])krr(?:-simple)?(?![\w-])")


def _namespaces(scope: Scope) -> list[str | None]:
    named = scope.filters.get("namespace", [])
    if named:
        return list(named[:MAX_NAMESPACE_CALLS])
    parts = [v for dim in ("team", "env") for v in scope.filters.get(dim, [])]
    others = [d for d in scope.filters if d not in ("team", "env", "namespace")]
    if others:
        scope.notes.append(f"right-sizing is per namespace; {', '.join(others)} does not narrow it")
    if not parts:
        return [None]
    teams, envs = scope.filters.get("team", []), scope.filters.get("env", [])

    def fits(ns: str, values: list[str]) -> bool:
        return not values or any(ns == v or ns.startswith(v + "-") or ns.endswith("-" + v) for v in values)

    found = [ns for ns in scope.vocabulary.of("namespace") if fits(ns, teams) and fits(ns, envs)]
    if not found:
        scope.notes.append(f"no namespace matches {', '.join(parts)}; right-sizing covers every namespace")
        return [None]
    if len(found) > MAX_NAMESPACE_CALLS:
        scope.notes.append(f"{len(found)} namespaces match; showing every namespace instead")
        return [None]
    return found


def _preset(scope: Scope) -> str:
    if _VPA.search(scope.text):
        return "vpa-like"
    if _KRR.search(scope.text):
        return "krr-simple"
    return str(scope.carried("rightsize", "preset") or "krr-simple")


def rightsize(scope: Scope) -> list[ToolCall]:
    preset = _preset(scope)
    scope.used_period = scope.period
    scope.used_filters = {k: v for k, v in scope.filters.items() if k in ("team", "env", "namespace")}
    return [ToolCall(tool="rightsize", args={"preset": preset, "namespace": ns}) for ns in _namespaces(scope)]


def _days(scope: Scope, tool: str, default: int) -> int:
    for mention in scope.mentions:
        if m := _LAST_N.fullmatch(mention.period):
            return min(int(m.group(1)), MAX_DAYS)
        if mention.last < scope.today:
            return max(1, min((scope.today - mention.first).days, MAX_DAYS))
    if m := _WORD_DAYS.search(scope.text):
        n = number(m.group(1))
        if n:
            return min(n, MAX_DAYS)
    return int(scope.carried(tool, "days") or default)


def _scope_note(scope: Scope, what: str) -> None:
    if scope.filters:
        shown = "; ".join(f"{k}={','.join(v)}" for k, v in scope.filters.items())
        scope.notes.append(f"{what} covers everything; the scope ({shown}) does not narrow it")


def idle(scope: Scope) -> list[ToolCall]:
    _scope_note(scope, "the idle check")
    return [ToolCall(tool="idle", args={"days": _days(scope, "idle", 7)})]


def models(scope: Scope) -> list[ToolCall]:
    _scope_note(scope, "the cheaper-model check")
    return [ToolCall(tool="models", args={"days": _days(scope, "models", 30)})]


def savings(scope: Scope) -> list[ToolCall]:
    calls = rightsize(scope)
    calls.append(ToolCall(tool="idle", args={"days": 7}))
    calls.append(ToolCall(tool="models", args={"days": 30}))
    return calls


_STATE_WORDS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(r"(?<![\w-])(?:" + words + r")(?![\w-])"), state.value)
    for words, state in (
        (r"awaiting|waiting|pending|needs?\s+(?:my\s+)?approval|to\s+(?:be\s+)?approved?|approval\s+queue|inbox", ProposalState.awaiting_approval),
        (r"blocked|failed\s+guardrails?", ProposalState.blocked),
        (r"(?<!be\s)(?<!to\s)approved", ProposalState.approved),
        (r"rejected|declined", ProposalState.rejected),
        (r"expired", ProposalState.expired),
        (r"superseded|replaced", ProposalState.superseded),
        (r"drafts?|drafted", ProposalState.drafted),
        (r"open\s+prs?|open\s+pull\s+requests?|pull\s+requests?|prs|pr\s+opened|opened", ProposalState.pr_opened),
        (r"merged", ProposalState.merged),
        (r"closed", ProposalState.closed),
    )
)  # fmt: skip


def _states(scope: Scope) -> list[str]:
    found = [state for pattern, state in _STATE_WORDS if pattern.search(scope.text)]
    if found:
        return list(dict.fromkeys(found))
    carried = scope.carried("proposals_list", "states")
    return list(carried) if carried is not None else []


def proposals(scope: Scope) -> list[ToolCall]:
    return [ToolCall(tool="proposals_list", args={"states": _states(scope)})]


def proposal_status(scope: Scope) -> list[ToolCall]:
    return [ToolCall(tool="proposal_show", args={"proposal_id": scope.proposal_id})]


_DECISION_WORDS = re.compile(
    r"(?<![\w-])(?:approve|approving|reject|rejecting|decline|deny|merge|merging)(?![\w-])"
)
_BUDGET_WORDS = re.compile(r"(?<![\w-])budgets?(?![\w-])")


def how_to_act(scope: Scope) -> list[ToolCall]:
    scope.notes.append(
        "questions never change anything: a proposal is approved or rejected with its Slack buttons or "
        "`costpilot approve ID --as USER` / `costpilot reject ID --as USER`; scans run with `costpilot scan`; "
        "budgets are set with `costpilot budget set`"
    )
    if scope.proposal_id:
        return [ToolCall(tool="proposal_show", args={"proposal_id": scope.proposal_id})]
    if _DECISION_WORDS.search(scope.text):
        return [ToolCall(tool="proposals_list", args={"states": [ProposalState.awaiting_approval.value]})]
    if _BUDGET_WORDS.search(scope.text):
        return [ToolCall(tool="budget_status", args={})]
    return [ToolCall(tool="help", args={})]


def help_(scope: Scope) -> list[ToolCall]:
    return [ToolCall(tool="help", args={})]
