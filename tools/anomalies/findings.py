"""From detected runs to findings: anomalies, drill-down roll-ups and tag-hygiene jumps.

Runs are detected twice: on the asked series (``by``) and one level below them (``by`` plus a
drill dimension, e.g. service), because a 5× jump of one service line moves its team × env
series by a few percent and is averaged away there. A run found below is reported on its
parent series, naming the line (``found_in``), unless the parent itself already has a run then.

Untagged series (a ``by`` or drill value of ``(untagged)``) jump when a resource loses its tags
for a day: the money moved out of a tagged series, it did not appear. A jump is a tag-hygiene
finding when most of it sits on resources that were tagged in the days before (``hygiene``);
the tagged series that dropped at the same time are named as its likely source, and those drops
are explained by it and not reported again. An untagged jump on resources that were never
tagged (new spend nobody tagged) stays an anomaly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from tools.anomalies.detect import Detection
from warehouse.config import UNTAGGED

# Dimensions tried, in order, for the level below --by: the first one not asked is used.
DRILL_DIMENSIONS: tuple[str, ...] = ("service", "team", "env", "account", "region")
# A drop explains an untagged jump when it is at least this share of the jump.
MATCH_SHARE = 0.3


@dataclass(frozen=True)
class Run:
    """One detected run. ``key``: the parent series' ``by`` values; ``sub``: the drill value."""

    key: tuple[str, ...]
    sub: str | None
    start: date
    end: date
    direction: str
    expected: float  # of the line where the run was found, summed over the run
    actual: float
    score: float

    @property
    def impact(self) -> float:
        return self.actual - self.expected

    @property
    def untagged(self) -> bool:
        return UNTAGGED in self.key or self.sub == UNTAGGED

    def overlaps(self, other: Run) -> bool:
        return self.start <= other.end and other.start <= self.end


def drill_dimension(by: list[str]) -> str | None:
    return next((d for d in DRILL_DIMENSIONS if d not in by), None)


def runs_of(
    detection: Detection, keys: list[tuple[str, ...]], days: list[date], sub_position: int | None = None
) -> list[Run]:
    """Detection (index space) → runs on days; ``sub_position``: where the drill value sits in a key."""
    out = []
    for a in detection.anomalies:
        key = keys[a.series_index]
        sub = None
        if sub_position is not None:
            sub = key[sub_position]
            key = key[:sub_position] + key[sub_position + 1 :]
        out.append(
            Run(key, sub, days[a.start_index], days[a.end_index], a.direction, a.expected, a.actual, a.score)
        )
    return out


@dataclass(frozen=True)
class Hygiene:
    run: Run
    sources: tuple[Run, ...]  # tagged drops at the same time


@dataclass(frozen=True)
class Classified:
    anomalies: list[Run]
    hygiene: list[Hygiene]


def _covered(run: Run, parents: list[Run]) -> bool:
    return any(p.key == run.key and p.direction == run.direction and p.overlaps(run) for p in parents)


def _sibling(drop: Run, jump: Run) -> bool:
    """The drop's series equals the jump's on every dimension the jump has tagged."""
    pairs = list(zip(jump.key, drop.key, strict=True))
    if jump.sub is not None and drop.sub is not None:
        pairs.append((jump.sub, drop.sub))
    return all(j in (UNTAGGED, d) for j, d in pairs)


def classify(
    parent_runs: list[Run], sub_runs: list[Run], direction: str, is_tag_loss: Callable[[Run], bool]
) -> Classified:
    """Split runs into anomalies and tag-hygiene findings; drop what a parent run already covers.

    Both lists hold up and down runs (drops are needed to explain untagged jumps even when
    only rises are reported); ``direction`` (up | both) decides which drops are reported;
    ``is_tag_loss`` decides whether an untagged jump is spend that lost its tags (``hygiene``).
    """
    below = [r for r in sub_runs if not _covered(r, parent_runs)]
    candidates = parent_runs + below
    jumps = [r for r in candidates if r.untagged and r.direction == "up" and is_tag_loss(r)]
    drops = [r for r in candidates if not r.untagged and r.direction == "down"]
    hygiene, explained = [], {id(r) for r in jumps}
    for jump in sorted(jumps, key=lambda r: -r.impact):
        sources = [
            d
            for d in drops
            if d.overlaps(jump)
            and _sibling(d, jump)
            and -d.impact >= MATCH_SHARE * jump.impact
            and id(d) not in explained
        ]
        sources.sort(key=lambda d: abs(-d.impact - jump.impact))
        explained.update(id(d) for d in sources)
        hygiene.append(Hygiene(jump, tuple(sources)))
    reported = {"up"} | ({"down"} if direction == "both" else set())
    anomalies = [r for r in candidates if r.direction in reported and id(r) not in explained]
    # A drop of untagged spend is tags being fixed, not a saving.
    anomalies = [r for r in anomalies if not (r.untagged and r.direction == "down")]
    return Classified(anomalies, hygiene)
