"""Monthly cost of Kubernetes workloads from their requests, and of a change between two versions.

Pure math over domain types: pods × (cores × $/vCPU-h + GiB × $/GiB-h + GPUs × $/GPU-h) × hours.
Pods are the average number running in a month: replicas (HPA ``minReplicas`` when an HPA
scales the workload — the floor it will not go below), × nodes for a DaemonSet, and for a
CronJob runs per month × hours per run × parallelism / 730 (a Job: one run). Money is Decimal,
rounded to cents only at the end.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from domain.money import Money, round_cents

HOURS_PER_MONTH = Decimal(730)
GIB = Decimal(2**30)
_REFERENCE_YEAR = 2026  # cron days are counted over one fixed year, then averaged per month


class ContainerRequests(BaseModel):
    """What one container reserves (requests; a limit stands in for a missing request)."""

    model_config = ConfigDict(frozen=True)

    name: str
    cpu_cores: Decimal = Decimal(0)
    memory_bytes: Decimal = Decimal(0)
    gpus: Decimal = Decimal(0)


class WorkloadShape(BaseModel):
    """A workload as far as cost goes: its containers and how many pods run on average."""

    model_config = ConfigDict(frozen=True)

    kind: str
    pods: Decimal = Field(description="average pods running over a month")
    pods_basis: str = Field(description="where the pod count comes from, for the evidence")
    containers: list[ContainerRequests]


class NodePrices(BaseModel):
    model_config = ConfigDict(frozen=True)

    usd_per_vcpu_hour: Money
    usd_per_gib_hour: Money
    usd_per_gpu_hour: Money | None = None
    source: str = Field(description="bill | config")
    detail: str = ""


class WorkloadCost(BaseModel):
    model_config = ConfigDict(frozen=True)

    monthly: Money
    cpu_cores: Decimal
    memory_gib: Decimal
    gpus: Decimal
    pods: Decimal
    gpus_unpriced: bool = Field(False, description="GPUs requested but no GPU price known: not in monthly")


def monthly_cost(shape: WorkloadShape | None, prices: NodePrices) -> WorkloadCost:
    """USD per month of what ``shape`` reserves (zero for no workload)."""
    if shape is None:
        return WorkloadCost(
            monthly=Decimal(0), cpu_cores=Decimal(0), memory_gib=Decimal(0), gpus=Decimal(0), pods=Decimal(0)
        )
    cpu = sum((c.cpu_cores for c in shape.containers), Decimal(0))
    gib = sum((c.memory_bytes for c in shape.containers), Decimal(0)) / GIB
    gpus = sum((c.gpus for c in shape.containers), Decimal(0))
    hourly = cpu * prices.usd_per_vcpu_hour + gib * prices.usd_per_gib_hour
    if prices.usd_per_gpu_hour is not None:
        hourly += gpus * prices.usd_per_gpu_hour
    return WorkloadCost(
        monthly=round_cents(hourly * HOURS_PER_MONTH * shape.pods),
        cpu_cores=cpu,
        memory_gib=gib,
        gpus=gpus,
        pods=shape.pods,
        gpus_unpriced=gpus > 0 and prices.usd_per_gpu_hour is None,
    )


def job_pods(runs_per_month: Decimal, hours_per_run: Decimal, parallelism: int) -> Decimal:
    """Average pods of a batch workload over a month."""
    return runs_per_month * hours_per_run * Decimal(parallelism) / HOURS_PER_MONTH


# ----- cron schedules --------------------------------------------------------------------------

_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_NAMES = {
    "month": {
        m: i + 1
        for i, m in enumerate(
            ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
        )
    },
    "dow": {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])},
}
_BOUNDS = {"minute": (0, 59), "hour": (0, 23), "dom": (1, 31), "month": (1, 12), "dow": (0, 7)}


def _field(text: str, name: str) -> tuple[set[int], bool]:
    """Values of one cron field, and whether it was ``*`` (unrestricted)."""
    low, high = _BOUNDS[name]
    names = _NAMES.get(name, {})
    values: set[int] = set()
    for part in text.lower().split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ValueError(f"step {step_text!r} must be ≥ 1")
        if base in ("*", "?"):
            start, end = low, high
        elif "-" in base:
            a, b = base.split("-", 1)
            start, end = int(names.get(a, a)), int(names.get(b, b))
        else:
            start = int(names.get(base, base))
            end = high if step_text else start
        if not (low <= start <= high and low <= end <= high and start <= end):
            raise ValueError(f"{name} {part!r} is out of range {low}-{high}")
        values.update(range(start, end + 1, step))
    if name == "dow" and 7 in values:
        values = (values - {7}) | {0}
    return values, text.strip() in ("*", "?")


def cron_runs_per_month(schedule: str) -> Decimal:
    """Average runs per month of a five-field cron schedule (or ``@daily`` …), counted over a
    whole year; ValueError naming the field when it is not one. Day of month and day of week
    both restricted means either matches (cron's rule)."""
    text = _MACROS.get(schedule.strip().lower(), schedule.strip())
    parts = text.split()
    if len(parts) != 5:
        raise ValueError(f"cron schedule {schedule!r} needs five fields (minute hour day month weekday)")
    try:
        minutes, _ = _field(parts[0], "minute")
        hours, _ = _field(parts[1], "hour")
        doms, dom_any = _field(parts[2], "dom")
        months, _ = _field(parts[3], "month")
        dows, dow_any = _field(parts[4], "dow")
    except ValueError as exc:
        raise ValueError(f"cron schedule {schedule!r}: {exc}") from None
    days = 0
    day = date(_REFERENCE_YEAR, 1, 1)
    while day.year == _REFERENCE_YEAR:
        if day.month in months:
            dom_ok, dow_ok = day.day in doms, (day.isoweekday() % 7) in dows
            # cron: with both day fields restricted, either one matching is enough
            days += (dom_ok and dow_ok) if dom_any or dow_any else (dom_ok or dow_ok)
        day += timedelta(days=1)
    return Decimal(len(minutes) * len(hours) * days) / Decimal(12)
