"""vpa-like: the VPA recommender's histogram, decay, confidence, OOM and floor rules by hand, plus
hypothesis properties (floors; a higher sample never lowers the target)."""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rightsizing_helpers import run_preset
from utilization_factory import MI, frame, series

from tools.rightsizing.vpa_histogram import ExpBuckets

DAY = 288  # 5-minute samples per day


def bucket_end(value: float, first: float) -> float:
    """End of the 5%-growth bucket holding ``value`` (VPA's percentile answer)."""
    b = 0 if value < first else int(math.log(value * 0.05 / first + 1) / math.log(1.05))
    return first * (1.05 ** (b + 1) - 1) / 0.05


def with_margin(amount: int) -> int:
    return amount + int(amount * 0.15)


def only(result, container="app"):  # type: ignore[no-untyped-def]
    return next(r for r in result.recommendations if r.container == container)


def test_bucket_scheme_matches_vpa() -> None:
    cpu = ExpBuckets(1000.0, 0.01, 1.05)
    mem = ExpBuckets(1e12, 1e7, 1.05)
    assert cpu.n == 176 and mem.n == 176
    assert cpu.start(1) == 0.01 and math.isclose(cpu.start(2), 0.0205)
    # 0.0205 is the start of bucket 2, but log(1.1025) / log(1.05) = 1.999… in float, as in Go
    assert list(cpu.find(np.array([0.0, 0.0099, 0.01, 0.0205, 0.021, 5000.0]))) == [0, 0, 1, 1, 2, 175]


def test_constant_usage_target_bounds_and_confidence() -> None:
    # One pod, 2 days of 0.5 cores / 300Mi. Target = end of 0.5's bucket → whole millicores + 15%.
    n = 2 * DAY
    rec = only(run_preset(frame(series("api-a", np.full(n, 0.5), 300 * MI)), "vpa-like"))
    target_m = with_margin(int(bucket_end(0.5, 0.01) * 1000))
    assert rec.recommended.cpu_request == Decimal(target_m) / 1000
    # confidence = min(days between first and last sample, samples / 1440)
    confidence = min((n - 1) * 300 / 86400, n / 1440)
    assert rec.evidence["confidence"] == round(confidence, 4)
    upper_m = int(target_m * (1 + 1 / confidence))  # P95 lands in the same bucket as P90
    assert rec.evidence["cpu_upper_bound"] == str(Decimal(upper_m) / 1000)
    mem_target = with_margin(int(bucket_end(300 * MI, 1e7)))
    assert rec.recommended.memory_request == mem_target
    assert rec.evidence["memory_intervals"] == 2


def test_cpu_samples_are_decayed() -> None:
    # Day 1 at 1.0 core, then 7 days at 0.1 core. Unweighted, 1/8 of the samples sit at 1.0 and
    # P90 would land there; with a 24h half-life the old day weighs 2^-7 and P90 stays at 0.1.
    cpu = np.concatenate([np.full(DAY, 1.0), np.full(7 * DAY, 0.1)])
    rec = only(run_preset(frame(series("api-a", cpu, 300 * MI)), "vpa-like"))
    assert rec.recommended.cpu_request == Decimal(with_margin(int(bucket_end(0.1, 0.01) * 1000))) / 1000
    slow = only(
        run_preset(frame(series("api-a", cpu, 300 * MI)), "vpa-like", overrides={"half_life_hours": 24 * 30})
    )
    assert slow.recommended.cpu_request == Decimal(with_margin(int(bucket_end(1.0, 0.01) * 1000))) / 1000


def test_memory_uses_daily_peaks_and_oom_bump() -> None:
    # 3 days at 200Mi with a 220Mi spike each day; an OOM kill on day 3 with request 256Mi:
    # used = max(256Mi, peak so far) → needed = max(used + 100Mi, used × 1.2) = 356Mi.
    mem = np.full(3 * DAY, 200.0 * MI)
    mem[[10, DAY + 10, 2 * DAY + 10]] = 220 * MI
    oom = np.zeros(3 * DAY, dtype=bool)
    oom[2 * DAY + 50] = True
    df = frame(series("api-a", np.full(3 * DAY, 0.2), mem, memory_request=256.0 * MI, oom_killed=oom))
    rec = only(run_preset(df, "vpa-like"))
    # Peaks: 220Mi (day 1, weight 2^1), 220Mi (day 2, 2^2), 356Mi (day 3, 2^3): P90 → the 356Mi bucket.
    assert rec.recommended.memory_request == with_margin(int(bucket_end(356 * MI, 1e7)))
    assert rec.evidence["oom_kills"] == 1


def test_per_pod_floor_is_shared_by_containers() -> None:
    df = frame(
        series("api-a", np.full(DAY, 0.001), 1 * MI, container="app"),
        series("api-a", np.full(DAY, 0.001), 1 * MI, container="proxy", container_type="sidecar"),
        series("api-a", np.full(DAY, 0.001), 1 * MI, container="init", container_type="init"),
    )
    result = run_preset(df, "vpa-like")
    assert [r.container for r in result.recommendations] == ["app", "proxy"]
    for rec in result.recommendations:
        assert rec.recommended.cpu_request == Decimal("0.012")  # 25m / 2 containers, truncated
        assert rec.recommended.memory_request == 250 * MI // 2


def test_limits_keep_their_ratio_and_hpa_skips_memory() -> None:
    df = frame(
        series(
            "api-a",
            np.full(DAY, 0.5),
            300 * MI,
            cpu_request=1.0,
            cpu_limit=2.0,
            memory_request=float(512 * MI),
            memory_limit=float(1024 * MI),
        )
    )
    rec = only(run_preset(df, "vpa-like", hpa={("shop", "Deployment", "api"): frozenset({"memory"})}))
    target_m = with_margin(int(bucket_end(0.5, 0.01) * 1000))
    assert rec.recommended.cpu_request == Decimal(target_m) / 1000
    assert rec.recommended.cpu_limit == Decimal(2 * target_m) / 1000
    assert rec.recommended.memory_request is None
    assert rec.skip_reason == "memory: HPA scales on memory (allow_hpa is off)"
    assert rec.to_finding().proposed["memory_limit"] == 1024 * MI


def test_history_window_is_eight_days_by_default() -> None:
    from tools.rightsizing.vpa_like import VpaLikeSettings

    assert VpaLikeSettings().history_days == 8


def test_vectorised_percentiles_match_the_one_histogram_walk() -> None:
    from tools.rightsizing.vpa_histogram import EPSILON, histogram_percentile, histogram_percentiles

    rng = np.random.default_rng(11)
    buckets = ExpBuckets(1000.0, 0.01, 1.05)
    weights = rng.exponential(1.0, (300, buckets.n)) * (rng.random((300, buckets.n)) < 0.1)
    weights[0] = 0.0  # empty
    weights[1, 5] = EPSILON / 2  # below epsilon only
    weights[2, [0, 175]] = [1.0, 3.0]  # first and last bucket
    for p in (0.5, 0.9, 0.95, 1.0):
        many = histogram_percentiles(weights, p, buckets)
        assert list(many) == [histogram_percentile(w, p, buckets) for w in weights]


def test_evidence_cpu_p95_is_the_observed_per_pod_p95_not_a_bucket_end() -> None:
    # Pod a ramps 0 → 1 core, pod b holds 0.3: the evidence is the higher per-pod p95 (pod a's),
    # exactly as observed; the histogram's bucket ends are reported under their own names.
    n = DAY
    ramp = np.linspace(0.0, 1.0, n)
    df = frame(series("api-a", ramp, 300 * MI), series("api-b", np.full(n, 0.3), 300 * MI))
    rec = only(run_preset(df, "vpa-like"))
    assert rec.evidence["cpu_p95"] == round(float(np.percentile(ramp, 95)), 6)
    assert rec.evidence["cpu_percentile"] == 95
    assert {"samples", "days", "cpu_p95", "memory_peak", "oom_kills"} <= set(rec.evidence)
    flat = only(run_preset(frame(series("api-a", np.full(n, 0.5), 300 * MI)), "vpa-like"))
    assert flat.evidence["cpu_p95"] == 0.5
    assert flat.evidence["cpu_target_bucket"] == round(bucket_end(0.5, 0.01), 6) != 0.5
    assert flat.evidence["cpu_histogram_p95"] == round(bucket_end(0.5, 0.01), 6)
    assert flat.recommended.cpu_request == Decimal(with_margin(int(bucket_end(0.5, 0.01) * 1000))) / 1000


_cpu = st.lists(st.floats(0, 4, allow_nan=False), min_size=20, max_size=120)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cpu=_cpu,
    mem=st.floats(1e5, 8e9, allow_nan=False),
    extra=st.floats(0, 8, allow_nan=False),
    extra_mem=st.floats(0, 1.6e10, allow_nan=False),
    containers=st.integers(1, 3),
)
def test_properties_floors_and_a_higher_sample_never_lowers_the_target(
    cpu: list[float], mem: float, extra: float, extra_mem: float, containers: int
) -> None:
    # Floors: 25m CPU and 250 × 1024² bytes per pod, shared by the pod's containers (truncated).
    names = [f"c{i}" for i in range(containers)]
    mems = np.linspace(mem / 2, mem, len(cpu))
    base = frame(*(series("api-a", cpu, mems, container=c) for c in names))
    before = run_preset(base, "vpa-like")
    cpu_floor = Decimal(int(25 / containers)) / 1000
    mem_floor = int(250 * MI / containers)
    for rec in before.recommendations:
        assert rec.recommended.cpu_request >= cpu_floor
        assert rec.recommended.memory_request >= mem_floor
        assert Decimal(rec.evidence["cpu_lower_bound"]) >= cpu_floor
        assert rec.evidence["memory_lower_bound"] >= mem_floor
    # Append one sample, later and at least as high as every earlier one, to each container.
    later = base["timestamp"].iloc[len(cpu) - 1].to_pydatetime() + timedelta(minutes=5)
    top = [
        series("api-a", [max(max(cpu), extra)], max(mem, extra_mem), container=c, start=later) for c in names
    ]
    after = run_preset(frame(base, *top), "vpa-like")
    old = {r.container: r for r in before.recommendations}
    for rec in after.recommendations:
        assert rec.recommended.cpu_request >= old[rec.container].recommended.cpu_request
        assert rec.recommended.memory_request >= old[rec.container].recommended.memory_request
        assert rec.evidence["cpu_p95"] >= old[rec.container].evidence["cpu_p95"]
