"""Timestamps as real exports write them → naive UTC datetimes.

Formats (a registry, tried in order; the first that reads a row is tried first on the next):
ISO 8601 (``T`` or space, ``Z`` / offsets, fractions, date only, Go's ``… +0000 UTC``), epoch
seconds / milliseconds / microseconds, ``YYYY/MM/DD``, ``MM/DD/YYYY`` or ``DD/MM/YYYY`` (the order
is decided once per file: day-first only when some first field exceeds 12), RFC 2822.
Aware stamps are converted to UTC; naive ones are taken as UTC, or as local time in ``zone``
(the repeated hour of a daylight-saving switch: the first pass is the earlier instant).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.errors import InputError

EPOCH = datetime(1970, 1, 1)
_GO_ZONE = re.compile(r"^(?P<body>.+?)(?: (?P<offset>[+-]\d{2}:?\d{2}))?(?: (?P<abbr>[A-Z]{2,5}))?$")
_FRACTION = re.compile(r"(\.\d{6})\d+")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_SLASHED = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(.*)$")
_CLOCKS = ("", " %H:%M", " %H:%M:%S", " %H:%M:%S.%f", "T%H:%M", "T%H:%M:%S", "T%H:%M:%S.%f")


def _iso(text: str) -> datetime:
    """ISO 8601, plus Go/Prometheus style ``2026-01-01 10:00:00.123456789 +0000 UTC``."""
    if text.isdigit() and len(text) != 8:  # epoch numbers; only YYYYMMDD is an ISO date of digits
        raise ValueError(text)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    match = _GO_ZONE.match(text)
    if not match or not (match["offset"] or match["abbr"]):
        raise ValueError(text)
    body = _FRACTION.sub(r"\1", match["body"])
    offset = match["offset"] or ("+00:00" if match["abbr"] in ("UTC", "GMT", "Z") else None)
    if offset is None:
        raise ValueError(text)  # a zone abbreviation alone (CET, EST) is ambiguous
    return datetime.fromisoformat(f"{body}{offset}")


def _epoch(text: str) -> datetime:
    """Seconds, milliseconds or microseconds since 1970 (chosen by magnitude)."""
    if not _NUMBER.match(text):
        raise ValueError(text)
    number = float(text)
    for limit, per_second in ((1e14, 1_000_000), (1e11, 1_000)):
        if abs(number) >= limit:
            number /= per_second
            break
    return datetime.fromtimestamp(number, UTC)


def _year_first_slashed(text: str) -> datetime:
    for clock in _CLOCKS:
        try:
            return datetime.strptime(text, f"%Y/%m/%d{clock}")
        except ValueError:
            continue
    raise ValueError(text)


def _rfc2822(text: str) -> datetime:
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        raise ValueError(text) from None


def _slashed(day_first: bool) -> Callable[[str], datetime]:
    def parse(text: str) -> datetime:
        match = _SLASHED.match(text)
        if not match:
            raise ValueError(text)
        a, b, year, rest = match.groups()
        day, month = (a, b) if day_first else (b, a)
        return _iso(f"{year}-{int(month):02d}-{int(day):02d}{rest.replace('T', ' ', 1)}")

    return parse


PARSERS: dict[str, Callable[[str], datetime]] = {
    "iso8601": _iso,
    "epoch": _epoch,
    "yyyy/mm/dd": _year_first_slashed,
    "rfc2822": _rfc2822,
}


def day_first(texts: Sequence[str]) -> bool:
    """``DD/MM/YYYY`` when some slashed stamp has a first field above 12, else ``MM/DD/YYYY``."""
    for text in texts:
        match = _SLASHED.match(text.strip())
        if match and int(match.group(1)) > 12:
            return True
    return False


def resolve_zone(name: str | None) -> ZoneInfo | None:
    if name is None or name.upper() == "UTC":
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"timezone {name!r}: not an IANA zone name (e.g. Europe/Berlin, UTC)") from None


class StampReader:
    """Reads one file's stamps: remembers the parser that worked last, converts to naive UTC."""

    def __init__(self, texts: Sequence[str], zone: ZoneInfo | None = None) -> None:
        self.parsers = dict(PARSERS)
        self.parsers["slashed"] = _slashed(day_first(texts))
        self.order = list(self.parsers)
        self.zone = zone
        self.seen_local: set[datetime] = set()
        self.aware = 0
        self.naive = 0

    def parse(self, text: str) -> datetime:
        text = text.strip()
        for i, name in enumerate(self.order):
            try:
                value = self.parsers[name](text)
            except (ValueError, OverflowError, OSError):
                continue
            if i:
                self.order.insert(0, self.order.pop(i))
            return self._to_utc(value)
        raise ValueError(text)

    def _to_utc(self, value: datetime) -> datetime:
        if value.tzinfo is not None:
            self.aware += 1
            return value.astimezone(UTC).replace(tzinfo=None)
        self.naive += 1
        if self.zone is None:
            return value
        # The second time a repeated local stamp appears it is the later instant (fold=1).
        fold = 1 if value in self.seen_local else 0
        self.seen_local.add(value)
        local = value.replace(tzinfo=self.zone, fold=fold)
        return local.astimezone(UTC).replace(tzinfo=None)


def seconds_since_epoch(stamp: datetime) -> float:
    return (stamp - EPOCH) / timedelta(seconds=1)
