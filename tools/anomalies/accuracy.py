"""Precision and recall of detected anomalies against a ground-truth list (sample data, evals).

Truth entries name their series at team × service level plus ``detail`` (env, account, region
of the resource the anomaly was injected into), so a run asked ``--by team,env`` is scored
against the same truth projected to those dimensions. Kinds: ``spike``, ``level_shift`` and
``small_spike`` are anomalies; ``tag_loss`` (a resource untagged for a day) is expected under
tag hygiene, never among the anomalies.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict

TOLERANCE_DAYS = 1  # a detection one day off the injected window still points at it
ANOMALY_KINDS = ("spike", "level_shift", "small_spike")
HYGIENE_KINDS = ("tag_loss",)


class TruthEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    start: date
    end: date
    series: dict[str, str]
    kind: str
    extra_cost: str
    detail: dict[str, str] = {}

    def projected(self, by: list[str] | None) -> TruthEntry | None:
        """The entry with ``series`` on the ``by`` dimensions (None: it does not name one of them)."""
        if by is None:
            return self
        known = {**self.detail, **self.series}
        if any(name not in known for name in by):
            return None
        return self.model_copy(update={"series": {name: known[name] for name in by}})


class Accuracy(BaseModel):
    model_config = ConfigDict(frozen=True)

    precision: float
    recall: float
    detected: int
    truth: int
    true_positives: int = 0
    missed: list[TruthEntry]
    false_alarms: list[dict[str, str]]


def load_truth(path: Path) -> list[TruthEntry]:
    return [TruthEntry.model_validate(item) for item in json.loads(path.read_text())]


class Finding(Protocol):
    series: dict[str, str]
    start: Any
    end: Any


def _overlaps(a: Finding, t: TruthEntry) -> bool:
    pad = timedelta(days=TOLERANCE_DAYS)
    return a.series == t.series and a.start <= t.end + pad and t.start - pad <= a.end  # type: ignore[no-any-return]


def select(truth: list[TruthEntry], kinds: tuple[str, ...], by: list[str] | None = None) -> list[TruthEntry]:
    """Entries of ``kinds``, projected to ``by`` (entries that do not name a ``by`` dimension drop)."""
    out = [t.projected(by) for t in truth if t.kind in kinds]
    return [t for t in out if t is not None]


def score(
    detected: Sequence[Finding],
    truth: list[TruthEntry],
    by: list[str] | None = None,
    kinds: tuple[str, ...] = ANOMALY_KINDS,
) -> Accuracy:
    """A detection is right when it overlaps (±1 day) an injected anomaly of the same series.

    ``kinds``: which truth entries count (anomalies by default; HYGIENE_KINDS to score tag-hygiene
    findings); ``by``: the dimensions the detections were asked by (truth is projected to them).
    """
    truth = select(truth, kinds, by)
    hits = [a for a in detected if any(_overlaps(a, t) for t in truth)]
    found = [t for t in truth if any(_overlaps(a, t) for a in detected)]
    return Accuracy(
        precision=len(hits) / len(detected) if detected else 1.0,
        recall=len(found) / len(truth) if truth else 1.0,
        detected=len(detected),
        truth=len(truth),
        true_positives=len(hits),
        missed=[t for t in truth if t not in found],
        false_alarms=[
            {**a.series, "start": str(a.start), "end": str(a.end), "impact": str(getattr(a, "impact", ""))}
            for a in detected
            if a not in hits
        ],
    )


def truth_mask(
    keys: list[tuple[str, ...]],
    by: list[str],
    days: list[date],
    truth: list[TruthEntry],
    kinds: tuple[str, ...] = ("spike", "small_spike"),
) -> np.ndarray:
    """(series, days) booleans: True on the days of injected anomalies of the given kinds.

    Backtests skip these points when scoring: an injected shock is not something a forecast can
    (or should) predict.
    """
    mask = np.zeros((len(keys), len(days)), dtype=bool)
    index = {key: i for i, key in enumerate(keys)}
    position = {day: j for j, day in enumerate(days)}
    for entry in truth:
        key = tuple(entry.series.get(name, "") for name in by)
        if entry.kind not in kinds or key not in index:
            continue
        for offset in range((entry.end - entry.start).days + 1):
            day = entry.start + timedelta(days=offset)
            if day in position:
                mask[index[key], position[day]] = True
    return mask
