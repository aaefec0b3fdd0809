"""krr-simple: hand-computed expectations for each KRR rule, plus hypothesis properties."""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rightsizing_helpers import run_preset
from utilization_factory import GI, MI, frame, series

from domain.findings import FindingKind, Severity


def only(result, container="app"):  # type: ignore[no-untyped-def]
    return next(r for r in result.recommendations if r.container == container)


def test_cpu_is_the_highest_per_pod_p95_not_a_pooled_p95() -> None:
    # Pod a: 1m..200m; pod b: 50m flat. Per-pod p95 of a: rank 0.95 × 199 = 189.05 →
    # 190m + 0.05 × (191m − 190m) = 190.05m → rounded up to 191m. (Pooled p95 would be 181m.)
    a = series("api-a", np.arange(1, 201) / 1000, 100 * MI)
    b = series("api-b", np.full(200, 0.05), 100 * MI)
    rec = only(run_preset(frame(a, b), "krr-simple"))
    assert rec.recommended.cpu_request == Decimal("0.191")
    assert rec.recommended.cpu_limit is None
    assert rec.evidence["cpu_p95"] == pytest.approx(0.19005)
    assert rec.evidence["samples"] == 400 and rec.evidence["pods"] == 2


def test_memory_is_peak_plus_15_percent_rounded_up_to_a_mebibyte() -> None:
    mem = np.full(120, 150 * MI)
    mem[60] = 200 * MI + 1  # peak × 1.15 = 230Mi + 1.15 bytes → 231Mi
    rec = only(run_preset(frame(series("api-a", np.full(120, 0.2), mem)), "krr-simple"))
    assert rec.recommended.memory_request == 231 * MI
    assert rec.recommended.memory_limit == 231 * MI
    assert rec.evidence["memory_peak"] == 200 * MI + 1


def test_oom_kill_raises_memory_to_the_killed_limit_plus_25_percent() -> None:
    oom = np.zeros(120, dtype=bool)
    oom[50] = True
    df = frame(series("api-a", np.full(120, 0.2), 100 * MI, memory_limit=256.0 * MI, oom_killed=oom))
    rec = only(run_preset(df, "krr-simple"))
    assert rec.recommended.memory_request == 320 * MI  # 256Mi × 1.25 > 100Mi × 1.15
    assert rec.evidence["oom_kills"] == 1
    off = only(run_preset(df, "krr-simple", overrides={"use_oomkill_data": False}))
    assert off.recommended.memory_request == 115 * MI


def test_fewer_than_100_samples_gives_no_recommendation() -> None:
    rec = only(run_preset(frame(series("api-a", np.full(99, 0.3), 300 * MI)), "krr-simple"))
    assert rec.recommended.cpu_request is None and rec.recommended.memory_request is None
    assert rec.skip_reason == (
        "cpu: not enough data (99 < 100 samples); memory: not enough data (99 < 100 samples)"
    )
    assert not rec.actionable


def test_floors_are_10m_and_100mi() -> None:
    rec = only(run_preset(frame(series("api-a", np.full(150, 0.0001), 1 * MI)), "krr-simple"))
    assert rec.recommended.cpu_request == Decimal("0.01")
    assert rec.recommended.memory_request == 100 * MI


def test_hpa_on_cpu_skips_cpu_unless_allowed() -> None:
    df = frame(series("api-a", np.full(150, 0.3), 300 * MI, cpu_request=1.0, memory_request=float(GI)))
    hpa = {("shop", "Deployment", "api"): frozenset({"cpu"})}
    rec = only(run_preset(df, "krr-simple", hpa=hpa))
    assert rec.recommended.cpu_request is None
    assert rec.skip_reason == "cpu: HPA scales on cpu (allow_hpa is off)"
    assert rec.recommended.memory_request == math.ceil(300 * 1.15) * MI
    finding = rec.to_finding()
    assert finding.proposed["cpu_request"] == "1"  # the skipped resource keeps its value
    assert finding.proposed["memory_request"] == 345 * MI
    allowed = only(run_preset(df, "krr-simple", hpa=hpa, overrides={"allow_hpa": True}))
    assert allowed.recommended.cpu_request == Decimal("0.3")


def test_init_containers_are_excluded_and_native_sidecars_counted() -> None:
    df = frame(
        series("api-a", np.full(150, 0.3), 300 * MI, container="app"),
        series("api-a", np.full(150, 0.05), 50 * MI, container="istio-proxy", container_type="sidecar"),
        series("api-a", np.full(150, 0.9), 500 * MI, container="migrate", container_type="init"),
    )
    result = run_preset(df, "krr-simple")
    assert sorted(r.container for r in result.recommendations) == ["app", "istio-proxy"]
    assert result.init_containers_excluded == 1


def test_savings_and_finding_contract() -> None:
    # 2 pods, request 1 core + 1Gi each, usage 0.2 cores / 200Mi → 0.2 cores / 230Mi.
    parts = [
        series(f"api-{p}", np.full(150, 0.2), 200 * MI, cpu_request=1.0, memory_request=float(GI))
        for p in "ab"
    ]
    rec = only(run_preset(frame(*parts), "krr-simple"))
    price_cpu, price_mem = Decimal("0.031611"), Decimal("0.004237")
    now = (Decimal(1) * price_cpu + Decimal(1) * price_mem) * 730 * 2
    after = (Decimal("0.2") * price_cpu + Decimal(230) / 1024 * price_mem) * 730 * 2
    assert rec.monthly_cost_now == now.quantize(Decimal("0.01"))
    assert rec.monthly_savings == now.quantize(Decimal("0.01")) - after.quantize(Decimal("0.01"))
    assert rec.severity == Severity.high  # CPU gap 0.8 cores
    f = rec.to_finding()
    assert f.kind == FindingKind.rightsize
    assert f.target == {
        "cluster": "c1",
        "namespace": "shop",
        "kind": "Deployment",
        "workload": "api",
        "container": "app",
    }
    assert f.current == {"cpu_request": "1", "cpu_limit": None, "memory_request": GI, "memory_limit": None}
    assert f.proposed == {
        "cpu_request": "0.2",
        "cpu_limit": None,
        "memory_request": 230 * MI,
        "memory_limit": 230 * MI,
    }
    assert f.monthly_savings == rec.monthly_savings
    assert f.evidence["samples"] == 300


def test_json_shape() -> None:
    rec = only(run_preset(frame(series("api-a", np.full(150, 0.25), 300 * MI)), "krr-simple"))
    doc = rec.to_json_dict()
    assert set(doc) >= {
        "namespace",
        "kind",
        "workload",
        "container",
        "current",
        "recommended",
        "evidence",
        "monthly_savings",
        "severity",
        "skip_reason",
    }
    assert doc["recommended"]["cpu_request"] == "0.25"
    assert isinstance(doc["recommended"]["memory_request"], int)
    assert isinstance(doc["monthly_savings"], str)
    assert {"samples", "days", "cpu_p95", "memory_peak", "oom_kills"} <= set(doc["evidence"])


def test_unknown_preset_and_bad_setting_are_input_errors() -> None:
    from domain.errors import InputError

    df = frame(series("api-a", np.full(150, 0.25), 300 * MI))
    with pytest.raises(
        InputError, match="unknown right-sizing preset 'krr'; use one of: krr-simple, vpa-like"
    ):
        run_preset(df, "krr")
    with pytest.raises(InputError, match="cpu_percentile"):
        run_preset(df, "krr-simple", overrides={"cpu_percentile": 120})


_values = st.lists(st.floats(0, 4, allow_nan=False), min_size=100, max_size=160)
_mems = st.floats(1e6, 8e9, allow_nan=False)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cpu=_values, mem=_mems, extra=st.floats(0, 8, allow_nan=False), extra_mem=st.floats(1e6, 1.6e10))
def test_properties_floors_headroom_and_monotonic(
    cpu: list[float], mem: float, extra: float, extra_mem: float
) -> None:
    base = frame(series("api-a", cpu, np.linspace(mem / 2, mem, len(cpu))))
    rec = only(run_preset(base, "krr-simple"))
    assert rec.recommended.cpu_request >= Decimal("0.01")
    assert rec.recommended.memory_request >= 100 * MI
    assert rec.recommended.memory_request >= mem * 1.15
    assert rec.recommended.cpu_request >= Decimal(repr(float(np.percentile(cpu, 95)))) - Decimal("1e-9")
    # Append one more sample at least as high as every earlier one.
    top = series(
        "api-a",
        [max(max(cpu), extra)],
        max(mem, extra_mem),
        start=base["timestamp"].iloc[-1].to_pydatetime() + timedelta(minutes=5),
    )
    higher = frame(base, top)
    rec2 = only(run_preset(higher, "krr-simple"))
    assert rec2.recommended.cpu_request >= rec.recommended.cpu_request
    assert rec2.recommended.memory_request >= rec.recommended.memory_request
