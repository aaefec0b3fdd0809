"""Stepped right-sizing, reliability labels, grouping per namespace and idle workloads under an
HPA or a PDB: the playbooks' side of [Proposal quality]."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from domain.findings import Finding
from guardrails import load_policy, policy_from_dict, validate
from playbooks import load_playbooks, plan, plan_changes
from playbooks.steps import is_reliability, reliability_reasons, step_finding, steps_needed
from tests.guardrails.helpers import GI, MI, REPO_FILES, context, idle, rightsize, write_repo

POLICY = policy_from_dict({"resources": {"max_decrease_pct": 50, "memory_headroom": 1.1}})
PRICED = {"usd_per_vcpu_hour": "0.04", "usd_per_gib_hour": "0.005", "replicas": 2}
SCHEDULE = {"timezone": "UTC", "scale_up_cron": "0 8 * * 1,2,3,4,5", "scale_down_cron": "0 19 * * 1,2,3,4,5"}


def cut(current: dict[str, object], proposed: dict[str, object], **evidence: object) -> Finding:
    f = rightsize(
        "shop-prod", "api", proposed, {"days": 14, "samples": 4032, **evidence}, now="100", after="10"
    )
    return f.model_copy(update={"current": current})


def test_a_cut_beyond_the_step_limit_becomes_the_largest_allowed_step_repriced() -> None:
    f = cut(
        {"cpu_request": "2", "memory_request": 4 * GI, "memory_limit": 4 * GI},
        {"cpu_request": "0.2", "memory_request": 1 * GI, "memory_limit": 1 * GI},
        cpu_p95="0.15",
        memory_peak=800 * MI,
        **PRICED,
    )
    stepped = step_finding(f, POLICY)
    assert stepped.proposed == {"cpu_request": "1", "memory_request": 2 * GI, "memory_limit": 2 * GI}
    assert stepped.evidence["step"] == 1 and stepped.evidence["steps"] == 4  # 2 → 0.2 cores at −50 % a step
    assert stepped.evidence["final"] == {"cpu_request": "0.2", "memory_request": GI, "memory_limit": GI}
    assert stepped.evidence["step_note"] == "step 1 of about 4; the next step follows after the cooldown"
    # requests × 730 h × prices × replicas: (1 core × 0.04 + 2 GiB × 0.005) × 730 × 2
    assert stepped.monthly_cost_after == Decimal("73.00")
    assert step_finding(stepped, POLICY) == stepped  # re-planning a step changes nothing
    assert steps_needed(Decimal(2), Decimal("0.2"), Decimal(50)) == 4


def test_a_step_never_goes_below_peak_times_headroom_nor_past_the_limit_ratio() -> None:
    f = cut(
        {"cpu_request": "2", "cpu_limit": "8", "memory_request": 4 * GI, "memory_limit": 4 * GI},
        {"cpu_request": "0.5", "memory_request": 1900 * MI, "memory_limit": 1900 * MI},
        cpu_p95="0.4",
        memory_peak=1900 * MI,
    )
    stepped = step_finding(f, POLICY)
    # CPU: 50 % would be 1 core, but the unchanged 8-core limit / ratio 4 needs 2 → no CPU cut.
    assert stepped.proposed["cpu_request"] == "2"
    # memory: 50 % is 2Gi; peak 1900Mi × 1.1 = 2090Mi is higher, rounded up to whole MiB.
    assert stepped.proposed["memory_request"] == 2090 * MI == stepped.proposed["memory_limit"]
    # Without prices the estimate is scaled by the share of the cut the step makes.
    assert f.monthly_cost_after < stepped.monthly_cost_after < f.monthly_cost_now


def test_a_change_within_the_step_limit_and_other_kinds_are_untouched() -> None:
    f = cut({"cpu_request": "1"}, {"cpu_request": "0.6"})
    assert step_finding(f, POLICY) is f
    i = idle("shop-dev", "batch")
    assert step_finding(i, POLICY) is i


def test_reliability_reasons_name_oom_kills_and_usage_at_or_above_the_limit() -> None:
    oom = cut(
        {"cpu_request": "1", "memory_request": 2 * GI, "memory_limit": 2 * GI},
        {"cpu_request": "0.5", "memory_request": 3 * GI, "memory_limit": 3 * GI},
        oom_kills=4,
        memory_peak=2 * GI,
        cpu_p95="0.3",
    )
    assert reliability_reasons(oom) == [
        "OOM-killed 4 time(s)",
        "memory peak 2048Mi at 100% of the 2048Mi limit",
    ]
    assert is_reliability(oom)  # its memory goes up for a reason, though the total is a saving
    above = cut({"cpu_request": "0.25"}, {"cpu_request": "0.3"}, cpu_p95="0.29")
    assert reliability_reasons(above) == ["CPU p95 290m above the 250m request"]
    assert reliability_reasons(above, strong_only=True) == []
    assert not is_reliability(cut({"cpu_request": "1"}, {"cpu_request": "0.6"}, cpu_p95="0.5"))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return write_repo(tmp_path / "gitops")


def test_right_sizing_is_one_change_per_namespace_and_a_raise_is_its_own_labelled_change(repo: Path) -> None:
    ev = {"days": 14, "samples": 4032, "cpu_p95": "0.2", "memory_peak": 600 * MI}
    findings = [
        rightsize("shop-prod", "api", {"cpu_request": "1.5"}, ev),
        rightsize("shop-prod", "gateway", {"cpu_request": "0.8"}, ev),
        rightsize(
            "shop-prod", "web", {"memory_request": 3 * GI}, {**ev, "oom_kills": 2}, now="50", after="70"
        ).model_copy(update={"current": {"memory_request": 2 * GI, "memory_limit": 2 * GI}}),
    ]
    result = plan(findings, repo, load_playbooks(), load_policy(repo))
    by_branch = {c.branch: c for c in result.changes}
    assert sorted(by_branch) == [
        "costpilot/rightsize-requests/shop-prod",
        "costpilot/rightsize-requests/shop-prod-gateway",  # a chart's values: its own PR
        "costpilot/rightsize-requests/shop-prod-reliability",
    ]
    up = by_branch["costpilot/rightsize-requests/shop-prod-reliability"]
    assert up.title == "costpilot: raise requests of web in shop-prod (reliability)"
    assert up.cost_increase_reason == "reliability: web/web: OOM-killed 2 time(s)"
    report = validate(up, context(repo))
    lowers = next(r for r in report.results if r.rule_id == "lowers-cost")
    assert (
        lowers.verdict.value == "warn"
        and lowers.evidence["reliability_evidence"]["shop-prod/Deployment/web/web"]["oom_kills"] == 2
    )


def test_an_unexplained_raise_stays_blocked_by_lowers_cost(repo: Path) -> None:
    f = rightsize(
        "shop-prod", "api", {"cpu_request": "2.5"}, {"days": 14, "samples": 4032}, now="50", after="70"
    )
    [change] = plan_changes([f], repo, load_playbooks(), load_policy(repo))
    assert change.cost_increase_reason is None
    report = validate(change, context(repo))
    assert "lowers-cost" in {r.rule_id for r in report.failures}


def test_idle_with_an_hpa_annotates_the_hpa_and_keeps_its_minimum(repo: Path) -> None:
    f = idle("shop-dev", "web", {"replicas_off_hours": 0, "schedule": SCHEDULE}).model_copy(
        update={"current": {"replicas": 4}}
    )
    [change] = plan_changes([f], repo, load_playbooks(), load_policy(repo))
    [hpa] = change.files
    assert hpa.path == "overlays/dev/hpa.yaml" and "spec.replicas" not in " ".join(hpa.changed_fields)
    assert 'downscaler/downtime-replicas: "1"' in hpa.after and "downscaler/uptime" in hpa.after
    # 1 of 4 pods stays off hours: three quarters of the $50 saving.
    assert change.monthly_cost_after == Decimal("12.50")
    assert "HPA web keeps minReplicas ≥ 1" in change.findings[0].evidence["off_hours_floor"]
    report = validate(change, context(repo))
    assert report.passed, [r.message for r in report.failures]


def test_idle_with_a_pdb_stays_above_min_available_or_says_why_not(tmp_path: Path) -> None:
    files = dict(REPO_FILES)
    files["overlays/dev/kustomization.yaml"] = files["overlays/dev/kustomization.yaml"].replace(
        "  - hpa.yaml\n", "  - hpa.yaml\n  - pdb.yaml\n"
    )
    files["overlays/dev/pdb.yaml"] = (
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: web\nspec:\n"
        "  minAvailable: 2\n  selector:\n    matchLabels:\n      app: web\n"
    )
    repo = write_repo(tmp_path / "gitops", files)
    base = idle("shop-dev", "web", {"replicas_off_hours": 0, "schedule": SCHEDULE})
    [change] = plan_changes(
        [base.model_copy(update={"current": {"replicas": 4}})], repo, load_playbooks(), load_policy(repo)
    )
    assert 'downscaler/downtime-replicas: "3"' in change.files[0].after  # > minAvailable 2
    result = plan(
        [base.model_copy(update={"current": {"replicas": 3}})], repo, load_playbooks(), load_policy(repo)
    )
    assert result.changes == []
    [(_, reason)] = result.skipped
    assert "could run no fewer than 3 of its 3 replica(s)" in reason and "PodDisruptionBudget web" in reason
