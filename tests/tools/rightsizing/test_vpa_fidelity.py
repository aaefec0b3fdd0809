"""vpa-like equals today's VPA recommender at the edges (issue 16).

Each case comes from VPA's own tests (``util/decaying_histogram_test.go``,
``model/container_test.go``, ``logic/estimator_test.go``) or from the synthetic histories of the
issue; ``vpa_reference`` is an independent scalar port of the Go code, used as the oracle.
"""

from __future__ import annotations

import math
import warnings
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
import vpa_reference as ref
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rightsizing_helpers import PRICES, run_preset
from utilization_factory import MI, START, frame, series, to_table

from tools.rightsizing import recommend
from tools.rightsizing.accumulate import Growable
from tools.rightsizing.registry import PRESETS
from tools.rightsizing.vpa_histogram import NO_REF, DecayClock, ExpBuckets, histogram_percentile
from tools.rightsizing.vpa_like import VPA_LIKE_DIFFERENCES, VpaLikeSettings
from warehouse.utilization_series import iter_chunks

DAY = 288  # 5-minute samples per day
CPU_BUCKETS = ExpBuckets(1000.0, 0.01, 1.05)
MEM_BUCKETS = ExpBuckets(1e12, 1e7, 1.05)
GO_ZERO_S = 62_135_596_800  # seconds from 0001-01-01 UTC to the Unix epoch


def end_of(value: float, buckets: ExpBuckets = CPU_BUCKETS) -> float:
    """The end of the bucket holding ``value``: what VPA's Percentile answers."""
    return float(buckets.starts[int(buckets.find(np.array([value]))[0]) + 1])


def margin(amount: int) -> int:
    return amount + int(amount * 0.15)


def only(result, container: str = "app"):  # type: ignore[no-untyped-def]
    return next(r for r in result.recommendations if r.container == container)


def vpa_numbers(rec) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """vpa-like's evidence in the oracle's units (millicores, bytes)."""
    e = rec.evidence
    names = {"target": "target", "lower": "lower_bound", "upper": "upper_bound"}
    out = {f"cpu_{k}": int(Decimal(e[f"cpu_{v}"]) * 1000) for k, v in names.items()}
    return out | {f"memory_{k}": e[f"memory_{v}"] for k, v in names.items()}


def rows_of(df: pd.DataFrame) -> list[list[ref.Row]]:
    """The oracle's input: one list of rows per pod, in time order."""
    pods = []
    for _, g in df.groupby("pod", sort=False):
        pods.append(
            [
                ref.Row(
                    int(r.timestamp.timestamp()),
                    float(r.cpu_cores),
                    float(r.memory_bytes),
                    bool(r.oom_killed),
                    float(r.memory_request),
                )
                for r in g.sort_values("timestamp").itertuples()
            ]
        )
    return pods


# --- util/decaying_histogram_test.go -------------------------------------------------------------

VPA_TEST_START = 1234567890  # decaying_histogram_test.go: startTime = time.Unix(1234567890, 0)


class OneHistogram:
    """One container's decaying CPU histogram, fed one sample at a time as VPA's AddSample is."""

    def __init__(self, half_life_hours: float) -> None:
        self.t = Growable(
            {
                "ref": (np.int64, NO_REF, 0),
                "hist": (np.float64, 0.0, CPU_BUCKETS.n),
                "total": (np.float64, 0.0, 0),
            }
        )
        self.clock = DecayClock(half_life_hours, self.t, "ref", "hist", "total")

    def add(self, value: float, weight: float, ts: int) -> None:
        factor = self.clock.factors(np.array([0]), np.array([ts], dtype=np.int64), np.array([0]))
        self.t["hist"][0, CPU_BUCKETS.find(np.array([value]))[0]] += weight * factor[0]
        self.t["total"][0] += weight * factor[0]

    def percentile(self, p: float) -> float:
        return histogram_percentile(self.t["hist"][0], p, CPU_BUCKETS, float(self.t["total"][0]))


def test_simple_decay() -> None:
    h = OneHistogram(1.0)
    h.add(2.0, 1000, VPA_TEST_START)
    h.add(1.0, 1, VPA_TEST_START + 20 * 3600)  # 2^20 × 0.001 > 1000 times heavier
    assert h.percentile(0.999) == end_of(1.0)
    assert h.percentile(1.0) == end_of(2.0)


def test_longterm_decay_moves_the_reference_and_rescales() -> None:
    h = OneHistogram(1.0)
    h.add(2.0, 1, VPA_TEST_START)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        h.add(1.0, 1, VPA_TEST_START + 101 * 3600)  # past 2^100: the reference moves
    # Both samples sit 1,710 s before their rounded hour; the reference moved 101 half-lives, so the
    # old sample weighs exactly 2^-101 of the new one: below epsilon, it no longer bounds the histogram.
    assert h.t["ref"][0] == (VPA_TEST_START + 101 * 3600 + 1710) * 10**9
    assert h.percentile(1.0) == end_of(1.0)
    weights = h.t["hist"][0]
    assert weights[CPU_BUCKETS.find(np.array([1.0]))[0]] == math.exp2(-1710 / 3600)
    assert weights[CPU_BUCKETS.find(np.array([2.0]))[0]] == math.ldexp(math.exp2(-1710 / 3600), -101)


def test_decaying_histogram_percentiles() -> None:
    h = OneHistogram(1.0)
    for i in range(1, 5):  # values and weights 1..4, one half-life apart
        h.add(float(i), float(i), VPA_TEST_START + (i - 1) * 3600)
    expected = {0.0: 1, 0.02: 1, 0.03: 2, 0.10: 2, 0.11: 3, 0.34: 3, 0.35: 4, 1.0: 4}
    assert {p: h.percentile(p) for p in expected} == {p: end_of(v) for p, v in expected.items()}


def test_no_decay() -> None:
    h = OneHistogram(1.0)
    for i in range(1, 5):
        h.add(float(i), float(i), VPA_TEST_START)
    expected = {0.0: 1, 0.1: 1, 0.2: 2, 0.3: 2, 0.4: 3, 0.6: 3, 0.7: 4, 1.0: 4}
    assert {p: h.percentile(p) for p in expected} == {p: end_of(v) for p, v in expected.items()}


def test_reference_is_a_multiple_of_the_half_life_since_go_zero_time() -> None:
    # 7h does not divide the days since the Unix epoch: rounding must count from 0001-01-01.
    h = OneHistogram(7.0)
    ts = int(datetime(2026, 11, 3, 5, 17, tzinfo=UTC).timestamp())
    h.add(0.5, 1.0, ts)
    hl = 7 * 3600
    expected = ((ts + GO_ZERO_S + hl // 2) // hl * hl - GO_ZERO_S) * 10**9
    assert h.t["ref"][0] == expected and expected % (hl * 10**9) != 0


# --- item 1: constant CPU sample weight -----------------------------------------------------------


def test_cpu_samples_weigh_the_same_whatever_the_request() -> None:
    # 8 days at 0.3 cores with a 0.2-core request; the request goes to 4 cores for the last 12 hours
    # while usage doubles. Every CPU sample weighs minSampleWeight: the last 12 hours hold ~29% of
    # the decayed weight, so P50 (lower bound) stays in 0.3's bucket and P90 (target) in 0.6's.
    n = 8 * DAY
    late = n - DAY // 2
    cpu = np.where(np.arange(n) < late, 0.3, 0.6)
    request = np.where(np.arange(n) < late, 0.2, 4.0)
    df = frame(series("api-a", cpu, 300 * MI, cpu_request=request))
    rec = only(run_preset(df, "vpa-like"))
    confidence = min((n - 1) * 300 / 86400, n / 1440)
    lower = int(margin(int(end_of(0.3) * 1000)) * (1 + 0.001 / confidence) ** -2)
    assert rec.evidence["cpu_lower_bound"] == str(Decimal(lower) / 1000)
    assert rec.recommended.cpu_request == Decimal(margin(int(end_of(0.6) * 1000))) / 1000
    unset = only(run_preset(frame(series("api-a", cpu, 300 * MI)), "vpa-like"))
    assert vpa_numbers(unset) == vpa_numbers(rec) == ref.recommend(rows_of(df))


# --- item 2: OOM kills (model/container_test.go) --------------------------------------------------


def oom_history(rows: list[tuple[float, float, bool, float]]) -> pd.DataFrame:
    """(seconds after START, memory bytes or NaN, OOM killed, memory request) rows of one pod."""
    df = series(
        "api-a",
        [0.5] * len(rows),
        np.array([r[1] for r in rows]),
        oom_killed=[r[2] for r in rows],
        memory_request=[r[3] for r in rows],
    )
    df["timestamp"] = [START + timedelta(seconds=r[0]) for r in rows]
    return frame(df)


def memory_target(df: pd.DataFrame) -> int:
    return int(only(run_preset(df, "vpa-like", overrides={"pod_min_memory_mb": 0})).evidence["memory_target"])


def expected_target(peak_bytes: float) -> int:
    return margin(int(end_of(peak_bytes, MEM_BUCKETS)))


def test_oom_opening_a_new_interval_is_bumped_from_the_previous_peak() -> None:
    # The history: a 3,000 MiB peak on day 1, then an OOM row opening day 2 (its own
    # sample 800 MiB, request 1,000 MiB). VPA bumps from the memory in use before the window
    # moves: 3,000 MiB × 1.2 = 3,600 MiB; the day-2 peak weighs twice day 1's, so P90 is there.
    day = 86400
    rows = [(i * 300.0, 1000.0 * MI, False, 1000.0 * MI) for i in range(DAY)]
    rows[100] = (100 * 300.0, 3000.0 * MI, False, 1000.0 * MI)
    rows.append((float(day), 800.0 * MI, True, 1000.0 * MI))
    rows += [(day + i * 300.0, 900.0 * MI, False, 1000.0 * MI) for i in range(1, DAY)]
    df = oom_history(rows)
    assert memory_target(df) == expected_target(3600 * MI)
    rec = only(run_preset(df, "vpa-like"))
    assert vpa_numbers(rec) == ref.recommend(rows_of(df))


def test_record_oom_in_new_window() -> None:
    # TestRecordOOMInNewWindow: 2000Mi at t0, an OOM at t0 + 48h with request 1000Mi → 2400Mi.
    df = oom_history([(0.0, 2000.0 * MI, False, 1000.0 * MI), (2 * 86400.0, math.nan, True, 1000.0 * MI)])
    assert memory_target(df) == expected_target(2400 * MI)


def test_record_oom_maxed_with_known_sample() -> None:
    # TestRecordOOMMaxedWithKnownSample: the last known sample (3000Mi) beats the 1000Mi request.
    df = oom_history([(0.0, 3000.0 * MI, False, 1000.0 * MI), (0.0, math.nan, True, 1000.0 * MI)])
    assert memory_target(df) == expected_target(3600 * MI)


def test_record_oom_increased_by_bump_up_and_by_min() -> None:
    # TestRecordOOMIncreasedByBumpUp (1000Mi → 1200Mi) and TestRecordOOMIncreasedByMin (1Mi → 101Mi).
    assert memory_target(oom_history([(0.0, math.nan, True, 1000.0 * MI)])) == expected_target(1200 * MI)
    assert memory_target(oom_history([(0.0, math.nan, True, 1.0 * MI)])) == expected_target(101 * MI)


def test_record_oom_dont_run_away() -> None:
    # TestRecordOOMDontRunAway: 1000Mi → 1200Mi; smaller OOMs (999Mi) change nothing; 2000Mi → 2400Mi.
    kills = [(0.0, math.nan, True, r * MI) for r in (1000.0, 999.0, 999.0)]
    assert memory_target(oom_history(kills)) == expected_target(1200 * MI)
    assert memory_target(oom_history([*kills, (0.0, math.nan, True, 2000.0 * MI)])) == expected_target(
        2400 * MI
    )


def test_oom_inside_an_interval_uses_the_peak_vpa_holds() -> None:
    # After a kill, VPA's memory peak only moves for samples above the bump: a later kill in the same
    # interval is bumped from the stale peak (1000Mi → 1200Mi, no higher than the first bump), not
    # from the 1100Mi sample seen in between (which would give 1320Mi).
    df = oom_history(
        [
            (0.0, 1000.0 * MI, False, 0.0),
            (300.0, math.nan, True, 0.0),  # → 1200Mi
            (600.0, 1100.0 * MI, False, 0.0),  # below 1200Mi: not VPA's peak
            (900.0, math.nan, True, 0.0),  # from 1000Mi again → 1200Mi
        ]
    )
    assert memory_target(df) == expected_target(1200 * MI) != expected_target(1320 * MI)
    assert vpa_numbers(only(run_preset(df, "vpa-like"))) == ref.recommend(rows_of(df))


# --- item 3: reference moves for short half-lives -------------------------------------------------


def test_short_half_life_renormalises_without_overflow() -> None:
    # 8 days at 0.05 cores, the last 2 hours at 0.5 cores: with a 6-minute half-life only the last
    # hour counts. Two pods, read in small record batches so the reference moves across chunks.
    n = 8 * DAY
    cpu = np.where(np.arange(n) >= n - 24, 0.5, 0.05)
    df = frame(series("api-a", cpu, 300 * MI), series("api-b", cpu * 0.9, 280 * MI))
    table = to_table(df)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow RuntimeWarning
        result = recommend(
            lambda s: iter_chunks(table.to_batches(700)),
            "vpa-like",
            PRICES,
            overrides={"half_life_hours": 0.1},
        )
    rec = only(result)
    assert rec.recommended.cpu_request == Decimal(margin(int(end_of(0.5) * 1000))) / 1000
    assert vpa_numbers(rec) == ref.recommend(rows_of(df), half_life_hours=0.1)


@pytest.mark.parametrize("half_life_hours", [1 / 3600, 1 / 60, 1.0, 24.0 * 30])
def test_any_accepted_half_life_matches_vpa(half_life_hours: float) -> None:
    rng = np.random.default_rng(3)
    cpu = rng.gamma(2.0, 0.2, 3 * DAY)
    mem = rng.uniform(200, 900, 3 * DAY) * MI
    df = frame(series("api-a", cpu, mem))
    rec = only(run_preset(df, "vpa-like", overrides={"half_life_hours": half_life_hours}))
    assert vpa_numbers(rec) == ref.recommend(rows_of(df), half_life_hours=half_life_hours)


# --- item 4: memory without CPU samples (logic/estimator_test.go: no history) ---------------------


def test_memory_is_recommended_without_cpu_samples() -> None:
    df = frame(series("api-a", np.full(2 * DAY, np.nan), 600 * MI, memory_request=float(1024 * MI)))
    rec = only(run_preset(df, "vpa-like"))
    # Confidence 0 (TestConfidenceMultiplierNoHistory): upper bound 1e14, lower bound 0 → the floor.
    assert rec.recommended.memory_request == expected_target(600 * MI)
    assert rec.evidence["memory_upper_bound"] == 10**14
    assert rec.evidence["memory_lower_bound"] == 250 * MI
    assert rec.evidence["confidence"] == 0
    assert rec.recommended.cpu_request is None and rec.skip_reason == "cpu: no CPU usage samples"
    want = ref.recommend(rows_of(df))
    assert (want["memory_target"], want["memory_lower"], want["memory_upper"]) == (
        expected_target(600 * MI),
        250 * MI,
        10**14,
    )


# --- item 5: the two differences kept on purpose --------------------------------------------------


def test_kept_differences_are_documented() -> None:
    for text in (VPA_LIKE_DIFFERENCES, VpaLikeSettings.__doc__ or ""):
        assert "native sidecars" in text and "0 bytes" in text
    assert PRESETS["vpa-like"].settings_model is VpaLikeSettings


def test_native_sidecars_are_recommended() -> None:
    df = frame(
        series("api-a", np.full(DAY, 0.4), 300 * MI),
        series("api-a", np.full(DAY, 0.1), 100 * MI, container="proxy", container_type="sidecar"),
    )
    proxy = only(run_preset(df, "vpa-like"), "proxy")
    assert proxy.container_type == "sidecar"
    assert proxy.recommended.cpu_request == Decimal(margin(int(end_of(0.1) * 1000))) / 1000


def test_a_zero_first_sample_does_not_freeze_the_interval_peak() -> None:
    # VPA keeps a peak of 0 for an interval whose first sample is 0 bytes (→ the floor for a busy
    # container); vpa-like takes the interval's real peak.
    mem = np.full(DAY, 2000.0 * MI)
    mem[0] = 0.0
    df = frame(series("api-a", np.full(DAY, 0.5), mem))
    assert memory_target(df) == expected_target(2000 * MI)
    assert ref.recommend(rows_of(df))["memory_target"] == 250 * MI
    assert ref.recommend(rows_of(df), zero_quirk=False)["memory_target"] == expected_target(2000 * MI)


# --- the whole recommender against the oracle -----------------------------------------------------


def random_history(seed: int, pods: int, containers: int) -> pd.DataFrame:
    """Pods starting at odd times, irregular steps, missing samples, OOM kills, a late request change."""
    rng = np.random.default_rng(seed)
    parts = []
    for c in range(containers):
        for p in range(pods):
            n = int(rng.integers(30, 400))
            start = START + timedelta(seconds=int(rng.integers(0, 2 * 86400)))
            cpu = rng.gamma(2.0, rng.uniform(0.02, 0.6), n)
            cpu[rng.random(n) < 0.05] = np.nan
            mem = rng.uniform(100, 3000, n) * MI
            mem[rng.random(n) < 0.05] = np.nan
            df = series(
                f"api-{p}",
                cpu,
                mem,
                container=f"c{c}",
                cpu_request=np.where(np.arange(n) < 0.8 * n, 0.2, 4.0),
                memory_request=float(rng.choice([np.nan, 512 * MI])),
                oom_killed=rng.random(n) < 0.02,
            )
            df["timestamp"] = [
                start + timedelta(seconds=int(t)) for t in np.cumsum(rng.integers(1, 40, n) * 300)
            ]
            parts.append(df)
    return frame(*parts).sort_values(["container", "pod", "timestamp"], kind="stable", ignore_index=True)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    pods=st.integers(1, 3),
    containers=st.integers(1, 2),
    half_life_hours=st.sampled_from([0.05, 0.1, 1.0, 7.0, 24.0, 720.0]),
    batch=st.integers(50, 2000),
)
def test_properties_vpa_like_equals_the_vpa_port(
    seed: int, pods: int, containers: int, half_life_hours: float, batch: int
) -> None:
    df = random_history(seed, pods, containers)
    table = to_table(df)
    result = recommend(
        lambda s: iter_chunks(table.to_batches(batch)),
        "vpa-like",
        PRICES,
        overrides={"half_life_hours": half_life_hours},
    )
    for rec in result.recommendations:
        mine = df[df["container"] == rec.container]
        want = ref.recommend(rows_of(mine), containers, half_life_hours=half_life_hours, zero_quirk=False)
        assert vpa_numbers(rec) == want, rec.container
