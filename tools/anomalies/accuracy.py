"""Precision and recall of detected anomalies against a ground-truth list (sample data, evals)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict

from tools.anomalies.models import Anomaly

TOLERANCE_DAYS = 1  # a detection one day off the injected window still points at it


class TruthEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    start: date
    end: date
    series: dict[str, str]
    kind: str
    extra_cost: str


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


def _overlaps(a: Anomaly, t: TruthEntry) -> bool:
    pad = timedelta(days=TOLERANCE_DAYS)
    return a.series == t.series and a.start <= t.end + pad and t.start - pad <= a.end  # type: ignore[operator]


def score(detected: list[Anomaly], truth: list[TruthEntry]) -> Accuracy:
    """A detection is right when it overlaps (±1 day) an injected anomaly of the same series."""
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
            {**a.series, "start": str(a.start), "end": str(a.end), "impact": str(a.impact)}
            for a in detected
            if a not in hits
        ],
    )


def truth_mask(
    keys: list[tuple[str, ...]],
    by: list[str],
    days: list[date],
    truth: list[TruthEntry],
    kinds: tuple[str, ...] = ("spike",),
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
