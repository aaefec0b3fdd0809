"""Season length from the sampling interval: daily data repeats weekly, sub-daily data daily."""

from __future__ import annotations

from datetime import timedelta

from domain.errors import InputError

DAY = timedelta(days=1)

# Known intervals → points per season (a registry; other sub-daily intervals divide a day).
SEASON_BY_INTERVAL: dict[timedelta, int] = {
    timedelta(days=1): 7,  # daily bills: the week is the cycle (weekday vs weekend)
    timedelta(hours=1): 24,  # hourly: the day is the cycle
    timedelta(minutes=5): 288,  # 5-minute monitoring samples: the day is the cycle
}


def season_length(interval: timedelta) -> int:
    """Points per season for a regular sampling ``interval`` (1 = no seasonality).

    Daily → 7, hourly → 24, 5-minute → 288; any other interval that divides a day evenly
    → points per day; intervals longer than a day other than one day → 1 (no cycle assumed).
    """
    if interval <= timedelta(0):
        raise InputError(f"sampling interval must be positive, got {interval}")
    if interval in SEASON_BY_INTERVAL:
        return SEASON_BY_INTERVAL[interval]
    if interval < DAY and DAY % interval == timedelta(0):
        return DAY // interval
    return 1
