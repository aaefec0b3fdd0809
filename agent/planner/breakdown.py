"""Breakdowns and rankings in plain words: "by team and env", "per service", "top 5 teams".

- "by/per/each/across/all X", "X breakdown", "which/what X", "daily" / "monthly" → ``by``;
- "top N X" / "N biggest X" → ``by`` [X], ``top`` N; "top X" without a number → top 5;
- a superlative with a singular dimension ("which team spent the most") → top 1; with a plural
  ("most expensive services") → the whole ranked list (no ``top``);
- "who" asks for teams.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agent.planner.days import NUMBER_WORDS, number

DEFAULT_TOP = 5
MAX_TOP = 1000

# Dimension words → dimension (plural forms included).
_DIM_FORMS: dict[str, tuple[str, ...]] = {
    "team": ("teams", "team", "squads", "squad"),
    "env": ("environments", "environment", "envs", "env"),
    "category": ("service categories", "service category", "categories", "category"),
    "service": ("services", "service", "products", "product"),
    "provider": ("providers", "provider", "clouds", "cloud", "vendors", "vendor"),
    "region": ("regions", "region", "locations", "location"),
    "account": ("accounts", "account", "subscriptions", "subscription", "projects", "project"),
    "feature": ("features", "feature"),
    "model": ("models", "model", "llms", "llm"),
    "namespace": ("namespaces", "namespace"),
    "workload": ("workloads", "workload", "deployments", "deployment", "apps", "app", "applications"),
    "cost_center": (
        "cost centers",
        "cost center",
        "cost centres",
        "cost centre",
        "cost_center",
        "cost-center",
    ),
    "day": ("days", "day"),
    "month": ("months", "month"),
}
_FORM_TO_DIM = {form: dim for dim, forms in _DIM_FORMS.items() for form in forms}
_DIM = r"(?:" + "|".join(sorted(map(re.escape, _FORM_TO_DIM), key=len, reverse=True)) + r")"
_DIMLIST = _DIM + r"(?:\s*(?:,|and|&|then|plus|or)\s+" + _DIM + r")*"
_NUM = r"(?:\d{1,4}|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")"
_SUPER = r"(?:most\s+expensive|biggest|largest|highest|costliest|priciest|heaviest|top|most|greatest)"
_B = r"(?<![\w-])"
_E = r"(?![\w-])"

_DIM_WORD = re.compile(_B + _DIM + _E)
_BY = re.compile(
    _B
    + r"(?:(?:grouped|group|split|sliced|broken\s+(?:down|out)|break(?:ing)?(?:\s+(?:it|that|this|them|those))?\s+down|drill(?:ing)?\s+(?:down\s+)?into)\s+by"
    r"|by|per|for\s+each|for\s+every|each|every|across(?:\s+all)?(?:\s+the)?|all(?:\s+the)?|(?:break|split)\s+(?:it|that|this)\s+(?:by|into))\s+(?:the\s+)?(?P<dims>"
    + _DIMLIST
    + r")"
    + _E
)
_NOUN_BREAKDOWN = re.compile(_B + r"(?P<dims>" + _DIMLIST + r")[-\s](?:breakdown|split|level|view)" + _E)
_TOP = re.compile(
    _B
    + r"(?:top|first|the\s+(?P<n2>"
    + _NUM
    + r")\s+"
    + _SUPER
    + r"|(?P<n3>"
    + _NUM
    + r")\s+"
    + _SUPER
    + r")"
    r"(?:\s+(?P<n>"
    + _NUM
    + r"))?(?:\s+(?:most\s+expensive|biggest|largest|costliest|spending))?\s+(?P<dim>"
    + _DIM
    + r")"
    + _E
)
_WHICH = re.compile(
    _B
    + r"(?:which|what|whose)\s+(?:(?P<n>"
    + _NUM
    + r")\s+)?(?:(?:one|ones)\s+of\s+(?:the|our)\s+)?(?P<dim>"
    + _DIM
    + r")"
    + _E
)
_SUPERLATIVE_DIM = re.compile(
    _B + r"(?:most\s+expensive|biggest|largest|costliest|priciest)\s+(?P<dim>" + _DIM + r")" + _E
)
_MOST = re.compile(_B + r"(?:the\s+)?(?:most|highest|biggest|largest|top|max(?:imum)?)" + _E)
_WHO = re.compile(
    _B + r"who(?:'s|\s+is|\s+has|\s+spent|\s+spends|\s+spending|\s+costs?|\s+burned|\s+used)" + _E
)
_TIME = re.compile(
    _B
    + r"(?P<t>daily|day\s+by\s+day|per\s+day|each\s+day|by\s+day|monthly|month\s+by\s+month|per\s+month|by\s+month|trend|over\s+time)"
    + _E
)
_BARE_TOP = re.compile(_B + r"top\s+(?P<n>" + _NUM + r")" + _E)
_MEASURES = (
    (
        re.compile(
            _B + r"(?:billed|invoiced?|billing)\s+(?:cost|amount|spend)?|as\s+billed|on\s+the\s+invoice" + _E
        ),
        "BilledCost",
    ),
    (
        re.compile(_B + r"list\s+(?:price|cost)s?|on[- ]demand\s+(?:price|cost)s?|before\s+discounts?" + _E),
        "ListCost",
    ),
    (re.compile(_B + r"contracted\s+(?:price|cost)s?" + _E), "ContractedCost"),
)


@dataclass
class Breakdown:
    by: list[str] = field(default_factory=list)
    top: int | None = None
    measure: str | None = None
    spans: list[tuple[int, int]] = field(default_factory=list)
    cleared: list[str] = field(default_factory=list)  # "all teams": that dimension's filter goes


def _dims(text: str) -> list[str]:
    found = _DIM_WORD.findall(text)
    return [_FORM_TO_DIM[f] for f in found]


def _add(out: Breakdown, dims: list[str], span: tuple[int, int]) -> None:
    for dim in dims:
        if dim not in out.by:
            out.by.append(dim)
    out.spans.append(span)


def _free(out: Breakdown, span: tuple[int, int]) -> bool:
    return not any(span[0] < b and a < span[1] for a, b in out.spans)


def find_breakdown(text: str) -> Breakdown:
    """Dimensions to break down by, a top-N and a cost measure named in ``text`` (normalised)."""
    out = Breakdown()
    for m in _TOP.finditer(text):
        n = number(m.group("n") or m.group("n2") or m.group("n3") or "") or DEFAULT_TOP
        out.top = max(1, min(n, MAX_TOP))
        _add(out, [_FORM_TO_DIM[m.group("dim")]], m.span())
    for m in _BY.finditer(text):
        if _free(out, m.span()):
            _add(out, _dims(m.group("dims")), m.span())
            if m.group(0).startswith("all") or m.group(0).startswith("across"):
                out.cleared.extend(_dims(m.group("dims")))
    for pattern in (_NOUN_BREAKDOWN, _WHICH, _SUPERLATIVE_DIM):
        for m in pattern.finditer(text):
            if _free(out, m.span()):
                dim_text = m.group("dims") if "dims" in m.groupdict() else m.group("dim")
                _add(out, _dims(dim_text), m.span())
                if pattern is _WHICH and m.group("n") and out.top is None:
                    # "which three services cost the most": the number is the ranking's length
                    out.top = max(1, min(number(m.group("n")) or DEFAULT_TOP, MAX_TOP))
                singular = not dim_text.endswith("s")
                if pattern is not _NOUN_BREAKDOWN and out.top is None and singular and _MOST.search(text):
                    out.top = 1
    for m in _WHO.finditer(text):
        if _free(out, m.span()) and "team" not in out.by:
            _add(out, ["team"], (m.start(), m.start() + 3))
            if _MOST.search(text) and out.top is None:
                out.top = 1
    for m in _TIME.finditer(text):
        if _free(out, m.span()):
            word = m.group("t")
            _add(out, ["month" if "month" in word else "day"], m.span())
    if out.top is None and (m := _BARE_TOP.search(text)):
        out.top = max(1, min(number(m.group("n")) or DEFAULT_TOP, MAX_TOP))
        out.spans.append(m.span())
    for pattern, measure in _MEASURES:
        if pattern.search(text):
            out.measure = measure
            break
    # day/month are time buckets, not scope; keep them after the real dimensions
    out.by = [d for d in out.by if d not in ("day", "month")] + [d for d in out.by if d in ("day", "month")]
    return out
