"""Block Kit building blocks: escaping, Slack's size limits, money, small tables as fields.

Text that comes from data (tag values, resource names, questions, tool output) is escaped
(``&``, ``<``, ``>``) before it goes into mrkdwn, so a tag value such as ``<!channel>`` or
``<https://evil|click>`` is shown as text, never turned into a mention or a link.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.redaction import redact
from domain.text import mrkdwn_text

# Slack's limits (https://api.slack.com/reference/block-kit/blocks).
MAX_BLOCKS = 50
SECTION_TEXT = 3000
FIELD_TEXT = 2000
FIELDS_PER_SECTION = 10
HEADER_TEXT = 150
FALLBACK_TEXT = 3000

Block = dict[str, Any]


def esc(text: Any) -> str:
    """Data as literal Slack text: secrets redacted, control characters dropped, and Slack's three
    control characters escaped (mrkdwn and plain text alike), so no mention, link or
    channel-wide ping can be formed from it."""
    return mrkdwn_text(redact(str(text)))


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def money(amount: Any, currency: str | None = "USD") -> str:
    """``1,234.56 USD``: cents, thousands separators, the currency code (exact Decimal in)."""
    from domain.money import round_cents

    try:
        value = round_cents(Decimal(str(amount)))
    except InvalidOperation:
        return esc(amount)
    return f"{value:,.2f} {currency or 'USD'}"


def signed_money(amount: Any, currency: str | None = "USD") -> str:
    text = money(amount, currency)
    return text if text.startswith("-") else f"+{text}"


def pct(ratio: Any, *, signed: bool = True, ratio_in: bool = True) -> str:
    """A ratio (0.123) or a percentage (12.3 with ``ratio_in=False``) as ``+12.3%``."""
    if ratio is None:
        return "n/a"
    value = Decimal(str(ratio)) * (100 if ratio_in else 1)
    text = f"{value:.1f}%"
    return f"+{text}" if signed and value > 0 else text


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": clip(text, HEADER_TEXT), "emoji": True}}


def section(mrkdwn: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(mrkdwn, SECTION_TEXT)}}


def context(*parts: str) -> Block:
    elements = [{"type": "mrkdwn", "text": clip(p, FIELD_TEXT)} for p in parts if p][:10]
    return {"type": "context", "elements": elements}


def divider() -> Block:
    return {"type": "divider"}


def field_sections(pairs: Sequence[tuple[str, str]]) -> list[Block]:
    """Label/value pairs as sections of at most ten fields (a two-column table). Both parts are
    mrkdwn already (callers escape data)."""
    out = []
    for i in range(0, len(pairs), FIELDS_PER_SECTION):
        chunk = pairs[i : i + FIELDS_PER_SECTION]
        out.append(
            {
                "type": "section",
                "fields": [{"type": "mrkdwn", "text": clip(f"*{k}*\n{v}", FIELD_TEXT)} for k, v in chunk],
            }
        )
    return out


def fit(blocks: Iterable[Block], *, note: str = "more in `costpilot` on the command line") -> list[Block]:
    """At most ``MAX_BLOCKS`` blocks; a cut message says so in its last block."""
    items = list(blocks)
    if len(items) <= MAX_BLOCKS:
        return items
    return [
        *items[: MAX_BLOCKS - 1],
        context(f"_{len(items) - MAX_BLOCKS + 1} more blocks left out: {note}_"),
    ]


def dims_label(dims: Mapping[str, Any]) -> str:
    return esc(" · ".join(f"{k}={v}" for k, v in dims.items()) or "total")


# ----- small tables from tool results (the agent's own results: the same numbers) -----


def _spend_fields(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    by = doc.get("by") or []
    currency = doc.get("currency")
    return [
        (dims_label({k: row.get(k) for k in by}), money(row["cost"], currency)) for row in doc.get("rows", [])
    ]


def _movers_fields(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    currency = doc.get("currency")
    return [
        (dims_label(m.get("dims", {})), f"{signed_money(m['delta'], currency)} ({pct(m.get('delta_pct'))})")
        for m in doc.get("movers", [])
    ]


def _unit_fields(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    currency = doc.get("currency")
    out = []
    for row in doc.get("rows", []):
        per_k = row.get("cost_per_1k_tokens")
        value = money(row["cost"], currency) + (f" · {money(per_k, currency)}/1k tokens" if per_k else "")
        out.append((esc(f"{row.get('feature')} · {row.get('model')}"), value))
    return out


def _budget_fields(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [
        (
            esc(b["scope"]),
            f"{money(b['spent'])} of {money(b['amount'])} ({pct(b['pct_used'], signed=False, ratio_in=False)})",
        )
        for b in doc.get("budgets", [])
    ]


TABLES: dict[str, Callable[[Mapping[str, Any]], list[tuple[str, str]]]] = {
    "spend": _spend_fields,
    "movers": _movers_fields,
    "unit_costs": _unit_fields,
    "budget_status": _budget_fields,
}
MAX_TABLE_ROWS = 10


def result_table(tool: str, doc: Any) -> list[Block]:
    """A tool result (registry JSON) as at most ten fields, when the tool has a table."""
    render = TABLES.get(tool)
    if render is None or not isinstance(doc, Mapping):
        return []
    pairs = render(doc)
    if len(pairs) <= 1:  # one row is the total the answer already states
        return []
    shown = field_sections(pairs[:MAX_TABLE_ROWS])
    if len(pairs) > MAX_TABLE_ROWS:
        shown.append(context(f"_{len(pairs) - MAX_TABLE_ROWS} more rows_"))
    return shown
