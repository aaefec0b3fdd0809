"""Shapes of the sample bill: the default one the demo uses, and a second one nothing is tuned on.

A shape fixes what differs between bills beyond the seed: weekly profile, noise, team sizes,
how many anomalies of each kind are injected and how strong, and the billing traits that make
anomaly detection hard on real bills (credits, refunds, adjustments, taxes, rows exported
without tags, a resource that loses its tags for a day, a 23- or 25-hour day at a
daylight-saving switch). ``alt`` exists to check the detector on data it was not tuned on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class BillShape:
    name: str
    weekday_profile: tuple[float, float, float, float, float]  # Mon..Fri; weekends per service
    noise: float  # multiplies each resource's daily noise (σ 3%)
    team_scale: tuple[float, float] | None  # team cost multipliers drawn from this range (None: 1)
    untagged_share: float  # of resources, untagged every day
    spikes_per_team: int
    spike_floor: float  # a spike adds at least this share of the team's daily cloud cost
    spike_mult: tuple[float, float]  # × the team × service series
    level_shifts: tuple[tuple[str, str, int, float], ...]  # team, service key, days before end, +share
    small_spikes: int  # small-$ high-% spikes of small service lines
    small_mult: tuple[float, float]
    one_off_credits: int  # AWS credits on random days
    monthly_credits: tuple[tuple[str, str, int, float], ...]  # team, service, day of month, × daily
    refunds: int  # ChargeClass = Correction, negative usage
    adjustments: int
    untagged_row_share: float  # usage rows of tagged resources exported without tags
    tag_loss_days: int  # one big resource untagged for one whole day
    dst_zone: str | None  # Azure bills days in this zone: 23 / 25 hours at its switches


SHAPES: dict[str, BillShape] = {
    "default": BillShape(
        name="default",
        weekday_profile=(1.0, 1.02, 1.03, 1.02, 0.97),
        noise=1.0,
        team_scale=None,
        untagged_share=0.055,
        spikes_per_team=2,
        spike_floor=0.2,
        spike_mult=(1.5, 4.0),
        level_shifts=(("ml-platform", "vertex", 38, 0.6),),
        small_spikes=4,
        small_mult=(2.5, 4.0),
        one_off_credits=8,
        monthly_credits=(("checkout", "rds", 3, 0.4),),
        refunds=3,
        adjustments=2,
        untagged_row_share=0.004,
        tag_loss_days=2,
        dst_zone="Europe/Amsterdam",
    ),
    "alt": BillShape(
        name="alt",
        weekday_profile=(1.0, 1.08, 1.1, 1.05, 0.9),
        noise=2.0,
        team_scale=(0.3, 1.8),
        untagged_share=0.08,
        spikes_per_team=3,
        spike_floor=0.12,
        spike_mult=(1.0, 3.0),
        level_shifts=(("data-platform", "bigquery", 50, 0.45), ("identity", "sql", 30, 0.7)),
        small_spikes=6,
        small_mult=(2.0, 3.5),
        one_off_credits=12,
        monthly_credits=(("payments", "rds", 1, 0.5), ("growth", "cosmos", 15, 0.3)),
        refunds=5,
        adjustments=4,
        untagged_row_share=0.006,
        tag_loss_days=3,
        dst_zone="Europe/Amsterdam",
    ),
}

# The second sample: another seed, end date and length, and the shape above.
ALT_SAMPLE = {"seed": 20261, "end": date(2026, 5, 31), "days": 182, "shape": "alt"}


def shape(name: str) -> BillShape:
    from domain.errors import InputError

    if name not in SHAPES:
        raise InputError(f"sample shape {name!r}: use one of {', '.join(SHAPES)}")
    return SHAPES[name]
