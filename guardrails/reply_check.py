"""The reply check: every number in an agent's reply must come from a tool result of this turn.

A number counts as grounded when it equals a number of the tool results (or their arguments) or
rounds from one: money to the cent exactly (``1,234.56`` from ``1234.5649…`` rounds half-even to
``1234.56``), other values to fewer decimals, shares (``0.1234``) as percentages (``12.3%``).
Dates must appear as dates. Anything else makes the reply ungrounded; the agent then replaces
it with the templated answer built from the same results.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict

# A date, or a number with optional sign, thousands separators, decimals and a % sign.
_TOKEN = re.compile(
    r"(?P<date>\b\d{4}-\d{2}-\d{2}\b)"
    r"|(?P<num>(?<![\w.])[-+−]?\$?\d{1,3}(?:,\d{3})+(?:\.\d+)?%?|(?<![\w.])[-+−]?\$?\d+(?:\.\d+)?%?)"
)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
# A short exponent only: a hex id such as 17641067e8676509 is an identifier, not 1.7e8676516.
_NUMERIC_STRING = re.compile(r"^-?\d+(?:\.\d+)?(?:[eE][-+]?\d{1,3})?$")
# Words that make a small integer a label, not a claim ("step 1 of 3", "top 5", "p95").
MAX_DECIMALS = 6


class ReplyCheck(BaseModel):
    model_config = ConfigDict(frozen=True)

    grounded: bool
    numbers: list[str]
    ungrounded: list[str]


def numbers_in(text: str) -> list[str]:
    """Every date and number as written in ``text`` (identifiers such as p-1a2b3c are skipped)."""
    out = []
    for m in _TOKEN.finditer(text):
        token = m.group("date") or m.group("num")
        start, end = m.span()
        if m.group("num") and (_glued(text, start - 1) or _glued(text, end)):
            continue  # part of an identifier or a word: p95, gpt-4o, v1.2
        out.append(token)
    return out


def _glued(text: str, index: int) -> bool:
    if index < 0 or index >= len(text):
        return False
    ch = text[index]
    return ch.isalpha() or ch == "_"


def _walk(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, list | tuple):
        yield len(value)
        for v in value:
            yield from _walk(v)
    else:
        yield value


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str) and _NUMERIC_STRING.match(value.strip()):
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            return None
    return None


class Grounding:
    """The numbers and dates a set of tool results (and their arguments) supports."""

    def __init__(self, sources: Iterable[Any]) -> None:
        self.values: set[Decimal] = set()
        self.shares: set[Decimal] = set()
        self.dates: set[str] = set()
        for source in sources:
            for leaf in _walk(source):
                if isinstance(leaf, str) and _ISO_DATE.match(leaf):
                    self.dates.add(leaf[:10])
                    continue
                if isinstance(leaf, str) and _decimal(leaf) is None:
                    for token in numbers_in(leaf):  # numbers inside notes and labels
                        if _ISO_DATE.match(token):
                            self.dates.add(token)
                        elif (d := _parse(token)) is not None:
                            self.values.add(d)
                    continue
                d = _decimal(leaf)
                if d is not None and d.is_finite() and abs(d.adjusted()) <= 30:  # a hash is no amount
                    self.values.add(d)
                    if abs(d) <= 10:  # a share as a fraction: 0.1234 → 12.34%
                        self.shares.add(d * 100)

    def supports(self, token: str) -> bool:
        if _ISO_DATE.match(token):
            return token in self.dates
        number = _parse(token)
        if number is None:
            return True
        candidates = self.values | self.shares if token.endswith("%") else self.values
        return any(_rounds_to(c, number) or _rounds_to(-c, number) for c in candidates)


def _parse(token: str) -> Decimal | None:
    text = token.replace(",", "").replace("$", "").replace("%", "").replace("−", "-").lstrip("+")
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _rounds_to(source: Decimal, shown: Decimal) -> bool:
    """``shown`` is ``source`` written with ``shown``'s decimals (half-even or half-up)."""
    exponent = shown.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    if places > MAX_DECIMALS:
        return source == shown
    quantum = Decimal(1).scaleb(-places)
    try:
        return shown in (
            source.quantize(quantum, rounding=ROUND_HALF_EVEN),
            source.quantize(quantum, rounding=ROUND_HALF_UP),
        )
    except ArithmeticError:  # beyond the context's precision: only an exact match counts
        return source == shown


def check_reply(reply: str, sources: Iterable[Any]) -> ReplyCheck:
    """Whether every number and date in ``reply`` is supported by ``sources`` (tool results and
    their arguments, as JSON-like data)."""
    grounding = Grounding(sources)
    found = numbers_in(reply)
    missing = [t for t in found if not grounding.supports(t)]
    return ReplyCheck(grounded=not missing, numbers=found, ungrounded=missing)
