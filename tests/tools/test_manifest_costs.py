"""``tools.manifest_costs``: pods × requests × node prices, and cron schedules as runs a month."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tools.manifest_costs import (
    ContainerRequests,
    NodePrices,
    WorkloadShape,
    cron_runs_per_month,
    job_pods,
    monthly_cost,
)

PRICES = NodePrices(usd_per_vcpu_hour=Decimal("0.04"), usd_per_gib_hour=Decimal("0.005"), source="config")
GIB = 2**30


def shape(pods: str, cpu: str = "1", gib: int = 2, gpus: int = 0) -> WorkloadShape:
    return WorkloadShape(
        kind="Deployment",
        pods=Decimal(pods),
        pods_basis="test",
        containers=[
            ContainerRequests(
                name="c", cpu_cores=Decimal(cpu), memory_bytes=Decimal(gib * GIB), gpus=Decimal(gpus)
            )
        ],
    )


def test_monthly_cost_is_pods_times_requests_times_prices_times_730_hours() -> None:
    # 3 pods × (1 core × 0.04 + 2 GiB × 0.005) × 730 h = 109.50
    assert monthly_cost(shape("3"), PRICES).monthly == Decimal("109.50")
    assert monthly_cost(None, PRICES).monthly == Decimal(0)


def test_gpus_are_priced_only_with_a_gpu_price() -> None:
    unpriced = monthly_cost(shape("1", gpus=2), PRICES)
    assert unpriced.gpus_unpriced and unpriced.monthly == Decimal("36.50")
    priced = monthly_cost(shape("1", gpus=2), PRICES.model_copy(update={"usd_per_gpu_hour": Decimal("3")}))
    assert not priced.gpus_unpriced and priced.monthly == Decimal("36.50") + 2 * 3 * 730


@pytest.mark.parametrize(
    ("schedule", "runs"),
    [
        ("0 * * * *", Decimal(8760) / 12),  # hourly: 730 a month
        ("@daily", Decimal(365) / 12),
        ("*/15 * * * *", Decimal(4 * 8760) / 12),
        ("30 2 * * 1-5", Decimal(261) / 12),  # weekdays of 2026
        ("0 0 1 * *", Decimal(1)),
        ("0 0 1,15 * *", Decimal(2)),
        ("0 0 * * SUN", Decimal(52) / 12),
        ("0 0 13 * 5", Decimal(12 + 52 - 3) / 12),  # the 13th OR a Friday (three Friday-13ths in 2026)
        ("0 6 * jan,jul *", Decimal(62) / 12),
    ],
)
def test_cron_runs_per_month(schedule: str, runs: Decimal) -> None:
    assert cron_runs_per_month(schedule) == runs


@pytest.mark.parametrize("schedule", ["", "* * * *", "61 * * * *", "0 25 * * *", "*/0 * * * *", "a b c d e"])
def test_a_bad_cron_schedule_is_one_value_error_naming_it(schedule: str) -> None:
    with pytest.raises(ValueError) as info:
        cron_runs_per_month(schedule)
    assert repr(schedule) in str(info.value) and "\n" not in str(info.value)


def test_a_nightly_one_hour_job_is_a_thirtieth_of_a_pod() -> None:
    pods = job_pods(cron_runs_per_month("0 3 * * *"), Decimal(1), 1)
    assert pods == Decimal(365) / 12 / 730
    assert monthly_cost(shape(str(pods)), PRICES).monthly == Decimal("1.52")  # 30.42 runs × 1 h × $0.05
