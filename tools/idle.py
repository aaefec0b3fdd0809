"""Idle non-production workloads → scale to zero outside working hours.

A workload is idle when it runs in a non-production namespace (a namespace name token such as
``dev`` or ``staging``) and every container's CPU p95 and max over the last N days stay under
near-zero thresholds. Savings: the workload's reserved requests × the off-hours share of a week.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain.findings import Finding, FindingKind, Severity
from domain.money import Money, decimal_str, round_cents
from domain.provenance import Provenance
from tools.rightsizing.engine import monthly_cost
from tools.rightsizing.models import UnitPrices


class IdleSettings(BaseModel):
    """What counts as idle and when a non-production workload should run."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    days: int = Field(7, ge=1, le=90, description="days of history to judge by")
    cpu_p95_max: float = Field(
        0.01, ge=0, le=1, description="idle if every container's CPU p95 ≤ this (cores)"
    )
    cpu_max: float = Field(0.05, ge=0, le=4, description="… and its CPU max ≤ this (cores)")
    min_samples: int = Field(100, ge=1, description="samples needed per workload to judge it")
    nonprod_markers: tuple[str, ...] = Field(
        ("dev", "development", "staging", "stage", "test", "qa", "sandbox", "preview", "nonprod"),
        description="namespace name tokens (split on - _ .) that mark a non-production environment",
    )
    work_days: tuple[int, ...] = Field((0, 1, 2, 3, 4), description="ISO weekdays 0=Mon … 6=Sun kept running")
    work_start_hour: int = Field(8, ge=0, le=23, description="working hours start (UTC)")
    work_end_hour: int = Field(20, ge=1, le=24, description="working hours end (UTC)")

    @property
    def off_hours_share(self) -> Decimal:
        on = len(self.work_days) * (self.work_end_hour - self.work_start_hour)
        return Decimal(168 - on) / Decimal(168)

    def schedule(self) -> dict[str, Any]:
        days = ",".join(str((d + 1) % 7) for d in self.work_days)  # cron: 0 = Sunday
        return {
            "timezone": "UTC",
            "scale_up_cron": f"0 {self.work_start_hour} * * {days}",
            "scale_down_cron": f"0 {self.work_end_hour % 24} * * {days}",
            "working_hours": f"{self.work_start_hour:02d}:00-{self.work_end_hour:02d}:00 UTC",
        }


class IdleWorkload(BaseModel):
    model_config = ConfigDict(frozen=True)

    cluster: str
    namespace: str
    kind: str
    workload: str
    containers: list[str]
    replicas: float
    cpu_p95: float = Field(description="highest container CPU p95, cores")
    cpu_max: float = Field(description="highest container CPU max, cores")
    samples: int
    monthly_cost_now: Money
    monthly_savings: Money
    schedule: dict[str, Any]

    def to_finding(self, settings: IdleSettings, provenance: Provenance | None = None) -> Finding:
        return Finding(
            kind=FindingKind.idle,
            target={
                "cluster": self.cluster,
                "namespace": self.namespace,
                "kind": self.kind,
                "workload": self.workload,
            },
            title=f"Scale idle {self.kind}/{self.workload} in {self.namespace} to zero outside working hours",
            current={"replicas": round(self.replicas)},
            proposed={"replicas_off_hours": 0, "schedule": self.schedule},
            evidence={
                "days": settings.days,
                "samples": self.samples,
                "cpu_p95": self.cpu_p95,
                "cpu_max": self.cpu_max,
                "off_hours_share": decimal_str(settings.off_hours_share),
                "containers": self.containers,
            },
            monthly_cost_now=self.monthly_cost_now,
            monthly_cost_after=self.monthly_cost_now - self.monthly_savings,
            severity=Severity.medium if self.monthly_savings >= 50 else Severity.low,
            provenance=provenance,
        )


def is_nonprod(namespace: str, settings: IdleSettings) -> bool:
    tokens = namespace.lower().replace("_", "-").replace(".", "-").split("-")
    return any(t in settings.nonprod_markers for t in tokens)


def find_idle(
    rows: Sequence[dict[str, Any]], settings: IdleSettings, prices: UnitPrices
) -> list[IdleWorkload]:
    """Idle workloads from per-container usage rows (``warehouse.utilization.container_usage``)."""
    by_workload: dict[tuple[str, str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_workload[(row["cluster"], row["namespace"], row["kind"], row["workload"])].append(row)
    out: list[IdleWorkload] = []
    for (cluster, ns, kind, workload), containers in by_workload.items():
        if not is_nonprod(ns, settings):
            continue
        samples = sum(int(c["samples"]) for c in containers)
        p95 = max(float(c["cpu_p95"] or 0) for c in containers)
        peak = max(float(c["cpu_max"] or 0) for c in containers)
        if samples < settings.min_samples or p95 > settings.cpu_p95_max or peak > settings.cpu_max:
            continue
        replicas = max(float(c["replicas"] or 0) for c in containers)
        now = sum(
            (
                monthly_cost(
                    None if c["cpu_request"] is None else Decimal(repr(float(c["cpu_request"]))),
                    None if c["memory_request"] is None else int(c["memory_request"]),
                    float(c["replicas"] or 0),
                    prices,
                )
                for c in containers
            ),
            Decimal(0),
        )
        out.append(
            IdleWorkload(
                cluster=cluster,
                namespace=ns,
                kind=kind,
                workload=workload,
                containers=sorted(c["container"] for c in containers),
                replicas=round(replicas, 2),
                cpu_p95=round(p95, 6),
                cpu_max=round(peak, 6),
                samples=samples,
                monthly_cost_now=now,
                monthly_savings=round_cents(now * settings.off_hours_share),
                schedule=settings.schedule(),
            )
        )
    out.sort(key=lambda w: (-w.monthly_savings, w.namespace, w.workload))
    return out
