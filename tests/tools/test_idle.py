"""Idle non-production workloads: thresholds, environment detection, off-hours savings."""

from __future__ import annotations

from decimal import Decimal

from domain.findings import FindingKind
from tools.idle import IdleSettings, find_idle, is_nonprod
from tools.rightsizing import UnitPrices

PRICES = UnitPrices(usd_per_vcpu_hour="0.04", usd_per_gib_hour="0.005", source="config", detail="test")


def row(ns: str, workload: str, p95: float, peak: float, container: str = "app", **kw: object) -> dict:
    base = {
        "cluster": "c1",
        "namespace": ns,
        "kind": "Deployment",
        "workload": workload,
        "container": container,
        "samples": 2016,
        "cpu_p95": p95,
        "cpu_max": peak,
        "memory_peak": 1e8,
        "replicas": 2.0,
        "cpu_request": 0.5,
        "memory_request": float(1024**3),
    }
    return {**base, **kw}


def test_only_idle_nonprod_workloads_are_reported_with_off_hours_savings() -> None:
    rows = [
        row("search-dev", "idle-api", 0.002, 0.01),
        row(
            "search-dev", "idle-api", 0.001, 0.004, container="sidecar", cpu_request=0.1, memory_request=None
        ),
        row("search-prod", "prod-api", 0.001, 0.002),  # production: never scaled to zero
        row("search-staging", "busy", 0.2, 0.5),  # not idle
        row("search-staging", "spiky", 0.001, 0.3),  # idle p95 but real peaks
        row("search-qa", "few", 0.0, 0.0, samples=20),  # not enough evidence
    ]
    settings = IdleSettings()
    found = find_idle(rows, settings, PRICES)
    assert [w.workload for w in found] == ["idle-api"]
    w = found[0]
    # 2 replicas × (0.5 × 0.04 + 1 × 0.005 + 0.1 × 0.04) × 730 = 42.34; off-hours 108/168
    assert w.monthly_cost_now == Decimal("42.34")
    assert settings.off_hours_share == Decimal(108) / Decimal(168)
    assert w.monthly_savings == (Decimal("42.34") * Decimal(108) / Decimal(168)).quantize(Decimal("0.01"))
    f = w.to_finding(settings)
    assert f.kind == FindingKind.idle
    assert f.target == {
        "cluster": "c1",
        "namespace": "search-dev",
        "kind": "Deployment",
        "workload": "idle-api",
    }
    assert f.proposed["replicas_off_hours"] == 0
    assert f.proposed["schedule"]["scale_down_cron"] == "0 20 * * 1,2,3,4,5"
    assert f.monthly_cost_after == f.monthly_cost_now - w.monthly_savings


def test_environment_detection_uses_name_tokens() -> None:
    s = IdleSettings()
    assert is_nonprod("payments-dev", s) and is_nonprod("qa_tools", s) and is_nonprod("staging", s)
    assert not is_nonprod("payments-prod", s) and not is_nonprod("devices", s)
