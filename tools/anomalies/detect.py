"""The detector: robust seasonal scores → flagged runs → threshold rules. Pure, vectorised."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tools.anomalies.robust import robust_scale, seasonal_expected
from tools.anomalies.segments import flag_runs, run_max, run_sums
from tools.anomalies.thresholds import ThresholdRule

# Series per block: keeps the working set in cache (≈ 5× faster than one 50,000-row pass).
CHUNK_ROWS = 4096


class Status(StrEnum):
    ok = "ok"
    insufficient_data = "insufficient_data"


class DetectorSettings(BaseModel):
    """Knobs of the detector; the same fields feed CLI options and tool schemas."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seasons: int = Field(4, ge=1, le=12, description="previous seasons in the same-position median")
    min_seasons: int = Field(2, ge=1, le=12, description="fewer previous seasons → point not scored")
    z_threshold: float = Field(3.5, gt=0, description="robust score (σ units) that flags a point")
    direction: Literal["up", "both"] = Field("up", description="flag increases only, or drops too")
    mad_floor_rel: float = Field(0.02, ge=0, description="scale floor as a share of the median level")
    mad_floor_abs: float = Field(0.01, ge=0, description="scale floor in value units (e.g. USD)")
    rule: ThresholdRule = Field(default_factory=ThresholdRule)


class RawAnomaly(BaseModel):
    """One anomalous run in index space; amounts are float sums over the run."""

    model_config = ConfigDict(frozen=True)

    series_index: int
    start_index: int
    end_index: int = Field(description="inclusive")
    expected: float
    actual: float
    impact: float = Field(description="actual - expected over the run")
    impact_pct: float | None = Field(description="impact in % of expected; None when expected is 0")
    score: float = Field(description="largest |score| in the run (σ units)")
    direction: Literal["up", "down"]


class Detection(BaseModel):
    model_config = ConfigDict(frozen=True)

    season: int
    status: Status
    anomalies: tuple[RawAnomaly, ...]
    series: int
    points_scored: int
    note: str | None = None
    unchecked: tuple[int, int] | None = Field(
        None, description="first and last index of the checked window left unscored: too little history"
    )


def _runs_for(
    flags: np.ndarray, values: np.ndarray, expected: np.ndarray, magnitude: np.ndarray
) -> tuple[np.ndarray, ...]:
    rows, starts, ends = flag_runs(flags)
    actual = run_sums(values, rows, starts, ends)
    base = run_sums(expected, rows, starts, ends)
    return rows, starts, ends, actual, base, run_max(magnitude, rows, starts, ends)


def detect(values: np.ndarray, season: int, settings: DetectorSettings, evaluate_from: int = 0) -> Detection:
    """Find anomalous runs in ``values`` (series × time, NaN = missing point).

    Only points at column ≥ ``evaluate_from`` are flagged (earlier columns are history).
    """
    values = np.asarray(values, dtype=float)
    if values.ndim != 2:
        raise ValueError("values must be a (series, time) array")
    n_series, n_time = values.shape
    seasons = max(settings.seasons, settings.min_seasons)
    first_scored = max(settings.min_seasons * season, evaluate_from)
    if n_series == 0 or n_time <= settings.min_seasons * season or first_scored >= n_time:
        need = settings.min_seasons * season + 1
        return Detection(
            season=season, status=Status.insufficient_data, anomalies=(), series=n_series,
            points_scored=0,
            note=f"not enough data: {n_time} points, need more than {need - 1} "
            f"({settings.min_seasons} seasons of {season}) before the checked window",
        )  # fmt: skip
    found: list[tuple[np.ndarray, ...]] = []
    directions = ["up"] + (["down"] if settings.direction == "both" else [])
    for lo in range(0, n_series, CHUNK_ROWS):
        block = values[lo : lo + CHUNK_ROWS]
        expected = seasonal_expected(block, season, seasons, settings.min_seasons)
        start = settings.min_seasons * season
        scale = robust_scale(
            block[:, start:], expected[:, start:], settings.mad_floor_rel, settings.mad_floor_abs
        )
        scores = (block[:, first_scored:] - expected[:, first_scored:]) / scale[:, None]
        scores = np.nan_to_num(scores, nan=0.0)
        sub_values, sub_expected = block[:, first_scored:], expected[:, first_scored:]
        for direction in directions:
            sign = 1.0 if direction == "up" else -1.0
            flags = sign * scores >= settings.z_threshold
            rows, starts, ends, actual, base, top = _runs_for(flags, sub_values, sub_expected, sign * scores)
            found.append((rows + lo, starts + first_scored, ends + first_scored, actual, base, top,
                          np.full(rows.size, sign)))  # fmt: skip
    rows, starts, ends, actual, base, top, signs = (
        np.concatenate(parts) for parts in zip(*found, strict=True)
    )
    impact = actual - base
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(base != 0, impact / np.abs(base) * 100.0, np.where(impact != 0, np.inf, np.nan))
    keep = settings.rule.passes(signs * impact, signs * pct)
    order = np.lexsort((starts[keep], rows[keep]))
    anomalies = tuple(
        RawAnomaly(
            series_index=int(r),
            start_index=int(s),
            end_index=int(e),
            expected=float(b),
            actual=float(a),
            impact=float(a - b),
            impact_pct=float(p) if np.isfinite(p) else None,
            score=float(t),
            direction="up" if g > 0 else "down",
        )  # fmt: skip
        for r, s, e, a, b, t, p, g in zip(
            *(arr[keep][order] for arr in (rows, starts, ends, actual, base, top, pct, signs)), strict=True
        )
    )
    return Detection(
        season=season, status=Status.ok, anomalies=anomalies, series=n_series,
        points_scored=n_series * (n_time - first_scored),
        unchecked=(evaluate_from, first_scored - 1) if first_scored > evaluate_from else None,
    )  # fmt: skip
