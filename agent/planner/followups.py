"""Follow-ups in a thread: "and search?", "and for staging?", "break that down by service".

A turn is a follow-up when the thread has an understood previous turn and the question leans on
it: it starts like one ("and …", "what about …", "same for …", "only …"), or it names no intent of
its own (just a value, a period or a breakdown), or it points back ("that", "those") without a new
scope. A follow-up keeps the previous intent, period, filters and breakdown and replaces only what
it names: a new value of an already-filtered dimension replaces that dimension's values ("also" /
"too" adds to them instead), a new period replaces the period ("the week before" shifts it), a new
breakdown replaces the breakdown, "all teams" drops the team filter and "overall" drops them all.
"""

from __future__ import annotations

import re

from agent.planner.models import PlanContext

_LEAD = re.compile(
    r"^(?:and|what\s+about|how\s+about|what\s+if|same|now|ok|okay|also|then|only|just|but|instead|for|in|on|at"
    r"|break|split|drill|ditto|likewise|vs|versus|compared|plus|except|excluding|without|with|by|per|do\s+the\s+same"
    r"|ditto|again|narrow|filter|limit|restrict|zoom)(?![\w-])"
)
_ANAPHORA = re.compile(r"(?<![\w-])(?:that|this|it|those|them|these|same|there)(?![\w-])")
_APPEND = re.compile(r"(?<![\w-])(?:also|too|as\s+well|plus|in\s+addition|add|including)(?![\w-])")
_CLEAR = re.compile(
    r"(?<![\w-])(?:overall|in\s+total|everything|whole\s+company|company[- ]wide|all\s+of\s+it|everyone|all\s+up"
    r"|no\s+filters?|without\s+(?:the\s+)?filters?|remove\s+the\s+filters?|drop\s+the\s+filters?|unfiltered)(?![\w-])"
)
# Intents whose follow-ups reuse scope (a follow-up of "help" is a new question).
FOLLOWABLE: frozenset[str] = frozenset(
    {
        "spend",
        "change",
        "anomalies",
        "forecast",
        "budget_status",
        "rightsize",
        "savings",
        "idle",
        "unit_costs",
        "cheaper_model",
        "untagged",
        "proposals",
    }
)


def is_followup(text: str, previous: PlanContext | None, has_own_intent: bool, names_scope: bool) -> bool:
    """Whether ``text`` leans on the previous turn of the thread."""
    if previous is None or previous.intent not in FOLLOWABLE:
        return False
    if _LEAD.match(text):
        return True
    if not has_own_intent:
        return True
    return bool(_ANAPHORA.search(text)) and not names_scope


def merge_filters(
    previous: dict[str, list[str]],
    named: dict[str, list[str]],
    text: str,
    cleared: list[str],
) -> dict[str, list[str]]:
    """The previous scope with this turn's values put in (replacing, or adding with "also")."""
    if _CLEAR.search(text):
        base: dict[str, list[str]] = {}
    else:
        base = {k: list(v) for k, v in previous.items() if k not in cleared}
    append = bool(_APPEND.search(text))
    for dim, values in named.items():
        if append and dim in base:
            base[dim] = list(dict.fromkeys([*base[dim], *values]))
        else:
            base[dim] = list(values)
    return base


def merge_by(previous: list[str], named: list[str], text: str) -> list[str]:
    if not named:
        return list(previous)
    if _APPEND.search(text):
        return list(dict.fromkeys([*previous, *named]))
    return list(named)
