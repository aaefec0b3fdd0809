"""Event-level scoring of detections against labelled windows (the NAB folder's simple rule).

Detections closer than ``gap`` sampling steps merge into one event; recall = labelled windows
touched by an event / windows; precision = events touching a window / events; F1 from those.
Counts pool over files (a category, or all files), so every window and every event weighs the
same. A file or category without windows has recall 1 by convention and precision 1 only when
it raised no event: on anomaly-free data a single event makes F1 0.

The baseline of the same rule is a rolling z-score: |x - mean| > z × std over the previous
``window`` points (NaN-aware; after a flat window any change flags, no change never does).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

MERGE_STEPS = 3

Span = tuple[datetime, datetime]


class EventCounts(BaseModel):
    """Pooled counts and the scores they give."""

    model_config = ConfigDict(frozen=True)

    windows: int = 0
    windows_found: int = 0
    events: int = 0
    events_in_window: int = 0

    @property
    def recall(self) -> float:
        return self.windows_found / self.windows if self.windows else 1.0

    @property
    def precision(self) -> float:
        return self.events_in_window / self.events if self.events else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __add__(self, other: EventCounts) -> EventCounts:
        return EventCounts(
            windows=self.windows + other.windows,
            windows_found=self.windows_found + other.windows_found,
            events=self.events + other.events,
            events_in_window=self.events_in_window + other.events_in_window,
        )


class FileScore(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    counts: EventCounts = Field(default_factory=EventCounts)
    events: list[Span] = Field(default_factory=list)


def merge_events(spans: Iterable[Span], step: timedelta, gap: int = MERGE_STEPS) -> list[Span]:
    """Detections (start, end inclusive) → events: spans less than ``gap`` steps apart merge."""
    merged: list[list[datetime]] = []
    for start, end in sorted(spans):
        if merged and start - merged[-1][1] < gap * step:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


def _touches(a: Span, b: Span) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def count_events(events: Sequence[Span], windows: Sequence[Span]) -> EventCounts:
    return EventCounts(
        windows=len(windows),
        windows_found=sum(any(_touches(e, w) for e in events) for w in windows),
        events=len(events),
        events_in_window=sum(any(_touches(e, w) for w in windows) for e in events),
    )


def runs_of(flags: np.ndarray, stamps: Sequence[datetime]) -> list[Span]:
    """Runs of True in a 1-D flag array as (first, last) timestamps."""
    padded = np.concatenate([[False], flags.astype(bool), [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return [(stamps[a], stamps[b - 1]) for a, b in zip(edges[0::2], edges[1::2], strict=True)]


def rolling_zscore_flags(values: np.ndarray, window: int, z: float = 3.0) -> np.ndarray:
    """|z| > ``z`` against the mean and std of the previous ``window`` points (NaN = missing)."""
    series = pd.Series(values, dtype=float)
    past = series.shift(1).rolling(window, min_periods=max(2, window // 2))
    mean, std = past.mean(), past.std(ddof=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = ((series - mean) / std).to_numpy()
    return np.nan_to_num(np.abs(score), nan=0.0, posinf=np.inf) > z


def pooled(scores: Iterable[FileScore]) -> EventCounts:
    total = EventCounts()
    for score in scores:
        total = total + score.counts
    return total
